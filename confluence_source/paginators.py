"""Paginators for Confluence's REST APIs, on dlt's paginator interface.

v2 (Cloud): `_links.next` is site-relative (`/wiki/api/v2/...?cursor=`) and is joined with the request URL, as dlt's
`JSONLinkPaginator` does. v1 (Cloud search, all of Server/Data Center) differs:

* `_links.next` is relative to the *site base* (`https://x.atlassian.net/wiki`, `https://host/confluence`), not to the
  host, and some Data Center versions repeat the context path in it;
* `_links.base` reflects the server's configured base URL, which behind a proxy is often not the URL we can reach,
  so the next URL is built on the configured base instead;
* offset links (`start=`) are sometimes wrong (Data Center has sent a `start` that skips or repeats items), so the
  offset is recomputed from what the server actually returned (`start + size`).

Both APIs occasionally answer a page with no results that still links to a next page. Mid-listing that is a
glitch (the next request returns the data), at the end of a Data Center offset listing it is a known overshoot.
So an empty page is followed a few times; if emptiness persists the listing ends only when the server's own total
shows nothing is missing, or, without a total, when a child listing answered the same offset again and again;
otherwise it fails: a silently shortened listing would look like deleted content, or hide an edit from an
incremental run.
"""

from __future__ import annotations

from typing import Any, List, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dlt.sources.helpers.rest_client.paginators import BaseNextUrlPaginator, JSONLinkPaginator
from requests import Response

from .errors import IncompleteListingError

MAX_EMPTY_PAGES = 3


class V2CursorPaginator(JSONLinkPaginator):
    """Follows `_links.next` of Cloud v2 list responses; fails on endless empty pages instead of looping."""

    def __init__(self) -> None:
        super().__init__(next_url_path="_links.next")
        self.empty_pages = 0

    def update_state(self, response: Response, data: Optional[List[Any]] = None) -> None:
        super().update_state(response, data)
        if self._next_reference is None:
            return
        self.empty_pages = self.empty_pages + 1 if not data else 0
        if self.empty_pages > MAX_EMPTY_PAGES:
            raise IncompleteListingError(
                f"Confluence answered {self.empty_pages} empty pages in a row that still link onwards "
                f"({urlsplit(response.url).path}); the listing cannot be trusted"
            )


class V1NextLinkPaginator(BaseNextUrlPaginator):
    """Follows v1 `_links.next` (cursor or offset) relative to the configured site base; records the server total."""

    def __init__(self, site_base: str) -> None:
        super().__init__()
        self.site_base = site_base.rstrip("/")
        self.total: int | None = None
        self.returned = 0
        self.empty_pages = 0

    def update_state(self, response: Response, data: Optional[List[Any]] = None) -> None:
        body = response.json()
        if not isinstance(body, dict):
            self._next_reference = None
            return
        if self.total is None:
            total = body.get("totalSize", body.get("totalCount"))
            self.total = total if isinstance(total, int) else None
        links = body.get("_links") or {}
        next_link = links.get("next")
        results = body.get("results")
        size = body.get("size")
        returned = size if isinstance(size, int) else len(results) if isinstance(results, list) else 0
        self.returned += returned
        if not next_link:
            self._next_reference = None
            return
        url = absolute_next_url(str(next_link), self.site_base, str(links.get("context") or ""))
        start = body.get("start")
        offset_link = _is_offset_link(url)
        if offset_link and isinstance(start, int):
            url = advance_offset(url, start + returned)
        if returned:
            self.empty_pages = 0
        else:
            self.empty_pages += 1
            complete = self.total is not None and self.returned >= self.total
            if offset_link and complete:
                self._next_reference = None  # Data Center's overshoot past the last item
                return
            if self.empty_pages > MAX_EMPTY_PAGES:
                # without a total, only a child listing (`/content/{id}/child/...`) is known to overshoot its end
                # (CONFSERVER-95396): the same offset asked again and again and answered empty. Anywhere else empty
                # pages may be skipping content, which would then look deleted (or an edit would never be read).
                overshoot = offset_link and "/child/" in urlsplit(response.url).path
                if complete or (self.total is None and overshoot):
                    self._next_reference = None
                    return
                of_total = f" of {self.total}" if self.total is not None else ""
                raise IncompleteListingError(
                    f"Confluence kept answering empty pages after {self.returned}{of_total} items "
                    f"({urlsplit(response.url).path}); the listing cannot be trusted"
                )
        self._next_reference = url


def _is_offset_link(url: str) -> bool:
    names = {name for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    return "start" in names and "cursor" not in names


def absolute_next_url(next_link: str, site_base: str, context: str) -> str:
    """Resolve a v1 `_links.next` against the site base, tolerating links that already carry the context path."""
    if urlsplit(next_link).scheme:
        return next_link
    path = next_link if next_link.startswith("/") else "/" + next_link
    base_parts = urlsplit(site_base)
    base_path = base_parts.path.rstrip("/")
    context = context.rstrip("/")
    if context and base_path.endswith(context) and (path == context or path.startswith(context + "/")):
        base_path = base_path[: len(base_path) - len(context)]
    path_part, _, query = path.partition("?")
    return urlunsplit((base_parts.scheme, base_parts.netloc, base_path + path_part, query, ""))


def advance_offset(url: str, next_start: int) -> str:
    """Replace `start` in an offset link by the offset actually reached; cursor links are left alone."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not _is_offset_link(url):
        return url
    rebuilt = [(name, str(next_start) if name == "start" else value) for name, value in pairs]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rebuilt), parts.fragment))
