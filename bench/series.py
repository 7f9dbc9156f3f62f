"""One series: every scenario for one simulator flavour and one data set size, repeated N times.

Order within a repetition, and why:
  1. full sync into a fresh index with a fresh pipeline folder (the number the targets are about);
  2. sink limit: that index's documents bulk-loaded straight into Elasticsearch;
  3. incremental run with nothing changed (the index must stay exactly as it was);
  4. a small change in the simulator, then an incremental run (the index must then equal a full sync of the
     changed site: the next repetition's full sync is that reference, and after the last repetition one extra
     reference full sync is run);
  5. the naive loader, into a fresh index with the same mapping.
The simulator's serving rate is measured first; it also warms the simulator's render caches, so the first full
sync is not penalised against later ones.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from elasticsearch import Elasticsearch

from bench import es_tools
from bench.index_check import compare
from bench.machine import usable_cores
from bench.naive_run import run_naive
from bench.neighbour_cpu import NeighbourMeter
from bench.options import BenchOptions
from bench.pipeline_runner import PipelineRun, run_pipeline
from bench.records import (FULL, INCREMENTAL_CHANGE, INCREMENTAL_NO_CHANGE, REFERENCE_FULL, SINK_LIMIT, RunRecord)
from bench.serving_rate import ServingRate, measure_serving_rate
from bench.simulator_process import SimulatorProcess, TrafficCounters
from bench.site_changes import apply_small_change
from bench.sink_limit import measure_sink_limit


@dataclass
class SeriesResult:
    flavour: str
    size: str
    records: list[RunRecord] = field(default_factory=list)
    serving_rate: ServingRate | None = None
    errors: list[str] = field(default_factory=list)


class Series:
    def __init__(self, options: BenchOptions, es: Elasticsearch, es_url: str, namer: es_tools.IndexNamer,
                 work_dir: Path, flavour: str, size: str, es_process: psutil.Process | None = None) -> None:
        self.options = options
        self.es_process = es_process  # the local node's process, whose CPU each run reports (None: not local)
        self.neighbours: NeighbourMeter | None = None
        self.cores = usable_cores()
        self.es = es
        self.es_url = es_url
        self.namer = namer
        self.work_dir = work_dir / f"{flavour}-{size}"
        self.flavour = flavour
        self.size = size
        self.result = SeriesResult(flavour, size)
        self.simulator: SimulatorProcess | None = None

    def say(self, message: str) -> None:
        print(f"[{self.flavour}/{self.size}] {message}", flush=True)

    # ---- the whole series --------------------------------------------------------------------------------
    def run(self) -> SeriesResult:
        self.say(f"starting the simulator ({self.size} data set)")
        try:
            self.simulator = SimulatorProcess.start(self.options.python, self.flavour, self.size, self.options.seed,
                                                    self.work_dir)
        except Exception as error:
            self.result.errors.append(f"simulator did not start: {error}")
            self.say(f"ERROR {self.result.errors[-1]}")
            return self.result
        self.neighbours = NeighbourMeter(self.simulator.process.pid, self.es_process)
        try:
            waited = self.simulator.wait_until_idle()
            self.say(f"simulator ready at {self.simulator.base_url} (warm-up {waited:.1f} s)")
            self._guarded("serving rate", self._serving_rate)
            # after the serving rate, which is the simulator's own speed; without the latency asked for, the runs
            # would measure something else, so the series stops (the error is in the report)
            if self.options.latency_ms > 0 and not self._guarded("adding latency", self._add_latency):
                return self.result
            pending: tuple[RunRecord, str] | None = None  # last incremental run, awaiting its reference
            for repeat in range(self.options.repeat):
                pending = self._guarded(f"repetition {repeat + 1}",
                                        lambda r=repeat, p=pending: self._repetition(r, p))  # type: ignore[misc]
            if pending is not None:
                self._guarded("reference full sync", lambda: self._reference(pending))
        finally:
            self.simulator.stop()
        return self.result

    def _guarded(self, what: str, step: Any) -> Any:
        try:
            return step()
        except Exception as error:
            self.result.errors.append(f"{what}: {type(error).__name__}: {error}")
            self.say(f"ERROR in {what}: {error}\n{traceback.format_exc(limit=3)}")
            return None

    def _add_latency(self) -> bool:
        assert self.simulator is not None
        self.simulator.add_latency(self.options.latency_ms / 1000)
        self.say(f"every Confluence API request now waits {self.options.latency_ms:g} ms")
        return True

    def _serving_rate(self) -> None:
        assert self.simulator is not None
        rate = measure_serving_rate(self.simulator, self.size)
        self.result.serving_rate = rate
        self.say(f"simulator serves {rate.pages_per_second:.0f} pages/s with bodies "
                 f"({rate.pages_per_simulator_cpu_second:.0f} per simulator CPU-second)")

    def _repetition(self, repeat: int, pending: tuple[RunRecord, str] | None) -> tuple[RunRecord, str] | None:
        assert self.simulator is not None
        index = self.namer.new(self.flavour, self.size, "ours", f"r{repeat + 1}")
        data_dir = self.work_dir / f"pipeline-r{repeat + 1}"
        full = self._pipeline_record(FULL, repeat, index, data_dir)
        if pending is not None:
            if full.ok:
                self._check_against_full(pending, index, "a full sync of the changed site (next repetition)")
            else:  # no trustworthy reference: leave the previous run unchecked
                es_tools.delete_index(self.es, pending[1])
        if not full.ok:
            es_tools.delete_index(self.es, index)
            return None
        after_full = es_tools.versions_by_id(self.es, index)
        self._guarded("sink limit", lambda: self._sink_limit(repeat, index))
        no_change = self._pipeline_record(INCREMENTAL_NO_CHANGE, repeat, index, data_dir)
        if no_change.ok:
            no_change.index_check = compare(after_full, es_tools.versions_by_id(self.es, index),
                                            "the index right after the full sync")
        changes = self._guarded("site change", lambda: apply_small_change(self.simulator, repeat))  # type: ignore
        if changes is None:
            es_tools.delete_index(self.es, index)
            return None
        changed = self._pipeline_record(INCREMENTAL_CHANGE, repeat, index, data_dir)
        changed.details["changes"] = changes
        self._guarded("naive baseline", lambda: self._naive(repeat, index))
        if not changed.ok:
            es_tools.delete_index(self.es, index)
            return None
        return changed, index

    def _reference(self, pending: tuple[RunRecord, str]) -> None:
        index = self.namer.new(self.flavour, self.size, "reference")
        reference = self._pipeline_record(REFERENCE_FULL, self.options.repeat - 1, index,
                                          self.work_dir / "pipeline-reference")
        if reference.ok:
            self._check_against_full(pending, index, "a full sync of the changed site (reference run)")
        else:
            es_tools.delete_index(self.es, pending[1])
        es_tools.delete_index(self.es, index)

    def _check_against_full(self, pending: tuple[RunRecord, str], full_index: str, expected_from: str) -> None:
        record, incremental_index = pending
        try:
            expected = es_tools.versions_by_id(self.es, full_index)
            record.index_check = compare(expected, es_tools.versions_by_id(self.es, incremental_index),
                                         expected_from)
            if not record.index_check.matches:
                self.say(f"index after the incremental run differs: {record.index_check.examples}")
        finally:
            es_tools.delete_index(self.es, incremental_index)

    # ---- measured steps ----------------------------------------------------------------------------------
    def _pipeline_record(self, scenario: str, repeat: int, index: str, data_dir: Path) -> RunRecord:
        assert self.simulator is not None and self.neighbours is not None
        label = f"{scenario}-r{repeat + 1}"
        before = self.simulator.counters()
        cpu_before = self.neighbours.snapshot()
        run = run_pipeline(python=self.options.python, pipeline=self.options.pipeline, simulator=self.simulator,
                           es_url=self.es_url, index=index, data_dir=data_dir, log_dir=self.work_dir / "logs",
                           label=label, timeout_s=self.options.pipeline_timeout_s)
        neighbours = self.neighbours.since(cpu_before)
        traffic = self.simulator.counters().since(before)
        record = _record_from_pipeline(scenario, self.flavour, self.size, repeat, run, traffic)
        record.add_neighbours(neighbours, self.cores)
        if run.summary is not None:
            record.add_pipeline_costs(run.summary)
        if record.ok:
            record.index_documents = es_tools.count(self.es, index)
        self.result.records.append(record)
        self.say(_describe(record))
        return record

    def _sink_limit(self, repeat: int, source_index: str) -> None:
        best, attempts = measure_sink_limit(self.es, source_index, self.namer.new(self.flavour, self.size, "sink"))
        record = RunRecord(
            scenario=SINK_LIMIT, flavour=self.flavour, size=self.size, repeat=repeat + 1, ok=best.errors == 0,
            error=None if best.errors == 0 else f"{best.errors} bulk items failed",
            documents=best.documents, index_documents=best.documents, docs_per_second=best.docs_per_second,
            wall_seconds=best.wall_seconds, cpu_seconds=best.cpu_seconds,
            details={"mode": best.mode, "attempts": [
                {"mode": a.mode, "docs_per_second": a.docs_per_second, "wall_seconds": a.wall_seconds,
                 "cpu_seconds": a.cpu_seconds, "errors": a.errors} for a in attempts],
                "cpu_note": "CPU of the benchmark process (bulk client side only)"},
        )
        self.result.records.append(record)
        self.say(_describe(record))

    def _naive(self, repeat: int, template_index: str) -> None:
        assert self.simulator is not None and self.neighbours is not None
        index = self.namer.new(self.flavour, self.size, "naive", f"r{repeat + 1}")
        try:
            record = run_naive(self.options, self.es, self.es_url, self.simulator, template_index, index,
                               self.work_dir / "logs", repeat, self.neighbours, self.cores)
        finally:
            es_tools.delete_index(self.es, index)
        self.result.records.append(record)
        self.say(_describe(record))


def _record_from_pipeline(scenario: str, flavour: str, size: str, repeat: int, run: PipelineRun,
                          traffic: TrafficCounters) -> RunRecord:
    measurement, summary = run.measurement, run.summary or {}
    by_type = {str(k): int(v) for k, v in (summary.get("documents") or {}).items()}
    documents = sum(by_type.values()) if run.summary is not None else None
    wall = measurement.wall_seconds
    return RunRecord(
        scenario=scenario, flavour=flavour, size=size, repeat=repeat + 1, ok=run.error is None, error=run.error,
        documents=documents, deleted=summary.get("deleted"), failed=summary.get("failed"),
        docs_per_second=documents / wall if documents is not None and wall > 0 else None,
        wall_seconds=wall, cpu_seconds=measurement.cpu_seconds, cpu_user_seconds=measurement.cpu_user_seconds,
        cpu_system_seconds=measurement.cpu_system_seconds, requests=traffic.requests,
        docs_per_request=documents / traffic.requests if documents is not None and traffic.requests else None,
        bytes_read=traffic.bytes_sent, file_requests=traffic.file_requests, file_bytes_read=traffic.file_bytes_sent,
        peak_rss_mb=measurement.peak_rss_bytes / 2**20,
        reported_elapsed_seconds=summary.get("elapsed_seconds"), documents_by_type=by_type,
        details={"pipeline_reported_requests": summary.get("requests"),
                 "pipeline_reported_bytes": summary.get("bytes"),
                 "requests_by_endpoint": traffic.by_endpoint},
    )


def _describe(record: RunRecord) -> str:
    if not record.ok:
        return f"{record.scenario} #{record.repeat}: FAILED ({record.error})"
    parts = [f"{record.scenario} #{record.repeat}: {record.documents} docs in {record.wall_seconds:.2f} s"]
    if record.docs_per_second is not None:
        parts.append(f"{record.docs_per_second:.0f} docs/s")
    if record.requests is not None:
        parts.append(f"{record.requests} requests")
    if record.peak_rss_mb is not None:
        parts.append(f"peak RSS {record.peak_rss_mb:.0f} MB")
    if record.index_check is not None:
        parts.append("index OK" if record.index_check.matches else "index MISMATCH")
    return ", ".join(parts)
