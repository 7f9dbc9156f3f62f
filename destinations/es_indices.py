"""Creating the content and dead-letter indices on first use.

Several sink threads (and the pipeline's preflight) may try to create the same index at the same
moment; Elasticsearch answers all but one with `resource_already_exists_exception`, which simply
means someone else won. An index that already exists keeps every field it maps; only fields of the
contract it does not map yet (added by a newer version of this connector) are added to it, so that
they are searchable there too. A key without the right to change mappings just leaves them unmapped.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

from elasticsearch import ApiError, BadRequestError, Elasticsearch

from destinations.es_mapping import (
    content_index_mappings,
    content_index_settings,
    dead_letter_index_mappings,
    dead_letter_index_settings,
)
from destinations.es_retry import RetryPolicy, call_with_backoff

logger = logging.getLogger(__name__)

#: Indices known to exist, per client (weak keys: a closed and dropped client takes its entries along).
_known_indices: weakref.WeakKeyDictionary[Elasticsearch, set[str]] = weakref.WeakKeyDictionary()
_known_indices_lock = threading.Lock()


def _already_exists(error: BadRequestError) -> bool:
    body = error.body if isinstance(error.body, dict) else {}
    detail = body.get("error")
    return isinstance(detail, dict) and detail.get("type") == "resource_already_exists_exception"


def create_index_if_missing(
    client: Elasticsearch,
    index: str,
    mappings: dict[str, Any],
    settings: dict[str, Any],
    policy: RetryPolicy,
) -> bool:
    """Creates `index`; returns True if this call created it, False if it existed.

    Errors other than "already exists" propagate (after backoff for transient ones).
    """

    def create() -> bool:
        if client.indices.exists(index=index):
            add_missing_fields(client, index, mappings)
            return False
        try:
            client.indices.create(index=index, mappings=mappings, settings=settings)
        except BadRequestError as error:
            if _already_exists(error):
                return False
            raise
        logger.info("Created Elasticsearch index %s", index)
        return True

    return call_with_backoff(create, policy, f"creating index {index}")


def add_missing_fields(client: Elasticsearch, index: str, mappings: dict[str, Any]) -> list[str]:
    """Map the contract's top-level fields that the existing `index` does not map; returns their names. Fields the
    index maps already are never touched, whatever their type."""
    try:
        current = client.indices.get_mapping(index=index)
        mapped: set[str] = set()
        for entry in current.body.values():  # one entry per concrete index (several behind an alias)
            mapped |= set((entry.get("mappings") or {}).get("properties") or {})
        missing = {name: spec for name, spec in mappings.get("properties", {}).items() if name not in mapped}
        if missing:
            client.indices.put_mapping(index=index, properties=missing)
            logger.info("Added the field(s) %s to the mapping of %s", ", ".join(sorted(missing)), index)
        return sorted(missing)
    except ApiError as error:
        logger.warning("Could not add new fields to the mapping of %s (HTTP %s); they stay unsearchable there",
                       index, error.meta.status)
        return []


def _ensure_once(
    client: Elasticsearch, index: str, create: Callable[[], bool]
) -> None:
    if index in _known_indices.get(client, ()):
        return
    with _known_indices_lock:
        if index in _known_indices.get(client, ()):
            return
        create()
        _known_indices.setdefault(client, set()).add(index)


def ensure_content_index(client: Elasticsearch, index: str, policy: RetryPolicy) -> None:
    """Makes sure the Confluence index exists, checking Elasticsearch only once per client and index."""
    _ensure_once(
        client,
        index,
        lambda: create_index_if_missing(
            client, index, content_index_mappings(), content_index_settings(), policy
        ),
    )


def ensure_dead_letter_index(client: Elasticsearch, index: str, policy: RetryPolicy) -> None:
    _ensure_once(
        client,
        index,
        lambda: create_index_if_missing(
            client, index, dead_letter_index_mappings(), dead_letter_index_settings(), policy
        ),
    )


def forget_index(client: Elasticsearch, index: str) -> None:
    """Makes the next ensure_* call check again, e.g. after Elasticsearch reported the index missing."""
    with _known_indices_lock:
        _known_indices.get(client, set()).discard(index)
