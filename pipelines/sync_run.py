"""One sync of a Confluence site into Elasticsearch: content load, deletion reconciliation, watermark commit.

The order matters for safety. Content is loaded first; deletions are planned only after that load fully succeeded
(every listing of the run completed), and they go through the same destination as a second, small load. The
watermarks move forward last, and only when both loads succeeded, so a failed run is simply repeated by the next one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator

import dlt
from dlt.common.pipeline import LoadInfo

from confluence_source import confluence
from confluence_source.deletions import DeletionPlan, DeletionPolicy, plan_deletions
from confluence_source.sync_state import IndexedDocuments, SyncLedger, WatermarkStore, utc_now
from destinations import elastic

logger = logging.getLogger("confluence_to_es")

PIPELINE_NAME = "confluence_to_es"
DATASET_NAME = "confluence"
CONTENT_TABLES = ("spaces", "pages", "blogposts", "comments", "attachments")


@dataclass
class SyncOptions:
    pipeline_name: str = PIPELINE_NAME
    full_refresh: bool = False
    allow_mass_delete: bool = False
    max_delete_fraction: float = 0.2
    pipelines_dir: str | None = None


@dataclass
class SyncSummary:
    """What a run did, for the printed summary and --summary-json."""

    mode: str = "full"
    documents: dict[str, int] = field(default_factory=dict)
    deleted: int = 0
    deleted_by_type: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    requests: int = 0
    bytes: int = 0
    elapsed_seconds: float = 0.0
    refused_deletions: list[dict[str, Any]] = field(default_factory=list)
    refusal_message: str = ""
    index: str = ""
    site_url: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "documents": self.documents,
            "deleted": self.deleted,
            "deleted_by_type": self.deleted_by_type,
            "failed": self.failed,
            "requests": self.requests,
            "bytes": self.bytes,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "refused_deletions": self.refused_deletions,
            "index": self.index,
            "site_url": self.site_url,
        }


class SyncHooks:
    """The link between the source and this run: the source reports its resolved settings and reader here, and gets
    back the watermarks stored in Elasticsearch for that site (none on --full-refresh)."""

    def __init__(self, es_client: Any, index: str, options: SyncOptions) -> None:
        self.es_client = es_client
        self.index = index
        self.options = options
        self.ledger = SyncLedger()
        self.store: WatermarkStore | None = None
        self.settings: Any = None
        self.reader: Any = None
        self.synced_spaces: set[str] = set()
        self.spaces_from_config = False
        self.scopes: list[str] = []
        self.watermarks: dict[str, str] = {}

    def attach(self, settings: Any, reader: Any, synced_spaces: set[str], spaces_from_config: bool,
               scopes: list[str]) -> dict[str, str]:
        """Called by the source once preflight passed; returns the watermark per scope to read incrementally."""
        self.settings = settings
        self.reader = reader
        self.synced_spaces = set(synced_spaces)
        self.spaces_from_config = spaces_from_config
        self.scopes = list(scopes)
        self.store = WatermarkStore(self.es_client, self.index, settings.site_url, self.options.pipeline_name)
        if self.options.full_refresh:
            self.watermarks = {}
        else:
            saved = self.store.load().watermarks
            self.watermarks = {scope: saved[scope] for scope in scopes if scope in saved}
        return dict(self.watermarks)


@dlt.resource(
    name="deletions",
    primary_key="id",
    write_disposition="merge",
    columns={"id": {"data_type": "text"}, "deleted": {"hard_delete": True, "data_type": "bool"}},
)
def deletion_rows(ids: list[str]) -> Iterator[dict[str, Any]]:
    """Tombstones for the destination: it turns each into a bulk delete of that `_id`."""
    for doc_id in ids:
        yield {"id": doc_id, "deleted": True}


def make_pipeline(options: SyncOptions) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=options.pipeline_name,
        destination=elastic.elasticsearch(),
        dataset_name=DATASET_NAME,
        pipelines_dir=options.pipelines_dir,
        progress="log" if logger.isEnabledFor(logging.DEBUG) else None,
    )


def run_sync(options: SyncOptions) -> SyncSummary:
    """Run one sync; raises the source's or destination's one-line errors for the caller to print."""
    started = time.monotonic()
    run_started_at: datetime = utc_now()
    es_client = elastic.elasticsearch_client_from_config()
    index = elastic.configured_index_name()
    elastic.check_connection(es_client)

    hooks = SyncHooks(es_client, index, options)
    source = confluence(sync_hooks=hooks, ledger=hooks.ledger)
    pipeline = make_pipeline(options)
    if pipeline.has_pending_data:
        logger.warning("Loading a package left pending by an earlier run before syncing")
        pipeline.load()

    rejected_before = elastic.rejected_document_count()
    load_info = pipeline.run(source)
    raise_on_failed_jobs(load_info)
    summary = SyncSummary(
        mode="incremental" if hooks.watermarks else "full",
        index=index,
        site_url=hooks.settings.site_url,
    )
    summary.documents = row_counts(pipeline)

    plan = plan_deletions(
        IndexedDocuments(es_client, index, hooks.settings.site_url),
        synced_spaces=hooks.synced_spaces,
        spaces_from_config=hooks.spaces_from_config,
        ledger=hooks.ledger,
        count_current=hooks.reader.count_current,
        iter_current_ids=hooks.reader.iter_current_ids,
        policy=DeletionPolicy(max_fraction=options.max_delete_fraction, allow_mass_delete=options.allow_mass_delete),
    )
    apply_deletions(pipeline, plan, summary)
    summary.failed = elastic.rejected_document_count() - rejected_before

    stats = hooks.reader.stats.as_dict()
    summary.requests = int(stats.get("requests", 0))
    summary.bytes = int(stats.get("bytes", 0))
    summary.elapsed_seconds = time.monotonic() - started
    assert hooks.store is not None
    hooks.store.save(
        {scope: run_started_at.isoformat() for scope in hooks.scopes},
        last_run={**summary.as_dict(), "finished_at": utc_now().isoformat()},
    )
    return summary


def apply_deletions(pipeline: dlt.Pipeline, plan: DeletionPlan, summary: SyncSummary) -> None:
    if plan.delete_ids:
        info = pipeline.run(deletion_rows(plan.delete_ids))
        raise_on_failed_jobs(info)
    summary.deleted = len(plan.delete_ids)
    summary.deleted_by_type = dict(plan.by_type)
    if plan.refused:
        summary.refused_deletions = [vars(refused) for refused in plan.refused]
        summary.refusal_message = plan.refusal_message()


def raise_on_failed_jobs(load_info: LoadInfo) -> None:
    """A load job that failed for good means the index may miss data: stop before deleting or moving watermarks."""
    load_info.raise_on_failed_jobs()


def row_counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Documents written per content table in the last run, from dlt's own normalize counters."""
    trace = pipeline.last_trace
    if trace is None or trace.last_normalize_info is None:
        return {}
    counts = trace.last_normalize_info.row_counts
    return {table: int(counts.get(table, 0)) for table in CONTENT_TABLES if counts.get(table)}
