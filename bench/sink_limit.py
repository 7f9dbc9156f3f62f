"""The sink limit: how fast this Elasticsearch node takes the pipeline's final documents when nothing else runs.

The documents are the ones the pipeline produced (read back from its index), bulk-indexed with the official
client's helpers into a fresh index with the same mapping: no Confluence, no dlt, no transformation. The faster of
a sequential (`streaming_bulk`) and a threaded (`parallel_bulk`) load is the ceiling any sync can approach on this
machine; the ratio of the pipeline's throughput to it says how much of the time goes to the destination itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from elasticsearch import Elasticsearch, helpers

from bench import es_tools

CHUNK_SIZE = 500
PARALLEL_THREADS = 2


@dataclass(frozen=True)
class BulkLoadMeasurement:
    mode: str  # sequential | parallel
    documents: int
    wall_seconds: float
    cpu_seconds: float  # of the benchmark process (client-side serialisation and HTTP)
    errors: int

    @property
    def docs_per_second(self) -> float:
        return self.documents / self.wall_seconds if self.wall_seconds > 0 else 0.0


def _actions(index: str, documents: Iterable[tuple[str, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for doc_id, source in documents:
        yield {"_op_type": "index", "_index": index, "_id": doc_id, "_source": source}


def bulk_load(
    es: Elasticsearch,
    documents: list[tuple[str, dict[str, Any]]],
    template_index: str,
    target_index: str,
    parallel: bool,
) -> BulkLoadMeasurement:
    """Index `documents` into a new `target_index` shaped like `template_index`; time includes the final refresh."""
    es_tools.create_like(es, template_index, target_index)
    errors = 0
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    if parallel:
        results = helpers.parallel_bulk(es, _actions(target_index, documents), thread_count=PARALLEL_THREADS,
                                        chunk_size=CHUNK_SIZE, raise_on_error=False)
    else:
        results = helpers.streaming_bulk(es, _actions(target_index, documents), chunk_size=CHUNK_SIZE,
                                         raise_on_error=False)
    for ok, _item in results:
        errors += 0 if ok else 1
    es_tools.refresh(es, target_index)
    wall, cpu = time.perf_counter() - wall_start, time.process_time() - cpu_start
    return BulkLoadMeasurement("parallel" if parallel else "sequential", len(documents), wall, cpu, errors)


def measure_sink_limit(
    es: Elasticsearch, source_index: str, target_prefix: str
) -> tuple[BulkLoadMeasurement, list[BulkLoadMeasurement]]:
    """Best of a sequential and a parallel bulk load of `source_index`'s documents; also returns both attempts."""
    documents = es_tools.read_documents(es, source_index)
    attempts: list[BulkLoadMeasurement] = []
    for parallel in (False, True):
        target = f"{target_prefix}-{'parallel' if parallel else 'sequential'}"
        try:
            attempts.append(bulk_load(es, documents, source_index, target, parallel))
        finally:
            es_tools.delete_index(es, target)
    best = max(attempts, key=lambda attempt: attempt.docs_per_second)
    return best, attempts
