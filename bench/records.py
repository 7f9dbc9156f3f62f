"""What one measured run produced, and the medians over repetitions that the reports show.

Kept as plain dataclasses with JSON-ready fields so the report writer, the target checks and the smoke test all
read the same names.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from bench.neighbour_cpu import NeighbourCpu
from pipelines.run_costs import STEPS as PIPELINE_STEPS

# Scenario names (also the row labels of the reports)
FULL = "full_sync"
INCREMENTAL_NO_CHANGE = "incremental_no_change"
INCREMENTAL_CHANGE = "incremental_after_change"
NAIVE = "naive_baseline"
SINK_LIMIT = "sink_limit"
# a full sync after the last change, run only to check the last incremental run's index (not a target input)
REFERENCE_FULL = "reference_full_sync"
SCENARIOS = (FULL, INCREMENTAL_NO_CHANGE, INCREMENTAL_CHANGE, NAIVE, SINK_LIMIT, REFERENCE_FULL)

# Where a run's wall time went: outside the program's own clock (interpreter start, imports, the run lock, saving
# the watermarks, exit), then the steps the pipeline reports (`pipelines.run_costs.STEPS`)
RUN_STEPS = ("start_and_exit", *PIPELINE_STEPS)
# Numeric fields of a run that are summarised as medians
METRICS = ("documents", "index_documents", "docs_per_second", "wall_seconds", "cpu_seconds", "cpu_user_seconds",
           "cpu_system_seconds", "requests", "docs_per_request", "bytes_read", "file_requests", "file_bytes_read",
           "peak_rss_mb", "reported_elapsed_seconds", *(f"{step}_seconds" for step in RUN_STEPS),
           "job_cpu_seconds", "worker_cpu_seconds", "simulator_cpu_seconds", "elasticsearch_cpu_seconds",
           "machine_busy_share")


@dataclass
class IndexCheck:
    """Does an index hold exactly the expected documents (same _ids, same versions)?"""

    expected_from: str  # what the expectation was computed from
    matches: bool
    expected_documents: int
    actual_documents: int
    missing: int
    unexpected: int
    version_mismatches: int
    examples: list[str] = field(default_factory=list)


@dataclass
class RunRecord:
    """One measured run of one scenario. Fields a scenario cannot measure stay None (never invented)."""

    scenario: str
    flavour: str
    size: str
    repeat: int
    ok: bool
    error: str | None = None
    documents: int | None = None  # documents this run wrote (deleted ones not included)
    deleted: int | None = None
    failed: int | None = None
    index_documents: int | None = None  # documents in the index after the run
    docs_per_second: float | None = None
    wall_seconds: float | None = None
    cpu_seconds: float | None = None
    cpu_user_seconds: float | None = None
    cpu_system_seconds: float | None = None
    requests: int | None = None  # Confluence API requests the simulator served for this run
    docs_per_request: float | None = None
    bytes_read: int | None = None  # API response bytes the simulator sent for this run
    file_requests: int | None = None  # attachment file downloads (and Cloud's redirects to them)
    file_bytes_read: int | None = None
    peak_rss_mb: float | None = None
    reported_elapsed_seconds: float | None = None  # what the program itself says it took
    # wall seconds per step (`RUN_STEPS`; the pipeline's runs only): start and exit = wall - reported elapsed
    start_and_exit_seconds: float | None = None
    preflight_seconds: float | None = None
    extract_seconds: float | None = None
    normalize_seconds: float | None = None
    load_seconds: float | None = None
    reconcile_seconds: float | None = None
    # CPU seconds: the measured process itself (`cpu_seconds` less its workers', so start and exit included) and
    # its worker processes (as the pipeline reports them), and the neighbours on the same machine during the run
    job_cpu_seconds: float | None = None
    worker_cpu_seconds: float | None = None
    simulator_cpu_seconds: float | None = None
    elasticsearch_cpu_seconds: float | None = None
    # CPU time of the run, the simulator and Elasticsearch together / (wall time x usable cores)
    machine_busy_share: float | None = None
    documents_by_type: dict[str, int] = field(default_factory=dict)
    index_check: IndexCheck | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def add_neighbours(self, neighbours: NeighbourCpu, usable_cores: int) -> None:
        """The simulator's and Elasticsearch's CPU during this run, and how busy the machine was altogether."""
        self.simulator_cpu_seconds = neighbours.simulator_seconds
        self.elasticsearch_cpu_seconds = neighbours.elasticsearch_seconds
        parts = (self.cpu_seconds, self.simulator_cpu_seconds, self.elasticsearch_cpu_seconds)
        if self.wall_seconds and usable_cores > 0 and all(part is not None for part in parts):
            self.machine_busy_share = sum(parts) / (self.wall_seconds * usable_cores)  # type: ignore[arg-type]

    def add_start_and_exit(self) -> None:
        """The wall time outside the program's own clock (`reported_elapsed_seconds`)."""
        if self.wall_seconds is not None and self.reported_elapsed_seconds is not None:
            self.start_and_exit_seconds = max(0.0, self.wall_seconds - float(self.reported_elapsed_seconds))

    def add_pipeline_costs(self, summary: dict[str, Any]) -> None:
        """The step times and CPU split the pipeline's summary reports (`pipelines.run_costs`)."""
        steps = summary.get("step_seconds") or {}
        for step in PIPELINE_STEPS:
            setattr(self, f"{step}_seconds", steps.get(step))
        self.add_start_and_exit()
        workers = (summary.get("cpu_seconds") or {}).get("workers")
        self.worker_cpu_seconds = workers
        if self.cpu_seconds is not None and workers is not None:
            self.job_cpu_seconds = max(0.0, self.cpu_seconds - float(workers))


def _median(values: Iterable[float | int | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


@dataclass
class ScenarioSummary:
    """Medians of one (scenario, flavour, size) over its successful repetitions."""

    scenario: str
    flavour: str
    size: str
    runs: int
    successful_runs: int
    medians: dict[str, float | None]
    index_matches: bool | None  # all checked runs matched (None when nothing was checked)

    def get(self, metric: str) -> float | None:
        return self.medians.get(metric)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarise(records: list[RunRecord]) -> list[ScenarioSummary]:
    groups: dict[tuple[str, str, str], list[RunRecord]] = {}
    for record in records:
        groups.setdefault((record.scenario, record.flavour, record.size), []).append(record)
    summaries = []
    for (scenario, flavour, size), group in groups.items():
        good = [record for record in group if record.ok]
        checks = [record.index_check.matches for record in group if record.index_check is not None]
        summaries.append(ScenarioSummary(
            scenario=scenario, flavour=flavour, size=size, runs=len(group), successful_runs=len(good),
            medians={metric: _median(getattr(record, metric) for record in good) for metric in METRICS},
            index_matches=all(checks) if checks else None,
        ))
    order = {name: position for position, name in enumerate(SCENARIOS)}
    sizes = {"small": 0, "medium": 1, "large": 2}
    summaries.sort(key=lambda s: (s.flavour, sizes.get(s.size, 9), order.get(s.scenario, 99)))
    return summaries


def find(summaries: list[ScenarioSummary], scenario: str, flavour: str, size: str) -> ScenarioSummary | None:
    for summary in summaries:
        if (summary.scenario, summary.flavour, summary.size) == (scenario, flavour, size):
            return summary
    return None
