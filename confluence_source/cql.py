"""Building CQL: quoting, space and type clauses, and the change window of an incremental sync.

The window is the subtle part. CQL date literals have minute resolution and are read as wall-clock times in the
*searching user's* time zone, while the watermarks are UTC instants. So the lower bound is `watermark - overlap`,
converted to the user's zone and floored to the minute; the upper bound is frozen once per run (so cursor paging
sees one consistent query) and lies one minute past the run's start. Around a DST fall-back hour the same wall time
happens twice; both bounds are widened by an hour there so neither reading of the literal can drop a change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Iterable

CQL_TIME_FORMAT = "%Y-%m-%d %H:%M"
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)
_QUOTED = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'')


def quote(value: str) -> str:
    """A CQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def space_clause(keys: Iterable[str]) -> str:
    keys = list(keys)
    if len(keys) == 1:
        return f"space = {quote(keys[0])}"
    return "space in (" + ", ".join(quote(key) for key in keys) + ")"


def type_clause(*content_types: str) -> str:
    """`type = page`, or `type in (page, blogpost)` for several types (one query instead of one per type)."""
    if len(content_types) == 1:
        return f"type = {content_types[0]}"
    return "type in (" + ", ".join(content_types) + ")"


def id_clause(content_ids: Iterable[str], field: str = "id") -> str:
    """`id in (...)` (or another content-id field such as `container`); Cloud attachment ids (`att123`) are written
    as the number they wrap, as CQL expects."""
    numbers = [value[3:] if value.lower().startswith("att") else value for value in content_ids]
    return f"{field} in (" + ", ".join(numbers) + ")"


def and_all(*clauses: str | None) -> str:
    """Join clauses with `and`, parenthesising each so a rule's `or` cannot escape its scope."""
    parts = [clause for clause in clauses if clause]
    if len(parts) == 1:
        return parts[0]
    return " and ".join(f"({part})" if _needs_parentheses(part) else part for part in parts)


def _needs_parentheses(clause: str) -> bool:
    return bool(re.search(r"\bor\b", _strip_quoted(clause), re.IGNORECASE)) or clause.lstrip().lower().startswith("not")


def _strip_quoted(text: str) -> str:
    """`text` with the inside of every quoted literal blanked out, same length (so positions still line up)."""
    return _QUOTED.sub(lambda found: "'" + " " * (len(found.group(0)) - 2) + "'", text)


def without_order_by(rule: str) -> str:
    """The filter part of a rule (a trailing `order by ...` is dropped: a sync reads everything anyway)."""
    masked = _strip_quoted(rule)
    match = _ORDER_BY.search(masked)
    if match is None:
        return rule.strip()
    return rule[: match.start()].strip()


@dataclass(frozen=True)
class ChangeWindow:
    """`lastmodified >= start and lastmodified < end`, as UTC instants (start already includes the overlap)."""

    start: datetime
    end: datetime

    def clause(self, zone: tzinfo) -> str:
        return (
            f'lastmodified >= "{format_lower_bound(self.start, zone)}" '
            f'and lastmodified < "{format_upper_bound(self.end, zone)}"'
        )


def change_window(watermark: datetime, overlap: timedelta, window_end: datetime) -> ChangeWindow:
    return ChangeWindow(start=watermark - overlap, end=window_end)


def run_window_end(started_at: datetime) -> datetime:
    """The frozen upper bound of a run: the minute after the run started (everything before the start is in)."""
    return floor_minute(started_at) + timedelta(minutes=1)


def floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def format_lower_bound(moment: datetime, zone: tzinfo) -> str:
    local = floor_minute(_as_utc(moment).astimezone(zone))
    if _is_ambiguous(local, zone):
        local = floor_minute((_as_utc(moment) - timedelta(hours=1)).astimezone(zone))
    return local.strftime(CQL_TIME_FORMAT)


def format_upper_bound(moment: datetime, zone: tzinfo) -> str:
    utc = _as_utc(moment)
    local = utc.astimezone(zone)
    if local.second or local.microsecond:
        local = floor_minute(local) + timedelta(minutes=1)
    if _is_ambiguous(local, zone):
        local = (utc + timedelta(hours=1)).astimezone(zone)
    return local.strftime(CQL_TIME_FORMAT)


def _is_ambiguous(local: datetime, zone: tzinfo) -> bool:
    """True when this wall time occurs twice in `zone` (DST fall-back)."""
    naive = local.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0).utcoffset()
    second = naive.replace(tzinfo=zone, fold=1).utcoffset()
    return first != second


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def parse_instant(text: str) -> datetime:
    """An ISO-8601 timestamp as an aware UTC datetime (naive input is taken as UTC)."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return _as_utc(value)
