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

from elasticsearch import ApiError, BadRequestError, Elasticsearch, TransportError

from destinations.es_mapping import (
    LANGUAGE_FIELDS,
    LANGUAGE_SUBFIELD,
    content_index_mappings,
    content_index_settings,
    custom_analyzers,
    dead_letter_index_mappings,
    dead_letter_index_settings,
)
from destinations.es_retry import RetryPolicy, call_with_backoff

logger = logging.getLogger(__name__)

#: Indices known to exist, per client (weak keys: a closed and dropped client takes its entries along).
_known_indices: weakref.WeakKeyDictionary[Elasticsearch, set[str]] = weakref.WeakKeyDictionary()
_known_indices_lock = threading.Lock()
#: (index, note) of the analyzer notes this process logged already; a lock of its own, as `_ensure_once` calls the
#: check that logs them while it holds `_known_indices_lock`.
_noted_analyzers: set[tuple[str, str]] = set()
_noted_analyzers_lock = threading.Lock()


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
            add_missing_fields(client, index, mappings, settings)
            return False
        try:
            client.indices.create(index=index, mappings=mappings, settings=settings)
        except BadRequestError as error:
            if _already_exists(error):
                return False
            raise
        logger.info("Created Elasticsearch index %s", index)
        return True

    return call_with_backoff(create, policy, f"checking or creating index {index}")


def add_missing_fields(
    client: Elasticsearch, index: str, mappings: dict[str, Any], settings: dict[str, Any] | None = None
) -> list[str]:
    """Map the contract's fields that the existing `index` does not map: top-level fields, and sub-fields of a
    field it maps with the contract's type (e.g. `title.words`); returns their names. What the index maps already
    is never changed, whatever its type or settings: a sub-field is added beside the field's own definition.

    Analyzers that the contract's `settings` define exist only in indices created with them (Elasticsearch reads
    analysis settings at creation). A field naming one that `index` lacks cannot be mapped there: it is left out,
    and one log line says what a new index would bring."""
    try:
        current = client.indices.get_mapping(index=index)
    except ApiError as error:
        logger.warning("Could not add new fields to the mapping of %s (HTTP %s); they stay unsearchable there",
                       index, error.meta.status)
        return []
    wanted_analyzers = custom_analyzers(settings or {})
    defined = _defined_analyzers(client, index) if wanted_analyzers else {}
    added: list[str] = []
    for concrete, entry in current.body.items():  # one entry per concrete index (several behind an alias)
        mapped = (entry.get("mappings") or {}).get("properties") or {}
        lacking = wanted_analyzers - defined.get(concrete, set())
        contract = mappings.get("properties", {})
        available, left_out = _without_analyzers(contract, lacking) if lacking else (contract, [])
        if lacking:
            not_added = [name for name in left_out if _not_mapped(name, mapped)]
            logger.info("Index %s was created without the analyzer(s) %s (by an earlier version), so it neither "
                        "folds accents nor splits names at case changes and digits%s; a new index has them: run with "
                        "--full-refresh into a new es_index, or reindex",
                        concrete, ", ".join(sorted(lacking)),
                        f"; not added: {', '.join(not_added)}" if not_added else "")
        _note_other_analyzers(concrete, contract, mapped, lacking)
        missing = _missing_fields(available, mapped)
        if not missing:
            continue
        try:
            client.indices.put_mapping(index=concrete, properties=missing)
        except ApiError as error:  # e.g. a key that may write documents but not change this index's mapping
            logger.warning("Could not add new fields to the mapping of %s (HTTP %s); they stay unsearchable there",
                           concrete, error.meta.status)
            continue
        names = _field_names(missing, mapped)
        added.extend(names)
        _warn_documents_lack(client, concrete, names)
    added = sorted(set(added))
    if added:
        logger.info("Added the field(s) %s to the mapping of %s", ", ".join(added), index)
    return added


def _warn_documents_lack(client: Elasticsearch, index: str, fields: list[str]) -> None:
    """Documents indexed before `fields` were mapped are not in them until they are written again, and an incremental
    run rewrites only what changed: until then searches of those fields miss them (and rank them below rewritten
    ones). Say so when `index` holds any, or may: no later run sees these fields missing, so this is the only time."""
    try:
        documents: int | None = int(client.count(index=index)["count"])
    except (ApiError, TransportError):
        documents = None  # unknown: warn all the same
    if documents == 0:
        return
    logger.warning("%s document(s) already in %s are not in the field(s) just added (%s) until they are written "
                   "again: a run with --full-refresh (this one too, if it is one) rewrites them, so that searches of "
                   "those fields find every document", "Any" if documents is None else f"The {documents}", index,
                   ", ".join(fields))


def _note_other_analyzers(index: str, contract: dict[str, Any], mapped: dict[str, Any], lacking: set[str]) -> None:
    """Log the sub-fields that `index` maps with another analyzer than the contract's, such as `body.language` of an
    index created with another `es_language`: they keep theirs (Elasticsearch never changes a field's analyzer).
    Those whose analyzer the index lacks altogether are already logged as such."""
    differing: dict[str, str] = {}
    for name, spec in contract.items():
        present = (mapped.get(name) or {}).get("fields") or {}
        wanted_subfields = spec.get("fields") or {}
        for sub, sub_spec in wanted_subfields.items():
            wanted = sub_spec.get("analyzer")
            existing = (present.get(sub) or {}).get("analyzer", "default")
            if wanted and wanted not in lacking and sub in present and existing != wanted:
                differing[f"{name}.{sub}"] = f"{existing} (not {wanted})"
        if name in LANGUAGE_FIELDS and LANGUAGE_SUBFIELD in present and LANGUAGE_SUBFIELD not in wanted_subfields:
            existing = present[LANGUAGE_SUBFIELD].get("analyzer", "default")
            differing[f"{name}.{LANGUAGE_SUBFIELD}"] = f"{existing} (not none)"
    if not differing:
        return
    message = ", ".join(f"{field} {analyzers}" for field, analyzers in sorted(differing.items()))
    with _noted_analyzers_lock:  # the preflight and the sink's first batch both check, with clients of their own
        if (index, message) in _noted_analyzers:
            return
        _noted_analyzers.add((index, message))
    # a warning: the setting asked for is not in force, and the default log level shows warnings
    logger.warning("Index %s keeps the analyzers its fields were mapped with: %s; a new index gets the ones asked "
                   "for (such as es_language's): run with --full-refresh into a new es_index, or reindex", index,
                   message)


def _defined_analyzers(client: Elasticsearch, index: str) -> dict[str, set[str]]:
    """The analyzers and normalizers each concrete index behind `index` defines in its settings; none where the
    settings cannot be read (fields that need them are then left out, not refused)."""
    try:
        response = client.indices.get_settings(index=index)
    except ApiError:
        return {}
    defined: dict[str, set[str]] = {}
    for concrete, entry in response.body.items():
        analysis = ((entry.get("settings") or {}).get("index") or {}).get("analysis") or {}
        defined[concrete] = set(analysis.get("analyzer") or {}) | set(analysis.get("normalizer") or {})
    return defined


def _without_analyzers(contract: dict[str, Any], lacking: set[str]) -> tuple[dict[str, Any], list[str]]:
    """`contract` without the fields and sub-fields that name an analyzer or normalizer of `lacking`, and their
    names (`field` or `field.sub`)."""

    def needs(spec: dict[str, Any]) -> bool:
        return any(spec.get(key) in lacking for key in ("analyzer", "search_analyzer", "normalizer"))

    kept: dict[str, Any] = {}
    left_out: list[str] = []
    for name, spec in contract.items():
        if needs(spec):
            left_out.append(name)
            continue
        subfields = spec.get("fields") or {}
        dropped = [sub for sub, sub_spec in subfields.items() if needs(sub_spec)]
        if dropped:
            left_out.extend(f"{name}.{sub}" for sub in dropped)
            spec = {**spec, "fields": {sub: sub_spec for sub, sub_spec in subfields.items() if sub not in dropped}}
        kept[name] = spec
    return kept, left_out


def _not_mapped(name: str, mapped: dict[str, Any]) -> bool:
    """Whether `field` or `field.sub` is missing from the `mapped` properties."""
    field, _, sub = name.partition(".")
    if field not in mapped:
        return True
    return bool(sub) and sub not in (mapped[field].get("fields") or {})


def _missing_fields(contract: dict[str, Any], mapped: dict[str, Any]) -> dict[str, Any]:
    """The mapping update that adds what `contract` has and `mapped` lacks: whole fields, and for a field mapped
    with the contract's type, its existing definition with the missing sub-fields added."""
    missing: dict[str, Any] = {}
    for name, spec in contract.items():
        existing = mapped.get(name)
        if existing is None:
            missing[name] = spec
            continue
        wanted = spec.get("fields") or {}
        present = existing.get("fields") or {}
        new_subfields = {sub: sub_spec for sub, sub_spec in wanted.items() if sub not in present}
        if new_subfields and existing.get("type") == spec.get("type"):
            missing[name] = {**existing, "fields": {**present, **new_subfields}}
    return missing


def _field_names(update: dict[str, Any], mapped: dict[str, Any]) -> list[str]:
    """Names of what a `_missing_fields` update adds: `field`, or `field.sub` for added sub-fields."""
    names: list[str] = []
    for name, spec in update.items():
        if name not in mapped:
            names.append(name)
            continue
        present = mapped[name].get("fields") or {}
        names.extend(f"{name}.{sub}" for sub in spec.get("fields") or {} if sub not in present)
    return names


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


def ensure_content_index(client: Elasticsearch, index: str, policy: RetryPolicy, language: str) -> None:
    """Makes sure the Confluence index exists (analysed for `language`, the `es_language` setting), checking
    Elasticsearch only once per client and index."""
    _ensure_once(
        client,
        index,
        lambda: create_index_if_missing(
            client, index, content_index_mappings(language), content_index_settings(), policy
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
