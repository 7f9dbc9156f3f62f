"""The dead-letter index `<es_index>-errors`: where rejected documents wait for a person.

A document Elasticsearch refuses for reasons of its own (a value that contradicts the mapping, an
oversized body) must not fail the load of thousands of good ones, yet it must not vanish either: it
is logged and stored here with its id, the reason, the load id and the time. The entry id is
`<load id>:<document id>`, so dlt re-sending a batch does not duplicate entries while every load
keeps its own record.

Writing here is best effort: if even this fails (no privilege on the errors index, cluster gone),
the rejection is still logged and counted, and the load goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from elasticsearch import Elasticsearch, helpers

from destinations.es_documents import RejectedDocument
from destinations.es_indices import ensure_dead_letter_index
from destinations.es_retry import RetryPolicy, call_with_backoff

logger = logging.getLogger(__name__)

#: Enough of a rejected document to recognise and fix it without copying huge bodies around.
MAX_STORED_DOCUMENT_CHARS: Final = 32_000
#: Rejections logged one by one per batch; the rest are summarised in one line.
MAX_LOGGED_PER_BATCH: Final = 20


def log_rejections(rejected: Sequence[RejectedDocument], table: str, index: str) -> None:
    for entry in rejected[:MAX_LOGGED_PER_BATCH]:
        logger.warning(
            "Elasticsearch rejected document %s of table %s (%s %s: %s); kept in %s",
            entry.doc_id,
            table,
            entry.status or "not sent",
            entry.error_type,
            entry.reason,
            index,
        )
    if len(rejected) > MAX_LOGGED_PER_BATCH:
        logger.warning(
            "... and %d more rejected documents of table %s; see index %s",
            len(rejected) - MAX_LOGGED_PER_BATCH,
            table,
            index,
        )


def _entry(
    rejected: RejectedDocument, content_index: str, table: str, load_id: str | None, now: str
) -> dict[str, Any]:
    document = rejected.body.decode("utf-8", "replace") if rejected.body else None
    truncated = document is not None and len(document) > MAX_STORED_DOCUMENT_CHARS
    return {
        "id": rejected.doc_id,
        "index": content_index,
        "table": table,
        "operation": rejected.operation,
        "status": rejected.status,
        "error_type": rejected.error_type,
        "reason": rejected.reason,
        "load_id": load_id,
        "failed_at": now,
        "document": document[:MAX_STORED_DOCUMENT_CHARS] if document else None,
        "document_truncated": truncated,
    }


def record_rejections(
    client: Elasticsearch,
    dead_letter_index: str,
    content_index: str,
    table: str,
    load_id: str | None,
    rejected: Sequence[RejectedDocument],
    policy: RetryPolicy,
) -> int:
    """Stores rejections in the dead-letter index; returns how many were stored (errors are logged)."""
    if not rejected:
        return 0
    now = datetime.now(UTC).isoformat()

    def actions() -> Iterator[dict[str, Any]]:
        for entry in rejected:
            yield {
                "_index": dead_letter_index,
                "_id": f"{load_id or 'no-load'}:{entry.doc_id}",
                "_source": _entry(entry, content_index, table, load_id, now),
            }

    def store() -> int:
        ensure_dead_letter_index(client, dead_letter_index, policy)
        # refresh=wait_for: the entries are countable as soon as the sink call returns
        stored, errors = helpers.bulk(
            client, actions(), raise_on_error=False, stats_only=True, refresh="wait_for"
        )
        if errors:
            logger.error("%d rejected document(s) could not be stored in %s", errors, dead_letter_index)
        return int(stored)

    try:
        return call_with_backoff(store, policy, f"storing rejected documents in {dead_letter_index}")
    except Exception as error:  # best effort by design, see the module docstring
        logger.error(
            "Could not store %d rejected document(s) in %s (%s); their ids are in the log above",
            len(rejected),
            dead_letter_index,
            type(error).__name__,
        )
        return 0
