"""Changes that Confluence's change feed does not report: labels, page moves, restored pages, renamed ancestors.

CQL `lastmodified` moves only when an item gets a new version. Adding or removing a label, moving a page within
its space (or to another synced space), and restoring a page from the trash create no version, so an incremental
run reading `lastmodified` never sees them; a renamed page does get a version, but the breadcrumbs of its
descendants, comments and attachments change without one.

The check below closes that gap on every incremental run at the cost of one body-less listing (about one request per
200 pages and blog posts, whatever changed): it compares each item's outline (title, space, labels, ancestors) with
what the index holds and re-reads, with their bodies, only the items that differ; it also re-reads the comments and
attachments hanging under a page whose title or place in the tree changed, and those of pages new to the index (a
restored page brings its comments back). Files can be labelled too, so the labels of attachments are listed beside
(about one request per 200 attachments; without ancestors, which are most of what a listing weighs: a file moves with
its page, which the outlines above catch), or, where a flavour can tell in fewer requests what carries labels now
(Cloud's label listing on a site with few labels), taken from there. The listings only ever add reads: deletions are
still found by the reconciliation after the load, whose listings are checked for truncation.
`check_labels_and_moves = false` turns the check off.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Collection, Iterator, Mapping, Protocol

from . import settings as defaults
from .documents import Outline, SpaceInfo, doc_id
from .reader import ConfluenceReader, Emitted, ListingStopped, Scope, SyncPlan

logger = logging.getLogger(__name__)

# Types whose outline is listed; comments and attachments follow the pages they hang on.
OUTLINED_TYPES: tuple[str, ...] = ("page", "blogpost")
DEPENDENT_TYPES: tuple[str, ...] = ("comment", "attachment")
# Types whose labels alone are listed and compared (comments carry labels only when set through the API).
LABELLED_TYPES: tuple[str, ...] = ("attachment",)
# Document ids per question to the index whether it holds them (one search; at most 10,000, the default
# `index.max_result_window`); the check also settles what it is unsure of in batches of this size, to bound memory.
HELD_LOOKUP_BATCH = 1000


@dataclass(frozen=True)
class IndexedDependent:
    """A comment or attachment in the index, with the pages it hangs under."""

    id: str
    doc_type: str
    above: tuple[str, ...]  # document ids of its parent and the parent's ancestors


class IndexedOutlines(Protocol):
    """What the check asks the index (implemented by `sync_state.IndexedDocuments`)."""

    def outlines(self, doc_types: Collection[str], space_keys: Collection[str] | None) -> dict[str, Outline]: ...

    def labelled(
        self, doc_types: Collection[str], space_keys: Collection[str] | None
    ) -> dict[str, tuple[str, ...]]: ...

    def held(self, document_ids: Collection[str]) -> dict[str, str | None]: ...

    def dependents(self, document_ids: Collection[str]) -> list[IndexedDependent]: ...

    def counts_by_space_and_type(self) -> dict[tuple[str, str], int]: ...


def without_renamed_spaces(watermarks: Mapping[str, str], names_then: Mapping[str, str],
                           spaces: Collection[SpaceInfo]) -> dict[str, str]:
    """The watermarks less those of spaces renamed since `names_then` (space key -> name when the watermarks were
    saved), so that those spaces are read in full: renaming a space changes the `space_name` and breadcrumb of
    everything in it without giving anything a new version, so a change window would never bring them."""
    kept = dict(watermarks)
    for space in sorted(spaces, key=lambda space: space.key):
        old_name = names_then.get(space.key)
        if space.key in kept and old_name is not None and space.name and old_name != space.name:
            logger.info("Space %s was renamed from %r to %r: reading it in full, so that its documents carry the "
                        "new name", space.key, old_name, space.name)
            del kept[space.key]
    return kept


@dataclass
class StructureChanges:
    """Items to re-read in full, per type: Confluence id -> the scope the item belongs to."""

    to_read: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    listed: int = 0

    def count(self) -> int:
        return sum(len(items) for items in self.to_read.values())


class StructureCheck:
    """Finds and re-reads items whose labels, title or place changed without a new version (see module doc).

    One instance serves the resources of one run: the listing and comparison run once, on first use, whichever
    resource asks first (the index is not written before the load, so the order does not matter); each resource
    then re-reads its own type, leaving out what its change window already yielded."""

    def __init__(self, reader: ConfluenceReader, plan: SyncPlan, indexed: IndexedOutlines) -> None:
        self.reader = reader
        self.plan = plan
        self.indexed = indexed
        self._lock = threading.Lock()
        self._changes: StructureChanges | None = None

    @property
    def scopes(self) -> list[Scope]:
        """The incrementally read scopes (spaces and advanced rules: a label added to a page can make a rule match
        it); scopes read in full this run need no check."""
        return [scope for scope in self.plan.scopes if not scope.is_full]

    def reread(self, doc_type: str, already_read: Collection[str]) -> Iterator[Emitted]:
        """Full documents of this type that changed without a new version, except ids (`page-1`) already read."""
        if not self.scopes:
            return
        wanted = {
            confluence_id: scope_key
            for confluence_id, scope_key in self.changes().to_read.get(doc_type, {}).items()
            if doc_id(doc_type, confluence_id) not in already_read
        }
        if wanted:
            logger.info("Re-reading %d %ss whose labels, title or place changed without a new version",
                        len(wanted), doc_type)
            yield from self.reader.read_ids(doc_type, wanted)

    def changes(self) -> StructureChanges:
        with self._lock:
            if self._changes is None:
                self._changes = self._compare()
            return self._changes

    def _compare(self) -> StructureChanges:
        scopes = self.scopes
        space_keys = None if any(scope.kind == "rule" for scope in scopes) else [scope.key for scope in scopes]
        # what the index holds per space sizes the listings' queries; the index and Confluence are then asked at the
        # same time, since no answer depends on another (one listing after the other when downloads are one at a time)
        counts = self.indexed.counts_by_space_and_type()
        # the two listings share the parallel requests `concurrent_downloads` allows; with one, they take turns
        budget = self.reader.config.concurrent_downloads
        side_by_side = budget > 1
        workers = max(1, budget // 2) if side_by_side else 1
        changes = StructureChanges()
        # when one listing fails, the other stops at its next response instead of running on for nothing
        abandoned = threading.Event()

        def label_changes() -> tuple[dict[str, dict[str, str]], int]:
            try:
                return self._label_changes(scopes, counts, labels_then, workers, abandoned)
            except BaseException:
                abandoned.set()
                raise

        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="structure-check") as pool:
            indexed = pool.submit(self.indexed.outlines, OUTLINED_TYPES, space_keys)
            labels_then = pool.submit(self.indexed.labelled, LABELLED_TYPES, space_keys)
            labels = pool.submit(label_changes) if side_by_side else None
            try:
                listed = list(self.reader.iter_outlines(OUTLINED_TYPES, scopes, _sizes(counts, OUTLINED_TYPES),
                                                        max_workers=workers, abandon=abandoned))
                before = indexed.result()
            except ListingStopped:
                assert labels is not None
                labels.result()  # raises the label listing's own error
                raise
            except BaseException:
                abandoned.set()
                raise
            label_changes_found, label_listed = labels.result() if labels is not None else label_changes()
        for doc_type, items in label_changes_found.items():
            changes.to_read[doc_type].update(items)
        changes.listed += label_listed
        reshaped: dict[str, str] = {}  # document id -> scope key
        arrived: dict[str, str] = {}  # Confluence id -> scope key of pages and blog posts new to the index
        for scope_key, doc_type, confluence_id, now in listed:
            changes.listed += 1
            document_id = doc_id(doc_type, confluence_id)
            old = before.get(document_id)
            if old != now:
                changes.to_read[doc_type][confluence_id] = scope_key
            if old is None:
                arrived[confluence_id] = scope_key
            elif now.reshapes_dependents(old):
                reshaped[document_id] = scope_key
        if reshaped:
            for dependent in self.indexed.dependents(list(reshaped)):
                owner = next((reshaped[above] for above in dependent.above if above in reshaped), None)
                if owner is None or dependent.doc_type not in DEPENDENT_TYPES:
                    continue
                confluence_id = dependent.id.split("-", 1)[1]
                changes.to_read[dependent.doc_type][confluence_id] = owner
        if arrived:
            # restored from the trash or moved in from an unsynced space: what hangs on them is unknown to the index
            # and carries no recent date (for brand-new pages this finds what the change window already read, and
            # the resources leave those out)
            # under advanced rules (a run has either rules or spaces as scopes) only what a rule matches too: any
            # rule, since a page may be listed by several
            rules = sorted(scope.key for scope in self.scopes if scope.kind == "rule")
            for doc_type, confluence_id, container_id in self.reader.iter_contained(sorted(arrived), DEPENDENT_TYPES,
                                                                                    rules):
                if container_id in arrived:
                    changes.to_read[doc_type][confluence_id] = arrived[container_id]
        if changes.count():
            logger.info("Label and page-tree check: %d of %d listed items changed without a new version (%s)",
                        changes.count(), changes.listed,
                        ", ".join(f"{len(items)} {kind}s" for kind, items in sorted(changes.to_read.items()) if items))
        return changes

    def _label_changes(
        self, scopes: list[Scope], counts: Mapping[tuple[str, str], int],
        labels_then: "Future[dict[str, tuple[str, ...]]]", workers: int, abandoned: threading.Event,
    ) -> tuple[dict[str, dict[str, str]], int]:
        """(type -> Confluence id -> scope key of the items whose labels changed, items listed) for LABELLED_TYPES.

        A site can hold far more files than pages, and few of them carry labels: only the labels of the indexed items
        that have some are kept, the listing keeps only the items that differ from them or carry labels only now,
        and whether the index holds those is asked in batches. Spaces where the index holds none of these items are
        not listed (nothing there to compare: new files come with the change window or with their returning page).
        Under advanced rules a listed file the index does not hold is read too: a label added to it can be what
        makes a rule match it now."""
        sizes = _sizes(counts, LABELLED_TYPES)
        wanted = [scope for scope in scopes if scope.kind == "rule" or sizes.get(scope.key, 0) > 0]
        changed: dict[str, dict[str, str]] = defaultdict(dict)
        if not wanted:
            return changed, 0
        rules = {scope.key for scope in wanted if scope.kind == "rule"}
        expected = sum(sizes.get(scope.key, 0) for scope in wanted)
        current = None if rules else self.reader.current_labels(LABELLED_TYPES, wanted, expected, workers)
        before = labels_then.result()
        if current is not None:
            return self._changes_from_label_map(current, before, {scope.key for scope in wanted}), len(current)
        listed = itertools.count()  # items listed, counted in the listing's threads (`next` is atomic)

        def differs(item: tuple[str, str, str, Outline]) -> bool:
            next(listed)
            scope_key, doc_type, confluence_id, now = item
            old = before.get(doc_id(doc_type, confluence_id))
            # labels indexed and changed; or none indexed: labelled now, or not indexed at all (what a rule matches)
            return old != now.labels if old is not None else bool(now.labels) or scope_key in rules

        unsure: dict[str, tuple[str, str, str, bool]] = {}  # document id -> (type, id, scope key, labelled now)

        def settle() -> None:
            held = self.indexed.held(list(unsure))
            for document_id, (doc_type, confluence_id, scope_key, labelled_now) in unsure.items():
                if (document_id in held and labelled_now) or (document_id not in held and scope_key in rules):
                    changed[doc_type][confluence_id] = scope_key
            unsure.clear()

        for scope_key, doc_type, confluence_id, now in self.reader.iter_outlines(
                LABELLED_TYPES, wanted, sizes, expand=defaults.V1_LABELS_EXPAND, keep=differs, max_workers=workers,
                abandon=abandoned):
            document_id = doc_id(doc_type, confluence_id)
            if document_id in before:
                changed[doc_type][confluence_id] = scope_key
                continue
            unsure[document_id] = (doc_type, confluence_id, scope_key, bool(now.labels))
            if len(unsure) >= HELD_LOOKUP_BATCH:
                settle()
        if unsure:
            settle()
        return changed, next(listed)

    def _changes_from_label_map(self, current: Mapping[str, tuple[str, ...]], before: Mapping[str, tuple[str, ...]],
                                scope_keys: Collection[str]) -> dict[str, dict[str, str]]:
        """The items whose labels differ between what carries labels now (document id -> labels, the whole site's)
        and what the index holds with labels, among those the index holds in these (space) scopes."""
        differing = sorted(document_id for document_id in before.keys() | current.keys()
                           if before.get(document_id, ()) != current.get(document_id, ()))
        changed: dict[str, dict[str, str]] = defaultdict(dict)
        for document_id, space_key in self.indexed.held(differing).items():
            if space_key in scope_keys:
                doc_type, confluence_id = document_id.split("-", 1)
                changed[doc_type][confluence_id] = space_key
        return changed


def _sizes(counts: Mapping[tuple[str, str], int], doc_types: Collection[str]) -> dict[str, int]:
    """Indexed items of these types per space key."""
    sizes: dict[str, int] = {}
    for (space_key, doc_type), count in counts.items():
        if doc_type in doc_types:
            sizes[space_key] = sizes.get(space_key, 0) + count
    return sizes
