"""CQL building: literals in the user's time zone, minute flooring, frozen upper bounds, DST, quoting."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from confluence_simulator.cql import parse_cql
from confluence_source.cql import (
    ChangeWindow,
    and_all,
    change_window,
    format_lower_bound,
    format_upper_bound,
    parse_instant,
    quote,
    run_window_end,
    space_clause,
    without_order_by,
)

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


def test_lower_bound_is_floored_in_the_users_zone() -> None:
    moment = datetime(2024, 5, 1, 8, 5, 59, 999000, tzinfo=UTC)
    assert format_lower_bound(moment, UTC) == "2024-05-01 08:05"
    assert format_lower_bound(moment, BERLIN) == "2024-05-01 10:05"
    assert format_lower_bound(moment, ZoneInfo("America/Los_Angeles")) == "2024-05-01 01:05"


def test_upper_bound_is_rounded_up_to_the_next_minute() -> None:
    assert format_upper_bound(datetime(2024, 5, 1, 8, 5, tzinfo=UTC), UTC) == "2024-05-01 08:05"
    assert format_upper_bound(datetime(2024, 5, 1, 8, 5, 1, tzinfo=UTC), UTC) == "2024-05-01 08:06"


def test_window_includes_overlap_and_freezes_the_end() -> None:
    started = datetime(2024, 5, 1, 8, 5, 30, tzinfo=UTC)
    end = run_window_end(started)
    assert end == datetime(2024, 5, 1, 8, 6, tzinfo=UTC)
    window = change_window(parse_instant("2024-05-01T07:00:10Z"), timedelta(minutes=10), end)
    assert window == ChangeWindow(datetime(2024, 5, 1, 6, 50, 10, tzinfo=UTC), end)
    assert window.clause(BERLIN) == 'lastmodified >= "2024-05-01 08:50" and lastmodified < "2024-05-01 10:06"'


def test_dst_fall_back_never_narrows_the_window() -> None:
    # In Berlin, 2024-10-27 02:00-02:59 happens twice: 00:xx UTC (CEST) and 01:xx UTC (CET). Confluence reads an
    # ambiguous literal as one of the two, so each bound must be safe under both readings.
    def readings(literal: str) -> list[datetime]:
        naive = datetime.strptime(literal, "%Y-%m-%d %H:%M")
        return [naive.replace(tzinfo=BERLIN, fold=fold).astimezone(UTC) for fold in (0, 1)]

    for moment in (datetime(2024, 10, 27, 0, 30, tzinfo=UTC), datetime(2024, 10, 27, 1, 30, tzinfo=UTC)):
        assert all(reading <= moment for reading in readings(format_lower_bound(moment, BERLIN)))
        assert all(reading >= moment for reading in readings(format_upper_bound(moment, BERLIN)))
    assert format_upper_bound(datetime(2024, 10, 27, 1, 30, tzinfo=UTC), BERLIN) == "2024-10-27 03:30"
    assert format_lower_bound(datetime(2024, 10, 27, 0, 30, tzinfo=UTC), BERLIN) == "2024-10-27 01:30"


def test_literals_parse_in_the_simulators_cql() -> None:
    window = ChangeWindow(datetime(2024, 5, 1, 6, 50, tzinfo=UTC), datetime(2024, 5, 1, 8, 6, tzinfo=UTC))
    query = and_all(space_clause(["ENG", "O\"PS"]), "type = page", window.clause(BERLIN))
    parse_cql(query)  # raises CqlError if Confluence would reject it


def test_quote_escapes() -> None:
    assert quote('a "b" \\ c') == '"a \\"b\\" \\\\ c"'
    assert space_clause(["ENG"]) == 'space = "ENG"'
    assert space_clause(["ENG", "~bob"]) == 'space in ("ENG", "~bob")'


def test_rules_with_or_are_parenthesised() -> None:
    query = and_all("space = A or space = B", "type = page")
    assert query == "(space = A or space = B) and type = page"
    assert and_all('title ~ "this or that"', "type = page") == 'title ~ "this or that" and type = page'


@pytest.mark.parametrize(
    "rule, expected",
    [
        ("space = ENG order by created desc", "space = ENG"),
        ("space = ENG ORDER BY title", "space = ENG"),
        ('title ~ "order by" and space = ENG', 'title ~ "order by" and space = ENG'),
        ("space = ENG", "space = ENG"),
        ('space = "DOCS" and type = page order by created desc', 'space = "DOCS" and type = page'),
    ],
)
def test_order_by_is_dropped(rule: str, expected: str) -> None:
    assert without_order_by(rule) == expected
