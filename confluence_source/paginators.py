"""Paginators for Confluence's REST APIs, on dlt's paginator interface.

v2 (Cloud) needs nothing special: `_links.next` is site-relative (`/wiki/api/v2/...?cursor=`) and dlt's
`JSONLinkPaginator` joins it with the request URL. v1 (Cloud search, all of Server/Data Center) is different enough
to need its own:

* `_links.next` is relative to the *site base* (`https://x.atlassian.net/wiki`, `https://host/confluence`), not to the
  host, and some Data Center versions repeat the context path in it;
* `_links.base` reflects the server's configured base URL, which behind a proxy is often not the URL we can reach,
  so the next URL is built on the configured base instead;
* offset links (`start=`) are sometimes wrong (Data Center has sent a `start` that skips or repeats items, and a
  `next` link on an empty page), so the offset is recomputed from what the server actually returned (`start + size`)
  and an empty page ends the listing.
"""

from __future__ import annotations

from typing import Any, List, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dlt.sources.helpers.rest_client.paginators import BaseNextUrlPaginator, JSONLinkPaginator
from requests import Response


def v2_paginator() -> JSONLinkPaginator:
    """Follows `_links.next` of Cloud v2 list responses (cursor pagination)."""
    return JSONLinkPaginator(next_url_path="_links.next")


class V1NextLinkPaginator(BaseNextUrlPaginator):
    """Follows v1 `_links.next` (cursor or offset) relative to the configured site base; records the server total."""

    def __init__(self, site_base: str) -> None:
        super().__init__()
        self.site_base = site_base.rstrip("/")
        self.total: int | None = None

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
        if not next_link or returned == 0:
            self._next_reference = None
            return
        url = absolute_next_url(str(next_link), self.site_base, str(links.get("context") or ""))
        start = body.get("start")
        self._next_reference = advance_offset(url, start + returned) if isinstance(start, int) else url


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
    names = {name for name, _ in pairs}
    if "start" not in names or "cursor" in names:
        return url
    rebuilt = [(name, str(next_start) if name == "start" else value) for name, value in pairs]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rebuilt), parts.fragment))
