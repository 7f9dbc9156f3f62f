"""Sending bulk actions with the client's bulk helper, and sorting every item's outcome.

Each item ends in exactly one of these states:
  * written: indexed, deleted, or deleted-but-already-absent (404 on delete is the goal reached);
  * retried: the cluster was busy or briefly unavailable (429, 5xx, connection trouble). These are
    re-sent, and only these, after an exponential backoff with jitter, a bounded number of times;
    then `ElasticsearchUnavailableError` (transient for dlt) is raised;
  * rejected: Elasticsearch refused the document itself (mapping conflict, immense value, ...).
    Rejections are returned to the caller for the dead-letter index and never fail the batch;
  * fatal: 401/403 and similar refusals that concern every document, raised as terminal errors.

Because every action carries a fixed `_id` and uses `index` (not `create`), sending an item twice
is harmless; this is what lets whole chunks be re-sent after a connection error.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final, Literal, NoReturn

from elasticsearch import ApiError, Elasticsearch, helpers

from destinations.es_documents import BulkAction, RejectedDocument
from destinations.es_errors import (
    RETRYABLE_STATUSES,
    ElasticsearchConfigurationError,
    ElasticsearchUnavailableError,
    blocked_index_error,
    is_retryable,
    missing_pipeline_error,
    translate_client_error,
)
from destinations.es_retry import RetryPolicy

logger = logging.getLogger(__name__)

#: Documents per bulk request. Chosen by measurement (see the destination README section).
DEFAULT_CHUNK_SIZE: Final = 500
#: Upper bound of one bulk request body; large page bodies make byte size the real limit.
DEFAULT_MAX_CHUNK_BYTES: Final = 10 * 1024 * 1024
#: Concurrent bulk requests per sink call when the parallel helper is used.
DEFAULT_THREADS: Final = 2
#: Smallest request body we shrink to when the cluster answers 413 (request too large).
_MIN_CHUNK_BYTES: Final = 1024

Strategy = Literal["streaming", "parallel"]


@dataclasses.dataclass
class BulkOutcome:
    indexed: int = 0
    deleted: int = 0
    already_absent: int = 0
    retries: int = 0
    rejected: list[RejectedDocument] = dataclasses.field(default_factory=list)


class _IndexMissing(Exception):
    """An item came back index_not_found: the index was deleted while we were writing."""


@dataclasses.dataclass
class BulkWriter:
    """Writes actions into one index through `helpers.streaming_bulk` or `helpers.parallel_bulk`."""

    client: Elasticsearch
    index: str
    where: str  # the cluster, described without secrets, for messages
    policy: RetryPolicy
    strategy: Strategy = "parallel"
    chunk_size: int = DEFAULT_CHUNK_SIZE
    max_chunk_bytes: int = DEFAULT_MAX_CHUNK_BYTES
    threads: int = DEFAULT_THREADS
    on_index_missing: Callable[[], None] | None = None
    location_setting: str = "es_hosts"  # the setting that says where the cluster is (messages name it)
    pipeline: str | None = None  # the ingest pipeline the documents go through (`es_pipeline`)

    def write(self, actions: list[BulkAction]) -> BulkOutcome:
        outcome = BulkOutcome()
        pending = actions
        chunk_bytes = self.max_chunk_bytes
        retry_number = 0
        while pending:
            retry_later: list[BulkAction] = []
            reason = ""
            answered = 0
            request_error: Exception | None = None
            try:
                for ok, item in self._send(pending, chunk_bytes):
                    action = pending[answered]
                    answered += 1
                    reason = self._settle(action, ok, item, outcome, retry_later) or reason
                if answered != len(pending):
                    raise RuntimeError(
                        f"The bulk helper answered {answered} of {len(pending)} actions"
                    )
            except _IndexMissing:
                if self.on_index_missing is None:
                    raise ElasticsearchConfigurationError(
                        f"Index '{self.index}' disappeared from Elasticsearch at {self.where}",
                        "es_index",
                    ) from None
                self.on_index_missing()
                retry_later.extend(pending[answered:])
                reason = f"index {self.index} was missing and has been created again"
            except ApiError as error:
                if error.status_code == 413:
                    pending = pending[answered:]
                    chunk_bytes = self._shrink_after_too_large(pending, chunk_bytes, outcome)
                    continue
                if not is_retryable(error):
                    self._raise_translated(error)
                retry_later.extend(pending[answered:])
                reason = f"bulk request failed with HTTP {error.status_code}"
                request_error = error
            except Exception as error:
                if not is_retryable(error):
                    self._raise_translated(error)
                retry_later.extend(pending[answered:])
                reason = f"bulk request failed ({type(error).__name__})"
                request_error = error
            pending = retry_later
            if not pending:
                break
            if retry_number >= self.policy.max_retries:
                if request_error is not None:
                    # e.g. "Cannot reach Elasticsearch at ... (set destination.elasticsearch.es_hosts)"
                    self._raise_translated(request_error)
                raise ElasticsearchUnavailableError(
                    f"Elasticsearch at {self.where} kept refusing {len(pending)} document(s)"
                    f" after {retry_number} retries: {reason}"
                    " (check the cluster's health, or raise destination.elasticsearch.es_max_retries)",
                    names_a_setting=False,
                )
            retry_number += 1
            outcome.retries += 1
            self.policy.sleep_before(retry_number, f"{reason}; {len(pending)} document(s) to resend")
        return outcome

    def _send(self, actions: list[BulkAction], chunk_bytes: int) -> Iterator[tuple[bool, Any]]:
        """One result per action, in order; raises on request-level failures."""
        common: dict[str, Any] = {
            "chunk_size": self.chunk_size,
            "max_chunk_bytes": chunk_bytes,
            "raise_on_error": False,
            "raise_on_exception": True,
        }
        if self.pipeline:
            common["pipeline"] = self.pipeline
        requests = (self._as_helper_action(action) for action in actions)
        results: Iterable[tuple[bool, Any]]
        if self.strategy == "parallel" and len(actions) > self.chunk_size:
            results = helpers.parallel_bulk(
                self.client, requests, thread_count=self.threads, queue_size=self.threads, **common
            )
        else:
            results = helpers.streaming_bulk(self.client, requests, yield_ok=True, max_retries=0, **common)
        return iter(results)

    def _as_helper_action(self, action: BulkAction) -> dict[str, Any]:
        """The helpers' action form; the body is already JSON bytes, which they send unchanged."""
        request: dict[str, Any] = {"_op_type": action.operation, "_index": self.index, "_id": action.doc_id}
        if action.body is not None:
            request["_source"] = action.body
        return request

    def _settle(
        self,
        action: BulkAction,
        ok: bool,
        result: dict[str, Any],
        outcome: BulkOutcome,
        retry_later: list[BulkAction],
    ) -> str | None:
        """Books one item; returns a retry reason if the item must be sent again."""
        _, item = next(iter(result.items()))
        if item.get("_id") != action.doc_id:
            raise RuntimeError(
                f"Bulk results out of order: expected {action.doc_id!r}, got {item.get('_id')!r}"
            )
        status = int(item.get("status", 500))
        if ok:
            if action.operation == "delete":
                outcome.deleted += 1
            else:
                outcome.indexed += 1
            return None
        if action.operation == "delete" and status == 404:
            outcome.already_absent += 1
            return None
        error = item.get("error")
        error_type, reason = _describe_item_error(error)
        missing_pipeline = _MISSING_PIPELINE.match(reason) if error_type == "illegal_argument_exception" else None
        if missing_pipeline:  # every item fails the same way: a setting to fix, not documents to set aside
            if missing_pipeline.group(1) == self.pipeline:  # deleted since the preflight
                raise missing_pipeline_error(self.where, self.pipeline)
            raise ElasticsearchConfigurationError(
                f"Index '{self.index}' at {self.where} names the ingest pipeline '{missing_pipeline.group(1)}' "
                f"(index.default_pipeline or index.final_pipeline), which does not exist: create it, or change the "
                f"index's settings", "es_index")
        if _failed_in_a_processor(error) and (status in (400, 422) or error_type in _DOCUMENT_PROCESSOR_ERRORS):
            # an ingest processor found this document at fault (a field missing or of the wrong kind, a `fail`
            # processor's rule, a script that throws on it): sending it again would only fail the same way, so it is
            # set aside like any document Elasticsearch refuses. Other processor errors (a service behind it busy,
            # away, or refusing its credentials) are retried and then fail the run, which reads the same again.
            outcome.rejected.append(
                RejectedDocument(action.doc_id, action.operation, status, error_type, reason, action.body)
            )
            return None
        if status in RETRYABLE_STATUSES:
            retry_later.append(action)
            return f"HTTP {status} {error_type}"
        if status == 404 and error_type == "index_not_found_exception":
            raise _IndexMissing()
        if status == 403 and error_type == "cluster_block_exception":
            raise blocked_index_error(self.where, self.index, reason, self.location_setting)
        if status in (401, 403):
            # A security_exception's reason names the user and its roles: keep it out of messages.
            detail = error_type if error_type == "security_exception" else f"{error_type}: {reason}"
            raise ElasticsearchConfigurationError(
                f"Elasticsearch at {self.where} refused writes to index '{self.index}'"
                f" (HTTP {status} {detail})",
                "es_api_key",
                "es_username/es_password",
                "es_index",
            )
        outcome.rejected.append(
            RejectedDocument(action.doc_id, action.operation, status, error_type, reason, action.body)
        )
        return None

    def _shrink_after_too_large(
        self, pending: list[BulkAction], chunk_bytes: int, outcome: BulkOutcome
    ) -> int:
        """HTTP 413: halve the request size; a document that was alone in its request is rejected."""
        if not pending:
            return chunk_bytes
        first = pending[0]
        if chunk_bytes <= first.size or chunk_bytes <= _MIN_CHUNK_BYTES:
            outcome.rejected.append(
                RejectedDocument(
                    first.doc_id,
                    first.operation,
                    413,
                    "request_entity_too_large",
                    "the document alone exceeds the cluster's http.max_content_length",
                    first.body,
                )
            )
            pending.pop(0)
            return self.max_chunk_bytes
        return max(_MIN_CHUNK_BYTES, chunk_bytes // 2)

    def _raise_translated(self, error: Exception) -> NoReturn:
        """Raises our one-line error for a client error, or any other exception unchanged."""
        translated = translate_client_error(error, self.where, self.index, self.location_setting)
        if translated is None:
            raise error
        raise translated from error


_MISSING_PIPELINE = re.compile(r"^pipeline with id \[([^\]]*)\] does not exist")
# Processor errors that are about the document whatever their HTTP status (both are 500).
_DOCUMENT_PROCESSOR_ERRORS: Final = frozenset({"fail_processor_exception", "script_exception"})


def _failed_in_a_processor(error: Any) -> bool:
    """Whether a bulk item error comes from an ingest processor (of `es_pipeline`, or of a pipeline the index runs by
    itself): Elasticsearch names the processor's type in the error's header."""
    return isinstance(error, dict) and isinstance(error.get("header"), dict) and "processor_type" in error["header"]


def _describe_item_error(error: Any) -> tuple[str, str]:
    """(type, reason) of a bulk item error, including the root cause Elasticsearch nests under it."""
    if isinstance(error, dict):
        error_type = str(error.get("type", "error"))
        reason = str(error.get("reason", ""))
        cause = error.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            reason = f"{reason}; caused by {cause.get('type', 'error')}: {cause.get('reason')}"
        return error_type, reason
    return "error", str(error)
