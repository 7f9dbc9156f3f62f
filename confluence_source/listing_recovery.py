"""What a listing asks for next when the server keeps refusing one of its pages.

Servers and proxies refuse a page of results that is too large for them with 500, 502 or 504, however often it is
asked for: Confluence running out of memory on a hundred large bodies, a gateway timing out while they are built. So
a page refused after the retries is asked for again, at the same place in the listing, with half as many items, down
to one. A single item still refused is asked for without its body: a page whose body the server cannot return (too
large, damaged) is then indexed with its title and metadata, and the listing goes on complete instead of failing the
run (a failed listing deletes nothing, but would stop every later run at the same place).

Once the smaller pages have covered what the refused page would have held, the listing's own page size comes back:
one large page must not turn the rest of a space into a request per item. Only what the site is asked for is
changed (the `limit`, `expand` and `body-format` parameters of the request that was refused); cursors and offsets
are kept, so nothing is skipped or read twice.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .paginators import page_size_of, with_page_size

logger = logging.getLogger(__name__)

# Statuses with which servers and proxies refuse a page of results too large to build or pass on.
PAGE_TOO_LARGE_STATUSES = frozenset({500, 502, 504})
# Query parameters that ask for bodies: v2's body format, v1's `body.*` expansions (`content.body.*` in the generic
# search); and those the listing's later pages get back.
_BODY_EXPANSIONS = ("body.", "content.body.")
_LISTING_PARAMETERS = ("limit", "expand", "body-format")


class ListingRecovery:
    """The requests one listing sends instead of its paginator's, after a refused page (see the module)."""

    def __init__(self, url: str, params: Mapping[str, Any] | None) -> None:
        query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        query.update({name: str(value) for name, value in (params or {}).items() if isinstance(value, (str, int))})
        self._listing_query = {name: query[name] for name in _LISTING_PARAMETERS if name in query}
        self._span_left: int | None = None  # items of the first refused page not read yet at a smaller size
        self._without_bodies = False  # the request in flight asks for one item without its body

    @property
    def recovering(self) -> bool:
        """Whether a refused page of this listing is being worked around (the site answered meanwhile)."""
        return self._span_left is not None or self._without_bodies

    def instead_of_refused(self, sent_url: str, status: int) -> str | None:
        """The request to send instead of `sent_url`, which the server kept refusing with `status`; None when
        nothing else can help (the caller then fails with the refusal)."""
        limit = page_size_of(sent_url)
        if status not in PAGE_TOO_LARGE_STATUSES or limit is None or self._without_bodies:
            return None
        if limit > 1:
            if self._span_left is None:
                self._span_left = limit
            logger.warning("Confluence kept answering HTTP %s for a page of %d items (%s): asking for %d at a time",
                           status, limit, urlsplit(sent_url).path, limit // 2)
            return with_page_size(sent_url, limit // 2)
        bodiless = _without_bodies(sent_url)
        if bodiless is not None:
            self._without_bodies = True
            logger.warning("Confluence kept answering HTTP %s for a single item (%s): asking for it without its body",
                           status, urlsplit(sent_url).path)
        return bodiless

    def after_page(self, items: int, next_url: str | None) -> tuple[str | None, bool]:
        """After an answered page of `items` items whose paginator would ask for `next_url` next: the request to send
        instead (None: the paginator's own), and whether the page's items came without their bodies."""
        if self._without_bodies:
            self._without_bodies, self._span_left = False, None
            return (_with_query(next_url, self._listing_query) if next_url else None), True
        if self._span_left is None:
            return None, False
        self._span_left -= items
        if self._span_left > 0:
            return None, False
        self._span_left = None
        restored = {name: value for name, value in self._listing_query.items() if name == "limit"}
        return (_with_query(next_url, restored) if next_url and restored else None), False


def recoverable(sent_url: str, status: int) -> bool:
    """Whether asking differently could get past this refusal: a smaller page, or one item without its body."""
    limit = page_size_of(sent_url)
    return (status in PAGE_TOO_LARGE_STATUSES and limit is not None
            and (limit > 1 or _without_bodies(sent_url) is not None))


def refused_single_item(sent_url: str, status: int) -> bool:
    """Whether a refusal came for one item alone: the listing cannot get past that place."""
    return status in PAGE_TOO_LARGE_STATUSES and page_size_of(sent_url) == 1


def _with_query(url: str, values: Mapping[str, str]) -> str:
    """`url` with these query parameters set (replaced, or added where it lacks them), the others kept."""
    parts = urlsplit(url)
    pairs = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if name not in values]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode([*pairs, *values.items()]), parts.fragment))


def _without_bodies(url: str) -> str | None:
    """`url` asking for no body; None when it asked for none."""
    parts = urlsplit(url)
    pairs: list[tuple[str, str]] = []
    dropped = False
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "body-format":
            dropped = True
            continue
        if name == "expand":
            asked = value.split(",")
            kept = [part for part in asked if not part.strip().startswith(_BODY_EXPANSIONS)]
            dropped = dropped or len(kept) < len(asked)
            if kept:
                pairs.append((name, ",".join(kept)))
            continue
        pairs.append((name, value))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(pairs), parts.fragment)) if dropped else None
