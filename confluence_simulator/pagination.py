"""Paging rules of the three Confluence APIs: v2 opaque cursors, v1 start/limit offsets, DC scan cursors.

Kept apart from the handlers because the rules are where clients break: v2 rejects `limit` above its maximum,
v1 silently caps it (clients must advance by `size`), v2 `next` links include `/wiki` while v1 `next` links are
relative to `_links.base`. Cursors are stateless: they encode the sort key of the last item returned, so paging
never needs server-side sessions and content edited mid-iteration neither duplicates nor skips unchanged items.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Sequence
from urllib.parse import quote, urlencode

from confluence_simulator.routes import ApiError, Request


def encode_cursor(state: Sequence[Any]) -> str:
    raw = json.dumps(list(state), separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(token: str) -> list[Any]:
    """Inverse of `encode_cursor`; a damaged cursor is the client's error (400), as on Confluence."""
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
    except (ValueError, UnicodeError) as exc:
        raise ApiError(400, f"Invalid cursor: {token}") from exc
    if not isinstance(value, list) or not value:
        raise ApiError(400, f"Invalid cursor: {token}")
    return value


def parse_int(request: Request, name: str, default: int) -> int:
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ApiError(400, f"Invalid value for parameter {name}: {raw}") from exc


def v2_limit(request: Request, default: int, maximum: int, clamp_over_max: bool) -> int:
    """v2 `limit`: 1..maximum, else 400 (or clamped when the simulator is told to be lenient)."""
    limit = parse_int(request, "limit", default)
    if limit < 1:
        raise ApiError(400, "'limit' must be greater than or equal to 1")
    if limit > maximum:
        if clamp_over_max:
            return maximum
        raise ApiError(400, f"'limit' must be less than or equal to {maximum}")
    return limit


def v1_start_limit(request: Request, default_limit: int, cap: int) -> tuple[int, int]:
    """v1 `start`/`limit`: non-positive limits fall back to the default and `limit` is silently capped."""
    start = max(0, parse_int(request, "start", 0))
    limit = parse_int(request, "limit", default_limit)
    if limit <= 0:
        limit = default_limit
    return start, min(limit, cap)


def relative_link(path: str, query: dict[str, list[str]], updates: dict[str, str | None]) -> str:
    """`path?query` keeping the caller's parameters (Confluence's next links repeat them), with `updates` applied.

    A value of None removes the parameter.
    """
    pairs: list[tuple[str, str]] = []
    done: set[str] = set()
    for name, values in query.items():
        if name in updates:
            update = updates[name]
            if name not in done and update is not None:
                pairs.append((name, update))
            done.add(name)
            continue
        for value in values:
            pairs.append((name, value))
    for name, update in updates.items():
        if name not in done and update is not None:
            pairs.append((name, update))
    encoded = urlencode(pairs, quote_via=quote, safe=",")
    return f"{path}?{encoded}" if encoded else path


def v2_link_header(next_link: str | None, base: str) -> list[tuple[str, str]]:
    """The `Link` header of v2 list responses: next (site-relative, includes /wiki) and base."""
    if next_link is None:
        return [("Link", f'<{base}>; rel="base"')]
    return [("Link", f'<{next_link}>; rel="next", <{base}>; rel="base"')]


def scan_cursor(last_id: int, reverse: bool = False) -> str:
    """DC scan/trash cursor format, e.g. ``content:false:360456`` (false = forward)."""
    return f"content:{'true' if reverse else 'false'}:{last_id}"


def parse_scan_cursor(token: str | None) -> tuple[bool, int] | None:
    if token is None or token == "":
        return None
    parts = token.split(":")
    if len(parts) != 3 or parts[0] != "content" or parts[1] not in ("true", "false"):
        raise ApiError(400, f"Invalid cursor: {token}")
    try:
        return parts[1] == "true", int(parts[2])
    except ValueError as exc:
        raise ApiError(400, f"Invalid cursor: {token}") from exc
