"""Confluence Cloud reader: REST v2 listings for full reads, v1 CQL search only where a filter is needed.

Requests per document are kept low by reading lists, never items:
* pages and blog posts: `/spaces/{id}/pages|blogposts?body-format=storage&limit=250`, bodies included;
* comments and attachments: the site-wide `/footer-comments`, `/inline-comments` and `/attachments` lists, filtered
  to containers of the synced spaces (known from the page listings). When only a small part of the site is synced,
  reading the whole site's comments would waste requests, so those spaces use a CQL search instead;
* labels: `/labels`, then `/labels/{id}/pages|blogposts|attachments` (requests grow with the number of labels, not
  pages), looked up concurrently; on sites with more labels than that costs, a body-less CQL search;
* comments on attachments: the attachment (for its page) is read once per attachment, in parallel;
* ancestors: assembled from `parentId` of the page listing (`hierarchy.SpaceTree`); the folders pages sit in are
  not listed, so each one is read once (`/folders/{id}`, in parallel) for its title and its own parent;
* names: one `users-bulk` request per 250 unknown account ids;
* when comments were created: v2 lists give it only for comments never edited (their first version), so the
  edited ones are looked up in one body-less CQL search of their ids (`expand=history`) per 200.
Removed v1 list endpoints (410 since 2025) are never used.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Collection, Iterator, Mapping

from . import settings as defaults
from .client import JsonObject, Listing, Page
from .cql import and_all, id_clause, space_clause, type_clause
from .documents import (
    Ancestry,
    ContentFacts,
    Ref,
    SpaceInfo,
    doc_id,
    facts_from_v2,
    iso_utc,
    json_object,
    label_names,
    outline_from_v1,
    space_from_v2,
    v2_attachment_extras,
    v2_comment_extras,
)
from .errors import ConfluenceAuthError, ConfluenceNotFoundError, ConfluenceRequestError
from .hierarchy import Node, SpaceTree
from .reader import ConfluenceReader, Emitted, Scope

logger = logging.getLogger(__name__)

_LIVE_STATUSES = ("current", "archived")
_COMMENT_PATHS = {"footer": defaults.V2_FOOTER_COMMENTS, "inline": defaults.V2_INLINE_COMMENTS}  # by location
_TREE_PARENTS = (None, "page", "folder")  # parent types that are part of the page tree (not whiteboards, ...)
_LABEL_KINDS = {"page": "pages", "blogpost": "blogposts", "attachment": "attachments"}
_SEARCH_ITEMS_PER_RESPONSE = 200  # what a body-less CQL search returns per request
# Edited comments whose creation date is looked up together (see `_emit_dated`): one search response holds them all.
CREATION_LOOKUP_BATCH = _SEARCH_ITEMS_PER_RESPONSE


class CloudReader(ConfluenceReader):
    """Reads Confluence Cloud through REST v2 (lists) and v1 CQL search (change windows, advanced rules)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._trees: dict[str, SpaceTree] = {}
        self._trees_lock = threading.Lock()
        self._labels: dict[str, dict[str, list[str]]] = {}
        self._label_objects: list[JsonObject] | None = None
        self._label_listing_available = True
        self._all_types_search_cost: int | None = None  # counted once per run (see `_label_listing_pays`)
        self._labels_lock = threading.Lock()
        self._attachments: dict[str, JsonObject | None] = {}
        self._unreadable_folders: set[str] = set()  # gone, or hidden from this account
        self._folders_readable = True  # False once the token turned out to lack the folder scope
        self._folders_lock = threading.Lock()
        self._id_listings: dict[str, list[JsonObject]] = {}
        self._id_lock = threading.Lock()
        self.builder.title_link = self._title_link

    @property
    def splits_full_reads_cheaply(self) -> bool:
        """Not with `index_archived`: comments and files then always come from site-wide listings, which each group
        would read whole again. Otherwise a group reads them from those listings only when it holds at least half
        of the site's spaces (`_site_wide_is_cheaper`), and from search, at about twice the requests, when not."""
        return not self.config.index_archived

    def release_read_caches(self) -> None:
        with self._trees_lock:
            self._trees.clear()
        with self._labels_lock:
            self._labels.clear()
            self._label_objects = None
            self._all_types_search_cost = None
        self._attachments.clear()
        self._unreadable_folders.clear()

    # ---- preflight -------------------------------------------------------------------------------------------
    def _list_spaces(self) -> list[SpaceInfo]:
        spaces: list[SpaceInfo] = []
        for page in self.client.pages(
            self.client.v2(defaults.V2_SPACES),
            {"limit": defaults.V2_PAGE_SIZE, "description-format": "plain"},
            purpose="listing spaces",
            api="v2",
        ):
            spaces.extend(space_from_v2(raw, self.client.web_url) for raw in page.items)
        return spaces

    def _space_url(self, space: SpaceInfo) -> str:
        return self.client.v2(f"{defaults.V2_SPACES}/{space.id}")

    # ---- full reads ------------------------------------------------------------------------------------------
    def read_full(self, doc_type: str, scopes: list[Scope]) -> Iterator[Emitted]:
        # the labels of the types read next from v2 lists come with this type's, where a search finds them
        site_wide = self._site_wide_is_cheaper(scopes)
        if doc_type == "page":
            # each space's pages in turn, the next spaces' already fetching (see `ConfluenceClient.pages_of_each`)
            companions = ("blogpost",) + (("attachment",) if site_wide else ())
            listings = ((scope, self._pages_listing(scope)) for scope in scopes)
            for scope, pages in self.client.pages_of_each(listings):
                yield from self.guarded(scope, self._read_pages(scope, pages, companions))
        elif doc_type == "blogpost":
            yield from self._read_blogposts(scopes, ("attachment",) if site_wide else ())
        elif site_wide:
            if doc_type == "comment":
                yield from self._read_comments_site_wide(scopes)
            else:
                yield from self._read_attachments_site_wide(scopes)
        else:
            yield from self.read_cql(doc_type, scopes, None)

    def _site_wide_is_cheaper(self, scopes: list[Scope]) -> bool:
        """Site-wide lists read every space's comments/attachments; worth it when most spaces are synced. With
        `index_archived` they are used anyway: search leaves out what hangs on archived pages, v2 lists do not."""
        visible = [s for s in self.state.all_spaces.values() if s.status != "archived" or self.config.index_archived]
        return self.config.index_archived or 2 * len(scopes) >= len(visible)

    def _pages_listing(self, scope: Scope) -> Listing:
        space = _space_of(scope)
        return Listing(
            self.client.v2(defaults.V2_SPACE_PAGES.format(space_id=space.id)),
            {"body-format": "storage", "limit": defaults.V2_PAGE_SIZE, "status": list(_LIVE_STATUSES)},
            purpose=f"listing pages of space {space.key}",
            api="v2",
        )

    def _read_pages(self, scope: Scope, pages: Iterator[Page], companions: tuple[str, ...] = ()) -> Iterator[Emitted]:
        space = _space_of(scope)
        tree = self._tree(space.key)
        labels = self._label_map("page", companions)
        pending: list[JsonObject] = []
        for page in pages:
            self._add_pages(tree, page.items)
            ready, pending = self._pages_with_known_ancestors(pending + page.items, tree, final=tree.pages_complete)
            yield from self.emit([(scope.key, facts) for facts in self._page_facts(ready, space, labels)])
        tree.pages_complete = True
        ready, _ = self._pages_with_known_ancestors(pending, tree, final=True)
        yield from self.emit([(scope.key, facts) for facts in self._page_facts(ready, space, labels)])
        self.record_fully_read(scope.key, "page")

    @staticmethod
    def _pages_with_known_ancestors(
        items: list[JsonObject], tree: SpaceTree, final: bool
    ) -> tuple[list[tuple[JsonObject, list[Ref]]], list[JsonObject]]:
        ready: list[tuple[JsonObject, list[Ref]]] = []
        waiting: list[JsonObject] = []
        for raw in items:
            chain = tree.ancestors(str(raw.get("id")), final=final)
            if chain is None:
                waiting.append(raw)
            else:
                ready.append((raw, chain))
        return ready, waiting

    def _page_facts(
        self, items: list[tuple[JsonObject, list[Ref]]], space: SpaceInfo, labels: dict[str, list[str]]
    ) -> Iterator[ContentFacts]:
        for raw, chain in items:
            if not self.is_indexed_status(raw.get("status")):
                continue
            facts = facts_from_v2(raw, "page", space, self.client.web_url, labels.get(str(raw.get("id")), []))
            facts.ancestors = chain
            facts.parent = chain[-1] if chain and str(raw.get("parentId")) == chain[-1].confluence_id else None
            yield facts

    def _read_blogposts(self, scopes: list[Scope], companions: tuple[str, ...] = ()) -> Iterator[Emitted]:
        """Blog posts of many spaces per listing (`space-id` takes up to 100 ids): spaces often hold only a handful
        of posts, and one listing per space would cost a request for each."""
        labels = self._label_map("blogpost", companions)
        for start in range(0, len(scopes), defaults.V2_MAX_SPACE_IDS):
            group = scopes[start:start + defaults.V2_MAX_SPACE_IDS]
            by_space_id = {str(_space_of(scope).id): scope for scope in group}
            for page in self.client.pages(
                self.client.v2(defaults.V2_BLOGPOSTS),
                {"space-id": ",".join(by_space_id), "body-format": "storage", "limit": defaults.V2_PAGE_SIZE},
                purpose="listing blog posts of " + ", ".join(scope.key for scope in group),
                api="v2",
            ):
                batch: list[tuple[str, ContentFacts]] = []
                for raw in page.items:
                    scope = by_space_id.get(str(raw.get("spaceId")))
                    if scope is None:
                        continue
                    space = _space_of(scope)
                    self._tree(space.key).add(self._node(raw, "blogpost"))
                    if not self.is_indexed_status(raw.get("status")):
                        continue
                    facts = facts_from_v2(raw, "blogpost", space, self.client.web_url,
                                          labels.get(str(raw.get("id")), []))
                    batch.append((scope.key, facts))
                yield from self.emit(batch)
            for scope in group:
                self._tree(_space_of(scope).key).blogposts_complete = True
                self.record_fully_read(scope.key, "blogpost")

    def _read_comments_site_wide(self, scopes: list[Scope]) -> Iterator[Emitted]:
        containers = self._containers(scopes)
        # comment id -> (scope key, parent ref, ancestry) of comments already placed, to place replies
        placed: dict[str, tuple[str, Ref, list[Ref], SpaceInfo]] = {}
        # (container field, id) -> placement: the comments of one page share one placement (and its ancestry)
        placements: dict[tuple[str, str], tuple[str, Ref, list[Ref], SpaceInfo] | None] = {}
        orphans: list[tuple[JsonObject, str]] = []
        undated: list[tuple[str, ContentFacts]] = []  # edited comments waiting for their creation date
        for location, path in _COMMENT_PATHS.items():
            for page in self.client.pages(
                self.client.v2(path),
                {"body-format": "storage", "limit": defaults.V2_PAGE_SIZE},
                purpose=f"listing {location} comments",
                api="v2",
            ):
                self._prefetch_attachments(
                    str(raw["attachmentId"]) for raw in page.items if raw.get("attachmentId")
                )
                batch: list[tuple[str, ContentFacts]] = []
                for raw in page.items:
                    if raw.get("status") not in (None, "current"):
                        continue
                    placement = self._shared_placement(raw, containers, placements)
                    if placement is None:
                        if raw.get("parentCommentId") and not _container_id(raw):
                            orphans.append((raw, location))
                        continue
                    placed[str(raw.get("id"))] = placement
                    batch.append((placement[0], self._comment_facts(raw, location, placement)))
                yield from self._emit_dated(batch, undated)
        # replies listed without their container: they live where their parent comment lives
        progress = True
        while orphans and progress:
            progress = False
            batch = []
            remaining: list[tuple[JsonObject, str]] = []
            for raw, location in orphans:
                placement = placed.get(str(raw.get("parentCommentId")))
                if placement is None:
                    remaining.append((raw, location))
                    continue
                placed[str(raw.get("id"))] = placement
                batch.append((placement[0], self._comment_facts(raw, location, placement)))
                progress = True
            orphans = remaining
            yield from self._emit_dated(batch, undated)
        yield from self._emit_dated([], undated, final=True)
        for scope in scopes:
            self.record_fully_read(scope.key, "comment")

    def _emit_dated(
        self, batch: list[tuple[str, ContentFacts]], undated: list[tuple[str, ContentFacts]], final: bool = False
    ) -> Iterator[Emitted]:
        """Emit the comments of `batch` whose creation date is known, and hold back in `undated` those listed
        without one (edited comments: a v2 list dates only the latest version) until CREATION_LOOKUP_BATCH of them
        (or, when `final`, all that are left) are dated by one search. An incremental read takes the date from v1
        search, so a full read must write it too: the same comment may not change with the way it was read."""
        ready: list[tuple[str, ContentFacts]] = []
        for item in batch:
            (undated if item[1].created_at is None else ready).append(item)
        yield from self.emit(ready)
        while len(undated) >= CREATION_LOOKUP_BATCH or (final and undated):
            chunk = undated[:CREATION_LOOKUP_BATCH]
            del undated[:CREATION_LOOKUP_BATCH]
            self._fill_creation_dates([facts for _, facts in chunk])
            yield from self.emit(chunk)

    def _fill_creation_dates(self, comments: list[ContentFacts]) -> None:
        """Set `created_at` of these comments from their history (one body-less search of their ids). Search leaves
        out comments on archived pages: those (with `index_archived`) are dated by their first version, read one by
        one."""
        by_id = {facts.confluence_id: facts for facts in comments if facts.confluence_id.isdigit()}
        if not by_id:
            return
        archived = any(self._in_archived_space(facts.space_key or "") for facts in by_id.values())
        cql = id_clause(sorted(by_id, key=int))
        for items in self.search(cql, "history", defaults.V1_PAGE_SIZE_NO_BODY, archived,
                                 purpose=f"reading when {len(by_id)} edited comment(s) were created"):
            for raw in items:
                facts = by_id.get(str(raw.get("id")))
                if facts is not None:
                    facts.created_at = iso_utc(json_object(raw, "history").get("createdDate"))
        undated = sorted(comment_id for comment_id, facts in by_id.items() if facts.created_at is None)
        if undated and self.config.index_archived:
            def first_version_date(comment_id: str) -> str | None:
                """When a comment was created: the date of its first version (one request)."""
                path = _COMMENT_PATHS[by_id[comment_id].extras.get("comment_location") or "footer"]
                raw = self.read_if_visible(self.client.v2(f"{path}/{comment_id}"), {"version": 1},
                                           f"reading when comment {comment_id} was created")
                return iso_utc(json_object(raw, "version").get("createdAt")) if isinstance(raw, dict) else None

            for comment_id, created in zip(undated, self.in_parallel(first_version_date, undated)):
                by_id[comment_id].created_at = created

    def _shared_placement(
        self,
        raw: JsonObject,
        containers: dict[str, tuple[str, SpaceTree, Scope]],
        placements: dict[tuple[str, str], tuple[str, Ref, list[Ref], SpaceInfo] | None],
    ) -> tuple[str, Ref, list[Ref], SpaceInfo] | None:
        """`_comment_placement`, computed once per container: a large site's comments would otherwise each hold
        their own copy of the same ancestry until the last reply is placed."""
        key = next(((name, str(raw[name])) for name in ("pageId", "blogPostId", "attachmentId") if raw.get(name)),
                   None)
        if key is None:
            return None
        if key not in placements:
            placements[key] = self._comment_placement(raw, containers)
        return placements[key]

    def _comment_placement(
        self, raw: JsonObject, containers: dict[str, tuple[str, SpaceTree, Scope]]
    ) -> tuple[str, Ref, list[Ref], SpaceInfo] | None:
        """(scope key, parent ref, ancestry ending with the parent, space) of a comment, or None if out of scope."""
        for field_name in ("pageId", "blogPostId"):
            container_id = raw.get(field_name)
            if container_id and str(container_id) in containers:
                scope_key, tree, scope = containers[str(container_id)]
                node = tree.get(str(container_id))
                if node is None or not self.is_indexed_status(node.status):
                    return None
                chain = tree.ancestors(str(container_id), final=True) or []
                parent = Ref(node.doc_type, node.confluence_id, node.title, node.url)
                return scope_key, parent, chain + [parent], _space_of(scope)
        attachment_id = raw.get("attachmentId")
        if attachment_id:
            attachment = self._attachments.get(str(attachment_id))
            if not attachment or not self.is_indexed_status(attachment.get("status")):
                return None
            container_id = attachment.get("pageId") or attachment.get("blogPostId")
            if not container_id or str(container_id) not in containers:
                return None
            scope_key, tree, scope = containers[str(container_id)]
            node = tree.get(str(container_id))
            if node is None or not self.is_indexed_status(node.status):
                return None
            chain = tree.ancestors(str(container_id), final=True) or []
            page_ref = Ref(node.doc_type, node.confluence_id, node.title, node.url)
            links = json_object(attachment, "_links")
            parent = Ref(
                "attachment",
                str(attachment.get("id")),
                str(attachment.get("title") or ""),
                self.client.web_url(links.get("webui") or attachment.get("webuiLink")),
            )
            return scope_key, parent, chain + [page_ref, parent], _space_of(scope)
        return None

    def _comment_facts(
        self, raw: JsonObject, location: str, placement: tuple[str, Ref, list[Ref], SpaceInfo]
    ) -> ContentFacts:
        _, parent, ancestry, space = placement
        facts = facts_from_v2(raw, "comment", space, self.client.web_url, [])
        facts.parent = parent
        facts.ancestors = ancestry
        facts.extras = v2_comment_extras(raw, location)
        return facts

    def _read_attachments_site_wide(self, scopes: list[Scope]) -> Iterator[Emitted]:
        containers = self._containers(scopes)
        labels = self._label_map("attachment")
        statuses = list(_LIVE_STATUSES) if self.config.index_archived else ["current"]
        for page in self.client.pages(
            self.client.v2(defaults.V2_ATTACHMENTS),
            {"limit": defaults.V2_PAGE_SIZE, "status": statuses},
            purpose="listing attachments",
            api="v2",
        ):
            batch: list[tuple[str, ContentFacts]] = []
            for raw in page.items:
                container_id = raw.get("pageId") or raw.get("blogPostId")
                if not container_id or str(container_id) not in containers:
                    continue
                if not self.is_indexed_status(raw.get("status")):
                    continue
                scope_key, tree, scope = containers[str(container_id)]
                node = tree.get(str(container_id))
                if node is None or not self.is_indexed_status(node.status):
                    continue
                space = _space_of(scope)
                facts = facts_from_v2(raw, "attachment", space, self.client.web_url, labels.get(str(raw.get("id")), []))
                parent = Ref(node.doc_type, node.confluence_id, node.title, node.url)
                facts.parent = parent
                facts.ancestors = (tree.ancestors(str(container_id), final=True) or []) + [parent]
                facts.extras = v2_attachment_extras(raw, self.client.web_url)
                batch.append((scope_key, facts))
            yield from self.emit(batch)
        for scope in scopes:
            self.record_fully_read(scope.key, "attachment")

    # ---- trees, containers, labels, attachments ------------------------------------------------------------------
    def _title_link(self, space_key: str, title: str) -> str | None:
        with self._trees_lock:
            tree = self._trees.get(space_key)
        return tree.url_for_title(title) if tree is not None else None

    def _tree(self, space_key: str) -> SpaceTree:
        with self._trees_lock:
            tree = self._trees.get(space_key)
            if tree is None:
                tree = self._trees[space_key] = SpaceTree(space_key)
            return tree

    def _complete_tree(self, space: SpaceInfo) -> SpaceTree:
        """The space's tree, completed by a body-less listing when the page/blog readers have not finished it."""
        tree = self._tree(space.key)
        if not tree.pages_complete:
            for items in self._list_without_bodies(defaults.V2_SPACE_PAGES, space, "pages", list(_LIVE_STATUSES)):
                self._add_pages(tree, items)
            tree.pages_complete = True
        if not tree.blogposts_complete:
            for items in self._list_without_bodies(defaults.V2_SPACE_BLOGPOSTS, space, "blog posts", None):
                for raw in items:
                    tree.add(self._node(raw, "blogpost"))
            tree.blogposts_complete = True
        return tree

    def _list_without_bodies(
        self, path: str, space: SpaceInfo, what: str, statuses: list[str] | None
    ) -> Iterator[list[JsonObject]]:
        """The items of a space's listing, one response page at a time."""
        params: dict[str, Any] = {"limit": defaults.V2_PAGE_SIZE}
        if statuses:
            params["status"] = statuses
        for page in self.client.pages(
            self.client.v2(path.format(space_id=space.id)),
            params,
            purpose=f"listing {what} of space {space.key}",
            api="v2",
        ):
            yield page.items

    def _containers(self, scopes: list[Scope]) -> dict[str, tuple[str, SpaceTree, Scope]]:
        """Page/blog post id -> (scope key, tree, scope) over the given spaces."""
        containers: dict[str, tuple[str, SpaceTree, Scope]] = {}
        for scope in scopes:
            if scope.key in self.vanished:
                continue
            try:
                tree = self._complete_tree(_space_of(scope))
            except ConfluenceNotFoundError:
                self.space_vanished(scope.key)
                continue
            shared = (scope.key, tree, scope)  # one tuple per space, not one per page
            for node_id in tree.node_ids():
                containers[node_id] = shared
        return containers

    def _add_pages(self, tree: SpaceTree, items: list[JsonObject]) -> None:
        """Add listed pages to the tree, with the folders they sit in (read once each, level by level, so a page
        under nested folders gets them all in its breadcrumb). A folder that cannot be read ends the chain at once,
        so the pages below it are not held back until the listing ends."""
        wanted: set[str] = set()
        for raw in items:
            tree.add(self._node(raw, "page"))
            if raw.get("parentType") == "folder" and raw.get("parentId"):
                wanted.add(str(raw["parentId"]))
        while wanted:
            missing = sorted(folder_id for folder_id in wanted if tree.get(folder_id) is None)
            wanted = set()
            for folder_id, raw_folder in zip(missing, self.in_parallel(self._read_folder, missing)):
                if raw_folder is None:
                    tree.end_chain_at(folder_id)
                    continue
                tree.add(self._node(raw_folder, "folder"))
                if raw_folder.get("parentType") == "folder" and raw_folder.get("parentId"):
                    wanted.add(str(raw_folder["parentId"]))

    def _read_folder(self, folder_id: str) -> JsonObject | None:
        """A folder of the page tree; None when it is gone or hidden (404, 403), or the token may not read folders
        at all (401: a scoped token without the folder scope; then no other folder is asked for this run)."""
        with self._folders_lock:
            if not self._folders_readable or folder_id in self._unreadable_folders:
                return None
        try:
            return self.client.get_json(self.client.v2(defaults.V2_FOLDER.format(folder_id=folder_id)),
                                        purpose=f"reading folder {folder_id}")
        except ConfluenceAuthError:
            scope_missing = True
        except ConfluenceNotFoundError:
            scope_missing = False
        except ConfluenceRequestError as error:
            if error.status != 403:
                raise
            scope_missing = False
        with self._folders_lock:
            self._unreadable_folders.add(folder_id)
            warn = scope_missing and self._folders_readable
            if scope_missing:
                self._folders_readable = False
        if warn:
            logger.warning("This account may not read folders (a scoped API token needs read:folder:confluence): "
                           "breadcrumbs of pages in folders start below the folder")
        return None

    def _node(self, raw: JsonObject, doc_type: str) -> Node:
        links = json_object(raw, "_links")
        parent_type = raw.get("parentType")
        parent_id = raw.get("parentId") if parent_type in _TREE_PARENTS else None
        return Node(
            doc_type=doc_type,
            confluence_id=str(raw.get("id")),
            title=str(raw.get("title") or ""),
            parent_id=str(parent_id) if parent_id else None,
            url=self.client.web_url(links.get("webui")),
            status=sys.intern(str(raw.get("status") or "current")),  # a handful of values, one object each
        )

    def _label_map(self, doc_type: str, companions: tuple[str, ...] = ()) -> dict[str, list[str]]:
        """Content id -> label names for one content type, built once per run, by the cheaper of two ways:

        * `/labels`, then `/labels/{id}/<kind>` per label: requests grow with the number of labels, not pages;
        * a body-less CQL search with `metadata.labels`: requests grow with the number of items (about 1 per 200),
          which wins on sites with many labels, and is the only way where the label listing is missing (404).

        A search also maps the `companions` (types this run reads next) not mapped yet, when the search is sure to
        be their way too: one search of several types leaves one response part-filled instead of one per type.
        """
        kind = _LABEL_KINDS[doc_type]
        with self._labels_lock:
            if kind in self._labels:
                return self._labels[kind]
            mapping = None
            labels = self._site_labels()
            if labels == []:
                mapping = {}  # a site without labels: nothing to count or search
            elif labels is not None and self._label_listing_pays(len(labels), doc_type):
                mapping = self._labels_from_label_listing(kind, labels)
            if mapping is not None:
                return self._keep_label_map(kind, mapping)
            searched = (doc_type,)
            if labels is None or self._search_beats_listing_for_every_type(len(labels)):
                searched += tuple(other for other in companions
                                  if other != doc_type and _LABEL_KINDS[other] not in self._labels)
            for searched_type, found in self._labels_from_search(searched).items():
                self._keep_label_map(_LABEL_KINDS[searched_type], found)
            return self._labels[kind]

    def current_labels(
        self, doc_types: tuple[str, ...], scopes: list[Scope], expected_items: int, max_workers: int = 16
    ) -> dict[str, tuple[str, ...]] | None:
        """From the label listing (`/labels`, then what carries each label: about one request per label) when that
        costs fewer requests than searching the `expected_items` (about one per 200); only for spaces (a rule can
        only be evaluated by search). The comparison needs no count: the caller knows how many items to expect."""
        search_cost = 1 + expected_items // _SEARCH_ITEMS_PER_RESPONSE
        if (len(doc_types) != 1 or any(scope.kind != "space" for scope in scopes)
                or not self._label_listing_beats(search_cost, None)):
            return None
        doc_type = doc_types[0]
        kind = _LABEL_KINDS[doc_type]
        with self._labels_lock:
            mapping = self._labels.get(kind)
            if mapping is None:
                # stop listing labels as soon as there are too many; stop listing what carries them as soon as that
                # costs more than the search would (a label on many files takes several responses)
                labels = self._site_labels(at_most=search_cost)
                if labels is None or not self._label_listing_beats(search_cost, len(labels)):
                    return None
                try:
                    mapping = self._labels_from_label_listing(kind, labels, max_workers, _RequestBudget(search_cost))
                except _OverBudget:
                    return None
                self._keep_label_map(kind, mapping)  # the same map a full read of this run would build
        return {doc_id(doc_type, content_id): tuple(names) for content_id, names in mapping.items()}

    def _keep_label_map(self, kind: str, mapping: dict[str, list[str]]) -> dict[str, list[str]]:
        """Sort each item's labels (as documents carry them) and keep the map for the rest of the run; under
        `_labels_lock`."""
        for names in mapping.values():
            names.sort()
        self._labels[kind] = mapping
        return mapping

    @staticmethod
    def _label_listing_beats(search_cost: int, label_count: int | None) -> bool:
        """The one rule, for full reads and the incremental check, of whether the label listing beats a label search
        of `search_cost` requests. Once the labels are listed, it costs one request per label (a tie goes to the
        search, whose cost is known exactly); before they are listed (`label_count` None), whether it can win at all:
        the shortest listing, one response of labels and one label, costs two requests."""
        return search_cost > 2 if label_count is None else label_count < search_cost

    def _site_labels(self, at_most: int | None = None) -> list[JsonObject] | None:
        """Every label of the site (cached), or None when the site has no label listing, or (`at_most`) when it has
        more labels than that: the listing then stops there and nothing is cached."""
        if self._label_objects is None and self._label_listing_available:
            found: list[JsonObject] = []
            try:
                for page in self.client.pages(self.client.v2(defaults.V2_LABELS), {"limit": defaults.V2_PAGE_SIZE},
                                              purpose="listing labels", api="v2"):
                    found.extend(raw for raw in page.items if raw.get("id") is not None)
                    if at_most is not None and len(found) > at_most:
                        return None
            except ConfluenceNotFoundError:
                logger.info("This site has no label listing; reading labels with CQL search")
                self._label_listing_available = False
                return None
            self._label_objects = found
        if at_most is not None and self._label_objects is not None and len(self._label_objects) > at_most:
            return None
        return self._label_objects

    def _label_listing_pays(self, label_count: int, doc_type: str) -> bool:
        """For a full read, which knows no item count: whether the label listing beats a label search of this type.
        One count of all three labelled types per run settles it for every type when the site has more labels than
        even that search would need (the usual case); otherwise one count of this type decides."""
        if self._all_types_search_cost is None:
            self._all_types_search_cost = self._label_search_cost(tuple(_LABEL_KINDS))
        return (self._label_listing_beats(self._all_types_search_cost, label_count)
                and self._label_listing_beats(self._label_search_cost((doc_type,)), label_count))

    def _search_beats_listing_for_every_type(self, label_count: int) -> bool:
        """Whether the label listing loses even to a search of all labelled types at once, and so to a search of
        any of them (known without a count of its own once `_label_listing_pays` counted all types)."""
        return (self._all_types_search_cost is not None
                and not self._label_listing_beats(self._all_types_search_cost, label_count))

    def _label_search_cost(self, doc_types: tuple[str, ...]) -> int:
        """Requests a label search would need: items of these types in the synced spaces / 200 (one count request)."""
        keys = [space.key for space in self.state.selected][: defaults.CQL_SPACE_BATCH]
        if not keys:
            return 0
        body = self.client.get_json(
            self.client.v1(defaults.SEARCH),
            {"cql": and_all(space_clause(keys), type_clause(*doc_types)), "limit": 1},
            purpose=f"counting {', '.join(doc_types)}s",
        )
        total = (body or {}).get("totalSize", (body or {}).get("totalCount"))
        return 1 + int(total) // _SEARCH_ITEMS_PER_RESPONSE if isinstance(total, int) else 0

    def _labels_from_label_listing(self, kind: str, labels: list[JsonObject], max_workers: int = 16,
                                   budget: "_RequestBudget | None" = None) -> dict[str, list[str]]:
        """Content id -> label names, from what carries each label (several labels at once). With a `budget`, the
        listing gives up (`_OverBudget`) once it has made that many requests."""
        space_ids = [space.id for space in self.state.selected]
        params: dict[str, Any] = {"limit": defaults.V2_PAGE_SIZE}
        if kind != "attachments" and 0 < len(space_ids) <= defaults.V2_MAX_SPACE_IDS:
            params["space-id"] = ",".join(space_ids)

        def content_ids(label: JsonObject) -> tuple[str, list[str]]:
            ids: list[str] = []
            try:
                for page in self.client.pages(
                    self.client.v2(defaults.V2_LABEL_CONTENT.format(label_id=label["id"], content_kind=kind)),
                    params,
                    purpose=f"listing {kind} labelled {label.get('name')!r}",
                    api="v2",
                ):
                    if budget is not None:
                        budget.spend()
                    ids.extend(str(item.get("id")) for item in page.items)
            except ConfluenceNotFoundError:
                logger.info("Label %r disappeared during the run", label.get("name"))
            return sys.intern(_label_text(label)), ids

        workers = min(self.config.concurrent_downloads, len(labels), max_workers)
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="confluence-labels") as pool:
                results = list(pool.map(content_ids, labels))
        else:
            results = [content_ids(label) for label in labels]
        mapping: dict[str, list[str]] = {}
        for name, ids in results:
            for content_id in ids:
                names = mapping.setdefault(content_id, [])
                if name not in names:
                    names.append(name)
        return mapping

    def _labels_from_search(self, doc_types: tuple[str, ...]) -> dict[str, dict[str, list[str]]]:
        """Type -> content id -> label names of these types in the synced spaces, from one body-less search."""
        mappings: dict[str, dict[str, list[str]]] = {doc_type: {} for doc_type in doc_types}
        for archived in (False, True):
            keys = [space.key for space in self.state.selected if (space.status == "archived") == archived]
            for start in range(0, len(keys), defaults.CQL_SPACE_BATCH):
                cql = and_all(space_clause(keys[start : start + defaults.CQL_SPACE_BATCH]), type_clause(*doc_types))
                for items in self.search(cql, defaults.V1_LABELS_EXPAND, defaults.V1_PAGE_SIZE_NO_BODY, archived,
                                         purpose=f"reading {', '.join(doc_types)} labels"):
                    for raw in items:
                        names = label_names(raw.get("metadata"))
                        mapping = mappings.get(str(raw.get("type") or doc_types[0]))
                        if names and mapping is not None:
                            mapping[str(raw.get("id"))] = [sys.intern(name) for name in names]
        return mappings

    def _prefetch_attachments(self, attachment_ids: Any) -> None:
        """Fetch (in parallel) the attachments that comments hang on, for their container and title."""
        missing = sorted({attachment_id for attachment_id in attachment_ids if attachment_id not in self._attachments})
        if not missing:
            return

        def fetch(attachment_id: str) -> tuple[str, JsonObject | None]:
            try:
                return attachment_id, self.client.get_json(
                    self.client.v2(defaults.V2_ATTACHMENT.format(attachment_id=attachment_id)),
                    purpose=f"reading attachment {attachment_id}",
                )
            except ConfluenceNotFoundError:
                logger.info("Attachment %s is gone; skipping its comments", attachment_id)
                return attachment_id, None

        self._attachments.update(self.in_parallel(fetch, missing))

    # ---- id listings -------------------------------------------------------------------------------------------
    def archived_pages(self, space_keys: Collection[str]) -> dict[str, dict[str, Ancestry]]:
        """One body-less listing of the archived pages of up to V2_MAX_SPACE_IDS spaces per request, put in a page
        tree of their own per space as a full read's listing is (with the folders they sit in). The listing shows
        each page's parent only: the current pages they sit under come with their own ancestors from one search."""
        key_of = {self.state.all_spaces[key].id: key for key in space_keys if key in self.state.all_spaces}
        space_ids = sorted(key_of)
        trees = {key: SpaceTree(key) for key in space_keys}
        listed: dict[str, list[str]] = {key: [] for key in space_keys}  # space key -> archived page ids
        for start in range(0, len(space_ids), defaults.V2_MAX_SPACE_IDS):
            params = {"space-id": ",".join(space_ids[start : start + defaults.V2_MAX_SPACE_IDS]),
                      "status": "archived", "limit": defaults.V2_PAGE_SIZE}
            for page in self.client.pages(self.client.v2(defaults.V2_PAGES), params,
                                          purpose="listing archived pages", api="v2"):
                by_space: dict[str, list[JsonObject]] = defaultdict(list)
                for raw in page.items:
                    space_key = key_of.get(str(raw.get("spaceId")))
                    if space_key is not None and raw.get("status") == "archived" and raw.get("id") is not None:
                        by_space[space_key].append(raw)
                for space_key, items in by_space.items():
                    self._add_pages(trees[space_key], items)  # with their folders, read a level at a time
                    listed[space_key].extend(str(raw["id"]) for raw in items)
        self._add_current_parents(trees, any(self._in_archived_space(key) for key in space_keys))
        return {key: {doc_id("page", page_id): tuple((ref.doc_id, ref.title)
                                                     for ref in trees[key].ancestors(page_id, final=True) or [])
                      for page_id in listed[key]}
                for key in space_keys}

    def _add_current_parents(self, trees: Mapping[str, SpaceTree], archived_spaces: bool) -> None:
        """Add to these trees the current pages their pages and folders sit under, with those pages' own ancestors,
        from a search of their ids (one request per CQL_ID_BATCH)."""
        wanted = sorted(set().union(*(tree.missing_parents() for tree in trees.values())))
        for start in range(0, len(wanted), defaults.CQL_ID_BATCH):
            cql = and_all(type_clause("page"), id_clause(wanted[start : start + defaults.CQL_ID_BATCH]))
            for items in self.search(cql, "ancestors", defaults.V1_PAGE_SIZE_NO_BODY, archived_spaces,
                                     purpose="reading the ancestors of archived pages' parents"):
                for raw in items:
                    _, _, outline = outline_from_v1(raw)
                    tree = trees.get(outline.space_key or "")
                    if tree is None:
                        continue
                    chain = [item for item in raw.get("ancestors") or [] if isinstance(item, dict)] + [raw]
                    parent_id: str | None = None
                    for item in chain:
                        if tree.get(str(item.get("id"))) is None:  # what the listing put there stays
                            tree.add(Node(doc_type=str(item.get("type") or "page"), confluence_id=str(item.get("id")),
                                          title=str(item.get("title") or ""), parent_id=parent_id, url=None,
                                          status="current"))
                        parent_id = str(item.get("id"))

    def iter_current_ids(self, scope_key: str, doc_type: str) -> Iterator[str]:
        if scope_key in self.config.advanced_rules:
            yield from self.scope_ids_by_search(scope_key, doc_type)
            return
        space = self.state.all_spaces.get(scope_key)
        if space is None:
            raise ConfluenceNotFoundError(f"Space {scope_key} is not visible to the user")
        containers = self._live_container_ids(space)
        if doc_type in ("page", "blogpost"):
            yield from (f"{doc_type}-{content_id}" for content_id, kind in containers.items() if kind == doc_type)
        elif doc_type == "attachment":
            for raw in self._site_listing("attachments"):
                container_id = raw.get("pageId") or raw.get("blogPostId")
                if container_id and str(container_id) in containers and self.is_indexed_status(raw.get("status")):
                    yield f"attachment-{raw.get('id')}"
        elif doc_type == "comment":
            yield from self._comment_ids(containers)
        else:
            raise ValueError(f"unknown document type {doc_type!r}")

    def _live_container_ids(self, space: SpaceInfo) -> dict[str, str]:
        """Ids of the space's indexed pages and blog posts (fresh body-less listings, not this run's tree)."""
        statuses = list(_LIVE_STATUSES) if self.config.index_archived else ["current"]
        found: dict[str, str] = {}
        for items in self._list_without_bodies(defaults.V2_SPACE_PAGES, space, "page ids", statuses):
            found.update((str(raw.get("id")), "page") for raw in items)
        for items in self._list_without_bodies(defaults.V2_SPACE_BLOGPOSTS, space, "blog post ids", None):
            found.update((str(raw.get("id")), "blogpost") for raw in items if self.is_indexed_status(raw.get("status")))
        return found

    def _comment_ids(self, containers: dict[str, str]) -> Iterator[str]:
        attachments = {
            str(raw.get("id")): str(raw.get("pageId") or raw.get("blogPostId") or "")
            for raw in self._site_listing("attachments")
            if self.is_indexed_status(raw.get("status"))
        }
        comments = self._site_listing("footer-comments") + self._site_listing("inline-comments")
        container_of: dict[str, str | None] = {}
        parent_of: dict[str, str | None] = {}
        for raw in comments:
            container = raw.get("pageId") or raw.get("blogPostId")
            if not container and raw.get("attachmentId"):
                container = attachments.get(str(raw["attachmentId"]))
            container_of[str(raw.get("id"))] = str(container) if container else None
            parent_of[str(raw.get("id"))] = str(raw["parentCommentId"]) if raw.get("parentCommentId") else None
        for raw in comments:
            comment_id = str(raw.get("id"))
            container = container_of.get(comment_id)
            parent = parent_of.get(comment_id)
            hops = 0
            while container is None and parent and hops < 100:  # a reply listed without its container
                container = container_of.get(parent)
                parent = parent_of.get(parent)
                hops += 1
            if container and container in containers and raw.get("status") in (None, "current"):
                yield f"comment-{comment_id}"

    def _site_listing(self, what: str) -> list[JsonObject]:
        """A site-wide body-less listing (attachments, footer-comments, inline-comments), cached for the run's
        deletion step so that checking several spaces costs one listing."""
        with self._id_lock:
            cached = self._id_listings.get(what)
        if cached is not None:
            return cached
        params: dict[str, Any] = {"limit": defaults.V2_PAGE_SIZE}
        if what == "attachments":
            params["status"] = list(_LIVE_STATUSES)
        items = [
            raw
            for page in self.client.pages(self.client.v2("/" + what), params, purpose=f"listing {what}", api="v2")
            for raw in page.items
        ]
        with self._id_lock:
            self._id_listings[what] = items
        return items


class _OverBudget(Exception):
    """A listing made more requests than it was allowed."""


class _RequestBudget:
    """Requests a listing may make, spent from several threads."""

    def __init__(self, requests: int) -> None:
        self._left = requests
        self._lock = threading.Lock()

    def spend(self) -> None:
        with self._lock:
            self._left -= 1
            if self._left < 0:
                raise _OverBudget()


def _space_of(scope: Scope) -> SpaceInfo:
    if scope.space is None:
        raise ValueError(f"scope {scope.key!r} is not a space")
    return scope.space


def _container_id(raw: JsonObject) -> Any:
    return raw.get("pageId") or raw.get("blogPostId") or raw.get("attachmentId")


def _label_text(label: JsonObject) -> str:
    name = str(label.get("name") or "")
    prefix = label.get("prefix")
    return f"{prefix}:{name}" if prefix in ("my", "team") else name
