"""Running the real pipeline (`pipelines/confluence_to_es.py`) as a measured child process.

The pipeline is configured only through environment variables (dlt's `SOURCES__...` / `DESTINATION__...`), with
its own `DLT_DATA_DIR`, so every series of runs starts from an empty pipeline state and nothing leaks in from the
user's `~/.dlt`. Inherited variables of the same sections are removed first: a personal access token exported in
the shell must not change which credentials a Data Center run uses.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from bench.options import REPO_ROOT
from bench.process_monitor import ProcessMeasurement, run_measured
from bench.simulator_process import SimulatorProcess

_OWN_PREFIXES = ("SOURCES__", "DESTINATION__", "DLT_DATA_DIR")


@dataclass(frozen=True)
class PipelineRun:
    measurement: ProcessMeasurement
    summary: dict[str, Any] | None  # the --summary-json content (None when the run failed before writing it)

    @property
    def error(self) -> str | None:
        if self.measurement.succeeded and self.summary is not None:
            return None
        if self.measurement.timed_out:
            return "timed out"
        reason = f"exit code {self.measurement.exit_code}" if not self.measurement.succeeded else "no summary"
        tail = self.measurement.stderr_tail(5)
        return f"{reason}: {tail}" if tail else reason


def tuning_only_project(folder: Path) -> Path:
    """A working directory whose `.dlt/config.toml` is the repository's without its `[sources]` and `[destination]`
    sections: the measured runs keep the project's tuning (workers, buffers) but read nothing of the user's own site
    settings (a `.dlt/secrets.toml` or an edited `config.toml` in the repository would otherwise steer them: a
    token, `advanced_rules`, a CA file). Everything they need comes from `pipeline_environment`."""
    settings = tomlkit.parse((REPO_ROOT / ".dlt" / "config.toml").read_text(encoding="utf-8"))
    for section in ("sources", "destination"):
        settings.pop(section, None)
    (folder / ".dlt").mkdir(parents=True, exist_ok=True)
    (folder / ".dlt" / "config.toml").write_text(tomlkit.dumps(settings), encoding="utf-8")
    return folder


def pipeline_environment(simulator: SimulatorProcess, es_url: str, index: str, data_dir: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(_OWN_PREFIXES) and name != "DLT_PROJECT_DIR"}
    credentials = simulator.credentials
    env.update({
        "SOURCES__CONFLUENCE__CONFLUENCE_URL": simulator.base_url,
        "SOURCES__CONFLUENCE__SPACES": "*",
        "DESTINATION__ELASTICSEARCH__ES_HOSTS": es_url,
        "DESTINATION__ELASTICSEARCH__ES_INDEX": index,
        "DLT_DATA_DIR": str(data_dir),
        "PYTHONUNBUFFERED": "1",
    })
    if simulator.flavour == "cloud":
        env.update({
            "SOURCES__CONFLUENCE__DATA_SOURCE": "Confluence Cloud",
            "SOURCES__CONFLUENCE__ACCOUNT_EMAIL": credentials["email"],
            "SOURCES__CONFLUENCE__API_TOKEN": credentials["api_token"],
        })
    else:
        env.update({
            "SOURCES__CONFLUENCE__DATA_SOURCE": "Confluence Data Center",
            "SOURCES__CONFLUENCE__USERNAME": credentials["username"],
            "SOURCES__CONFLUENCE__PASSWORD": credentials["password"],
        })
    return env


def run_pipeline(
    *,
    python: str,
    pipeline: Path,
    simulator: SimulatorProcess,
    es_url: str,
    index: str,
    data_dir: Path,
    log_dir: Path,
    label: str,
    timeout_s: float,
    full_refresh: bool = False,
) -> PipelineRun:
    summary_path = log_dir / f"{label}.summary.json"
    summary_path.unlink(missing_ok=True)
    command = [python, str(pipeline), *(["--full-refresh"] if full_refresh else []), "--summary-json",
               str(summary_path)]
    measurement = run_measured(command, env=pipeline_environment(simulator, es_url, index, data_dir),
                               cwd=tuning_only_project(log_dir / "project"), log_dir=log_dir, label=label,
                               timeout_s=timeout_s)
    summary = None
    if summary_path.exists():
        try:
            summary = json.loads(summary_path.read_text())
        except ValueError:
            summary = None
    return PipelineRun(measurement, summary)
