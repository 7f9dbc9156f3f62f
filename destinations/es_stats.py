"""Per-load counters of what the sink did, for the pipeline's run summary.

The sink runs inside `pipeline.run()` in the same process as the pipeline script, so the script can
read these after the run (by load id). Counts are booked only when a sink call finishes, so a batch
that failed and was re-sent by dlt is counted once. Rejected documents are counted by id, so a
rejection seen again on a re-sent batch is not counted twice.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable

from destinations.es_bulk import BulkOutcome
from destinations.es_documents import RejectedDocument


@dataclasses.dataclass
class LoadStatistics:
    indexed: int = 0
    deleted: int = 0
    already_absent: int = 0
    retries: int = 0
    rejected_ids: set[str] = dataclasses.field(default_factory=set)

    @property
    def rejected(self) -> int:
        return len(self.rejected_ids)

    def copy(self) -> LoadStatistics:
        return dataclasses.replace(self, rejected_ids=set(self.rejected_ids))


_by_load: dict[str | None, LoadStatistics] = {}
_lock = threading.Lock()


def record_batch(
    load_id: str | None, outcome: BulkOutcome, rejected: Iterable[RejectedDocument]
) -> None:
    with _lock:
        stats = _by_load.setdefault(load_id, LoadStatistics())
        stats.indexed += outcome.indexed
        stats.deleted += outcome.deleted
        stats.already_absent += outcome.already_absent
        stats.retries += outcome.retries
        stats.rejected_ids.update(entry.doc_id for entry in rejected)


def statistics_for(load_id: str | None) -> LoadStatistics:
    """A snapshot of the counters of one load (all zero if the sink did not run for it)."""
    with _lock:
        stats = _by_load.get(load_id)
        return stats.copy() if stats else LoadStatistics()


def total_statistics(load_ids: Iterable[str | None]) -> LoadStatistics:
    total = LoadStatistics()
    for load_id in load_ids:
        stats = statistics_for(load_id)
        total.indexed += stats.indexed
        total.deleted += stats.deleted
        total.already_absent += stats.already_absent
        total.retries += stats.retries
        total.rejected_ids |= stats.rejected_ids
    return total
