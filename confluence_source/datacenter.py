"""Confluence Server / Data Center reader: REST v1 only (v2 does not exist there).

Pages, blog posts and comments are read with `/rest/api/content/scan` (Confluence 7.18+): a cursor over the database,
so deep spaces cost no growing offsets and nothing depends on the eventually consistent search index. Older servers
answer 404 there and are read with CQL search instead. Attachments (which scan does not list) come from CQL search
per batch of spaces; archiving a page takes what hangs on it out of search, so with `index_archived` the attachments
of archived pages are listed from each archived page. Every read asks for the expansions a document needs (body,
version, space, history, labels, ancestors, container), so each listed item becomes a document without further
requests, with authors' names embedded; only @mentions need user lookups (one per distinct user key, in parallel,
cached).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Collection, Iterator
from urllib.parse import quote

from . import settings as defaults
from .client import JsonObject, Listing
from .documents import Ancestry, ContentFacts, SpaceInfo, doc_id, outline_from_v1, space_from_v1
from .errors import ConfluenceNotFoundError, IncompleteListingError
from .reader import ConfluenceReader, Emitted, Scope

logger = logging.getLogger(__name__)

# Content types the scan API lists (attachments it does not).
SCAN_TYPES = ("page", "blogpost", "comment")


class DataCenterReader(ConfluenceReader):
    """Reads Confluence Server and Data Center through REST v1."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scan_supported: bool | None = None

    # ---- preflight -------------------------------------------------------------------------------------------
    def _list_spaces(self) -> list[SpaceInfo]:
        spaces: list[SpaceInfo] = []
        for page in self.client.pages(
            self.client.v1(defaults.DC_SPACES),
            {"limit": defaults.V1_SPACES_PAGE_SIZE, "expand": defaults.DC_SPACE_EXPAND},
            purpose="listing spaces",
        ):
            spaces.extend(space_from_v1(raw, self.client.web_url) for raw in page.items)
        return spaces

    def _space_url(self, space: SpaceInfo) -> str:
        return self.client.v1(f"{defaults.DC_SPACES}/{quote(space.key, safe='')}")

    def _infer_zone(self) -> tzinfo | None:
        """The server's UTC offset as it renders the newest content's timestamp (the default zone of users who
        never chose one). A fixed offset, which may be from the other side of a daylight-saving change: change
        windows then reach `INFERRED_ZONE_MARGIN` further back."""
        try:
            body = self.client.get_json(
                self.client.v1(defaults.CONTENT_SEARCH),
                {"cql": "type in (page, blogpost) order by lastmodified desc", "limit": 1, "expand": "version"},
                purpose="reading the server time zone",
            )
        except ConfluenceNotFoundError:
            return None
        for raw in (body or {}).get("results") or []:
            when = ((raw or {}).get("version") or {}).get("when")
            try:
                moment = datetime.fromisoformat(str(when).replace("Z", "+00:00"))
            except ValueError:
                continue
            offset = moment.utcoffset()
            if offset is not None:
                logger.info("Using the server's UTC offset %s for CQL date literals", offset)
                return timezone(offset) if offset != timedelta(0) else timezone.utc
        return None

    # ---- full reads ------------------------------------------------------------------------------------------
    def read_full(self, doc_type: str, scopes: list[Scope]) -> Iterator[Emitted]:
        if doc_type in SCAN_TYPES and self._scan_supported is not False:
            yield from self._read_by_scan(doc_type, scopes)
        elif doc_type == "attachment" and self.config.index_archived:
            found: set[str] = set()
            for emitted in self.read_cql(doc_type, scopes, None, mark_fully_read=False):
                found.add(emitted[1]["id"])
                yield emitted
            yield from self._attachments_of_archived_pages(scopes, found)
        else:
            yield from self.read_cql(doc_type, scopes, None)

    def _read_by_scan(self, doc_type: str, scopes: list[Scope]) -> Iterator[Emitted]:
        """Each space's scan in turn, the next ones already fetching (see `ConfluenceClient.pages_of_each`). Until a
        scan has answered, the first space is scanned alone: a server without the scan API is asked once."""
        first = 1 if self._scan_supported is None else 0
        for part in (scopes[:first], scopes[first:]):
            listings = ((position, self._scan_listing(doc_type, part[position])) for position in range(len(part)))
            for position, pages in self.client.pages_of_each(listings):
                scope = part[position]
                try:
                    for page in pages:
                        self._scan_supported = True
                        yield from self.emit(self._batch(scope, page.items, doc_type))
                    self.record_fully_read(scope.key, doc_type)
                except ConfluenceNotFoundError:
                    # the very first scan failed for a space that is there: a server without the scan API (a space
                    # deleted during the run may answer 404 too, and must not make the rest of the run read through
                    # search, which leaves archived pages out, so that they would look deleted)
                    if self._scan_supported is None and self._space_still_there(scope.key):
                        logger.info("This Confluence has no content scan API; reading with CQL search instead")
                        self._scan_supported = False
                        break
                    self.space_vanished(scope.key)
                    continue
            if self._scan_supported is False:
                yield from self.read_full(doc_type, scopes)
                return

    def _scan_listing(self, doc_type: str, scope: Scope) -> Listing:
        space = scope.space
        assert space is not None
        params: dict[str, Any] = {
            "spaceKey": space.key,
            "type": doc_type,
            # a scan lists one space: its key and name come from the space list (`_batch`), not from every item
            "expand": ",".join(part for part in defaults.V1_EXPAND[doc_type].split(",") if part != "space"),
            "limit": defaults.V1_PAGE_SIZE_WITH_BODY,
        }
        if self.config.index_archived and doc_type == "page":
            params["status"] = ["current", "archived"]
        return Listing(self.client.v1(defaults.DC_CONTENT_SCAN), params, f"scanning {doc_type}s of space {space.key}")

    def _batch(self, scope: Scope, items: list[JsonObject], doc_type: str) -> list[tuple[str, ContentFacts]]:
        batch: list[tuple[str, ContentFacts]] = []
        for raw in items:
            facts = self._facts_from_v1(raw)
            if facts is None or facts.doc_type != doc_type:
                continue
            if scope.space is not None and facts.space_key in (None, scope.space.key):
                facts.space_key = scope.space.key
                facts.space_name = facts.space_name or scope.space.name
            batch.append((scope.key, facts))
        return batch

    def _attachments_of_archived_pages(self, scopes: list[Scope], found: set[str]) -> Iterator[Emitted]:
        """Archiving a page takes what hangs on it out of search, so with `index_archived` the attachments of
        archived pages are listed from each of them (archived pages are few: one request each); those the search
        did return are not repeated."""
        for scope in scopes:
            try:
                page_ids = self._archived_page_ids(scope.key)
            except ConfluenceNotFoundError:
                self.space_vanished(scope.key)
                continue
            for page_id in page_ids:
                for items in self._archived_page_attachments(page_id, defaults.V1_EXPAND["attachment"]):
                    batch = self._batch(scope, items, "attachment")
                    yield from self.emit(
                        [(key, facts) for key, facts in batch if f"attachment-{facts.confluence_id}" not in found]
                    )
            self.record_fully_read(scope.key, "attachment")

    def _archived_page_attachments(self, page_id: str, expand: str) -> Iterator[list[JsonObject]]:
        """The files of one archived page. A 404 there is about the page: it ends the listing only when the page is
        gone indeed (and its files with it); from a page that is still there it fails the run, since the files not
        listed would otherwise be deleted."""
        try:
            yield from self._child_attachments(page_id, expand)
        except ConfluenceNotFoundError:
            if self.read_if_visible(self.client.v1(defaults.CONTENT_BY_ID.format(content_id=page_id)),
                                    {"status": ["current", "archived"]}, "checking that a page still exists") is None:
                logger.info("Archived page %s is gone; its attachments go with it", page_id)
                return
            raise IncompleteListingError(
                f"Confluence answered 404 while listing the attachments of archived page {page_id}, which still "
                "exists: this run stops without deleting anything, and the next run reads it again") from None

    def _child_attachments(self, page_id: str, expand: str) -> Iterator[list[JsonObject]]:
        params: dict[str, Any] = {"limit": defaults.V1_PAGE_SIZE_WITH_BODY}
        if expand:
            params["expand"] = expand
        for page in self.client.pages(
            self.client.v1(f"/content/{page_id}/child/attachment"),
            params,
            purpose=f"listing attachments of archived page {page_id}",
        ):
            yield page.items

    def _archived_page_ids(self, space_key: str) -> list[str]:
        if self._scan_supported is False:
            return []  # servers without the scan API predate archived pages
        ids: list[str] = []
        for page in self.client.pages(
            self.client.v1(defaults.DC_CONTENT_SCAN),
            {"spaceKey": space_key, "type": "page", "status": "archived", "limit": defaults.V1_PAGE_SIZE_NO_BODY},
            purpose=f"listing archived pages of space {space_key}",
        ):
            ids.extend(str(raw["id"]) for raw in page.items if raw.get("status") == "archived")
        return ids

    def archived_pages(self, space_keys: Collection[str]) -> dict[str, dict[str, Ancestry]]:
        """One scan of the site's archived pages with their ancestors (archived pages are few; a scan per space
        would cost a request per synced space)."""
        wanted = set(space_keys)
        found: dict[str, dict[str, Ancestry]] = {key: {} for key in wanted}
        if self._scan_supported is False or not wanted:
            return found  # servers without the scan API predate archived pages
        params = {"type": "page", "status": "archived", "expand": "ancestors", "limit": defaults.V1_PAGE_SIZE_NO_BODY}
        try:
            for page in self.client.pages(self.client.v1(defaults.DC_CONTENT_SCAN), params,
                                          purpose="listing archived pages"):
                self._scan_supported = True
                for raw in page.items:
                    if raw.get("status") != "archived" or raw.get("type", "page") != "page":
                        continue
                    _, confluence_id, outline = outline_from_v1(raw)
                    if outline.space_key in wanted:
                        found[outline.space_key][doc_id("page", confluence_id)] = tuple(
                            zip(outline.ancestor_ids, outline.ancestor_titles))
        except ConfluenceNotFoundError:
            if self._scan_supported:
                raise
            logger.info("This Confluence has no content scan API, so no archived pages to list")
            self._scan_supported = False
        return found

    # ---- id listings -------------------------------------------------------------------------------------------
    def iter_current_ids(self, scope_key: str, doc_type: str) -> Iterator[str]:
        if scope_key in self.config.advanced_rules:
            yield from self.scope_ids_by_search(scope_key, doc_type)
            return
        if doc_type in SCAN_TYPES and self._scan_supported is not False:
            try:
                yield from self._scan_ids(scope_key, doc_type)
                return
            except ConfluenceNotFoundError:
                if self._scan_supported or not self._space_still_there(scope_key):
                    raise  # the space is gone (see `current_ids`), not the scan API
                self._scan_supported = False
        listed: set[str] = set()
        for document_id in self.scope_ids_by_search(scope_key, doc_type):
            listed.add(document_id)
            yield document_id
        if doc_type == "attachment" and self.config.index_archived:
            for page_id in self._archived_page_ids(scope_key):
                for items in self._archived_page_attachments(page_id, ""):
                    for raw in items:
                        document_id = f"attachment-{raw.get('id')}"
                        if raw.get("id") is not None and document_id not in listed:
                            listed.add(document_id)
                            yield document_id

    def _scan_ids(self, space_key: str, doc_type: str) -> Iterator[str]:
        """Ids from the scan; comments expand their container so those on trashed pages are left out, as in syncs."""
        params: dict[str, Any] = {"spaceKey": space_key, "type": doc_type, "limit": defaults.V1_PAGE_SIZE_NO_BODY}
        if doc_type == "comment":
            params["expand"] = "container"
        if self.config.index_archived and doc_type == "page":
            params["status"] = ["current", "archived"]
        for page in self.client.pages(
            self.client.v1(defaults.DC_CONTENT_SCAN), params, purpose=f"listing {doc_type} ids of space {space_key}"
        ):
            self._scan_supported = True
            for raw in page.items:
                if raw.get("id") is None or raw.get("type", doc_type) != doc_type:
                    continue
                if self._facts_from_v1(raw) is not None:
                    yield f"{doc_type}-{raw['id']}"
