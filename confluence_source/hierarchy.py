"""Page trees of Cloud spaces, built from the v2 listings themselves, for breadcrumbs and comment/attachment parents.

Cloud v2 list endpoints return `parentId` but no ancestor chain (`/pages/{id}/ancestors` would cost a request per
page). A full sync lists every page of a space anyway, so the tree is assembled from that listing: a page whose
ancestors have all been seen can be emitted at once, the (rare) page listed before one of its ancestors waits until
the ancestor shows up or the listing ends. Comments and attachments look up their container here, so the site-wide
comment and attachment listings can be filtered to the synced spaces without a request per item.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .documents import Ref


@dataclass(frozen=True, slots=True)
class Node:
    """One page, blog post or folder of a space, without its body."""

    doc_type: str  # page | blogpost | folder
    confluence_id: str
    title: str
    parent_id: str | None
    url: str | None
    status: str


class SpaceTree:
    """The pages and blog posts of one space. Thread-safe; `complete` once a full listing has ended."""

    MAX_DEPTH = 1000  # guards against a cycle in corrupt data

    def __init__(self, space_key: str) -> None:
        self.space_key = space_key
        self._nodes: dict[str, Node] = {}
        self._urls_by_title: dict[str, str] = {}
        self._chain_ends: set[str] = set()  # parents known to be unreadable: the chain stops there at once
        self._lock = threading.Lock()
        self.pages_complete = False
        self.blogposts_complete = False

    @property
    def complete(self) -> bool:
        return self.pages_complete and self.blogposts_complete

    def add(self, node: Node) -> None:
        with self._lock:
            self._nodes[node.confluence_id] = node
            if node.url and node.doc_type == "page":
                self._urls_by_title.setdefault(node.title, node.url)

    def end_chain_at(self, confluence_id: str) -> None:
        """This parent will never be in the tree (a folder that is gone or hidden): chains stop at it without
        waiting for the listing to end."""
        with self._lock:
            self._chain_ends.add(confluence_id)

    def get(self, confluence_id: str) -> Node | None:
        with self._lock:
            return self._nodes.get(confluence_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._nodes)

    def ref(self, confluence_id: str) -> Ref | None:
        node = self.get(confluence_id)
        return Ref(node.doc_type, node.confluence_id, node.title, node.url) if node else None

    def ancestors(self, confluence_id: str, final: bool) -> list[Ref] | None:
        """Ancestor pages and folders root first, or None while an ancestor is still unknown and more of the listing
        may come.

        With `final` (the listing has ended) a missing ancestor simply ends the chain (a parent the user cannot
        see, or a whiteboard or database, which the page listing does not return). Folders are part of the chain.
        """
        chain: list[Ref] = []
        with self._lock:
            node = self._nodes.get(confluence_id)
            seen = {confluence_id}
            parent_id = node.parent_id if node else None
            while parent_id and len(chain) < self.MAX_DEPTH:
                if parent_id in seen:
                    break
                seen.add(parent_id)
                parent = self._nodes.get(parent_id)
                if parent is None:
                    if not final and parent_id not in self._chain_ends:
                        return None
                    break
                chain.append(Ref(parent.doc_type, parent.confluence_id, parent.title, parent.url))
                parent_id = parent.parent_id
        chain.reverse()
        return chain

    def missing_parents(self) -> set[str]:
        """Parents of the tree's nodes that are neither in it nor known to be unreadable."""
        with self._lock:
            return {node.parent_id for node in self._nodes.values()
                    if node.parent_id and node.parent_id not in self._nodes and node.parent_id not in self._chain_ends}

    def node_ids(self) -> list[str]:
        with self._lock:
            return list(self._nodes)

    def url_for_title(self, title: str) -> str | None:
        """Web URL of the page with this title (page titles are unique within a space)."""
        with self._lock:
            return self._urls_by_title.get(title)
