"""Measures the sink's bulk throughput (documents per second) against a real Elasticsearch node.

    python tests/destination/measure_bulk_throughput.py [--es-url URL] [--docs 20000] [--body-kb 3]

For each variant (bulk helper, documents per sink call, documents per bulk request) it writes the
same realistic page documents into a fresh index through the sink's own `write_batch`, one sink
call after another as dlt makes them for one table, and prints docs/s and MB/s. Finally it runs
the whole dlt pipeline (extract, normalize, load) with the shipped settings. Used to choose
`SINK_BATCH_SIZE`, `DEFAULT_CHUNK_SIZE` and the helper; not part of the test run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dlt  # noqa: E402
from destination_samples import PAGES_TABLE, page_documents  # noqa: E402
from elasticsearch import Elasticsearch  # noqa: E402

from destinations.elastic import elasticsearch_destination, load_statistics, write_batch  # noqa: E402
from destinations.es_config import build_settings  # noqa: E402
from destinations.es_serializer import DocumentSerializer  # noqa: E402

VARIANTS: list[dict[str, Any]] = [
    {"strategy": "streaming", "batch": 250, "chunk": 250},
    {"strategy": "streaming", "batch": 500, "chunk": 500},
    {"strategy": "streaming", "batch": 1000, "chunk": 500},
    {"strategy": "streaming", "batch": 1000, "chunk": 1000},
    {"strategy": "parallel", "batch": 1000, "chunk": 500, "threads": 2},
    {"strategy": "parallel", "batch": 1000, "chunk": 250, "threads": 4},
    {"strategy": "parallel", "batch": 2000, "chunk": 500, "threads": 2},
    {"strategy": "parallel", "batch": 2000, "chunk": 500, "threads": 4},
]


def measure_variant(es: Elasticsearch, es_url: str, docs: list[dict[str, Any]], variant: dict[str, Any]) -> float:
    index = f"throughput-{uuid.uuid4().hex[:8]}"
    settings = build_settings(es_hosts=es_url, es_index=index)
    options = {"strategy": variant["strategy"], "chunk_size": variant["chunk"]}
    if "threads" in variant:
        options["threads"] = variant["threads"]
    batch = variant["batch"]
    write_batch(docs[:1], PAGES_TABLE, settings)  # index creation is not part of the measurement
    try:
        started = time.perf_counter()
        for start in range(0, len(docs), batch):
            write_batch(docs[start:start + batch], PAGES_TABLE, settings, writer_options=options)
        elapsed = time.perf_counter() - started
        es.indices.refresh(index=index)
        assert es.count(index=index)["count"] == len(docs)
    finally:
        es.indices.delete(index=index)
    return elapsed


def measure_pipeline(es: Elasticsearch, es_url: str, docs: list[dict[str, Any]]) -> tuple[float, float]:
    """Whole `pipeline.run()` and its load step alone, with the shipped batch settings."""
    index = f"throughput-{uuid.uuid4().hex[:8]}"

    @dlt.resource(name="pages", primary_key="id", write_disposition="merge",
                  columns={"deleted": {"hard_delete": True, "data_type": "bool"}})
    def pages() -> Iterator[list[dict[str, Any]]]:
        for start in range(0, len(docs), 1000):
            yield docs[start:start + 1000]

    with tempfile.TemporaryDirectory() as pipelines_dir:
        pipeline = dlt.pipeline(
            pipeline_name=f"throughput_{uuid.uuid4().hex[:8]}",
            destination=elasticsearch_destination(es_hosts=es_url, es_index=index),
            pipelines_dir=pipelines_dir,
        )
        try:
            started = time.perf_counter()
            info = pipeline.run(pages())
            total = time.perf_counter() - started
            assert load_statistics(info.loads_ids).indexed == len(docs)
            trace = pipeline.last_trace
            assert trace is not None
            load_step = next(step for step in trace.steps if step.step == "load")
            load_seconds = (load_step.finished_at - load_step.started_at).total_seconds()
        finally:
            es.options(ignore_status=404).indices.delete(index=index)
    return total, load_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--body-kb", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5, help="measurements per variant (median reported)")
    parser.add_argument("--skip-pipeline", action="store_true")
    args = parser.parse_args()

    docs = page_documents(args.docs, body_kb=args.body_kb)
    serializer = DocumentSerializer()
    megabytes = sum(len(serializer.dumps(doc)) for doc in docs) / 1e6
    print(f"{len(docs)} documents, {megabytes:.1f} MB of JSON ({megabytes * 1e3 / len(docs):.1f} KB each)")
    es = Elasticsearch(args.es_url, request_timeout=120)
    # Rounds interleave the variants, so a burst of load from elsewhere on the machine does not
    # land on one variant only; the median is reported.
    timings: list[list[float]] = [[] for _ in VARIANTS]
    for _ in range(args.rounds):
        for position, variant in enumerate(VARIANTS):
            timings[position].append(measure_variant(es, args.es_url, docs, variant))
    for variant, seconds in zip(VARIANTS, timings, strict=True):
        median = statistics.median(seconds)
        label = ", ".join(f"{key}={value}" for key, value in variant.items())
        print(
            f"{label:56s} median {len(docs) / median:6.0f} docs/s {megabytes / median:5.1f} MB/s"
            f"  (best {len(docs) / min(seconds):6.0f}, worst {len(docs) / max(seconds):6.0f})"
        )
    if not args.skip_pipeline:
        total, load_seconds = measure_pipeline(es, args.es_url, docs)
        print(f"{'dlt pipeline.run() (extract+normalize+load)':60s} {len(docs) / total:8.0f} docs/s ({total:.1f}s)")
        print(f"{'  of which the load step':60s} {len(docs) / load_seconds:8.0f} docs/s ({load_seconds:.1f}s)")
    es.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
