"""Elasticsearch chores of the benchmark: connecting, naming and creating throw-away indices, reading them back.

Every measured run writes into its own fresh index (named `bench-<run>-...`), so no run can be sped up or slowed
down by documents left by another, and all of them are deleted when the benchmark ends.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from elasticsearch import Elasticsearch, NotFoundError, helpers

SCAN_PAGE_SIZE = 500
REQUEST_TIMEOUT_S = 300


def resolve_es_url(explicit: str | None) -> str:
    """The URL given on the command line, or the es_local node (started when nothing answers yet)."""
    if explicit:
        return explicit.rstrip("/")
    from es_local import ensure_running

    return ensure_running().url.rstrip("/")


def connect(url: str) -> Elasticsearch:
    return Elasticsearch(url, request_timeout=REQUEST_TIMEOUT_S, max_retries=2, retry_on_timeout=True)


class IndexNamer:
    """Unique, valid index names for one benchmark invocation: `bench-<run id>-<parts>-<n>`."""

    def __init__(self, run_id: str) -> None:
        self.prefix = f"bench-{_slug(run_id)}"
        self._counter = 0

    def new(self, *parts: str) -> str:
        self._counter += 1
        return "-".join([self.prefix, *(_slug(part) for part in parts), str(self._counter)])

    @property
    def pattern(self) -> str:
        return f"{self.prefix}-*"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def refresh(es: Elasticsearch, index: str) -> None:
    es.indices.refresh(index=index)


def count(es: Elasticsearch, index: str) -> int:
    refresh(es, index)
    return int(es.count(index=index)["count"])


def index_definition(es: Elasticsearch, index: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Mappings and the creation settings that matter (shards, replicas, analysis) of an existing index."""
    mapping = es.indices.get_mapping(index=index)[index]["mappings"]
    settings = es.indices.get_settings(index=index)[index]["settings"]["index"]
    kept = {key: settings[key] for key in ("number_of_shards", "number_of_replicas", "analysis") if key in settings}
    return dict(mapping), kept


def create_like(es: Elasticsearch, source_index: str, new_index: str) -> None:
    """Create `new_index` with the mapping and settings of `source_index`, so both cost the same to fill."""
    mappings, settings = index_definition(es, source_index)
    es.indices.create(index=new_index, mappings=mappings, settings=settings)


def read_documents(es: Elasticsearch, index: str) -> list[tuple[str, dict[str, Any]]]:
    """Every document of `index` as (_id, _source), read with the scroll helper."""
    refresh(es, index)
    return [(hit["_id"], hit["_source"]) for hit in helpers.scan(es, index=index, size=SCAN_PAGE_SIZE,
                                                                   query={"query": {"match_all": {}}})]


def versions_by_id(es: Elasticsearch, index: str) -> dict[str, Any]:
    """_id -> `version` field (None when a document has none): what decides whether two indices hold the same data."""
    refresh(es, index)
    hits: Iterator[dict[str, Any]] = helpers.scan(
        es, index=index, size=5000, query={"query": {"match_all": {}}, "_source": ["version"]}
    )
    return {hit["_id"]: hit.get("_source", {}).get("version") for hit in hits}


def delete_index(es: Elasticsearch, index: str) -> None:
    try:
        es.indices.delete(index=index)
    except NotFoundError:
        pass


def delete_matching(es: Elasticsearch, pattern: str) -> None:
    """Delete every index matching `pattern` (the dead-letter indices the sink may have created included)."""
    names = list(es.indices.get(index=pattern, expand_wildcards="all", ignore_unavailable=True))
    for name in names:
        delete_index(es, name)
