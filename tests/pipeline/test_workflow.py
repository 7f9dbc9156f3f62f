"""The scheduled GitHub Actions workflow: every setting it passes is one the sync reads, under the name it reads it
by, every secret it passes goes to a setting that dlt treats as a secret, and its Sync step's script, run here as the
runner runs it, gets GitHub's stop signals and refuses to run without an Elasticsearch address."""

from __future__ import annotations

import inspect
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from confluence_source import SETTING_NAMES
from destinations.es_config import build_settings
from tests.pipeline.conftest import environment_for

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "confluence_to_es.yml"


def job_environment() -> dict[str, str]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    return dict(workflow["jobs"]["sync"]["env"])


def test_every_setting_variable_of_the_workflow_names_a_setting() -> None:
    destination_names = set(inspect.signature(build_settings).parameters)
    for name in job_environment():
        if name.startswith("SOURCES__"):
            assert name.removeprefix("SOURCES__CONFLUENCE__").lower() in SETTING_NAMES, name
        elif name.startswith("DESTINATION__"):
            assert name.removeprefix("DESTINATION__ELASTICSEARCH__").lower() in destination_names, name


def test_secrets_go_to_secret_settings_and_nothing_is_cached() -> None:
    secret_settings = {"account_email", "api_token", "username", "password", "personal_access_token", "ssl_ca",
                       "oauth_client_id", "oauth_client_secret",
                       "es_cloud_id", "es_api_key", "es_username", "es_password", "es_ca_certs"}
    for name, value in job_environment().items():
        if "secrets." in str(value):
            assert name.split("__")[-1].lower() in secret_settings, name
    # load packages are copies of Confluence content; a cache can be restored by other runs of the repository
    assert not re.search(r"actions/cache", WORKFLOW.read_text())


def sync_step() -> dict[str, Any]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    return next(step for step in workflow["jobs"]["sync"]["steps"] if step.get("name") == "Sync")


def start_sync_step(harness: Any, tmp_path: Path, **overrides: str) -> subprocess.Popen[str]:
    """The Sync step's script as the runner starts it (`bash -e <file>`, from the checkout, `python` on PATH), with the
    job's settings pointing at the harness's simulator and index."""
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("SOURCES__", "DESTINATION__", "DLT_"))}
    environment |= environment_for(harness.sim, harness.es_url, harness.index)
    environment |= {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}",
                    "DLT_DATA_DIR": str(tmp_path / "dlt"), "RUNNER_TEMP": str(tmp_path),
                    "FULL_REFRESH": "", "ALLOW_MASS_DELETE": "", "MAX_DELETE_FRACTION": "", "STAGE_DOCUMENTS": "",
                    "REFRESH_SPACES": "",
                    **overrides}
    script = tmp_path / "step.sh"  # a file, as the runner writes it (`bash -c` would exec the last command itself)
    script.write_text(sync_step()["run"])
    return subprocess.Popen(["bash", "-e", str(script)], cwd=WORKFLOW.parents[2], env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(process: subprocess.Popen[str], timeout: float) -> tuple[int, str, str]:
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"the step did not end within {timeout} s: {stderr[-2000:]}")
    return process.returncode, stdout, stderr


def test_the_sync_step_stops_when_github_signals_its_shell(make_harness, tmp_path) -> None:
    """Cancelling a run (or its timeout) sends SIGINT, then SIGTERM, to the step's shell only, then kills it: the sync
    must get them, stop at its next safe point and say so, not run on unseen (a shell does not pass them on)."""
    from confluence_simulator.faults import FaultKind, FaultRule

    harness = make_harness("cloud")
    harness.sim.faults.add(FaultRule(kind=FaultKind.RATE_LIMIT, count=1000, retry_after=60))
    process = start_sync_step(harness, tmp_path)
    deadline = time.monotonic() + 60
    while not harness.sim.stats()["faults"].get("rate_limit"):  # the sync is waiting out a Retry-After
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    code, _, stderr = finish(process, timeout=30)
    assert code == 1, stderr
    assert "stopped by SIGINT" in stderr, stderr
    summary = json.loads((tmp_path / "sync-summary.json").read_text())
    assert summary["status"] == "failed" and summary["exit_code"] == 1


def test_the_sync_step_refuses_to_run_without_an_elasticsearch_address(make_harness, tmp_path) -> None:
    """An unset ES_HOSTS variable arrives empty and would let .dlt/config.toml's local address decide: on a
    self-hosted runner with a node of its own, a green run into the wrong cluster."""
    harness = make_harness("cloud")
    process = start_sync_step(harness, tmp_path, DESTINATION__ELASTICSEARCH__ES_HOSTS="",
                              DESTINATION__ELASTICSEARCH__ES_CLOUD_ID="")
    code, stdout, _ = finish(process, timeout=60)
    assert code == 2
    assert stdout.startswith("::error::Set the repository variable ES_HOSTS")
    assert harness.sim.stats()["requests"] == 0  # stopped before it asked Confluence anything


def test_the_sync_step_passes_the_spaces_to_refresh_as_one_argument(make_harness, tmp_path) -> None:
    """The `refresh_spaces` input arrives as typed (spaces after the commas included) and must reach the sync whole."""
    harness = make_harness("cloud")
    process = start_sync_step(harness, tmp_path, REFRESH_SPACES="NOPE, ALSO-NOT")
    code, _, stderr = finish(process, timeout=120)
    assert code == 2 and "--refresh-spaces names NOPE, ALSO-NOT, which this run does not sync" in stderr, stderr
    keys = sorted(space.key for space in harness.site.spaces.values())
    process = start_sync_step(harness, tmp_path, REFRESH_SPACES=f"{keys[0]}, {keys[1]}")
    code, _, stderr = finish(process, timeout=120)
    assert code == 0, stderr


def test_the_sync_step_runs_the_scheduled_and_the_weekly_full_read(make_harness, tmp_path) -> None:
    """The step sets FULL_REFRESH for its own script (empty, or `--full-refresh` on the weekly run): dlt must not
    read it as the source's argument of that name, which failed every run with "full_refresh must be true or
    false"."""
    harness = make_harness("datacenter")
    for full_refresh, mode in (("", "full"), ("", "incremental"), ("--full-refresh", "full")):
        process = start_sync_step(harness, tmp_path, FULL_REFRESH=full_refresh)
        code, _, stderr = finish(process, timeout=120)
        assert code == 0, stderr
        summary = json.loads((tmp_path / "sync-summary.json").read_text())
        assert (summary["status"], summary["mode"]) == ("succeeded", mode)
