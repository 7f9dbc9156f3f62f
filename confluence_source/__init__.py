"""dlt source that reads spaces, pages, blog posts, comments and attachments from Confluence Cloud, Server and
Data Center, and yields search-ready documents (one table per type, merged on `id`).

Typical use (settings come from `[sources.confluence]` in `.dlt/config.toml` / `secrets.toml`, or from
`SOURCES__CONFLUENCE__*` environment variables):

    reader = open_reader(confluence_settings())          # preflight: credentials, time zone, spaces, rules
    saved = structure.without_renamed_spaces(saved, names_saved, reader.state.selected)  # renamed: read in full
    saved = archived_pages.without_spaces_with_archive_changes(saved, reader, indexed)  # likewise, archives
    source = confluence(reader=reader, watermarks=saved, ledger=ledger)
    pipeline.run(source)
    new_watermark = reader.plan_in_use.started_at        # store per scope after a successful load, with the
    names = {space.key: space.name for space in reader.state.selected}  # names the next run compares against
    reader.count_total(keys, types), reader.current_ids(key, type)  # deletion reconciliation
    reader.stats                                          # requests, bytes, retries, throttling

`confluence()` without `reader` opens (and checks) one itself. Scopes with a watermark are read incrementally
(CQL `lastmodified` window); the others, or all with `full_refresh`, are read in full.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import threading
from collections import deque
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Union

import dlt
from dlt.common.configuration import with_config
from dlt.common.configuration.specs import known_sections
from dlt.common.typing import TSecretStrValue
from dlt.extract import DltResource

from . import settings as defaults
from .config import ConfluenceSettings, build_settings
from .connection import open_reader
from .body_conversion import default_workers
from .documents import COLUMNS_BY_TYPE, PENDING_BODY, doc_id, finish_body
from .errors import (
    ConfluenceAuthError,
    ConfluenceConfigError,
    ConfluenceConnectionError,
    ConfluenceError,
    ConfluenceNotFoundError,
    ConfluenceQueryError,
    ConfluenceRequestError,
    ConfluenceTLSError,
    IncompleteListingError,
)
from .reader import ConfluenceReader, Scope, SeenLedger, SyncPlan
from .structure import IndexedOutlines, StructureCheck

__all__ = [
    "ConfluenceAuthError",
    "ConfluenceConfigError",
    "ConfluenceConnectionError",
    "ConfluenceError",
    "ConfluenceNotFoundError",
    "ConfluenceQueryError",
    "ConfluenceReader",
    "ConfluenceRequestError",
    "ConfluenceSettings",
    "ConfluenceTLSError",
    "COLUMNS_BY_TYPE",
    "IncompleteListingError",
    "Scope",
    "SeenLedger",
    "SyncPlan",
    "build_settings",
    "confluence",
    "confluence_settings",
    "open_reader",
]

logger = logging.getLogger(__name__)

# Documents waiting for worker-converted bodies before they are handed to dlt (a few listing pages' worth).
MAX_DOCUMENTS_CONVERTING = 600
# Attachments waiting for their files' text (each holds up to `max_file_text_length` characters once it is read):
# three times the default number of concurrent downloads.
MAX_ATTACHMENTS_PENDING = 150
# Documents per list handed to dlt.
ROWS_PER_YIELD = 250

RESOURCE_TYPES: dict[str, str] = {
    "pages": "page",
    "blogposts": "blogpost",
    "comments": "comment",
    "attachments": "attachment",
}


@with_config(sections=(known_sections.SOURCES, "confluence"))
def confluence_settings(
    data_source: str = defaults.DEFAULT_DATA_SOURCE,
    confluence_url: Optional[str] = None,
    username: Optional[TSecretStrValue] = None,
    password: Optional[TSecretStrValue] = None,
    account_email: Optional[TSecretStrValue] = None,
    api_token: Optional[TSecretStrValue] = None,
    personal_access_token: Optional[TSecretStrValue] = None,
    data_center_username: Optional[TSecretStrValue] = None,
    data_center_password: Optional[TSecretStrValue] = None,
    data_center_personal_access_token: Optional[TSecretStrValue] = None,
    spaces: Union[str, List[str], None] = defaults.DEFAULT_SPACES,
    ssl_enabled: bool = True,
    ssl_ca: Optional[str] = None,
    retry_count: int = defaults.DEFAULT_RETRY_COUNT,
    max_retry_delay: float = defaults.DEFAULT_MAX_RETRY_DELAY,
    concurrent_downloads: int = defaults.DEFAULT_CONCURRENT_DOWNLOADS,
    advanced_rules: Union[str, List[Any], None] = None,
    index_archived: bool = False,
    request_timeout: float = defaults.DEFAULT_REQUEST_TIMEOUT,
    overlap_minutes: int = defaults.DEFAULT_OVERLAP_MINUTES,
    cql_timezone: Optional[str] = None,
    check_labels_and_moves: bool = True,
    extract_attachment_content: bool = True,
    max_file_download_size: int = defaults.MAX_ATTACHMENT_BYTES,
    max_file_text_length: int = defaults.MAX_EXTRACTED_CHARS,
    api_gateway: Optional[str] = None,
    oauth_client_id: Optional[TSecretStrValue] = None,
    oauth_client_secret: Optional[TSecretStrValue] = None,
    oauth_token_url: Optional[str] = None,
    oauth_scope: Optional[str] = None,
    data_center_auth_method: Optional[str] = None,
    use_document_level_security: bool = False,
    index_labels: bool = True,
    use_text_extraction_service: bool = False,
) -> ConfluenceSettings:
    """The validated `[sources.confluence]` settings (same names as the source arguments)."""
    return build_settings(**locals())  # every parameter, and nothing else yet, is a setting of `build_settings`


#: The `[sources.confluence]` setting names.
SETTING_NAMES: tuple[str, ...] = tuple(inspect.signature(confluence_settings).parameters)


@dlt.source(section="confluence", max_table_nesting=0)
def confluence(
    data_source: str = defaults.DEFAULT_DATA_SOURCE,
    confluence_url: Optional[str] = None,
    username: Optional[TSecretStrValue] = None,
    password: Optional[TSecretStrValue] = None,
    account_email: Optional[TSecretStrValue] = None,
    api_token: Optional[TSecretStrValue] = None,
    personal_access_token: Optional[TSecretStrValue] = None,
    data_center_username: Optional[TSecretStrValue] = None,
    data_center_password: Optional[TSecretStrValue] = None,
    data_center_personal_access_token: Optional[TSecretStrValue] = None,
    spaces: Union[str, List[str], None] = defaults.DEFAULT_SPACES,
    ssl_enabled: bool = True,
    ssl_ca: Optional[str] = None,
    retry_count: int = defaults.DEFAULT_RETRY_COUNT,
    max_retry_delay: float = defaults.DEFAULT_MAX_RETRY_DELAY,
    concurrent_downloads: int = defaults.DEFAULT_CONCURRENT_DOWNLOADS,
    advanced_rules: Union[str, List[Any], None] = None,
    index_archived: bool = False,
    request_timeout: float = defaults.DEFAULT_REQUEST_TIMEOUT,
    overlap_minutes: int = defaults.DEFAULT_OVERLAP_MINUTES,
    cql_timezone: Optional[str] = None,
    check_labels_and_moves: bool = True,
    extract_attachment_content: bool = True,
    max_file_download_size: int = defaults.MAX_ATTACHMENT_BYTES,
    max_file_text_length: int = defaults.MAX_EXTRACTED_CHARS,
    api_gateway: Optional[str] = None,
    oauth_client_id: Optional[TSecretStrValue] = None,
    oauth_client_secret: Optional[TSecretStrValue] = None,
    oauth_token_url: Optional[str] = None,
    oauth_scope: Optional[str] = None,
    data_center_auth_method: Optional[str] = None,
    use_document_level_security: bool = False,
    index_labels: bool = True,
    use_text_extraction_service: bool = False,
    watermarks: Optional[Dict[str, str]] = None,
    full_refresh: bool = False,
    ledger: Optional[SeenLedger] = None,
    reader: Optional[ConfluenceReader] = None,
    indexed: Optional[IndexedOutlines] = None,
    body_workers: Optional[int] = 0,
    to_read: Optional[Dict[str, Dict[str, str]]] = None,
    plan: Optional[SyncPlan] = None,
) -> Iterable[DltResource]:
    """Spaces, pages, blog posts, comments and attachments of a Confluence site as search documents.

    Args:
        watermarks: scope key (space key, or advanced-rule text) -> ISO-8601 UTC time of that scope's last
            successful sync; scopes found here are read incrementally (changes since watermark - overlap).
        full_refresh: ignore `watermarks` and read every scope in full.
        ledger: receives `saw(scope, type, id)` for every document and `mark_fully_read(scope, type)` after a
            complete full read, for deletion reconciliation.
        reader: an already opened (preflighted) reader; when omitted one is opened from the settings above.
        indexed: what the index holds (`sync_state.IndexedDocuments`); with it, and unless
            `check_labels_and_moves` is off, incremental runs also pick up label changes, page moves, restored
            pages and renamed ancestors, none of which moves `lastmodified` (see `structure.py`).
        body_workers: processes converting bodies during full reads (None: one per core, up to four; 0: none).
            With workers the caller must call `reader.stop_workers()` once extraction is over.
        to_read: type -> Confluence id -> space key of items to read besides the change windows (what the last
            run's deletion check found missing from the index: a comment or file restored from the trash on its
            own gets no new version, so no change window brings it back). Spaces read in full leave it out.
        plan: what to read: the plan `reader.plan` made for the run, or a part of it (one stage of a full read
            that loads a group of spaces at a time, see `pipelines/read_stages.py`); `watermarks` and
            `full_refresh` are then not used. Without it the source plans the run itself.
        The other arguments are the `[sources.confluence]` settings (see README).
    """
    if reader is None:
        settings = {name: value for name, value in locals().items() if name in SETTING_NAMES}
        reader = open_reader(build_settings(**settings))
    reader.ledger = ledger
    if indexed is not None:
        reader.attachment_text.indexed = indexed  # files whose version is indexed are not downloaded again
    if plan is None:
        plan = reader.plan(watermarks, full_refresh=full_refresh)
    space_emitter = _SpaceEmitter(reader, plan)
    structure = None
    if indexed is not None and reader.config.check_labels_and_moves:
        structure = StructureCheck(reader, plan, indexed)
    resources = [
        dlt.resource(
            _space_rows,
            name="spaces",
            primary_key="id",
            write_disposition="merge",
            columns=COLUMNS_BY_TYPE["space"],
        )(space_emitter)
    ]
    for name, doc_type in RESOURCE_TYPES.items():
        resources.append(
            dlt.resource(
                _content_rows,
                name=name,
                primary_key="id",
                write_disposition="merge",
                columns=COLUMNS_BY_TYPE[doc_type],
            )(reader, plan, doc_type, space_emitter, structure, (to_read or {}).get(doc_type, {}))
        )
    if plan.full_scopes and body_workers != 0:
        # a full read converts thousands of bodies: share them out (the caller stops the workers after extract)
        reader.start_body_workers(default_workers() if body_workers is None else body_workers)
    return resources


#: Every argument of the source that dlt would fill from the settings: the `[sources.confluence]` settings and the
#: arguments a run passes itself (`full_refresh`, `plan`, ...), which no environment variable may set.
SOURCE_ARGUMENTS: tuple[str, ...] = tuple(inspect.signature(confluence).parameters)


def _space_rows(space_emitter: "_SpaceEmitter") -> Iterator[Any]:
    yield from space_emitter.spaces()


def _content_rows(
    reader: ConfluenceReader,
    plan: SyncPlan,
    doc_type: str,
    space_emitter: "_SpaceEmitter",
    structure: Optional[StructureCheck],
    carried: Mapping[str, str],
) -> Iterator[Any]:
    try:
        yield from _read_rows(reader, plan, doc_type, space_emitter, structure, carried)
    finally:
        if doc_type == "attachment":
            reader.attachment_text.finish()  # the download threads are not needed by the other resources


def _read_rows(
    reader: ConfluenceReader,
    plan: SyncPlan,
    doc_type: str,
    space_emitter: "_SpaceEmitter",
    structure: Optional[StructureCheck],
    carried: Mapping[str, str],
) -> Iterator[Any]:
    checking = structure is not None and bool(structure.scopes)
    retrying = doc_type == "attachment" and bool(plan.changed_scopes)
    changed_spaces = {scope.key for scope in plan.changed_scopes if scope.kind == "space"}
    carried = {confluence_id: key for confluence_id, key in carried.items() if key in changed_spaces}
    already_read: set[str] = set()
    reading: Iterator[tuple[str, dict[str, Any]]] = reader.iter_content(doc_type, plan)
    if structure is not None and checking:
        # a generator: it runs only after the change window's read has filled `already_read`
        reading = itertools.chain(reading, structure.reread(doc_type, already_read))
    if retrying:
        reading = itertools.chain(reading, _attachments_without_text(reader, plan, already_read))
    if carried:
        reading = itertools.chain(reading, _carried_over(reader, doc_type, carried, already_read))
    converting: deque[dict[str, Any]] = deque()  # documents whose bodies (or files' text) are still pending
    max_pending = MAX_ATTACHMENTS_PENDING if doc_type == "attachment" else MAX_DOCUMENTS_CONVERTING
    ready: list[dict[str, Any]] = []  # handed to dlt as lists: one pass through its pipe per list, not per row
    for scope_key, document in reading:
        space_row = space_emitter.for_rule_document(scope_key, document)
        if space_row is not None:
            yield dlt.mark.with_table_name(space_row, "spaces")
        if checking or retrying or carried:
            already_read.add(document["id"])
        if PENDING_BODY not in document and not converting:
            ready.append(document)
        else:
            # keep a few batches in flight, so workers convert while this process fetches and builds the next ones;
            # documents queue behind them in the order they were read (a later version must reach dlt last)
            converting.append(document)
            while len(converting) > max_pending:
                ready.append(finish_body(converting.popleft()))
        if len(ready) >= ROWS_PER_YIELD:
            yield ready
            ready = []
    ready.extend(finish_body(document) for document in converting)
    if ready:
        yield ready


def _carried_over(reader: ConfluenceReader, doc_type: str, carried: Mapping[str, str],
                  already_read: set[str]) -> Iterator[Any]:
    """The items the last run found missing from the index (Confluence id -> space key), less what this run has
    read already (a generator: it runs after the other reads of this type). Those gone since are not returned."""
    wanted = {confluence_id: key for confluence_id, key in carried.items()
              if doc_id(doc_type, confluence_id) not in already_read}
    if wanted:
        logger.info("Reading %d %s(s) the last run found missing from the index", len(wanted), doc_type)
        yield from reader.read_ids(doc_type, wanted)


def _attachments_without_text(reader: ConfluenceReader, plan: SyncPlan, already_read: set[str]) -> Iterator[Any]:
    """Attachments indexed without their text for a reason that may have passed (a failed download, extraction
    turned off) are read again (a generator: it runs after the change window's read, so what that read brought is
    not read twice). With advanced rules every space counts: the index holds what the rules matched."""
    space_scopes = {scope.key for scope in plan.changed_scopes if scope.kind == "space"}
    rule_scopes = [scope.key for scope in plan.changed_scopes if scope.kind == "rule"]

    def scope_of_space(space_key: str) -> str | None:
        if space_key in space_scopes:
            return space_key
        return rule_scopes[0] if rule_scopes else None

    wanted = reader.attachment_text.without_text(scope_of_space, already_read)
    if wanted:
        yield from reader.read_ids("attachment", wanted)


class _SpaceEmitter:
    """Space documents: the synced spaces, or with advanced rules the spaces a rule matches and those the matched
    content lives in."""

    def __init__(self, reader: ConfluenceReader, plan: SyncPlan) -> None:
        self._reader = reader
        self._plan = plan
        self._rule_keys = {scope.key for scope in plan.scopes if scope.kind == "rule"}
        self._emitted: set[str] = set()
        self._lock = threading.Lock()

    def spaces(self) -> Iterator[dict[str, Any]]:
        for scope_key, document in self._reader.iter_spaces(self._plan):
            self._reader.record_seen(scope_key, "space", document["id"])
            yield document
        for scope in self._plan.scopes:
            if scope.kind == "rule":
                for space_key in self._reader.spaces_matched_by_rule(scope.rule or scope.key):
                    row = self._space_row(scope.key, space_key)
                    if row is not None:
                        yield row
        for scope in self._plan.scopes:
            if scope.kind == "space":
                self._reader.record_fully_read(scope.key, "space")

    def for_rule_document(self, scope_key: str, document: dict[str, Any]) -> dict[str, Any] | None:
        if scope_key not in self._rule_keys:
            return None
        space_key = document.get("space_key")
        return self._space_row(scope_key, str(space_key)) if space_key else None

    def _space_row(self, scope_key: str, space_key: str) -> dict[str, Any] | None:
        """The space's document the first time a rule brings it up in this run (by matching it or its content)."""
        with self._lock:
            if space_key in self._emitted:
                return None
            self._emitted.add(space_key)
        space = self._reader.state.all_spaces.get(space_key)
        if space is None:
            return None
        self._reader.resolve_space_authors([space])
        row = self._reader.builder.space(space)
        self._reader.record_seen(scope_key, "space", row["id"])
        return row
