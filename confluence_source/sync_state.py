"""Sync state that survives a fresh machine: watermarks kept in Elasticsearch, and what one run saw.

dlt keeps incremental state in the local pipeline folder and cannot restore it from a custom destination, while a
scheduled run on a clean CI runner starts with no local folder at all. The index itself is therefore the source of
truth: after a load that fully succeeded the pipeline writes one small state document per (site, pipeline) into a
side index, and the next run, on any machine, reads its watermarks back from there. A failed run writes it only
after a stage of a long full read (`pipelines/read_stages.py`), moving no watermark but those of the spaces read in
full and loaded so far, or before the first such stage, moving none (and, failing, takes away that stage's note);
so a failure can never advance a watermark past what is not in the index.
"""

from __future__ import annotations

import hashlib
import re
import threading
from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Collection, Iterable, Iterator, Mapping

from elasticsearch import Elasticsearch, NotFoundError
from elasticsearch.helpers import scan

from .documents import Ancestry, Outline, doc_id
from .structure import HELD_LOOKUP_BATCH, IndexedDependent

STATE_INDEX_SUFFIX = "-sync-state"
# Values per `terms` query (Elasticsearch allows 65,536 by default).
TERMS_BATCH = 10_000
MAX_TERMS = 65_536
# A space key as a watermark key: letters and digits, or a personal space's `~` and its owner's name or id. An
# advanced rule's text always holds an operator (`=`, `~`, `in` ...) after its field, so it never reads as one.
SPACE_KEY = re.compile(r"~[^\s=\"()<>!]+|\w+")
STATE_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "site_url": {"type": "keyword"},
        "pipeline_name": {"type": "keyword"},
        "updated_at": {"type": "date"},
        # scope (space key or advanced-rule text) -> ISO-8601 UTC watermark; stored, never searched
        "watermarks": {"type": "object", "enabled": False},
        "last_run": {"type": "object", "enabled": False},
        # space key -> the space's name when the state was saved (a rename is then read in full)
        "space_names": {"type": "object", "enabled": False},
        # type -> Confluence id -> space key: items the deletion check found missing from the index, for the next run
        "to_read": {"type": "object", "enabled": False},
        # the same, of items that a run tried to read and that are still missing (tried again after a day)
        "unreadable": {"type": "object", "enabled": False},
        "unreadable_since": {"type": "object", "enabled": False},
        "unmatched": {"type": "object", "enabled": False},
        # the first stage of a long full read that a run began and did not load, and the stage size learned from
        # such runs (`pipelines/read_stages.py`)
        "unfinished_stage": {"type": "object", "enabled": False},
        "stage_limit": {"type": "object", "enabled": False},
    },
}


def state_index_name(content_index: str) -> str:
    """The side index that holds sync state for documents in `content_index`."""
    return f"{content_index}{STATE_INDEX_SUFFIX}"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _items_by_type(value: Any) -> dict[str, dict[str, str]]:
    """`to_read` or `unreadable` as saved (type -> Confluence id -> space key), or `unmatched` (document id -> its
    note), leaving out anything of another shape: a state document is data from outside the run, which a hand edit
    or an older version may have left otherwise."""
    if not isinstance(value, dict):
        return {}
    return {str(doc_type): _strings(items) for doc_type, items in value.items() if isinstance(items, dict)}


def _strings(value: Any) -> dict[str, str]:
    """A saved mapping of strings to strings, without the entries of another shape."""
    if not isinstance(value, dict):
        return {}
    return {str(key): item for key, item in value.items() if isinstance(item, str)}


def _counts_of(value: Any) -> dict[str, int]:
    """A saved mapping of names to non-negative whole numbers, without the entries of another shape."""
    if not isinstance(value, dict):
        return {}
    return {str(key): item for key, item in value.items()
            if isinstance(item, int) and not isinstance(item, bool) and item >= 0}


def _unfinished_stage_of(value: Any) -> dict[str, Any]:
    """A saved note of an unfinished stage ({"documents": n, "spaces": [keys]}), or none where it has another
    shape."""
    if not isinstance(value, dict):
        return {}
    documents, spaces = value.get("documents"), value.get("spaces")
    if not (isinstance(documents, int) and documents > 0 and isinstance(spaces, list)):
        return {}
    return {"documents": documents, "spaces": [str(key) for key in spaces]}


class CompactIds:
    """A growing collection of document ids (`page-123`, `attachment-att45`) kept as machine integers.

    A full read records tens of thousands of ids, one at a time, between the allocations of the documents they came
    from. Kept as small string objects they would pin nearly every block of memory the read used, so the memory of
    the (long gone) documents could not be handed back before the load. Integers in `array` buffers live outside
    Python's small-object allocator and cost 8 bytes each; ids of any other shape are kept as strings.
    """

    def __init__(self) -> None:
        self._numbers: dict[str, array[int]] = {}  # "page-" / "attachment-att" -> numeric tails
        self._others: set[str] = set()

    def add(self, doc_id: str) -> None:
        head = doc_id.rstrip("0123456789")
        tail = doc_id[len(head):]
        if not tail or not head or (len(tail) > 1 and tail[0] == "0") or len(tail) > 18:
            self._others.add(doc_id)
            return
        numbers = self._numbers.get(head)
        if numbers is None:
            numbers = self._numbers[head] = array("q")
        numbers.append(int(tail))

    def as_set(self) -> set[str]:
        ids = set(self._others)
        for head, numbers in self._numbers.items():
            ids.update(f"{head}{number}" for number in numbers)
        return ids


class SyncLedger:
    """Ids seen during one run, per (space key, document type).

    A scope that was read in full this run needs no second id listing to find deletions: the ids the readers
    yielded are the complete set. Readers call `saw` from several threads, hence the lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: dict[tuple[str, str], CompactIds] = defaultdict(CompactIds)
        self._fully_read: set[tuple[str, str]] = set()

    def saw(self, space_key: str, doc_type: str, doc_id: str) -> None:
        with self._lock:
            self._ids[(space_key, doc_type)].add(doc_id)

    def mark_fully_read(self, space_key: str, doc_type: str) -> None:
        """Record that every current item of this scope was listed (a full read that ran to its end)."""
        with self._lock:
            self._fully_read.add((space_key, doc_type))

    def is_fully_read(self, space_key: str, doc_type: str) -> bool:
        with self._lock:
            return (space_key, doc_type) in self._fully_read

    def ids(self, space_key: str, doc_type: str) -> set[str]:
        with self._lock:
            found = self._ids.get((space_key, doc_type))
            return found.as_set() if found is not None else set()

    def counts(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return {scope: len(ids.as_set()) for scope, ids in self._ids.items()}


@dataclass
class SyncState:
    """What the state document holds for one site and pipeline."""

    watermarks: dict[str, str] = field(default_factory=dict)
    updated_at: str | None = None
    last_run: dict[str, Any] = field(default_factory=dict)
    space_names: dict[str, str] = field(default_factory=dict)
    # type -> Confluence id -> space key: found missing from the index by the last run, read by the next
    to_read: dict[str, dict[str, str]] = field(default_factory=dict)
    # the same, of items still missing although a run tried to read them, and since when (document id -> ISO time)
    unreadable: dict[str, dict[str, str]] = field(default_factory=dict)
    unreadable_since: dict[str, str] = field(default_factory=dict)
    # under advanced rules: documents no rule matched, waiting for a later search to confirm it (`plan_rule_deletions`)
    unmatched: dict[str, dict[str, str]] = field(default_factory=dict)
    # the first stage of a long full read that the last such run began and did not load: {"documents": expected,
    # "spaces": [space keys]}; and the smaller stage size learned from such runs: {"documents": at most, "asked":
    # the --stage-documents it was learned under} (`pipelines/read_stages.py`)
    unfinished_stage: dict[str, Any] = field(default_factory=dict)
    stage_limit: dict[str, int] = field(default_factory=dict)

    def tried(self, retry_before: str) -> set[str]:
        """Document ids of the items this state sends to be read, and of those it set apart as unreadable after
        `retry_before` (an ISO time): those set apart earlier are tried once more (their page unarchived, search
        caught up, a mapping fixed)."""
        tried = {doc_id(doc_type, confluence_id) for doc_type, items in self.to_read.items() for confluence_id in items}
        for doc_type, items in self.unreadable.items():
            for confluence_id in items:
                document_id = doc_id(doc_type, confluence_id)
                if self.unreadable_since.get(document_id, "") >= retry_before:
                    tried.add(document_id)
        return tried


@dataclass(frozen=True)
class OtherPipeline:
    """Another pipeline's state document for the same site and index."""

    name: str
    updated_at: str
    state_id: str
    space_keys: tuple[str, ...]
    # chooses its content by advanced rules: which of the index's documents are its own is not known here
    selects_by_rules: bool = False


class WatermarkStore:
    """Reads and writes the state document of one (site, pipeline) pair in the side index."""

    def __init__(self, client: Elasticsearch, content_index: str, site_url: str, pipeline_name: str) -> None:
        self.client = client
        self.index = state_index_name(content_index)
        self.site_url = site_url
        self.pipeline_name = pipeline_name
        self.doc_id = hashlib.sha256(f"{pipeline_name}\n{site_url}".encode()).hexdigest()[:32]

    def load(self) -> SyncState:
        """The saved state, or an empty one when this site was never synced into this index."""
        try:
            response = self.client.get(index=self.index, id=self.doc_id)
        except NotFoundError:
            return SyncState()
        source = response.get("_source") or {}
        return SyncState(
            watermarks=dict(source.get("watermarks") or {}),
            updated_at=source.get("updated_at"),
            last_run=dict(source.get("last_run") or {}),
            space_names=dict(source.get("space_names") or {}),
            to_read=_items_by_type(source.get("to_read")),
            unreadable=_items_by_type(source.get("unreadable")),
            unreadable_since=_strings(source.get("unreadable_since")),
            unmatched=_items_by_type(source.get("unmatched")),
            unfinished_stage=_unfinished_stage_of(source.get("unfinished_stage")),
            stage_limit=_counts_of(source.get("stage_limit")),
        )

    def save(self, watermarks: dict[str, str], last_run: dict[str, Any],
             space_names: Mapping[str, str] | None = None,
             to_read: Mapping[str, Mapping[str, str]] | None = None,
             unreadable: Mapping[str, Mapping[str, str]] | None = None,
             unreadable_since: Mapping[str, str] | None = None,
             unmatched: Mapping[str, Mapping[str, str]] | None = None,
             unfinished_stage: Mapping[str, Any] | None = None,
             stage_limit: Mapping[str, int] | None = None) -> str:
        """Write the state after a fully successful load (a whole run's, or a stage's: `pipelines/read_stages.py`),
        or, with `unfinished_stage`, before the first stage of a long full read; refreshed so that an immediate next
        run sees it. Returns its `updated_at`."""
        self.client.options(ignore_status=400).indices.create(index=self.index, mappings=STATE_MAPPING)
        updated_at = utc_now().isoformat()
        self.client.index(
            index=self.index,
            id=self.doc_id,
            document={
                "site_url": self.site_url,
                "pipeline_name": self.pipeline_name,
                "updated_at": updated_at,
                "watermarks": watermarks,
                "last_run": last_run,
                "space_names": dict(space_names or {}),
                "to_read": {doc_type: dict(items) for doc_type, items in (to_read or {}).items() if items},
                "unreadable": {doc_type: dict(items) for doc_type, items in (unreadable or {}).items() if items},
                "unreadable_since": dict(unreadable_since or {}),
                "unmatched": {document_id: dict(note) for document_id, note in (unmatched or {}).items()},
                "unfinished_stage": dict(unfinished_stage or {}),
                "stage_limit": dict(stage_limit or {}),
            },
            refresh=True,  # a tiny index: refresh it now rather than wait up to a second for the next refresh
        )
        return updated_at

    def forget_unfinished_stage(self) -> None:
        """Take away the note of an unfinished first stage, leaving the rest of the state (and its `updated_at`) as
        it is. Asked once and briefly: a run that has failed already calls this. Not where the side index is gone
        (an update would create it without its mapping)."""
        client = self.client.options(ignore_status=404, request_timeout=10, max_retries=0)
        if client.indices.exists(index=self.index):
            client.update(index=self.index, id=self.doc_id, doc={"unfinished_stage": None}, refresh=True)

    def other_pipelines(self) -> list[OtherPipeline]:
        """The other pipelines that sync spaces of this site into this index, by their saved state: the documents of
        those spaces are theirs to delete, not this pipeline's, which merely does not sync them."""
        try:
            hits = list(scan(self.client, index=self.index, size=1000, preserve_order=False, query={
                "query": {"bool": {"filter": [{"term": {"site_url": self.site_url}}],
                                   "must_not": [{"term": {"pipeline_name": self.pipeline_name}}]}},
                "_source": ["pipeline_name", "updated_at", "space_names", "watermarks"]}))
        except NotFoundError:
            return []
        others = []
        for hit in hits:
            source = hit.get("_source") or {}
            others.append(OtherPipeline(
                name=str(source.get("pipeline_name")),
                updated_at=str(source.get("updated_at") or ""),
                state_id=str(hit["_id"]),
                space_keys=tuple(sorted(source.get("space_names") or {})),
                # its watermarks are kept per scope: a rule's text is never a space key
                selects_by_rules=any(not SPACE_KEY.fullmatch(str(key)) for key in source.get("watermarks") or {}),
            ))
        return sorted(others, key=lambda other: other.name)

    def clear(self) -> None:
        """Forget the watermarks (used when the content index is missing, so that the next run reads everything)."""
        try:
            self.client.delete(index=self.index, id=self.doc_id, refresh="wait_for")
        except NotFoundError:
            pass


class IndexedDocuments:
    """Read-only questions about what the content index holds for one site."""

    def __init__(self, client: Elasticsearch, index: str, site_url: str) -> None:
        self.client = client
        self.index = index
        self.site_url = site_url

    def exists(self) -> bool:
        return bool(self.client.indices.exists(index=self.index))

    def other_writers(self) -> dict[str | None, int]:
        """Documents of the index that this site's runs did not write, by the `site_url` they carry (None: they have
        none, so no run of this connector wrote them; e.g. Elastic's own Confluence connector, writing to the same
        index name). Nothing here updates or deletes them; another site's documents share ids with this site's
        (`page-<id>`, and Confluence numbers content per site), so the two overwrite each other."""
        if not self.exists():
            return {}
        response = self.client.search(
            index=self.index, size=0, query={"bool": {"must_not": [{"term": {"site_url": self.site_url}}]}},
            aggs={"sites": {"terms": {"field": "site_url", "size": 10}},
                  "unmarked": {"missing": {"field": "site_url"}}})
        aggregations = response["aggregations"]
        writers: dict[str | None, int] = {bucket["key"]: bucket["doc_count"]
                                          for bucket in aggregations["sites"]["buckets"]}
        if aggregations["unmarked"]["doc_count"]:
            writers[None] = aggregations["unmarked"]["doc_count"]
        return writers

    def counts_by_space_and_type(self) -> dict[tuple[str, str], int]:
        """Number of indexed documents per (space key, type) for this site, from one aggregation."""
        return self._counts({"term": {"site_url": self.site_url}})

    def search_comparable_counts(self) -> tuple[dict[tuple[str, str], int], set[tuple[str, str]]]:
        """What to compare with Confluence's search counts when the index holds archived content (`index_archived`),
        which search neither counts nor lists: (documents per (space key, type) without archived pages; the
        (space key, type) scopes holding comments or files that hang on an archived page). An archived page that
        goes is found by the archived-page check (`archived_pages.py`); what hangs on one can only be told gone by
        an id listing, so those scopes are listed whatever the counts say. Compared as they are, counts would
        differ in every space with archived pages, and could even cancel out a restored item the index lacks."""
        if not self.exists():
            return {}, set()
        self.client.indices.refresh(index=self.index)
        site = {"term": {"site_url": self.site_url}}
        counts = self._counts({"bool": {"filter": [site], "must_not": [{"term": {"status": "archived"}}]}})
        archived = [str(source.get("id") or document_id) for document_id, source in self._sources(
            ("page",), None, ["id"], {"term": {"status": "archived"}})]
        if not archived:
            return counts, set()
        if len(archived) > MAX_TERMS:
            return counts, {scope for scope in counts if scope[1] in ("comment", "attachment")}
        hanging = self._counts({"bool": {"filter": [site, {"terms": {"type": ["comment", "attachment"]}},
                                                    {"terms": {"parent_id": archived}}]}})
        return counts, set(hanging)

    def _counts(self, query: dict[str, Any]) -> dict[tuple[str, str], int]:
        """Number of documents matching `query` per (space key, type), from one aggregation."""
        if not self.exists():
            return {}
        self.client.indices.refresh(index=self.index)
        response = self.client.search(
            index=self.index,
            size=0,
            query=query,
            aggs={
                "spaces": {
                    "terms": {"field": "space_key", "size": 65535},
                    "aggs": {"types": {"terms": {"field": "type", "size": 16}}},
                }
            },
        )
        counts: dict[tuple[str, str], int] = {}
        for space_bucket in response["aggregations"]["spaces"]["buckets"]:
            for type_bucket in space_bucket["types"]["buckets"]:
                counts[(space_bucket["key"], type_bucket["key"])] = type_bucket["doc_count"]
        return counts

    def outlines(self, doc_types: Collection[str], space_keys: Collection[str] | None) -> dict[str, Outline]:
        """Document id -> outline (title, version, space, labels, ancestors) of the indexed documents of these types,
        in these spaces (None: all of this site's)."""
        fields = ["title", "version", "space_key", "labels", "ancestor_ids", "ancestor_titles"]
        return {document_id: Outline.of_document(source)
                for document_id, source in self._sources(doc_types, space_keys, fields)}

    def archived_pages(self, space_keys: Collection[str]) -> dict[str, dict[str, Ancestry]]:
        """Space key -> document id -> ancestors of the archived pages indexed in these spaces."""
        found: dict[str, dict[str, Ancestry]] = {key: {} for key in space_keys}
        if not space_keys:
            return found
        for document_id, source in self._sources(("page",), space_keys, ["space_key", "ancestor_ids",
                                                                          "ancestor_titles"],
                                                 {"term": {"status": "archived"}}):
            outline = Outline.of_document(source)
            found.setdefault(str(source.get("space_key")), {})[document_id] = tuple(
                zip(outline.ancestor_ids, outline.ancestor_titles))
        return found

    def labelled(self, doc_types: Collection[str], space_keys: Collection[str] | None) -> dict[str, tuple[str, ...]]:
        """Document id -> sorted labels of the indexed documents of these types, in these spaces (None: all of this
        site's), that carry labels: usually a small part of them, and only the labels are fetched."""
        carrying_labels = {"exists": {"field": "labels"}}
        return {document_id: Outline.of_document(source).labels
                for document_id, source in self._sources(doc_types, space_keys, ["labels"], carrying_labels)}

    def held(self, document_ids: Collection[str]) -> dict[str, str | None]:
        """Which of these document ids this site's index holds, with their space keys (one request per
        HELD_LOOKUP_BATCH ids)."""
        if not document_ids or not self.exists():
            return {}
        ids = list(document_ids)
        held: dict[str, str | None] = {}
        for start in range(0, len(ids), HELD_LOOKUP_BATCH):
            batch = ids[start : start + HELD_LOOKUP_BATCH]
            query = {"bool": {"filter": [{"term": {"site_url": self.site_url}}, {"ids": {"values": batch}}]}}
            response = self.client.search(index=self.index, size=len(batch), source=["space_key"], query=query)
            held.update((hit["_id"], (hit.get("_source") or {}).get("space_key")) for hit in response["hits"]["hits"])
        return held

    def _sources(self, doc_types: Collection[str], space_keys: Collection[str] | None, fields: list[str],
                 *conditions: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        """(id, these fields) of this site's indexed documents of these types in these spaces (and meeting these
        further conditions), after a refresh."""
        if not self.exists():
            return
        self.client.indices.refresh(index=self.index)
        filters: list[dict[str, Any]] = [{"term": {"site_url": self.site_url}}, {"terms": {"type": list(doc_types)}},
                                         *conditions]
        if space_keys is not None:
            filters.append({"terms": {"space_key": list(space_keys)}})
        query = {"query": {"bool": {"filter": filters}}, "_source": fields}
        for hit in scan(self.client, index=self.index, query=query, size=5000, preserve_order=False):
            yield hit["_id"], hit.get("_source") or {}

    def holds_attachment_texts(self, statuses: Collection[str]) -> bool:
        """Whether this site has any attachment indexed with one of these `content_extraction` outcomes (one count):
        when none is, as on a first sync, there is no text, and no finding that a file has none, to look up before
        downloading."""
        if not self.exists():
            return False
        response = self.client.count(index=self.index, query={"bool": {"filter": [
            {"term": {"site_url": self.site_url}}, {"term": {"type": "attachment"}},
            {"terms": {"content_extraction": sorted(statuses)}},
        ]}})
        return int(response["count"]) > 0

    def attachment_texts(self, document_ids: Collection[str]) -> dict[str, dict[str, Any]]:
        """Id -> `version`, `content_extraction`, `content_extractor`, `body` and `truncated` of these attachments as
        this site's documents in the index (one request; ids the index does not hold are left out)."""
        if not document_ids:
            return {}
        response = self.client.mget(index=self.index, ids=list(document_ids),
                                    source_includes=["version", "content_extraction", "content_extractor", "body",
                                                     "truncated", "site_url"])
        return {
            entry["_id"]: entry["_source"] for entry in response["docs"]
            if entry.get("found") and (entry.get("_source") or {}).get("site_url") == self.site_url
        }

    def attachments_without_text(self, statuses: Collection[str], too_large_within: tuple[int, str] | None = None
                                 ) -> Iterator[tuple[str, str, str]]:
        """(document id, Confluence id, space key) of this site's attachments indexed with one of these
        `content_extraction` values, or without any (indexed before attachments had their text), and, given
        `too_large_within` (a size limit and its `too_large_stamp`), those indexed as `too_large` under another limit
        whose file is listed no larger than this one (the limit was raised)."""
        if not self.exists():
            return
        wanted: list[dict[str, Any]] = [{"terms": {"content_extraction": list(statuses)}},
                                        {"bool": {"must_not": {"exists": {"field": "content_extraction"}}}}]
        if too_large_within is not None:
            limit, stamp = too_large_within
            wanted.append({"bool": {"filter": [{"term": {"content_extraction": "too_large"}},
                                               {"range": {"file_size": {"lte": limit}}}],
                                    "must_not": [{"term": {"content_extractor": stamp}}]}})
        query = {"bool": {
            "filter": [{"term": {"site_url": self.site_url}}, {"term": {"type": "attachment"}}],
            "should": wanted,
            "minimum_should_match": 1,
        }}
        body: dict[str, Any] = {"query": query, "_source": ["confluence_id", "space_key"]}
        if not self._maps("content_extraction"):
            # an index whose mapping could not be extended: read the field from _source (slower, still right)
            body["runtime_mappings"] = {"content_extraction": {"type": "keyword"}}
        for hit in scan(self.client, index=self.index, query=body, size=5000, preserve_order=False):
            source = hit.get("_source") or {}
            if source.get("confluence_id") and source.get("space_key"):
                yield hit["_id"], str(source["confluence_id"]), str(source["space_key"])

    def _maps(self, field_name: str) -> bool:
        """Whether every index behind `self.index` maps this field (unmapped fields are not searchable with
        `dynamic: false`)."""
        response = self.client.indices.get_field_mapping(index=self.index, fields=field_name)
        return all(field_name in (entry.get("mappings") or {}) for entry in response.body.values())

    def dependents(self, document_ids: Collection[str]) -> list[IndexedDependent]:
        """Indexed comments and attachments of this site hanging (directly or further down) under these documents."""
        if not self.exists() or not document_ids:
            return []
        found: dict[str, IndexedDependent] = {}
        ids = sorted(document_ids)
        for start in range(0, len(ids), TERMS_BATCH):
            batch = ids[start : start + TERMS_BATCH]
            query = {"bool": {
                "filter": [{"term": {"site_url": self.site_url}}, {"terms": {"type": ["comment", "attachment"]}}],
                "should": [{"terms": {"parent_id": batch}}, {"terms": {"ancestor_ids": batch}}],
                "minimum_should_match": 1,
            }}
            for hit in scan(self.client, index=self.index,
                            query={"query": query, "_source": ["type", "parent_id", "ancestor_ids"]},
                            size=5000, preserve_order=False):
                source = hit.get("_source") or {}
                above = ([source["parent_id"]] if isinstance(source.get("parent_id"), str) else []) + [
                    str(value) for value in source.get("ancestor_ids") or [] if value is not None]
                found[hit["_id"]] = IndexedDependent(id=hit["_id"], doc_type=str(source.get("type") or ""),
                                                     above=tuple(above))
        return list(found.values())

    def ids(self, space_key: str | None = None, doc_types: Iterable[str] | None = None,
            exclude_space_keys: Iterable[str] | None = None) -> Iterator[tuple[str, str, str]]:
        """Yield (id, space key, type) of indexed documents of this site matching the filters (streams, any size)."""
        if not self.exists():
            return
        filters: list[dict[str, Any]] = [{"term": {"site_url": self.site_url}}]
        if space_key is not None:
            filters.append({"term": {"space_key": space_key}})
        if doc_types is not None:
            filters.append({"terms": {"type": list(doc_types)}})
        must_not: list[dict[str, Any]] = []
        if exclude_space_keys:
            must_not.append({"terms": {"space_key": list(exclude_space_keys)}})
        query = {"bool": {"filter": filters, "must_not": must_not}}
        for hit in scan(self.client, index=self.index, query={"query": query, "_source": ["space_key", "type"]},
                        size=5000, preserve_order=False):
            source = hit.get("_source") or {}
            yield hit["_id"], source.get("space_key", ""), source.get("type", "")
