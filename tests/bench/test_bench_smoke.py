"""The benchmark, end to end in --quick mode (small data set, one repetition, both simulator flavours).

Runs `python -m bench --quick` exactly as a user would, against the real Elasticsearch node of the test session,
and checks that every number the report promises is there and plausible. It never checks how fast anything is:
timings on a shared machine are not test material.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.records import (FULL, INCREMENTAL_CHANGE, INCREMENTAL_NO_CHANGE, NAIVE, REFERENCE_FULL, RUN_STEPS,
                           SINK_LIMIT, METRICS)

REPO_ROOT = Path(__file__).resolve().parents[2]
FLAVOURS = ("datacenter", "cloud")
PROCESS_SCENARIOS = (FULL, INCREMENTAL_NO_CHANGE, INCREMENTAL_CHANGE, NAIVE, REFERENCE_FULL)
PROCESS_FIELDS = ("documents", "docs_per_second", "wall_seconds", "cpu_seconds", "cpu_user_seconds",
                  "cpu_system_seconds", "requests", "bytes_read", "peak_rss_mb", "index_documents")
MACHINE_FIELDS = ("cpu_model", "logical_cores", "usable_cores", "memory_total_mb", "python",
                  "elasticsearch_version", "elasticsearch_client", "os")
TARGET_NAMES = (
    "full sync vs naive baseline (docs/s ratio)",
    "full sync vs sink limit (docs/s ratio)",
    "incremental with no change vs full sync (wall time share)",
    "Cloud full sync documents per request",
    "peak RSS of the pipeline process, MB (all runs)",
    "peak RSS large vs medium",
    "full sync time linear in size",
)
TIMEOUT_S = 600  # a hang must not block the suite; the run normally takes about two minutes


@pytest.fixture(scope="module")
def quick_run(es_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str],
                                                                               dict[str, Any], Path]:
    output_dir = tmp_path_factory.mktemp("bench-results")
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--es-url", es_url, "--output-dir", str(output_dir),
         "--latency-ms", "1"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=TIMEOUT_S,
    )
    latest = output_dir / "latest.json"
    assert latest.exists(), f"no report written; stdout:\n{completed.stdout[-3000:]}\nstderr:\n{completed.stderr[-3000:]}"
    return completed, json.loads(latest.read_text()), output_dir


def _run(report: dict[str, Any], scenario: str, flavour: str) -> dict[str, Any]:
    matching = [run for run in report["runs"] if run["scenario"] == scenario and run["flavour"] == flavour]
    assert len(matching) == 1, f"expected one {scenario} run for {flavour}, got {len(matching)}"
    return matching[0]


@pytest.mark.bench
def test_quick_run_succeeds_without_errors(quick_run: tuple[subprocess.CompletedProcess[str], dict[str, Any],
                                                            Path]) -> None:
    completed, report, _ = quick_run
    assert report["errors"] == [], report["errors"]
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert report["options"]["quick"] is True
    assert report["options"]["sizes"] == ["small"] and report["options"]["repeat"] == 1
    assert report["options"]["latency_ms"] == 1
    assert "every Confluence API request now waits 1 ms" in completed.stdout
    assert sorted(report["options"]["flavours"]) == sorted(FLAVOURS)


@pytest.mark.bench
def test_machine_is_described(quick_run: tuple[subprocess.CompletedProcess[str], dict[str, Any], Path]) -> None:
    machine = quick_run[1]["machine"]
    for field in MACHINE_FIELDS:
        assert machine.get(field) not in (None, "", 0), f"machine.{field} missing"


@pytest.mark.bench
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_every_process_run_reports_every_metric(
    quick_run: tuple[subprocess.CompletedProcess[str], dict[str, Any], Path], flavour: str
) -> None:
    report = quick_run[1]
    for scenario in PROCESS_SCENARIOS:
        run = _run(report, scenario, flavour)
        assert run["ok"], run["error"]
        for field in PROCESS_FIELDS:
            assert run[field] is not None, f"{scenario}.{field} missing"
        assert run["wall_seconds"] > 0 and run["cpu_seconds"] > 0 and run["peak_rss_mb"] > 0
        assert run["requests"] > 0 and run["bytes_read"] > 0, f"{scenario}: the simulator saw no traffic"
    node_of_the_session = not os.environ.get("ES_URL", "").strip()  # es_local's, on this machine
    for scenario in PROCESS_SCENARIOS:  # where the time and the CPU went
        run = _run(report, scenario, flavour)
        steps = RUN_STEPS[:1] if scenario == NAIVE else RUN_STEPS
        assert all(run[f"{step}_seconds"] is not None for step in steps), (scenario, run)
        assert run["job_cpu_seconds"] > 0 and run["simulator_cpu_seconds"] is not None, (scenario, run)
        if node_of_the_session:
            assert run["elasticsearch_cpu_seconds"] is not None, (scenario, run)
            assert 0 < run["machine_busy_share"] <= 1.5, (scenario, run)  # a little over 1 from sampling edges
    full = _run(report, FULL, flavour)
    assert full["simulator_cpu_seconds"] > 0 and full["worker_cpu_seconds"] > 0
    assert full["documents"] > 0 and full["docs_per_request"] > 0
    assert full["index_documents"] == full["documents"], "documents written != documents in the index"
    assert set(full["documents_by_type"]) >= {"spaces", "pages", "blogposts", "comments", "attachments"}, \
        full["documents_by_type"]
    # attachment files are downloaded apart from the API requests
    assert full["file_requests"] > 0 and full["file_bytes_read"] > 0
    naive = _run(report, NAIVE, flavour)
    assert 0 < naive["documents"] < full["documents"]  # pages and blog posts only
    assert naive["file_requests"] == 0


@pytest.mark.bench
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_incremental_runs_leave_a_correct_index(
    quick_run: tuple[subprocess.CompletedProcess[str], dict[str, Any], Path], flavour: str
) -> None:
    report = quick_run[1]
    no_change = _run(report, INCREMENTAL_NO_CHANGE, flavour)
    changed = _run(report, INCREMENTAL_CHANGE, flavour)
    for run in (no_change, changed):
        check = run["index_check"]
        assert check is not None, f"{run['scenario']} was not checked"
        assert check["matches"], check
    assert len(changed["details"]["changes"]) == 5  # three edits, one trashed page, one replaced attachment
    assert changed["documents"] >= 4  # the edited pages and the new attachment version at least


@pytest.mark.bench
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_sink_limit_ratios_and_serving_rate(
    quick_run: tuple[subprocess.CompletedProcess[str], dict[str, Any], Path], flavour: str
) -> None:
    report = quick_run[1]
    sink = _run(report, SINK_LIMIT, flavour)
    assert sink["ok"] and sink["docs_per_second"] > 0 and sink["wall_seconds"] > 0
    assert sink["documents"] == _run(report, FULL, flavour)["index_documents"]
    ratio = next(r for r in report["ratios"] if r["flavour"] == flavour and r["size"] == "small")
    for name in ("ours_vs_sink_limit", "ours_vs_naive", "incremental_no_change_vs_full_time",
                 "incremental_no_change_vs_full_own_time"):
        assert ratio[name] is not None and ratio[name] > 0, name
    serving = next(s for s in report["simulator_serving"] if s["flavour"] == flavour)
    assert serving["pages"] > 0 and serving["pages_per_second"] > 0 and serving["keepalive_request_ms"] > 0
    summary = [s for s in report["summary"] if s["flavour"] == flavour and s["scenario"] == FULL]
    assert len(summary) == 1 and set(summary[0]["medians"]) == set(METRICS)


@pytest.mark.bench
def test_extraction_and_targets_are_reported(
    quick_run: tuple[subprocess.CompletedProcess[str], dict[str, Any], Path]
) -> None:
    report = quick_run[1]
    extraction = report["extraction"]
    assert extraction["available"], extraction["reason"]
    assert extraction["extractor"] == "confluence_source.extraction.extract_text"
    for measured in extraction["formats"]:
        assert measured["error"] is None, measured
        assert measured["mb_per_second"] > 0 and measured["characters_extracted"] > 0, measured
    statuses = {target["status"] for target in report["targets"]}
    assert statuses <= {"PASS", "FAIL", "SKIP"}
    for name in TARGET_NAMES:
        assert any(target["name"].startswith(name) for target in report["targets"]), f"target {name!r} missing"
    assert all(target["line"].startswith(target["status"]) for target in report["targets"])


@pytest.mark.bench
def test_markdown_and_timestamped_files_are_written(
    quick_run: tuple[subprocess.CompletedProcess[str], dict[str, Any], Path]
) -> None:
    completed, report, output_dir = quick_run
    run_id = report["run_id"]
    for name in (f"{run_id}.json", f"{run_id}.md", "latest.json", "latest.md"):
        assert (output_dir / name).is_file(), name
    markdown = (output_dir / "latest.md").read_text()
    for heading in ("## Runs (medians)", "## Ratios", "## Simulator serving rate", "## Attachment text extraction",
                    "## Targets"):
        assert heading in markdown
    assert "## Targets" in completed.stdout  # the report is also printed
