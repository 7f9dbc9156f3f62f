"""Paginators for Confluence's REST APIs, on dlt's paginator interface.

v2 (Cloud): `_links.next` is site-relative (`/wiki/api/v2/...?cursor=`) and is joined with the request URL, as dlt's
`JSONLinkPaginator` does. v1 (Cloud search, all of Server/Data Center) differs:

* `_links.next` is relative to the *site base* (`https://x.atlassian.net/wiki`, `https://host/confluence`), not to the
  host, and some Data Center versions repeat the context path in it;
* `_links.base` reflects the server's configured base URL, which behind a proxy is often not the URL we can reach,
  so the next URL is built on the configured base instead;
* a `next` link may also be absolute, naming the server's own idea of its address: it is followed on the configured
  site instead (scheme, host and port), so that the credentials, which go with every page, never leave for another
  host or for plain HTTP (v2 links too);
* offset links (`start=`) are sometimes wrong (Data Center has sent a `start` that skips or repeats items), so the
  offset is recomputed from what the server actually returned (`start + size`).

Both APIs occasionally answer a page with no results that still links to a next page. Where the link moves on
(a new cursor or offset), that is how Cloud's search pages past results the account may not see: such pages are
followed for as long as the link keeps moving, up to MAX_EMPTY_MOVING_PAGES in a row. Where the link asks for the
same page again, it is a glitch (asking again returns the data) or, at the end of a Data Center child listing, a
known overshoot (CONFSERVER-95396). Such a page is asked again a few times; if it stays empty the listing ends only
when the server's own total shows nothing is missing, or at that overshoot; otherwise it fails: a silently
shortened listing would look like deleted content, or hide an edit from an incremental run.
"""

from __future__ import annotations

from typing import Any, List, Optional
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from dlt.sources.helpers.rest_client.paginators import BaseNextUrlPaginator, JSONLinkPaginator
from requests import Response

from .errors import IncompleteListingError

# Empty pages in a row whose next link asks for the same page again, before the listing fails (or ends, see above).
MAX_EMPTY_PAGES = 3
# Empty pages in a row whose next link moves on (permission-filtered search), before the listing fails.
MAX_EMPTY_MOVING_PAGES = 1000


def same_page_again(requested: str, next_url: str) -> bool:
    """Whether a next link asks for the page just answered (same path and query, in any order)."""
    first, second = urlsplit(requested), urlsplit(next_url)
    return (first.path.rstrip("/") == second.path.rstrip("/")
            and sorted(parse_qsl(first.query, keep_blank_values=True))
            == sorted(parse_qsl(second.query, keep_blank_values=True)))


class EmptyPages:
    """Counts empty pages in a row, apart for links that ask for the same page again and links that move on."""

    def __init__(self) -> None:
        self.repeated = 0
        self.moving = 0

    def count(self, returned_items: bool, requested: str, next_url: str) -> None:
        if returned_items:
            self.repeated = self.moving = 0
        elif same_page_again(requested, next_url):
            self.repeated += 1
        else:
            self.repeated, self.moving = 0, self.moving + 1

    @property
    def too_many(self) -> bool:
        return self.repeated > MAX_EMPTY_PAGES or self.moving > MAX_EMPTY_MOVING_PAGES

    def describe(self) -> str:
        return (f"{self.repeated} empty answers to the same page" if self.repeated > MAX_EMPTY_PAGES
                else f"{self.moving} empty pages in a row")


class V2CursorPaginator(JSONLinkPaginator):
    """Follows `_links.next` of Cloud v2 list responses; fails on endless empty pages instead of looping."""

    def __init__(self, api_base: str) -> None:
        super().__init__(next_url_path="_links.next")
        self.api_base = api_base
        self.empty_pages = EmptyPages()

    def update_state(self, response: Response, data: Optional[List[Any]] = None) -> None:
        super().update_state(response, data)
        if self._next_reference is None:
            return
        self._next_reference = v2_next_url(urljoin(response.url, self._next_reference), self.api_base)
        self.empty_pages.count(bool(data), response.url, urljoin(response.url, self._next_reference))
        if self.empty_pages.too_many:
            raise IncompleteListingError(
                f"Confluence answered {self.empty_pages.describe()} that still link onwards "
                f"({urlsplit(response.url).path}); the listing cannot be trusted"
            )


class V1NextLinkPaginator(BaseNextUrlPaginator):
    """Follows v1 `_links.next` (cursor or offset) relative to the configured site base; records the server total."""

    def __init__(self, site_base: str) -> None:
        super().__init__()
        self.site_base = site_base.rstrip("/")
        self.total: int | None = None
        self.returned = 0
        self.empty_pages = EmptyPages()

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
        self.empty_pages.count(bool(returned), response.url, url)
        if not returned:
            complete = self.total is not None and self.returned >= self.total
            if offset_link and complete:
                self._next_reference = None  # Data Center's overshoot past the last item
                return
            if self.empty_pages.too_many:
                # without a total, only a child listing (`/content/{id}/child/...`) is known to overshoot its end
                # (CONFSERVER-95396): the same offset asked again and again and answered empty. Anywhere else empty
                # pages may be skipping content, which would then look deleted (or an edit would never be read).
                overshoot = offset_link and "/child/" in urlsplit(response.url).path and self.empty_pages.repeated > 0
                if complete or (self.total is None and overshoot):
                    self._next_reference = None
                    return
                of_total = f" of {self.total}" if self.total is not None else ""
                raise IncompleteListingError(
                    f"Confluence kept answering empty pages ({self.empty_pages.describe()}) after {self.returned}"
                    f"{of_total} items "
                    f"({urlsplit(response.url).path}); the listing cannot be trusted"
                )
        self._next_reference = url


def _is_offset_link(url: str) -> bool:
    names = {name for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    return "start" in names and "cursor" not in names


def absolute_next_url(next_link: str, site_base: str, context: str) -> str:
    """Resolve a v1 `_links.next` on the configured site base. The server may write the link with its own context
    path (`_links.context`, which behind a proxy need not be ours), and even with its own scheme and host: both give
    way to the site base's. An absolute link that is not under the server's context keeps its path."""
    link, site = urlsplit(next_link), urlsplit(site_base)
    site_path, own_context = site.path.rstrip("/"), context.rstrip("/")
    path = link.path if link.path.startswith("/") else "/" + link.path
    if link.scheme or link.netloc:
        if own_context and not path.startswith(own_context + "/"):
            return on_origin_of(next_link, site_base)
        if not own_context and site_path and path.startswith(site_path + "/"):
            own_context = site_path  # no context named, but the link already carries ours
    if own_context and path.startswith(own_context + "/"):
        path = path[len(own_context):]
    return urlunsplit((site.scheme, site.netloc, site_path + path, link.query, ""))


def v2_next_url(url: str, api_base: str) -> str:
    """A v2 `_links.next` (`/wiki/api/v2/...`, relative to where the API is) on `api_base`: its scheme, host and port,
    and its path prefix where it has one (the gateway's `/ex/confluence/{cloudId}`) and the link does not carry it."""
    parts, base = urlsplit(url), urlsplit(api_base)
    prefix, path = base.path.rstrip("/"), parts.path
    if prefix and not (path == prefix or path.startswith(prefix + "/")):
        path = prefix + path
    return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))


def on_origin_of(url: str, site_url: str) -> str:
    """`url` with the scheme, host and port of `site_url` (its path and query kept)."""
    parts, site = urlsplit(url), urlsplit(site_url)
    return urlunsplit((site.scheme, site.netloc, parts.path, parts.query, ""))


def advance_offset(url: str, next_start: int) -> str:
    """Replace `start` in an offset link by the offset actually reached; cursor links are left alone."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not _is_offset_link(url):
        return url
    rebuilt = [(name, str(next_start) if name == "start" else value) for name, value in pairs]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rebuilt), parts.fragment))


def page_size_of(url: str) -> int | None:
    """The `limit` a listing URL asks for, if it names one."""
    for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if name == "limit" and value.strip().isdigit():
            return int(value)
    return None


def with_page_size(url: str, limit: int) -> str:
    """`url` asking for `limit` items per page (its other parameters, cursor and offset included, kept)."""
    parts = urlsplit(url)
    pairs = [(name, str(limit) if name == "limit" else value)
             for name, value in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(pairs), parts.fragment))
