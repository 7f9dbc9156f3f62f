"""The dlt destination that bulk-writes the Confluence documents into Elasticsearch.

Use it as `dlt.pipeline(..., destination=elasticsearch_destination())`. It lives in an importable
module (not in the pipeline script) so that `dlt pipeline <name> info|trace|load-package|failed-jobs`
run from another process can import the real sink.

Settings come from [destination.elasticsearch] / DESTINATION__ELASTICSEARCH__* (see `es_config`).
Per batch the sink:
  1. ensures the index exists with the project's mapping (`es_mapping`), once per process;
  2. turns rows into idempotent bulk actions: `_id` = the table's primary key (`id`), `index` for
     normal rows, `delete` for rows whose hard-delete column (`deleted`) is set (`es_documents`);
  3. bulk-writes them, backing off on 429/5xx/connection errors (`es_bulk`, `es_retry`);
  4. logs documents Elasticsearch rejected and stores them in `<es_index>-errors` (`es_dead_letter`)
     without failing the load; counts everything per load id (`es_stats`).
Errors that no retry can fix (401/403, bad settings) raise `DestinationTerminalException`; run the
pipeline with `load.auto_abort_on_terminal_error = true` so such a failure aborts the package and
rewinds the incremental state instead of blocking every later run.

For the pipeline script: `check_connection()` (preflight before extracting),
`elasticsearch_client_from_config()` (a client built from the same settings),
`load_statistics(load_ids)` and `rejected_document_count(load_id)` (run summary).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import dlt
from dlt.common import logger as dlt_logger
from dlt.common.exceptions import SignalReceivedException
from dlt.common.schema import TTableSchema
from dlt.common.storages.exceptions import CurrentLoadPackageStateNotAvailable
from dlt.common.typing import TDataItems
from elasticsearch import AuthorizationException, Elasticsearch, NotFoundError

from destinations.es_bulk import BulkOutcome, BulkWriter
from destinations.es_client import build_client, shared_client
from destinations.es_config import (
    ElasticsearchDestinationConfiguration,
    ElasticsearchSettings,
    build_settings,
    dead_letter_index_name,
    resolve_settings,
)
from destinations.es_dead_letter import log_rejections, record_rejections
from destinations.es_documents import RejectedDocument, TableKeys, plan_batch
from destinations.es_errors import (
    ElasticsearchConfigurationError,
    ElasticsearchSettingsError,
    ElasticsearchUnavailableError,
    StoppedBeforeRetry,
    find_wrapped_error,
    forget_answers,
    gave_up_on,
    missing_pipeline_error,
    note_answered,
    note_back,
    note_gave_up,
)
from destinations.es_indices import (
    create_index_if_missing,
    ensure_content_index,
    forget_index,
)
from destinations.es_mapping import content_index_mappings, content_index_settings
from destinations.es_write_target import check_write_target
from destinations.es_retry import RetryPolicy, call_with_backoff
from destinations.es_stats import LoadStatistics, record_batch, total_statistics

logger = logging.getLogger(__name__)

#: Rows per sink call = the unit dlt re-sends after a failure, and one bulk request. Parallelism comes from dlt's
#: load workers (two by default), which keeps memory per job small: larger calls, sent as parallel requests or not,
#: were no faster in the whole job and cost memory (see the destination README section).
SINK_BATCH_SIZE: Final = 250
#: Retries of the preflight: long enough for a blip, short enough to fail fast when ES is down.
PREFLIGHT_RETRIES: Final = 2

__all__ = [
    "elasticsearch_destination",
    "elasticsearch",
    "check_connection",
    "create_content_index",
    "ConnectionReport",
    "elasticsearch_client_from_config",
    "resolve_settings",
    "load_statistics",
    "rejected_document_count",
    "write_batch",
    "BatchResult",
    "SINK_BATCH_SIZE",
    "ElasticsearchSettingsError",
    "ElasticsearchConfigurationError",
    "ElasticsearchUnavailableError",
    "find_destination_error",
    "find_wrapped_error",
    "forget_answers",
]


@dataclasses.dataclass(frozen=True)
class BatchResult:
    outcome: BulkOutcome
    rejected: tuple[RejectedDocument, ...]


def current_load_id() -> str | None:
    """The id of the load package being loaded, or None when called outside a dlt load."""
    try:
        return str(dlt.current.load_package_state()["load_id"])
    except CurrentLoadPackageStateNotAvailable:
        return None


def write_batch(
    items: Sequence[Mapping[str, Any]],
    table: Mapping[str, Any],
    settings: ElasticsearchSettings,
    load_id: str | None = None,
    policy: RetryPolicy | None = None,
    writer_options: Mapping[str, Any] | None = None,
) -> BatchResult:
    """Writes one batch of rows of `table` (a dlt table schema) into the index; the sink's body.

    Raises a terminal error for problems no retry can fix and `ElasticsearchUnavailableError`
    (transient) when the cluster stays unavailable; rejected documents are returned, not raised.
    """
    where = settings.connection.describe()
    # once a batch of this run found the cluster unavailable after all its retries, the others try it once each
    policy = policy or RetryPolicy(max_retries=0 if gave_up_on(where) else settings.max_retries)
    try:
        result = _write_batch(items, table, settings, load_id, policy, writer_options)
    except ElasticsearchUnavailableError:
        note_gave_up(where)
        raise
    note_back(where)
    return result


def _write_batch(
    items: Sequence[Mapping[str, Any]],
    table: Mapping[str, Any],
    settings: ElasticsearchSettings,
    load_id: str | None,
    policy: RetryPolicy,
    writer_options: Mapping[str, Any] | None,
) -> BatchResult:
    client = shared_client(settings.connection)
    where = settings.connection.describe()
    table_name = str(table.get("name", "?"))
    with settings.connection.explained_errors(settings.index):
        ensure_content_index(client, settings.index, policy, settings.language)

    planned = plan_batch(items, TableKeys.from_table(table), settings.max_document_bytes)

    def recreate_index() -> None:
        forget_index(client, settings.index)
        ensure_content_index(client, settings.index, policy, settings.language)

    writer = BulkWriter(
        client=client,
        index=settings.index,
        where=where,
        location_setting=settings.connection.location_setting,
        policy=policy,
        on_index_missing=recreate_index,
        pipeline=settings.pipeline,
        **dict(writer_options or {}),
    )
    with settings.connection.explained_errors(settings.index):  # e.g. re-creating a vanished index
        outcome = writer.write(planned.actions)
    rejected = tuple(planned.rejected) + tuple(outcome.rejected)
    if rejected:
        log_rejections(rejected, table_name, settings.dead_letter_index)
        record_rejections(
            client, settings.dead_letter_index, settings.index, table_name, load_id, rejected, policy
        )
    record_batch(load_id, outcome, rejected)
    return BatchResult(outcome, rejected)


@dlt.destination(
    name="elasticsearch",
    batch_size=SINK_BATCH_SIZE,
    loader_file_format="typed-jsonl",
    naming_convention="direct",
    skip_dlt_columns_and_tables=True,
    max_table_nesting=0,
    spec=ElasticsearchDestinationConfiguration,
    # Files of one table load one after another, so an update and a later delete of the same
    # document reach Elasticsearch in the order they were extracted.
    loader_parallelism_strategy="table-sequential",
)
def elasticsearch_destination(
    items: TDataItems,
    table: TTableSchema,
    es_hosts: str = dlt.config.value,
    es_cloud_id: str | None = dlt.config.value,
    es_api_key: str | None = dlt.secrets.value,
    es_username: str | None = dlt.secrets.value,
    es_password: str | None = dlt.secrets.value,
    es_ca_certs: str | None = dlt.config.value,
    es_verify_certs: bool = dlt.config.value,
    es_request_timeout: float = dlt.config.value,
    es_index: str = dlt.config.value,
    es_max_retries: int = dlt.config.value,
    es_max_document_bytes: int = dlt.config.value,
    es_language: str = dlt.config.value,
    es_pipeline: str | None = dlt.config.value,
) -> None:
    """Sink: writes one batch of one table into Elasticsearch (see the module docstring)."""
    settings = build_settings(
        es_hosts=es_hosts,
        es_cloud_id=es_cloud_id,
        es_api_key=es_api_key,
        es_username=es_username,
        es_password=es_password,
        es_ca_certs=es_ca_certs,
        es_verify_certs=es_verify_certs,
        es_request_timeout=es_request_timeout,
        es_index=es_index,
        es_max_retries=es_max_retries,
        es_max_document_bytes=es_max_document_bytes,
        es_language=es_language,
        es_pipeline=es_pipeline,
    )
    try:
        write_batch(items, table, settings, current_load_id())
    except SignalReceivedException as stop:
        _keep_stops_out_of_dlt_log()
        raise StoppedBeforeRetry(f"stopped by signal {stop.signal_code} while waiting to retry") from stop


class _StopsBeforeRetryFilter(logging.Filter):
    """Drops dlt's log records about a job that ended with `StoppedBeforeRetry`: dlt logs every job that raises, with
    its traceback, as an error and again as a warning when it schedules the retry. A run that was asked to stop is
    not failing, and the command line says once that it stopped."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, StoppedBeforeRetry):
            return False
        return StoppedBeforeRetry.__name__ not in record.getMessage()  # the retry warning quotes the traceback


def _keep_stops_out_of_dlt_log() -> None:
    """Put `_StopsBeforeRetryFilter` on the logger dlt logs jobs to (set up when the pipeline started), once."""
    target = dlt_logger.LOGGER
    if target is not None and not any(isinstance(item, _StopsBeforeRetryFilter) for item in target.filters):
        target.addFilter(_StopsBeforeRetryFilter())


#: Short name for the pipeline: `destination=elastic.elasticsearch()`.
elasticsearch = elasticsearch_destination


@dataclasses.dataclass(frozen=True)
class ConnectionReport:
    where: str
    cluster_name: str | None
    version: str | None
    index: str
    index_created: bool


def check_connection(
    client: Elasticsearch | None = None,
    settings: ElasticsearchSettings | None = None,
    create_index: bool = True,
) -> ConnectionReport:
    """Preflight for the pipeline: can we reach, authenticate to and write the index? Call before extracting.

    Uses `client` if given (e.g. from `elasticsearch_client_from_config()`), else the sink's shared
    client. Raises `ElasticsearchConfigurationError` (terminal) or `ElasticsearchUnavailableError`
    (transient), both `ElasticsearchSettingsError`s with a one-line message naming the setting to
    fix. With `create_index`, the index is created with the project's mapping if missing (the sink
    would do so on first use).
    """
    settings = settings or resolve_settings()
    client = client or shared_client(settings.connection)
    where = settings.connection.describe()
    policy = preflight_retries(settings)
    cluster_name = version = None
    with settings.connection.explained_errors():
        try:
            info = call_with_backoff(client.info, policy, "connecting")
            cluster_name = info.get("cluster_name")
            version = (info.get("version") or {}).get("number")
        except AuthorizationException:
            pass  # authenticated, but not allowed to read cluster info: fine for an index-scoped key
    note_answered(where)  # from now on in this run, not reaching it is an outage, not a wrong address
    if settings.pipeline:
        with settings.connection.explained_errors():
            check_pipeline_exists(client, settings, policy)
    created = create_content_index(client, settings) if create_index else False
    return ConnectionReport(where, cluster_name, version, settings.index, created)


def check_pipeline_exists(client: Elasticsearch, settings: ElasticsearchSettings, policy: RetryPolicy) -> None:
    """`es_pipeline` must name an ingest pipeline of the cluster: otherwise Elasticsearch refuses every document, which
    a run would find only after reading the whole site. A key not allowed to read pipelines (the `read_pipeline`
    cluster privilege) skips the check: the first bulk request tells then."""
    name = str(settings.pipeline)
    try:
        call_with_backoff(lambda: client.ingest.get_pipeline(id=name, summary=True), policy, "checking es_pipeline")
    except NotFoundError:
        raise missing_pipeline_error(settings.connection.describe(), name) from None
    except AuthorizationException:
        logger.debug("Not allowed to read ingest pipelines: es_pipeline %r is not checked before the run", name)


def preflight_retries(settings: ElasticsearchSettings) -> RetryPolicy:
    """A few quick retries before the run (not more than `es_max_retries`), logged only with -v: a failure ends in
    its own one-line message."""
    return RetryPolicy(max_retries=min(PREFLIGHT_RETRIES, settings.max_retries), quiet=True)


def create_content_index(client: Elasticsearch | None = None, settings: ElasticsearchSettings | None = None) -> bool:
    """Create the content index with the project's mapping if it is missing, or check that the existing one can take
    the connector's documents; True if this call created it. Errors are one-line `ElasticsearchSettingsError`s naming
    the setting to fix."""
    settings = settings or resolve_settings()
    client = client or shared_client(settings.connection)
    with settings.connection.explained_errors(settings.index):
        # before anything is added to the mapping of an existing index: it may be someone else's
        mappings = content_index_mappings(settings.language)
        check_write_target(client, settings.index, mappings)
        return create_index_if_missing(client, settings.index, mappings, content_index_settings(),
                                       preflight_retries(settings))


def elasticsearch_client_from_config(settings: ElasticsearchSettings | None = None, **explicit: Any) -> Elasticsearch:
    """A new client built from [destination.elasticsearch] (or from `settings` already resolved), exactly as the
    sink builds its own.

    For the pipeline's reads (watermarks) and state document. The caller owns it: close it, or use
    it as a context manager. Keyword arguments (`es_hosts=...`) override configured values.
    """
    return build_client((settings or resolve_settings(**explicit)).connection)


def find_destination_error(error: BaseException) -> ElasticsearchSettingsError | None:
    """This destination's one-line error inside whatever dlt raised, or None."""
    found = find_wrapped_error(error, (ElasticsearchSettingsError,))
    return found if isinstance(found, ElasticsearchSettingsError) else None


def load_statistics(load_ids: Iterable[str | None]) -> LoadStatistics:
    """What the sink did in this process for these loads (e.g. `load_info.loads_ids`)."""
    return total_statistics(load_ids)


def rejected_document_count(
    load_id: str | None = None, settings: ElasticsearchSettings | None = None
) -> int:
    """Rejected documents in the dead-letter index, of one load or (load_id None) in total.

    Reads Elasticsearch, so it also works from another process than the one that loaded.
    """
    settings = settings or resolve_settings()
    client = shared_client(settings.connection)
    query = {"term": {"load_id": load_id}} if load_id else {"match_all": {}}
    with settings.connection.explained_errors(settings.index):
        try:
            response = call_with_backoff(  # asked after a load: a moment without the cluster must not fail the run
                lambda: client.count(index=dead_letter_index_name(settings.index), query=query),
                RetryPolicy(max_retries=settings.max_retries), "counting rejected documents")
        except NotFoundError:
            return 0  # nothing was ever rejected
    return int(response["count"])

