"""What a given user may see, and CQL search over the site as Confluence's search index would answer it.

Confluence answers "not found" for content the caller may not read (restricted pages, their descendants, spaces
without view permission) and leaves such items out of every list and search; all handlers go through this module so
the rule is applied in one place.

Search semantics: only `current` content in current (non-archived) spaces is indexed unless archived spaces are
asked for; items changed less than `index_lag` seconds ago are not yet searchable (the index is eventually
consistent on real sites). Evaluated result lists are cached per (query, user, timezone, site generation) so that
offset paging through a large result (DC `start=`) does not re-evaluate the query for every page.
"""

from __future__ import annotations

import heapq
import html
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Iterable, Sequence

from confluence_simulator.cql import Clause, CqlItem, CqlQuery, Node, Not
from confluence_simulator.model import Content, Site, Space, User
from confluence_simulator.render_common import item_state

_SKIPPED_ELEMENTS = re.compile(r"<ac:parameter\b[^>]*>.*?</ac:parameter>", re.S)
_BLOCK_TAGS = re.compile(r"</?(?:p|h[1-6]|li|ul|ol|td|th|tr|table|div|br|blockquote|pre|ac:task)\b[^>]*>", re.I)
_ANY_TAG = re.compile(r"<[^>]+>")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)
_SPACES = re.compile(r"\s+")


def readable_text(storage: str) -> str:
    """Visible text of a storage-format body for the search index: tags dropped, block ends become spaces."""
    text = _CDATA.sub(lambda found: html.escape(found.group(1)), storage)
    text = _SKIPPED_ELEMENTS.sub(" ", text)
    text = _BLOCK_TAGS.sub(" ", text)
    text = _ANY_TAG.sub("", text)
    return _SPACES.sub(" ", html.unescape(text)).strip()


class ChangeTracker:
    """A counter bumped on every mutation made through the simulator; caches key on it."""

    def __init__(self) -> None:
        self.generation = 0
        self._lock = threading.Lock()

    def bump(self) -> int:
        with self._lock:
            self.generation += 1
            return self.generation


@dataclass
class _CachedResult:
    ids: list[int]
    made_at: float
    valid_until: float


class SiteQueries:
    """Visibility checks, id listings and CQL evaluation over one `Site`."""

    def __init__(
        self,
        site: Site,
        tracker: ChangeTracker,
        index_lag_seconds: float = 0.0,
        search_cache_seconds: float = 30.0,
    ) -> None:
        self.site = site
        self.tracker = tracker
        self.index_lag_seconds = index_lag_seconds
        self.search_cache_seconds = search_cache_seconds
        self._cql_items: dict[int, tuple[tuple[object, ...], int, CqlItem]] = {}
        self._with_text: set[int] = set()
        self._merged: dict[tuple[object, ...], list[int]] = {}
        self._results: dict[tuple[object, ...], _CachedResult] = {}
        self._labels: tuple[int, dict[str, list[int]], dict[str, list[Space]]] | None = None
        self._lock = threading.Lock()

    # ---- permissions -----------------------------------------------------------------------------------
    def can_see(self, user: User, item: Content) -> bool:
        return self.site.can_read(user, item)

    def can_see_space(self, user: User, space: Space) -> bool:
        return self.site.can_read_space(user, space)

    def visible_content(self, user: User, content_id: int, statuses: Iterable[str] | None = None) -> Content | None:
        """The item if it exists, has one of `statuses` (any when None) and the user may read it; else None."""
        item = self.site.content.get(content_id)
        if item is None or (statuses is not None and item.status not in statuses):
            return None
        return item if self.can_see(user, item) else None

    # ---- listings --------------------------------------------------------------------------------------
    def ids_of(self, content_types: Sequence[str], space_ids: Iterable[int] | None = None) -> list[int]:
        """Ascending ids of the given types, over the given spaces (all spaces when None). Do not mutate."""
        spaces = list(self.site.spaces) if space_ids is None else list(space_ids)
        lists = [self.site.ids_in_space(space_id, kind) for space_id in spaces for kind in content_types]
        lists = [ids for ids in lists if ids]
        if not lists:
            return []
        if len(lists) == 1:
            return list(lists[0])
        # merging every space's list is the main cost of paging a site-wide list: reuse the merge while no list
        # changed (adding content appends the largest id yet; removing or moving changes a length)
        key = (tuple(content_types), tuple(spaces), self.tracker.generation,
               tuple((len(ids), ids[-1]) for ids in lists))
        merged = self._merged.get(key)
        if merged is None:
            merged = list(heapq.merge(*lists))
            if len(self._merged) > 64:
                self._merged.clear()
            self._merged[key] = merged
        return merged

    def label_names(self) -> list[str]:
        """Every label of the site (content and space labels), by full name (`team:x`), lower-cased as Confluence
        keeps them."""
        by_content, by_space = self._label_index()
        return sorted(set(by_content) | set(by_space))

    def labelled(self, name: str) -> list[int]:
        """Ascending ids of the content carrying this label (any type and status). Do not mutate."""
        return self._label_index()[0].get(name.lower(), [])

    def label_visible(self, user: User, name: str) -> bool:
        """Whether the user may see something that carries the label (the rule of Cloud's label listing)."""
        by_content, by_space = self._label_index()
        content = self.site.content
        return (any(self.can_see_space(user, space) for space in by_space.get(name, []))
                or any(self.can_see(user, content[i]) for i in by_content.get(name, []) if i in content))

    def _label_index(self) -> tuple[dict[str, list[int]], dict[str, list[Space]]]:
        """Label -> content ids and label -> spaces, built once per site generation (labels change without one
        being stored anywhere else)."""
        generation = self.tracker.generation
        with self._lock:
            cached = self._labels
            if cached is not None and cached[0] == generation:
                return cached[1], cached[2]
        by_content: dict[str, list[int]] = {}
        for content_id in sorted(self.site.content):
            for label in self.site.content[content_id].labels:
                by_content.setdefault(label.lower(), []).append(content_id)
        by_space: dict[str, list[Space]] = {}
        for space in self.site.spaces.values():
            for label in space.labels:
                by_space.setdefault(label.lower(), []).append(space)
        with self._lock:
            self._labels = (generation, by_content, by_space)
        return by_content, by_space

    def children(self, container_id: int, content_type: str) -> list[Content]:
        content = self.site.content
        return [content[i] for i in self.site.child_ids(container_id, content_type) if i in content]

    def comment_thread(self, container_id: int) -> list[Content]:
        """All comments of a container in id order (roots and replies)."""
        return self.children(container_id, "comment")

    # ---- search ----------------------------------------------------------------------------------------
    def cql_item(self, item: Content, with_text: bool = True) -> CqlItem:
        """The search-index entry of one item, rebuilt only when the item or the site changed.

        Extracting the body text is the expensive part, so it is done only for queries that search text
        (`with_text`), once per item state.
        """
        state = item_state(item)
        generation = self.tracker.generation
        cached = self._cql_items.get(item.id)
        if cached is not None and cached[0] == state and cached[1] == generation:
            entry = cached[2]
            if with_text and item.id not in self._with_text:
                self._fill_text(entry, item)
            return entry
        space = self.site.spaces.get(item.space_id)
        ancestors = self.site.ancestors(item)
        is_page_like = item.type in ("page", "blogpost")
        self._with_text.discard(item.id)
        entry = CqlItem(
            id=item.id,
            type=item.type,
            space_key=space.key if space else "",
            title=item.title,
            created=item.created_at,
            lastmodified=item.last_modified,
            labels=item.labels,
            ancestor_ids=[ancestor.id for ancestor in ancestors],
            parent_id=item.parent_id if item.type == "page" else None,
            container_id=None if is_page_like else item.parent_id,
        )
        self._cql_items[item.id] = (state, generation, entry)
        if with_text:
            self._fill_text(entry, item)
        return entry

    def _fill_text(self, entry: CqlItem, item: Content) -> None:
        text = readable_text(item.body) if item.body else ""
        if item.type == "attachment":
            text = " ".join(part for part in (item.upload_comment, item.extractable_phrase, text) if part)
        entry.text = text
        entry._folded_all = None
        self._with_text.add(item.id)

    def search(
        self,
        user: User,
        query: CqlQuery,
        tz: tzinfo,
        include_archived_spaces: bool = False,
        now: datetime | None = None,
        reuse: bool = True,
    ) -> list[Content]:
        """Matching items the user may read, in the query's order.

        With `reuse` (later pages of a paging loop) a result evaluated moments ago for the same query, user and
        site generation is reused; the first page of a loop always evaluates afresh, so changes made to the model
        behind the simulator's back are seen by the next sync.
        """
        wall = time.time()
        key = (query.text, user.account_id, str(tz), include_archived_spaces, self.tracker.generation)
        cached = self._results.get(key) if reuse else None
        if cached is not None and wall < cached.valid_until and wall - cached.made_at < self.search_cache_seconds:
            content = self.site.content
            return [content[i] for i in cached.ids if i in content]
        moment = now or datetime.now(timezone.utc)
        predicate = query.compile(tz, moment)
        with_text = _uses_text(query.where)
        lag_cutoff = wall - self.index_lag_seconds
        next_unhide = float("inf")
        matches: list[CqlItem] = []
        for item in self._candidates(query):
            if item.status != "current":
                continue
            if item.type in ("comment", "attachment") and not self._container_is_live(item):
                continue
            space = self.site.spaces.get(item.space_id)
            if space is None or (space.status == "archived" and not include_archived_spaces):
                continue
            if self.index_lag_seconds > 0 and item.changed_at_wallclock > lag_cutoff:
                next_unhide = min(next_unhide, item.changed_at_wallclock + self.index_lag_seconds)
                continue
            entry = self.cql_item(item, with_text)
            if predicate(entry) and self.can_see(user, item):
                matches.append(entry)
        ordered = query.sort(matches)
        ids = [entry.id for entry in ordered]
        with self._lock:
            if len(self._results) > 256:
                self._results.clear()
            self._results[key] = _CachedResult(ids=ids, made_at=wall, valid_until=next_unhide)
        content = self.site.content
        return [content[i] for i in ids if i in content]

    def search_spaces(self, user: User, query: CqlQuery, tz: tzinfo, include_archived_spaces: bool = False,
                      now: datetime | None = None) -> list[Space]:
        """Spaces matching `query` that the user may see: the generic search returns spaces besides content (`type =
        space`, or any query a space satisfies: its key, title, description text or labels). A space's `id` is not a
        content id, so it never matches `id`, `ancestor`, `parent` or `container` clauses; its dates are its
        creation."""
        types = query.restricted_values("type")
        if (types is not None and "space" not in types) or query.restricted_values("id") is not None:
            return []
        predicate = query.compile(tz, now or datetime.now(timezone.utc))
        matches: list[CqlItem] = []
        by_entry: dict[int, Space] = {}
        for space in self.site.spaces.values():
            if space.status == "archived" and not include_archived_spaces:
                continue
            entry = CqlItem(id=-space.id, type="space", space_key=space.key, title=space.name,
                            created=space.created_at, lastmodified=space.created_at, text=space.description,
                            labels=space.labels)
            if predicate(entry) and self.can_see_space(user, space):
                matches.append(entry)
                by_entry[entry.id] = space
        return [by_entry[entry.id] for entry in query.sort(matches)]

    def _container_is_live(self, item: Content) -> bool:
        """Comments and attachments leave the search index with their page: trashing, archiving or un-publishing a
        page takes what hangs on it out of search results too."""
        container = self.site.content.get(item.parent_id) if item.parent_id is not None else None
        return container is not None and container.status == "current"

    def _candidates(self, query: CqlQuery) -> Iterable[Content]:
        content = self.site.content
        wanted_ids = query.restricted_values("id")
        if wanted_ids is not None:
            return [content[i] for i in sorted(int(i) for i in wanted_ids) if i in content]
        types = query.restricted_values("type")
        kinds = [kind for kind in ("page", "blogpost", "comment", "attachment") if types is None or kind in types]
        keys = query.restricted_values("space")
        if keys is None:
            space_ids: list[int] | None = None
        else:
            space_ids = [space.id for space in self.site.spaces.values() if space.key in keys]
        return [content[i] for i in self.ids_of(kinds, space_ids) if i in content]

    def clear(self) -> None:
        with self._lock:
            self._results.clear()
            self._cql_items.clear()
            self._with_text.clear()


def _uses_text(node: Node) -> bool:
    """True when the query has a `text` clause (only then is body text needed)."""
    if isinstance(node, Clause):
        return node.field == "text"
    if isinstance(node, Not):
        return _uses_text(node.child)
    return any(_uses_text(child) for child in node.children)
