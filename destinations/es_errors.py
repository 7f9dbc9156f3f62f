"""Exceptions of the Elasticsearch destination and the translation of client errors into them.

dlt decides what happens to a failed load job by the exception class alone: a
`DestinationTerminalException` fails the job (nothing retrying could fix), anything else puts it
back in the retry queue. The classes here pick the right side, and their messages are single lines
that name the setting a user has to change, without ever echoing a secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from dlt.common.destination.exceptions import (
    DestinationTerminalException,
    DestinationTransientException,
)
from dlt.common.exceptions import SignalReceivedException
from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    ConnectionTimeout,
    SerializationError,
    SSLError,
    TransportError,
    UnsupportedProductError,
)
from elasticsearch import (
    ConnectionError as EsConnectionError,
)

CONFIG_SECTION: Final = "destination.elasticsearch"

#: HTTP statuses that mean "the cluster is busy or briefly unavailable, ask again later".
RETRYABLE_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
#: The cluster-wide write blocks in a `cluster_block_exception` ("FORBIDDEN/6/cluster read-only (api)", "FORBIDDEN/13/
#: cluster read-only / allow delete (api)"), where an index's reads "FORBIDDEN/8/index write (api)". (The cluster's
#: create-index block, "FORBIDDEN/10/cluster create-index blocked (api)", stops only the creation of indices.)
_CLUSTER_READ_ONLY: Final = re.compile(r"/\d+/cluster read-only\b")


def setting_path(name: str) -> str:
    """The dotted config path a user types into config.toml or turns into an env var."""
    return f"{CONFIG_SECTION}.{name}"


class ElasticsearchSettingsError(Exception):
    """Base of this destination's errors: a one-line, secret-free message naming the setting to check.

    A pipeline script catches this to print the message and exit, instead of a traceback.
    """


class ElasticsearchConfigurationError(ElasticsearchSettingsError, DestinationTerminalException):
    """A setting is wrong (URL, credentials, certificate, index name): retrying cannot help."""

    def __init__(self, problem: str, *settings: str) -> None:
        self.problem = problem
        self.settings = settings
        hint = " or ".join(setting_path(name) for name in settings)
        super().__init__(f"{problem} (set {hint})" if settings else problem)


class ElasticsearchUnavailableError(ElasticsearchSettingsError, DestinationTransientException):
    """Elasticsearch could not be reached or was overloaded even after backing off.

    Transient on purpose: dlt keeps the load package and the next attempt or run resumes it (see
    `pipelines/pending_packages.py` for when a run drops it instead). `names_a_setting` is
    False where no setting is likely at fault (the cluster answered, busy): the run failed, nothing is misconfigured.
    """

    def __init__(self, message: str, names_a_setting: bool = True) -> None:
        super().__init__(message)
        self.names_a_setting = names_a_setting


class StoppedBeforeRetry(DestinationTransientException):
    """The run was asked to stop (SIGINT, SIGTERM) while the sink waited to retry a batch.

    Transient, so that dlt keeps the batch for the next run: dlt fails a job for good when the job raises dlt's own
    stop exception, which is a terminal one.
    """


def redact_url(url: str) -> str:
    """Drops user:password@ from a URL so it can be shown in messages and logs. Works on the text, not on a parsed
    URL: a password written with `#`, `?` or `/` unescaped would end a parser's host part early and stay in it."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    if "@" not in rest:
        return url
    # the host and everything after it, as written (a port that is not a number is reported by the URL check)
    where = rest.rpartition("@")[2]
    return f"{scheme}://{where}" if separator else where


def redact_hosts(hosts: str) -> str:
    """`es_hosts` (comma-separated URLs) without the user:password@ of any of them."""
    return ", ".join(redact_url(host.strip()) for host in hosts.split(",") if host.strip())


def find_wrapped_error(
    error: BaseException, wanted: tuple[type[BaseException], ...]
) -> BaseException | None:
    """The first exception of the `wanted` types inside whatever dlt raised, or None.

    dlt does not chain a sink's or a resource's exception with `raise ... from`: `PipelineStepFailed.exception`
    holds a `LoadClientJobFailed`/`LoadClientJobRetry` whose `client_exception` (or `exception`)
    is the original. Walk those links as well as `__cause__`/`__context__`.
    """
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, wanted):
            return current
        for link in ("client_exception", "exception", "__cause__", "__context__"):
            linked = getattr(current, link, None)
            if isinstance(linked, BaseException):
                pending.append(linked)
    return None


def _api_error_reason(error: ApiError) -> str:
    """The Elasticsearch error type and reason of an API error, e.g. `index_not_found_exception: no such index`."""
    body = error.body if isinstance(error.body, dict) else {}
    detail = body.get("error")
    if isinstance(detail, dict):
        error_type = str(detail.get("type", "error"))
        reason = str(detail.get("reason", "")).strip()
        return f"{error_type}: {reason}" if reason else error_type
    if isinstance(detail, str) and detail:
        return detail
    return str(error.message)


def is_retryable(error: BaseException) -> bool:
    """Whether backing off and sending the same request again can succeed."""
    if isinstance(error, SSLError):
        return False  # a certificate does not become valid by waiting
    if isinstance(error, (EsConnectionError, ConnectionTimeout)):
        return True
    if isinstance(error, ApiError):
        return error.status_code in RETRYABLE_STATUSES
    return False


# What OpenSSL says when the other side answers a TLS handshake in plain HTTP (an https:// URL for an http:// port).
# Not "record layer failure", which OpenSSL 3.2+ also says of a damaged connection to a TLS server mid-run.
_PLAIN_HTTP_ANSWERS = ("wrong version number", "wrong_version_number", "packet length too long", "unknown protocol")


def _answered_in_plain_http(error: BaseException) -> bool:
    """The client's message says only "TLS error"; OpenSSL's reason is in its repr and in the exception it wraps."""
    text = f"{error!r} {error.__cause__!r} {error.__context__!r}".lower()
    return any(answer in text for answer in _PLAIN_HTTP_ANSWERS)


def _says_it_is_elasticsearch(error: ApiError) -> bool:
    """Whether the answer carries Elasticsearch's product header (every answer of a node does, errors included);
    unknown when the answer's headers are not at hand."""
    headers = getattr(getattr(error, "meta", None), "headers", None)
    return headers is None or headers.get("x-elastic-product") == "Elasticsearch"


def _dropped_connection(error: BaseException) -> bool:
    """The server took the connection and closed it without an answer (what a TLS port does with plain HTTP)."""
    text = f"{error!r} {error.__cause__!r} {error.__context__!r}"
    return any(marker in text for marker in ("Connection aborted", "RemoteDisconnected", "reset by peer"))


# Clusters (as `ConnectionSettings.describe` names them) that answered the current run's first request: not being
# able to reach one later in the run is an outage, not a wrong address (exit 1, not 2; see `translate_client_error`).
_ANSWERED_THIS_RUN: set[str] = set()


def note_answered(where: str) -> None:
    """Remember that the cluster at `where` answered this run."""
    _ANSWERED_THIS_RUN.add(where)


# Clusters that stayed unavailable through a whole series of retries in the current run: the load's other jobs try
# them once each instead of waiting out a series apiece (dlt goes on with a package's remaining jobs after one fails,
# so a cluster gone for good would otherwise hold a run for a series of retries per load file).
_GAVE_UP_ON_THIS_RUN: set[str] = set()


def note_gave_up(where: str) -> None:
    """Remember that the cluster at `where` stayed unavailable through all the retries of one request."""
    _GAVE_UP_ON_THIS_RUN.add(where)


def note_back(where: str) -> None:
    """The cluster at `where` answered again: later requests get their retries again."""
    _GAVE_UP_ON_THIS_RUN.discard(where)


def gave_up_on(where: str) -> bool:
    """Whether a request to `where` already failed this run after all its retries (and none has succeeded since)."""
    return where in _GAVE_UP_ON_THIS_RUN


def forget_answers() -> None:
    """A new run: no cluster has answered it yet, and none has been given up on."""
    _ANSWERED_THIS_RUN.clear()
    _GAVE_UP_ON_THIS_RUN.clear()


def blocked_index_error(where: str, index: str, reason: str,
                        location_setting: str = "es_hosts") -> ElasticsearchConfigurationError:
    """A write block (the index's `index.blocks.write` or `read_only`, or the cluster's `cluster.blocks.read_only`,
    set by someone) refused the request: the credentials are not at fault, and the block stays until lifted. Another
    index helps with an index's block, not with the cluster's read-only one, which holds for every index there (then
    only another cluster, `location_setting`, would)."""
    detail = reason.rstrip("; ")
    if _CLUSTER_READ_ONLY.search(detail):
        return ElasticsearchConfigurationError(
            f"Elasticsearch at {where} refused writes to index '{index}': the whole cluster is read-only ({detail}); "
            f"lift the block (the cluster.blocks.read_only or cluster.blocks.read_only_allow_delete setting), or "
            f"write to another cluster",
            location_setting,
        )
    return ElasticsearchConfigurationError(
        f"Elasticsearch at {where} refused writes to index '{index}': the index is blocked ({detail}); "
        f"lift the block it names (an index.blocks setting of the index, or a cluster.blocks one), or write "
        f"elsewhere",
        "es_index",
    )


def missing_pipeline_error(where: str, pipeline: str) -> ElasticsearchConfigurationError:
    """`es_pipeline` names an ingest pipeline the cluster does not have: every document would be refused."""
    return ElasticsearchConfigurationError(
        f"Elasticsearch at {where} has no ingest pipeline '{pipeline}': create it (PUT _ingest/pipeline/{pipeline}), "
        f"or leave es_pipeline unset",
        "es_pipeline",
    )


def translate_client_error(
    error: BaseException, where: str, index: str | None = None, location_setting: str = "es_hosts"
) -> ElasticsearchConfigurationError | ElasticsearchUnavailableError | None:
    """Turns an exception of the Elasticsearch client into one of ours, or None if it is not a client error.

    `where` describes the cluster without secrets (see `ConnectionSettings.describe`), `index` the
    index the request was about, so a rejection can point at `es_index` too; `location_setting` is the setting
    that says where the cluster is (`es_hosts`, or `es_cloud_id` when that is set).
    """
    if isinstance(error, SSLError) and _answered_in_plain_http(error):
        return ElasticsearchConfigurationError(
            f"Elasticsearch at {where} answered in plain HTTP, not TLS: use an http:// URL, or the port where it "
            f"serves HTTPS",
            location_setting,
        )
    if isinstance(error, SSLError):
        return ElasticsearchConfigurationError(
            f"TLS connection to Elasticsearch at {where} failed: certificate not trusted or invalid",
            "es_ca_certs",
            "es_verify_certs",
        )
    if isinstance(error, ConnectionTimeout):
        return ElasticsearchUnavailableError(
            f"Elasticsearch at {where} did not answer in time (set {setting_path('es_request_timeout')}"
            f" or check {setting_path(location_setting)})"
        )
    if isinstance(error, EsConnectionError) and where in _ANSWERED_THIS_RUN:
        # a timeout is left to the branch above: requests that keep timing out mid-run are most often a setting
        return ElasticsearchUnavailableError(
            f"Elasticsearch at {where} could not be reached after it had answered this run, even after retries: it "
            f"stopped or went away (the load resumes with the next run)",
            names_a_setting=False,
        )
    if isinstance(error, EsConnectionError):
        https_hint = ("; a node that serves HTTPS drops plain-HTTP requests like this: try https://"
                      if "http://" in where and _dropped_connection(error) else "")
        return ElasticsearchUnavailableError(
            f"Cannot reach Elasticsearch at {where} (set {setting_path(location_setting)}{https_hint})"
        )
    if isinstance(error, UnsupportedProductError):
        return ElasticsearchConfigurationError(
            f"The server at {where} is not Elasticsearch", "es_hosts", "es_cloud_id"
        )
    if isinstance(error, AuthenticationException):
        if _says_it_is_elasticsearch(error):
            return ElasticsearchConfigurationError(
                f"Elasticsearch at {where} rejected the credentials (HTTP 401)",
                "es_api_key",
                "es_username/es_password",
            )
        return ElasticsearchConfigurationError(
            f"The server at {where} asked for credentials (HTTP 401) without saying it is Elasticsearch: check "
            f"that the address is Elasticsearch's, then the credentials",
            location_setting,
            "es_api_key",
            "es_username/es_password",
        )
    if isinstance(error, AuthorizationException):
        reason = _api_error_reason(error)
        if index and reason.startswith("cluster_block_exception"):
            return blocked_index_error(where, index, reason.partition(": ")[2], location_setting)
        target = f"index '{index}'" if index else "this request"
        return ElasticsearchConfigurationError(
            f"Elasticsearch at {where} denied {target} (HTTP 403): the user needs the read, write,"
            " view_index_metadata, create_index and maintenance privileges on it and on its -errors and -sync-state"
            " indices",
            "es_api_key",
            "es_username/es_password",
            "es_index",
        )
    if isinstance(error, ApiError):
        reason = _api_error_reason(error)
        if error.status_code in RETRYABLE_STATUSES:
            return ElasticsearchUnavailableError(
                f"Elasticsearch at {where} is overloaded or unavailable (HTTP {error.status_code}:"
                f" {reason})",
                names_a_setting=False,
            )
        if error.status_code == 404 and index is None:
            return ElasticsearchConfigurationError(
                f"Elasticsearch API not found at {where} (HTTP 404)", location_setting
            )
        if index is None:  # a request about no index (the cluster's own API): the address is the suspect
            return ElasticsearchConfigurationError(
                f"Elasticsearch at {where} refused the request (HTTP {error.status_code}: {reason}); a path after "
                f"the host is put before every request's own",
                location_setting,
            )
        return ElasticsearchConfigurationError(
            f"Elasticsearch at {where} refused the request for index '{index}'"
            f" (HTTP {error.status_code}: {reason})",
            "es_index",
        )
    if isinstance(error, SerializationError):
        return ElasticsearchConfigurationError(
            f"The server at {where} did not answer like Elasticsearch", location_setting
        )
    if isinstance(error, TransportError):
        return ElasticsearchUnavailableError(
            f"Cannot talk to Elasticsearch at {where}: {type(error).__name__}"
            f" (set {setting_path(location_setting)})"
        )
    return None


# What the Elasticsearch client raises (found also inside the exceptions dlt wraps a failed step in).
CLIENT_ERRORS: Final = (TransportError, ApiError, SerializationError, UnsupportedProductError)


@contextmanager
def explained_client_errors(
    where: str, index: str | None = None, location_setting: str = "es_hosts",
    precedence: tuple[type[BaseException], ...] = (),
) -> Iterator[None]:
    """Re-raises client errors of the enclosed block as our one-line errors (others unchanged), also one inside a
    failed dlt step (a request of the source's own, e.g. for what the index holds, made while dlt extracts), unless
    that step failed with an error of the `precedence` types (the caller's own one-line errors), which then stands."""
    try:
        yield
    except ElasticsearchSettingsError:
        raise
    except Exception as error:
        translated = translate_client_error(error, where, index, location_setting)
        if translated is None and find_wrapped_error(error, (SignalReceivedException, *precedence)) is None:
            inner = find_wrapped_error(error, CLIENT_ERRORS + (ElasticsearchSettingsError,))
            if isinstance(inner, ElasticsearchSettingsError):
                raise  # already ours: the caller finds it
            if inner is not None:
                translated = translate_client_error(inner, where, index, location_setting)
        if translated is None:
            raise
        raise translated from error
