"""Helpers for tests that create their own Elasticsearch indices."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from elasticsearch import Elasticsearch


def unique_index_name(request: pytest.FixtureRequest, prefix: str, slug_length: int = 50) -> str:
    """An index name no other test uses: the prefix, the test's name (made index-safe) and a random suffix."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:slug_length]
    return f"{prefix}-{slug}-{uuid.uuid4().hex[:8]}"


def delete_indices(es: Elasticsearch, *names: str) -> None:
    """Delete the indices a test made; missing ones are fine."""
    for name in names:
        es.options(ignore_status=404).indices.delete(index=name)


def content_index_definition(mappings: dict[str, Any] | None = None) -> dict[str, Any]:
    """`mappings` (default: the contract's) and the content index settings (its analyzers), as `indices.create` takes
    them: what `create_index_if_missing` creates, for tests that add aliases or blocks of their own."""
    from destinations.es_mapping import content_index_mappings, content_index_settings

    return {"mappings": content_index_mappings() if mappings is None else mappings,
            "settings": content_index_settings()}
