"""One sync of a Confluence site into Elasticsearch: content load, deletion reconciliation, watermark commit.

The order matters for safety. Content is loaded first; deletions are planned only after that load fully succeeded
(every listing of the run completed), and they go through the same destination as a second, small load. The
watermarks move forward last, and only when both loads succeeded, so a failed run is simply repeated by the next one.
The one exception is a run that reads many spaces in full: it loads them a group at a time and saves the watermarks
of each group's spaces once they are in (`read_stages.py`), so that the next run does not read them in full again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, Iterator

import dlt
from dlt.common.pipeline import LoadInfo, get_dlt_pipelines_dir
from dlt.common.runtime import signals
from elasticsearch import ApiError, Elasticsearch, TransportError

from confluence_source import (ConfluenceConfigError, ConfluenceError, ConfluenceReader, confluence,
                               confluence_settings, open_reader)
from confluence_source.archived_pages import without_spaces_with_archive_changes
from confluence_source.config import setting
from confluence_source.cql import parse_instant
from confluence_source.documents import doc_id
from confluence_source.deletions import (DeletionPlan, DeletionPolicy, RuleDeletionPlan, plan_deletions,
                                         plan_rule_deletions)
from confluence_source.reader import SyncPlan
from confluence_source.structure import without_renamed_spaces
from confluence_source.sync_state import (IndexedDocuments, OtherPipeline, SyncLedger, SyncState, WatermarkStore,
                                          state_index_name, utc_now)
from destinations import elastic
from destinations.es_config import ElasticsearchSettings
from destinations.es_retry import RetryPolicy, call_with_backoff
from pipelines.memory import release_free_memory
from pipelines.missing_items import items_for_next_run, still_unreadable, tried_items
from pipelines.pending_packages import DELETIONS_TABLE, note_state_saved, package_target, settle_pending_packages
from pipelines.read_stages import (STAGE_DOCUMENTS, FirstStageWatch, indexed_by_space, plan_stages,
                                  save_before_first_stage, save_progress)
from pipelines.run_costs import StepClock
from pipelines.run_lock import exclusive_run
from pipelines.working_folder import prune_loaded_packages, remove_abandoned_extracts

logger = logging.getLogger("confluence_to_es")

PIPELINE_NAME = "confluence_to_es"
DATASET_NAME = "confluence"
CONTENT_TABLES = ("spaces", "pages", "blogposts", "comments", "attachments")
# Another pipeline whose state is older than this gets a warning for the spaces it is left (see
# `report_spaces_left_to_others`).
STALE_PIPELINE_AGE = timedelta(days=7)
# Bytes read from Confluence from which the garbage of the extract step is worth two full collections (medium and
# large full reads are 30 MB and more; an incremental run with nothing to do reads about a tenth of that).
RELEASE_MEMORY_AFTER_BYTES = 24 * 1024 * 1024


@dataclass
class SyncOptions:
    pipeline_name: str = PIPELINE_NAME
    full_refresh: bool = False
    allow_mass_delete: bool = False
    max_delete_fraction: float = 0.2
    pipelines_dir: str | None = None
    # documents a stage of a long full read holds at most (`read_stages.py`); 0 reads everything in one stage
    stage_documents: int = STAGE_DOCUMENTS
    # keys of spaces to read in full while the others are read for their changes (`--refresh-spaces`)
    refresh_spaces: tuple[str, ...] = ()


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
    file_requests: int = 0  # attachment downloads (not counted in `requests`)
    file_bytes: int = 0
    token_requests: int = 0  # a service account's OAuth token requests (not counted in `requests`)
    attachment_text: dict[str, int] = field(default_factory=dict)  # files per outcome (extracted, too_large, ...)
    elapsed_seconds: float = 0.0
    step_seconds: dict[str, float] = field(default_factory=dict)  # see `run_costs.STEPS`
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # this process, and its worker processes
    refused_deletions: list[dict[str, Any]] = field(default_factory=list)
    refusal_message: str = ""
    # scopes whose id listing came back shorter than Confluence's count: their deletions wait for the next run
    short_listings: list[dict[str, Any]] = field(default_factory=list)
    # items Confluence lists that the index lacks (e.g. restored from the trash on their own): the next run reads them
    missing_from_index: int = 0
    # items Confluence lists that the index still lacks although a run read them (search does not return them, or
    # Elasticsearch refused them): tried again a day after they were set apart
    unreadable: int = 0
    # under advanced rules: indexed documents no rule matched, which go once a search an hour later confirms it
    unmatched: int = 0
    # other pipeline -> the spaces of its that this run did not sync and left in the index
    left_to_other_pipelines: dict[str, list[str]] = field(default_factory=dict)
    # stages of a long full read, each loaded and its progress saved before the next (`read_stages.py`)
    stages: int = 1
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
            "file_requests": self.file_requests,
            "file_bytes": self.file_bytes,
            "token_requests": self.token_requests,
            "attachment_text": self.attachment_text,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "step_seconds": self.step_seconds,
            "cpu_seconds": self.cpu_seconds,
            "refused_deletions": self.refused_deletions,
            "short_listings": self.short_listings,
            "missing_from_index": self.missing_from_index,
            "unreadable": self.unreadable,
            "unmatched": self.unmatched,
            "left_to_other_pipelines": self.left_to_other_pipelines,
            "stages": self.stages,
            "index": self.index,
            "site_url": self.site_url,
        }


@dlt.resource(
    name=DELETIONS_TABLE,
    primary_key="id",
    write_disposition="merge",
    columns={"id": {"data_type": "text"}, "deleted": {"hard_delete": True, "data_type": "bool"}},
)
def deletion_rows(ids: list[str]) -> Iterator[dict[str, Any]]:
    """Tombstones for the destination: it turns each into a bulk delete of that `_id`."""
    for document_id in ids:
        yield {"id": document_id, "deleted": True}


def make_pipeline(options: SyncOptions) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=options.pipeline_name,
        destination=elastic.elasticsearch(),
        dataset_name=DATASET_NAME,
        pipelines_dir=options.pipelines_dir,
        progress="log" if logger.isEnabledFor(logging.DEBUG) else None,
    )


def run_sync(options: SyncOptions) -> SyncSummary:
    """Run one sync; raises the source's or destination's one-line errors for the caller to print, and
    `SyncAlreadyRunningError` when another run of the same pipeline has not finished (see `run_lock.py`)."""
    with exclusive_run(options.pipelines_dir or get_dlt_pipelines_dir(), options.pipeline_name):
        return _sync(options)


def _sync(options: SyncOptions) -> SyncSummary:
    clock = StepClock()
    elastic.forget_answers()  # a node that answered an earlier run in this process says nothing about this one
    es_settings = elastic.resolve_settings()
    # the run's own requests to Elasticsearch (watermarks, what the index holds) fail with one line, like the load's
    try:
        with (es_settings.connection.explained_errors(es_settings.index, precedence=(ConfluenceError,)),
              elastic.elasticsearch_client_from_config(es_settings) as es_client):
            first_stage = FirstStageWatch()
            try:
                return _sync_with(options, es_settings, es_client, clock, first_stage)
            except BaseException as error:
                first_stage.after_failure(error)
                raise
    except BaseException:
        # no summary for a run that failed: what it had timed so far still tells where it got to (and how slowly)
        logger.info("Time by step before the run stopped: %s; then %.1f s in the step it stopped in",
                    clock.describe() or "none", clock.since_last_lap())
        raise


def spaces_to_refresh(wanted: tuple[str, ...], reader: ConfluenceReader) -> set[str]:
    """The keys of the synced spaces that `--refresh-spaces` names (in any case), read in full by this run: a
    `--full-refresh` of part of the site, e.g. to apply a changed setting to one space, or to bring back what only a
    full read sees (see Known limitations). A key this run does not sync is a mistake to point out before anything
    is written, and so is the option under `advanced_rules`, where the rules, not spaces, are what is read."""
    if not wanted:
        return set()
    if reader.config.advanced_rules:
        raise ConfluenceConfigError(
            "--refresh-spaces reads spaces in full, but advanced_rules choose what is synced: use --full-refresh")
    synced = {space.key.upper(): space.key for space in reader.state.selected}
    unknown = [key for key in wanted if key.upper() not in synced]
    if unknown:
        keys = sorted(synced.values())
        shown = ", ".join(keys[:100]) + (", ..." if len(keys) > 100 else "")
        raise ConfluenceConfigError(
            f"--refresh-spaces names {', '.join(unknown)}, which this run does not sync (it syncs {shown or 'no space'}; "
            f"see {setting('spaces')})")
    return {synced[key.upper()] for key in wanted}


def warn_of_other_writers(indexed: IndexedDocuments) -> None:
    """On the first sync of this site into an index that exists already: say so when the index holds documents
    this site's runs did not write. An index named like Elastic's connector indices (`search-confluence`, the
    default) may hold that connector's copies of the same pages under other ids, which no run here updates or
    deletes, so every search would find both; another Confluence site's documents have the same ids as this site's
    (both sites number their content from the same start), so each run would overwrite the other's. Sharing an
    index with other sources, or an address of the site that changed, can be on purpose: a warning, not a stop."""
    try:
        writers = indexed.other_writers()
    except (ApiError, TransportError) as error:  # only a warning: not worth failing the run over
        logger.info("Could not tell who else wrote to index %s (%s)", indexed.index, type(error).__name__)
        return
    unmarked = writers.pop(None, 0)
    if unmarked:
        logger.warning(
            "Index %s already holds %s document(s) that this connector did not write (they have no site_url), e.g. "
            "from Elastic's Confluence connector: no sync here updates or deletes them, so searches may find them "
            "beside this site's documents. Name an index of its own (destination.elasticsearch.es_index), or delete "
            "them, unless sharing the index is intended", indexed.index, f"{unmarked:,}")
    if writers:
        logger.warning(
            "Index %s already holds documents of another Confluence address (%s): two sites' documents can have the "
            "same ids and would overwrite each other. Give each site an index of its own "
            "(destination.elasticsearch.es_index); if the site itself moved to this address, sync into a new index "
            "or delete the old address's documents", indexed.index,
            ", ".join(f"{site} with {count:,}" for site, count in sorted(writers.items())))


def _sync_with(options: SyncOptions, es_settings: ElasticsearchSettings, es_client: Elasticsearch,
               clock: StepClock, first_stage: FirstStageWatch) -> SyncSummary:
    index = es_settings.index
    # after the content load, a moment without Elasticsearch must not throw the whole run away: backed off as the
    # load's own writes are
    es_retries = RetryPolicy(max_retries=es_settings.max_retries)
    settings = confluence_settings()
    elastic.check_connection(es_client, es_settings, create_index=False)  # reachable, credentials accepted
    store = WatermarkStore(es_client, index, settings.site_url, options.pipeline_name)
    # read before the preflight: a site that the last successful run read at this address and that does not answer
    # now is down, not misaddressed (exit 1, not 2)
    state = store.load()
    answered_before = state.last_run.get("confluence_address") == settings.address
    reader = open_reader(settings, answered_before=answered_before)  # credentials, time zone, spaces, rules
    refreshed = spaces_to_refresh(options.refresh_spaces, reader)
    # Where the command line intercepts SIGINT/SIGTERM (`signals.intercepted_signals`), a signal stops the run at
    # the next of these checks, or at dlt's own inside its steps; elsewhere they do nothing.
    signals.raise_if_signalled()
    indexed = IndexedDocuments(es_client, index, settings.site_url)
    index_existed = indexed.exists()
    if not index_existed:
        # a content index that is missing (never created, or deleted by hand) has nothing to update: forget the
        # watermarks before it is created, so that this run, or the next one if this one stops, reads everything
        store.clear()
        # but for what earlier runs learned of the stage size a full read of this site fits in (`read_stages.py`)
        state = SyncState(unfinished_stage=state.unfinished_stage, stage_limit=state.stage_limit)
    # only now: a setting to fix leaves nothing behind in Elasticsearch
    elastic.create_content_index(es_client, es_settings)
    if index_existed and not state.watermarks:
        warn_of_other_writers(indexed)
    saved = {} if options.full_refresh else without_renamed_spaces(state.watermarks, state.space_names,
                                                                    reader.state.selected)
    saved = {key: mark for key, mark in saved.items() if key not in refreshed}
    saved = without_spaces_with_archive_changes(saved, reader, indexed)
    ledger = SyncLedger()
    pipeline = make_pipeline(options)
    prune_loaded_packages(pipeline)  # before this run adds its own: a failing schedule must not pile them up
    remove_abandoned_extracts(pipeline)
    clock.lap("preflight")
    settle_pending_packages(pipeline, package_target(es_settings, settings.site_url), state.updated_at)
    clock.lap("load")  # the package an earlier run left between its extract and its load, if any
    plan = reader.plan(saved, full_refresh=options.full_refresh)
    space_names = {space.key: space.name for space in reader.state.selected}
    # what a progress save records of this run besides the watermarks (see `save_progress`)
    run_facts = {"confluence_address": settings.address,
                 "index_archived": bool(state.last_run.get("index_archived")) or settings.index_archived}
    stages = [plan]
    # what the state keeps of stage sizes (`read_stages.py`): a run that reads at most one space in full keeps the
    # note of the last long full read's unfinished first stage, one that does not split keeps the size learned
    unfinished = state.unfinished_stage if len(plan.full_scopes) <= 1 else {}
    stage_limit = state.stage_limit
    if options.stage_documents and len(plan.full_scopes) > 1 and reader.splits_full_reads_cheaply:
        stage_plan = plan_stages(plan, indexed_by_space(indexed.counts_by_space_and_type()), options.stage_documents,
                                 state.unfinished_stage, state.stage_limit)
        stages, stage_limit = stage_plan.stages, stage_plan.limit
        saved_at = call_with_backoff(lambda: save_before_first_stage(store, state, run_facts, stage_plan),
                                     es_retries, "saving the progress")
        note_state_saved(pipeline, saved_at)
        first_stage.store = store

    def save_finished(finished: list[SyncPlan]) -> None:
        saved_at = call_with_backoff(lambda: save_progress(
            store, state, plan, finished, saved, space_names, reader.vanished, run_facts, stage_limit), es_retries,
            "saving the progress")
        note_state_saved(pipeline, saved_at)
        first_stage.first_stage_loaded = True

    documents, load_ids, rejected = load_in_stages(
        pipeline, reader, stages, ledger, indexed, None if options.full_refresh else state.to_read, es_settings,
        clock, save_finished)
    first_stage.first_stage_loaded = True
    signals.raise_if_signalled()  # the content is in; the deletion check that follows can take many requests

    summary = SyncSummary(
        mode="full" if all(scope.is_full for scope in plan.scopes) else "incremental",
        index=index,
        site_url=settings.site_url,
        documents=documents,
        stages=len(stages),
    )
    space_scopes = {scope.key for scope in plan.scopes if scope.kind == "space"}
    to_read: dict[str, dict[str, str]] = {}
    unreadable, unreadable_since = dict(state.unreadable), dict(state.unreadable_since)
    policy = DeletionPolicy(max_fraction=options.max_delete_fraction, allow_mass_delete=options.allow_mass_delete)
    others = call_with_backoff(store.other_pipelines, es_retries, "reading the sync state")
    spaces_of_others = {key for other in others for key in other.space_keys}
    summary.left_to_other_pipelines = report_spaces_left_to_others(others, space_scopes, store.index)
    # archived spaces left out because `index_archived` was just turned off: a choice, like a space taken out of
    # `spaces`, so not guarded
    archived_by_settings = ({key for key, space in reader.state.all_spaces.items() if space.status == "archived"}
                            if state.last_run.get("index_archived") and not settings.index_archived else set())
    unmatched: dict[str, dict[str, str]] = {}  # only advanced rules note documents for later runs
    if settings.advanced_rules:
        rule_plan, rule_load_ids = _delete_what_no_rule_matches(pipeline, plan, reader, indexed, ledger, policy,
                                                                others, spaces_of_others, state, archived_by_settings,
                                                                summary, es_retries)
        unmatched = rule_plan.unmatched if rule_plan is not None else dict(state.unmatched)
        summary.unmatched = len(unmatched)
        rejected += sum(elastic.rejected_document_count(load_id, es_settings) for load_id in rule_load_ids)
        space_names = call_with_backoff(lambda: rule_space_names(
            reader, ledger, plan, indexed, state.space_names, rule_plan, spaces_of_others), es_retries,
            "reading the index")
    else:
        deletion_plan = call_with_backoff(lambda: plan_deletions(
            indexed,
            synced_spaces=space_scopes,
            spaces_from_config=settings.spaces is not None,
            ledger=ledger,
            count_total=reader.count_total,
            iter_current_ids=reader.current_ids,
            confirm_gone=reader.confirm_gone,
            policy=policy,
            all_seen_indexed=rejected == 0,
            spaces_of_others=spaces_of_others,
            tried=tried_items(state),
            archived_indexed=settings.index_archived,
            archived_by_settings=archived_by_settings,
        ), es_retries, "planning deletions")
        signals.raise_if_signalled()  # the check may have taken a while; nothing is deleted yet
        deletion_load_ids = apply_deletions(pipeline, deletion_plan, summary)
        to_read = items_for_next_run(deletion_plan)
        unreadable, unreadable_since = still_unreadable(
            state, deletion_plan, {scope.key for scope in plan.changed_scopes if scope.kind == "space"})
        summary.missing_from_index = deletion_plan.unindexed_count()
        summary.unreadable = sum(len(items) for items in unreadable.values())
        if deletion_plan.unreadable:  # the summary counts them too (`unreadable`)
            logger.info("%d item(s) that Confluence lists are still missing from the index although a run tried to "
                        "read them (search does not return them, or Elasticsearch refused them: see the dead-letter "
                        "index); each is tried again a day after it was set apart",
                        sum(len(items) for items in deletion_plan.unreadable.values()))
        rejected += sum(elastic.rejected_document_count(load_id, es_settings) for load_id in deletion_load_ids)

    summary.failed = rejected
    stats = reader.stats
    summary.requests = int(stats.get("requests", 0))
    summary.bytes = int(stats.get("bytes_received", 0))
    file_stats = reader.client.file_stats.as_dict()
    summary.file_requests = int(file_stats["requests"])
    summary.file_bytes = int(file_stats["bytes_received"])
    summary.token_requests = int(reader.client.token_stats.as_dict()["requests"])
    summary.attachment_text = dict(sorted(reader.attachment_text.outcomes.items()))
    clock.lap("reconcile")
    summary.elapsed_seconds = clock.elapsed()
    summary.step_seconds = clock.as_dict()
    summary.cpu_seconds = clock.cpu_seconds()
    call_with_backoff(lambda: store.save(
        # a space that vanished during the run gets no watermark: should it come back, it is read in full
        {scope.key: plan.started_at.isoformat() for scope in plan.scopes if scope.key not in reader.vanished},
        last_run={**summary.as_dict(), "finished_at": utc_now().isoformat(), "confluence_address": settings.address,
                  "index_archived": settings.index_archived},
        space_names=space_names,
        to_read=to_read,
        unreadable=unreadable,
        unreadable_since=unreadable_since,
        unmatched=unmatched,
        unfinished_stage=unfinished,
        stage_limit=stage_limit,
    ), es_retries, "saving the watermarks")
    return summary


def load_in_stages(pipeline: dlt.Pipeline, reader: ConfluenceReader, stages: list[SyncPlan], ledger: SyncLedger,
                   indexed: IndexedDocuments, to_read: dict[str, dict[str, str]] | None,
                   es_settings: ElasticsearchSettings, clock: StepClock,
                   save_finished: Callable[[list[SyncPlan]], None]) -> tuple[dict[str, int], list[str], int]:
    """Read and load each stage of the run in turn (see `read_stages.py`), calling `save_finished` with the stages
    loaded so far after each stage but the last; returns the documents written per content table, the load ids,
    and how many documents Elasticsearch refused. `to_read` (the items the last run found missing) goes with the
    first stage. A document Elasticsearch refused does not hold its stage back, as it does not hold back the
    watermarks a whole run saves: the deletion check leaves out what a run read itself (sending it to be read at
    once would be refused again), and a later run's count finds it missing."""
    if len(stages) > 1:
        logger.info("Reading %d spaces in full in %d stages, each loaded and its progress saved before the next: a "
                    "run stopped after a stage is followed by one that reads only what is left",
                    sum(len(stage.full_scopes) for stage in stages), len(stages))
    documents: dict[str, int] = {}
    load_ids: list[str] = []
    rejected = 0
    for number, stage in enumerate(stages, start=1):
        # created last: for a full read it starts the body conversion workers, which the extract step stops
        source = confluence(reader=reader, plan=stage, ledger=ledger, indexed=indexed, body_workers=None,
                            to_read=to_read if number == 1 else None)
        if number == 1:
            clock.lap("preflight")
        load_info = run_in_steps(pipeline, source, reader, clock, last=number == len(stages))
        load_info.raise_on_failed_jobs()
        load_ids.extend(load_info.loads_ids)
        for table, count in row_counts(pipeline).items():
            documents[table] = documents.get(table, 0) + count
        rejected += sum(elastic.rejected_document_count(load_id, es_settings) for load_id in load_info.loads_ids)
        if number < len(stages):
            save_finished(stages[:number])
            logger.info("Stage %d of %d loaded (spaces %s) and the progress saved: a run stopped from here on goes "
                        "on with the spaces not read yet", number, len(stages),
                        ", ".join(scope.key for scope in stage.full_scopes))
            clock.lap("load")
            signals.raise_if_signalled()
    return {table: documents[table] for table in CONTENT_TABLES if documents.get(table)}, load_ids, rejected


def _delete_what_no_rule_matches(pipeline: dlt.Pipeline, plan: SyncPlan, reader: ConfluenceReader,
                                 indexed: IndexedDocuments, ledger: SyncLedger, policy: DeletionPolicy,
                                 others: list[OtherPipeline], spaces_of_others: set[str], state: SyncState,
                                 archived_by_settings: set[str], summary: SyncSummary, es_retries: RetryPolicy
                                 ) -> tuple[RuleDeletionPlan | None, list[str]]:
    """Under advanced rules, delete what no rule matches any more (see `plan_rule_deletions`); the plan (None where
    nothing could be planned) and the load ids of its deletions. Another pipeline choosing content of this
    site by rules in the same index holds documents of any space, which this one could not tell from its own: then
    nothing is deleted."""
    sharing = [other for other in others if other.selects_by_rules]
    if sharing:
        logger.warning("Deleting nothing that the advanced rules no longer match: pipeline(s) %s choose content of "
                       "this site by advanced rules in this index too, and their documents cannot be told from this "
                       "pipeline's; give each pipeline its own es_index, or, for one that no longer runs, delete its "
                       "state (%s)", ", ".join(other.name for other in sharing),
                       ", ".join(retire_request(state_index_name(indexed.index), other) for other in sharing))
        return None, []
    deletion_plan = call_with_backoff(lambda: plan_rule_deletions(
        indexed,
        rules=[scope.key for scope in plan.scopes if scope.kind == "rule"],
        ledger=ledger,
        still_matched=reader.still_matched_by_rules,
        spaces_matched=reader.spaces_matched_by_rules,
        policy=policy,
        now=utc_now(),
        noted=state.unmatched,
        spaces_of_others=spaces_of_others,
        unguarded_spaces=archived_by_settings,
    ), es_retries, "planning deletions")
    signals.raise_if_signalled()  # the check may have taken a while; nothing is deleted yet
    return deletion_plan, apply_deletions(pipeline, deletion_plan, summary)


def rule_space_names(reader: ConfluenceReader, ledger: SyncLedger, plan: SyncPlan, indexed: IndexedDocuments,
                     names_then: dict[str, str], deletion_plan: RuleDeletionPlan | None,
                     spaces_of_others: set[str]) -> dict[str, str]:
    """Space key -> name of the spaces whose documents an advanced-rules pipeline holds, saved with its state so that
    pipelines syncing other spaces of the site into the same index leave them alone. A run that read every rule in
    full knows them: the spaces it wrote a space document for (one goes with any content it writes) and those where
    documents it did not delete stay. Other runs add theirs to the last run's; a state that names none (the first
    run, or one saved by a version that did not save them) claims every space holding documents of the site that no
    other pipeline claims, until the next full read."""
    by_id = {doc_id("space", space.id): space for space in reader.state.all_spaces.values()}
    names: dict[str, str] = {}
    for scope in plan.scopes:
        for document_id in ledger.ids(scope.key, "space"):
            space = by_id.get(document_id)
            if space is not None:
                names[space.key] = space.name
    held = set(deletion_plan.held_spaces) if deletion_plan is not None else set()
    if deletion_plan is not None and deletion_plan.full_read:
        return _named(held, reader, names_then) | names
    if not names_then:
        held |= {space_key for space_key, _ in indexed.counts_by_space_and_type()} - spaces_of_others
    return _named(held, reader, names_then) | names_then | names


def _named(keys: set[str], reader: ConfluenceReader, names_then: dict[str, str]) -> dict[str, str]:
    """Space key -> its name now, or as last saved for a space the account no longer sees."""
    spaces = reader.state.all_spaces
    return {key: spaces[key].name if key in spaces else names_then.get(key, key) for key in sorted(keys) if key}


def report_spaces_left_to_others(others: list[OtherPipeline], synced: set[str], state_index: str
                                 ) -> dict[str, list[str]]:
    """Warn about the spaces this run leaves to other pipelines (their documents stay, whatever became of them in
    Confluence), naming how to retire such a pipeline: a renamed or one-off pipeline's state would otherwise keep
    them for good. Returns pipeline name -> the spaces left to it."""
    left: dict[str, list[str]] = {}
    for other in others:
        spaces = [key for key in other.space_keys if key not in synced]
        if not spaces:
            continue
        left[other.name] = spaces
        # a pipeline that runs on its own schedule is the normal case: only one silent for a week is worth a warning
        level = logging.INFO if _ran_within(other.updated_at, STALE_PIPELINE_AGE) else logging.WARNING
        logger.log(level, "Left the documents of space(s) %s to pipeline %r, which synced them into this index (last "
                   "on %s); if it no longer runs, delete its state (%s): then they go as any space "
                   "this pipeline does not sync", ", ".join(spaces), other.name,
                   other.updated_at[:10] or "an unknown day", retire_request(state_index, other))
    return left


def retire_request(state_index: str, other: OtherPipeline) -> str:
    """The request that deletes another pipeline's sync state, which retires it from this index."""
    return f"DELETE {state_index}/_doc/{other.state_id}"


def _ran_within(updated_at: str, age: timedelta) -> bool:
    try:
        return utc_now() - parse_instant(updated_at) <= age
    except ValueError:  # no date saved (or not one): unknown, so worth the warning
        return False


def run_in_steps(pipeline: dlt.Pipeline, source: Any, reader: ConfluenceReader, clock: StepClock,
                 last: bool = True) -> LoadInfo:
    """`pipeline.run`, one step at a time, handing freed memory back between steps after a large read: the extract
    step's garbage (parsed listings, bodies, the reader's page trees) would otherwise stay mapped while the load step
    allocates its batches. After a small read (an incremental run) the two full collections would cost more time
    than the memory they give back. Each step's time is charged to `clock`. `last`: the run reads nothing after
    this (a stage of a full read that is not keeps the reader's caches, such as Cloud's label maps of the whole
    site, for the next stage)."""
    try:
        pipeline.extract(source)
    finally:
        reader.stop_workers()
    signals.raise_if_signalled()
    if last:
        reader.release_read_caches()
    large_read = int(reader.stats.get("bytes_received", 0)) >= RELEASE_MEMORY_AFTER_BYTES
    if large_read:
        release_free_memory()
    clock.lap("extract")
    pipeline.normalize()
    if large_read:
        release_free_memory()
    clock.lap("normalize")
    signals.raise_if_signalled()
    load_info = pipeline.load()
    clock.lap("load")
    return load_info


def apply_deletions(pipeline: dlt.Pipeline, plan: DeletionPlan, summary: SyncSummary) -> list[str]:
    """Send the planned deletions through the destination; returns the load ids used."""
    load_ids: list[str] = []
    if plan.delete_ids:
        info = pipeline.run(deletion_rows(plan.delete_ids))
        info.raise_on_failed_jobs()
        load_ids = list(info.loads_ids)
    summary.deleted = len(plan.delete_ids)
    summary.deleted_by_type = dict(plan.by_type)
    summary.short_listings = [vars(short) for short in plan.short_listings]
    if plan.refused:
        summary.refused_deletions = [vars(refused) for refused in plan.refused]
        summary.refusal_message = plan.refusal_message()
    return load_ids


def row_counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Documents written per content table in the last run, from dlt's own normalize counters."""
    trace = pipeline.last_trace
    if trace is None or trace.last_normalize_info is None:
        return {}
    counts = trace.last_normalize_info.row_counts
    return {table: int(counts.get(table, 0)) for table in CONTENT_TABLES if counts.get(table)}
