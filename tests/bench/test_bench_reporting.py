"""Unit tests of the benchmark's bookkeeping: medians, index comparison, targets, options, process measurement.

These run in milliseconds and need no Elasticsearch; they pin the logic the smoke test cannot see (a target that
must FAIL, a SKIP when a size was not run, a mismatching index).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.index_check import compare
from bench.neighbour_cpu import NeighbourCpu, NeighbourMeter, local_elasticsearch_process
from bench.options import parse_options
from bench.process_monitor import run_measured
from bench.records import FULL, INCREMENTAL_NO_CHANGE, NAIVE, RUN_STEPS, SINK_LIMIT, RunRecord, summarise
from bench.report import render_markdown
from bench.runner import compile_pipeline_modules
from bench.targets import evaluate, ratios


def _record(scenario: str, size: str, repeat: int, docs_per_second: float, wall: float, documents: int = 1000,
            flavour: str = "cloud", rss: float = 100.0, requests: int = 10,
            own: float | None = None) -> RunRecord:
    return RunRecord(scenario=scenario, flavour=flavour, size=size, repeat=repeat, ok=True, documents=documents,
                     docs_per_second=docs_per_second, wall_seconds=wall, peak_rss_mb=rss, requests=requests,
                     docs_per_request=documents / requests, reported_elapsed_seconds=own)


def _status(results: list, prefix: str) -> list[str]:  # type: ignore[type-arg]
    return [result.status for result in results if result.name.startswith(prefix)]


def test_summary_takes_medians_of_successful_runs_only() -> None:
    records = [_record(FULL, "small", n, rate, 1.0) for n, rate in enumerate((100.0, 300.0, 200.0), 1)]
    records.append(RunRecord(scenario=FULL, flavour="cloud", size="small", repeat=4, ok=False, error="boom",
                             docs_per_second=1e9))
    [summary] = summarise(records)
    assert summary.runs == 4 and summary.successful_runs == 3
    assert summary.get("docs_per_second") == 200.0


def test_targets_pass_fail_and_skip() -> None:
    records = [
        _record(FULL, "medium", 1, 1000.0, 10.0, documents=10000, requests=50, own=8.0),
        _record(SINK_LIMIT, "medium", 1, 4000.0, 2.5, documents=10000),
        _record(NAIVE, "medium", 1, 100.0, 50.0, documents=5000),
        _record(INCREMENTAL_NO_CHANGE, "medium", 1, 0.0, 2.0, documents=0, rss=600.0, own=0.4),
        _record(FULL, "small", 1, 500.0, 2.0, documents=1000, requests=5),
    ]
    summaries = summarise(records)
    assert ratios(summaries, "cloud", "medium") == {
        "ours_vs_sink_limit": 0.25, "ours_vs_naive": 10.0, "incremental_no_change_vs_full_time": 0.2,
        "incremental_no_change_vs_full_own_time": 0.05}
    results = evaluate(summaries, records, ("cloud",), ("small", "medium"))
    assert _status(results, "full sync vs naive") == ["PASS"]
    assert _status(results, "full sync vs sink limit") == ["FAIL"]
    assert _status(results, "incremental with no change") == ["FAIL"]
    assert _status(results, "Cloud full sync documents per request") == ["PASS"]  # 200 per request
    assert _status(results, "peak RSS of the pipeline") == ["FAIL"]  # the 600 MB run
    assert _status(results, "peak RSS large vs medium") == ["SKIP"]
    assert _status(results, "full sync time linear") == ["PASS"]  # 2 ms (wall) -> 0.8 ms (own) per document
    assert all(result.line().startswith(result.status) for result in results)


def test_super_linear_time_fails_the_linearity_target() -> None:
    records = [_record(FULL, "small", 1, 0.0, 3.0, documents=1000, own=1.0),
               _record(FULL, "medium", 1, 0.0, 21.0, documents=10000, own=20.0)]
    results = evaluate(summarise(records), records, ("cloud",), ("small", "medium"))
    [linearity] = [result for result in results if result.name.startswith("full sync time linear")]
    assert linearity.status == "FAIL" and linearity.value == pytest.approx(2.0)


def test_medium_targets_are_skipped_when_medium_was_not_run() -> None:
    records = [_record(FULL, "small", 1, 500.0, 2.0), _record(NAIVE, "small", 1, 10.0, 40.0)]
    results = evaluate(summarise(records), records, ("cloud",), ("small",))
    naive = next(result for result in results if result.name.startswith("full sync vs naive"))
    assert naive.status == "SKIP" and naive.value == 50.0 and "small" in naive.detail


def test_index_comparison_finds_missing_unexpected_and_stale_documents() -> None:
    check = compare({"page-1": 2, "page-2": 1, "page-3": 1}, {"page-1": 1, "page-2": 1, "page-4": 1}, "full sync")
    assert not check.matches
    assert (check.missing, check.unexpected, check.version_mismatches) == (1, 1, 1)
    assert compare({"a": 1}, {"a": 1}, "x").matches


def test_quick_mode_means_small_and_one_repetition() -> None:
    options = parse_options(["--quick", "--sizes", "medium,large", "--repeat", "5"])
    assert options.sizes == ("small",) and options.repeat == 1
    default = parse_options([])
    assert default.sizes == ("small", "medium") and default.repeat == 3
    assert default.flavours == ("datacenter", "cloud")
    with pytest.raises(SystemExit):
        parse_options(["--sizes", "huge"])


def test_process_measurement_counts_the_child_only(tmp_path: Path) -> None:
    program = "import time\nblock = bytearray(150 * 2**20)\nend = time.process_time() + 0.3\n" \
              "while time.process_time() < end: pass\n"
    measured = run_measured([sys.executable, "-c", program], env=os.environ, cwd=tmp_path, log_dir=tmp_path,
                            label="child", timeout_s=60)
    assert measured.succeeded
    assert measured.cpu_seconds >= 0.3
    assert measured.peak_rss_bytes >= 150 * 2**20
    assert measured.wall_seconds >= measured.cpu_user_seconds * 0.5


def test_a_hanging_child_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    measured = run_measured([sys.executable, "-c", "import time; time.sleep(60)"], env=os.environ, cwd=tmp_path,
                            log_dir=tmp_path, label="hang", timeout_s=0.5)
    assert measured.timed_out and not measured.succeeded
    assert measured.wall_seconds < 15


def _report_without_measurements(**options: object) -> dict[str, object]:
    return {
        "run_id": "20250101T000000Z", "duration_seconds": 1.0,
        "options": {"sizes": ["small"], "flavours": ["cloud"], "repeat": 1, "seed": 1, "quick": True, **options},
        "machine": {"cpu_model": "cpu", "logical_cores": 2, "usable_cores": 2, "memory_total_mb": 1024,
                    "load_average_1m": 0.1, "python": "3.11", "elasticsearch_version": "8.19.0",
                    "elasticsearch_client": "8.19.0", "os": "Linux"},
        "summary": [], "ratios": [], "simulator_serving": [],
        "extraction": {"available": False, "reason": "no module"}, "targets": [], "warnings": [], "errors": [],
        "notes": ["n"],
    }


def test_the_report_says_when_latency_was_added() -> None:
    assert "waited 50 ms" in render_markdown(_report_without_measurements(latency_ms=50.0))
    assert "waited" not in render_markdown(_report_without_measurements(latency_ms=0.0))
    assert "waited" not in render_markdown(_report_without_measurements())  # reports written before the option


def test_markdown_report_renders_without_measurements() -> None:
    report = _report_without_measurements()
    markdown = render_markdown(report)
    assert "Skipped: no module." in markdown and "## Targets" in markdown


def test_a_quick_run_reports_apart_from_the_kept_full_report() -> None:
    """`latest.*` in bench/results is the full run the repository keeps; a smoke run must not replace it."""
    results = Path(__file__).resolve().parents[2] / "bench" / "results"
    assert parse_options([]).output_dir == results
    assert parse_options(["--quick"]).output_dir == results / "quick"
    assert parse_options(["--quick", "--output-dir", "elsewhere"]).output_dir == Path("elsewhere")


def test_a_runs_time_and_cpu_are_split_into_steps_neighbours_and_the_machines_share() -> None:
    record = _record(FULL, "medium", 1, 1000.0, 10.0, own=9.0)
    record.cpu_seconds = 8.0
    record.add_pipeline_costs({
        "elapsed_seconds": 9.0, "cpu_seconds": {"process": 5.0, "workers": 3.0},
        "step_seconds": {"preflight": 0.5, "extract": 6.0, "normalize": 0.5, "load": 1.5, "reconcile": 0.5}})
    record.add_neighbours(NeighbourCpu(simulator_seconds=2.0, elasticsearch_seconds=4.0), usable_cores=2)
    assert [getattr(record, f"{step}_seconds") for step in RUN_STEPS] == [1.0, 0.5, 6.0, 0.5, 1.5, 0.5]
    assert (record.job_cpu_seconds, record.worker_cpu_seconds) == (5.0, 3.0)
    assert record.machine_busy_share == pytest.approx((8.0 + 2.0 + 4.0) / (10.0 * 2))
    # a neighbour whose CPU could not be read leaves the share unknown, not too low
    unknown = _record(FULL, "medium", 2, 1000.0, 10.0)
    unknown.cpu_seconds = 8.0
    unknown.add_neighbours(NeighbourCpu(simulator_seconds=2.0, elasticsearch_seconds=None), usable_cores=2)
    assert unknown.machine_busy_share is None

    report = _report_without_measurements()
    report["summary"] = [summary.as_dict() for summary in summarise([record])]
    lines = render_markdown(report).splitlines()
    table = lines[lines.index("## Where the time and the CPU go (medians)") + 4]
    assert table == ("| ours: full sync | cloud | medium | 10.00 | 1.00 | 0.50 | 6.00 | 0.50 | 1.50 | 0.50 | 5.00 | "
                     "3.00 | 2.00 | 4.00 | 70% |")


def test_the_neighbours_cpu_is_what_they_spent_during_the_run() -> None:
    meter = NeighbourMeter(os.getpid(), elasticsearch=None)  # this process stands in for the simulator
    before = meter.snapshot()
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    spent = meter.since(before)
    assert spent.simulator_seconds is not None and spent.simulator_seconds >= 0.15
    assert spent.elasticsearch_seconds is None


def test_a_neighbour_that_ended_during_the_run_reads_none() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.2)"])
    meter = NeighbourMeter(child.pid, elasticsearch=None)
    before = meter.snapshot()
    child.wait()
    assert before[0] is not None and meter.since(before).simulator_seconds is None


def test_a_remote_elasticsearch_node_is_not_looked_for_among_local_processes() -> None:
    class NeverAsked:
        @property
        def nodes(self) -> None:
            raise AssertionError("a remote node's process id means nothing here")

    assert local_elasticsearch_process(NeverAsked(), "https://192.0.2.10:9200") is None  # type: ignore[arg-type]


def test_the_measured_checkout_is_compiled_with_the_pipeline_interpreter(tmp_path: Path) -> None:
    for package in ("confluence_source", "pipelines"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "module.py").write_text("VALUE = 1\n")
    script = tmp_path / "pipelines" / "confluence_to_es.py"
    script.write_text("print('run')\n")
    compile_pipeline_modules(parse_options(["--pipeline", str(script), "--python", sys.executable]))
    tag = sys.implementation.cache_tag
    assert (tmp_path / "confluence_source" / "__pycache__" / f"module.{tag}.pyc").is_file()
    assert (tmp_path / "pipelines" / "__pycache__" / f"confluence_to_es.{tag}.pyc").is_file()
    (tmp_path / "pipelines" / "broken.py").write_text("def broken(:\n")
    with pytest.raises(RuntimeError, match="broken.py"):
        compile_pipeline_modules(parse_options(["--pipeline", str(script), "--python", sys.executable]))
