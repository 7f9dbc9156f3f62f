"""Whether `es_index` can take this connector's documents at all, asked before anything is read from Confluence.

An `es_index` that names an alias of several indices without a write index, or an index that someone else created
with other types for our fields (`title` as a number, `labels` as an object), refuses every document. Found only
while loading, that is a run that reads the whole site, sends every document to the dead-letter index and ends
"successfully" with an empty index. Both are settings to fix, so they are reported as such, up front.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import AuthorizationException, Elasticsearch, NotFoundError

from destinations.es_errors import ElasticsearchConfigurationError

_NUMBERS = frozenset({"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float",
                      "unsigned_long"})
_DATES = frozenset({"date", "date_nanos"})
# Field types that cannot hold any value of another kind (an object, a point, a vector, a range, ...).
_STRUCTURED = frozenset({"object", "nested", "flattened", "boolean", "ip", "geo_point", "geo_shape", "point",
                         "shape", "binary", "dense_vector", "sparse_vector", "rank_feature", "rank_features",
                         "histogram", "aggregate_metric_double", "integer_range", "float_range", "long_range",
                         "double_range", "date_range", "ip_range", "join", "percolator"})
# For each type this connector maps, the existing types that would refuse its values. A string goes into any text
# or keyword-like field (`semantic_text` included), a date also into a date field, a number also into a date field
# (as epoch milliseconds).
_REFUSING: dict[str, frozenset[str]] = {
    "text": _NUMBERS | _DATES | _STRUCTURED,
    "keyword": _NUMBERS | _DATES | _STRUCTURED,
    "date": _NUMBERS | _STRUCTURED,
    "integer": _STRUCTURED,
    "long": _STRUCTURED,
}


def check_write_target(client: Elasticsearch, index: str, mappings: dict[str, Any]) -> None:
    """Raise an `ElasticsearchConfigurationError` naming `es_index` when `index` (existing) cannot take the
    connector's documents. A key not allowed to read index metadata skips the check: the load still reports what
    Elasticsearch refuses."""
    try:
        written = _written_index(client, index)
        current = client.indices.get_mapping(index=written)
    except (NotFoundError, AuthorizationException):
        return
    wanted = mappings.get("properties", {})
    for concrete, entry in sorted(current.body.items()):
        conflicts = conflicting_fields(wanted, (entry.get("mappings") or {}).get("properties") or {})
        if conflicts:
            raise ElasticsearchConfigurationError(
                f"Index {concrete} maps {', '.join(conflicts)}, which cannot hold this connector's values: name an "
                f"index of its own (it is created with the right mapping)", "es_index")


def conflicting_fields(wanted: dict[str, Any], mapped: dict[str, Any]) -> list[str]:
    """`field as type` for each field that `mapped` types so that the values of `wanted` are refused."""
    conflicts: list[str] = []
    for name, spec in wanted.items():
        existing = mapped.get(name)
        if existing is None:
            continue
        if existing.get("enabled") is False or existing.get("ignore_malformed") is True:
            continue  # takes any value (stored, not indexed), or drops what it cannot parse
        existing_type = existing.get("type") or ("object" if "properties" in existing else None)
        if existing_type in _REFUSING.get(spec.get("type", ""), frozenset()):
            conflicts.append(f"{name} as {existing_type}")
    return conflicts


def _written_index(client: Elasticsearch, index: str) -> str:
    """The index that writes to `index` go to: itself, or the write index of the alias it names (the only member of
    an alias of one index). An alias of several indices without a write index takes no documents at all."""
    try:
        aliases = client.indices.get_alias(name=index)
    except NotFoundError:  # a concrete index (or none yet)
        return index
    members = sorted(aliases.body)
    writable = [member for member in members
                if ((aliases.body[member].get("aliases") or {}).get(index) or {}).get("is_write_index")]
    if writable:
        return writable[0]
    if len(members) == 1:
        return members[0]
    raise ElasticsearchConfigurationError(
        f"{index} is an alias of {len(members)} indices ({', '.join(members[:5])}) and none of them is its write "
        f"index, so it cannot take documents: mark one with is_write_index, or name a single index", "es_index")
