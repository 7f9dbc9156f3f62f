"""The simulator's CQL: parsing (precedence, quoting, lists, order by), errors shaped like Confluence's, and
evaluation semantics that incremental sync depends on (user timezone, DST, minute resolution, date functions)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from confluence_simulator.cql import (
    And,
    Clause,
    CqlError,
    CqlItem,
    FunctionCall,
    LiteralValue,
    Not,
    Or,
    SortKey,
    parse_cql,
    sort_items,
)

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2024, 5, 15, 12, 30, 45, tzinfo=UTC)  # a Wednesday


def item(
    content_id: int = 1,
    *,
    type: str = "page",
    space_key: str = "DEV",
    title: str = "Title",
    text: str = "",
    labels: tuple[str, ...] = (),
    ancestor_ids: tuple[int, ...] = (),
    parent_id: int | None = None,
    container_id: int | None = None,
    created: datetime = datetime(2024, 1, 1, tzinfo=UTC),
    lastmodified: datetime = datetime(2024, 1, 1, tzinfo=UTC),
) -> CqlItem:
    return CqlItem(
        id=content_id,
        type=type,
        space_key=space_key,
        title=title,
        text=text,
        labels=labels,
        ancestor_ids=ancestor_ids,
        parent_id=parent_id,
        container_id=container_id,
        created=created,
        lastmodified=lastmodified,
    )


def matches(query: str, candidate: CqlItem, tz: ZoneInfo | timezone = UTC, now: datetime = NOW) -> bool:
    return parse_cql(query).matches(candidate, tz, now)


def modified_at(instant: datetime) -> CqlItem:
    return item(lastmodified=instant)


# ---------------------------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------------------------


def clause(field: str, op: str, *values: str) -> Clause:
    return Clause(field, op, tuple(LiteralValue(value) for value in values))  # type: ignore[arg-type]


def test_and_binds_tighter_than_or() -> None:
    query = parse_cql("type = page or type = blogpost and space = DEV")
    assert query.where == Or((clause("type", "=", "page"), And((clause("type", "=", "blogpost"), clause("space", "=", "DEV")))))
    assert query.to_cql() == "type = page or (type = blogpost and space = DEV)"


def test_not_binds_tighter_than_and() -> None:
    query = parse_cql("space = DEV and not label = draft or type = comment")
    assert query.where == Or(
        (And((clause("space", "=", "DEV"), Not(clause("label", "=", "draft")))), clause("type", "=", "comment"))
    )
    assert query.to_cql() == "(space = DEV and (not label = draft)) or type = comment"
    assert parse_cql("space = DEV and not not label = x").where.children[1] == Not(Not(clause("label", "=", "x")))  # type: ignore[union-attr]


def test_parentheses_override_precedence() -> None:
    query = parse_cql("(type = page or type = blogpost) and space = DEV")
    assert query.where == And((Or((clause("type", "=", "page"), clause("type", "=", "blogpost"))), clause("space", "=", "DEV")))
    nested = parse_cql("space = DEV and ((type = page or (label = a and label = b)))")
    assert nested.to_cql() == "space = DEV and (type = page or (label = a and label = b))"


def test_chains_of_the_same_operator_are_flat() -> None:
    query = parse_cql("space = A or space = B or space = C")
    assert isinstance(query.where, Or) and len(query.where.children) == 3


def test_keywords_and_field_names_are_case_insensitive() -> None:
    query = parse_cql('TYPE = page AND Space.Key = DEV Or LastModified >= "2024-01-01" ORDER BY LASTMODIFIED DESC')
    assert query.to_cql() == '(type = page and space = DEV) or lastmodified >= "2024-01-01" order by lastmodified desc'


def test_aliases_resolve_to_canonical_fields() -> None:
    assert parse_cql("space.key = DEV").where == clause("space", "=", "DEV")
    assert parse_cql("content = 5").where == clause("id", "=", "5")


def test_quoting_single_double_and_escapes() -> None:
    assert parse_cql("title = 'It\\'s here'").where == Clause(
        "title", "=", (LiteralValue("It's here", quoted=True),)
    )
    assert parse_cql('title = "say \\"hi\\" / back\\\\slash"').where.values[0].text == 'say "hi" / back\\slash'  # type: ignore[union-attr]
    assert parse_cql("space = '~bob'").where.values[0].text == "~bob"  # type: ignore[union-attr]
    assert parse_cql('title = "and"').where.values[0].text == "and"  # type: ignore[union-attr]


def test_unquoted_words_allow_dashes_dots_and_colons() -> None:
    assert parse_cql("lastmodified > 2024-01-01").where == clause("lastmodified", ">", "2024-01-01")
    assert parse_cql("space = my.space:1").where == clause("space", "=", "my.space:1")


def test_in_and_not_in_lists() -> None:
    query = parse_cql("space in (DEV, 'OPS', \"HR\") and type not in (comment,attachment)")
    assert query.where == And(
        (
            Clause("space", "in", (LiteralValue("DEV"), LiteralValue("OPS", True), LiteralValue("HR", True))),
            clause("type", "not in", "comment", "attachment"),
        )
    )
    assert parse_cql("type = page and label NOT IN (a)").where.children[1].op == "not in"  # type: ignore[union-attr]


def test_functions_are_parsed_with_canonical_names() -> None:
    query = parse_cql('created >= NOW("-4w") and lastmodified < startofday()')
    assert query.where == And(
        (
            Clause("created", ">=", (FunctionCall("now", (LiteralValue("-4w", True),)),)),
            Clause("lastmodified", "<", (FunctionCall("startOfDay", ()),)),
        )
    )
    assert parse_cql("created > now(-1d)").to_cql() == "created > now(-1d)"


def test_order_by_several_keys() -> None:
    query = parse_cql("type = page order by lastmodified desc, title, id ASC, created")
    assert query.order_by == (
        SortKey("lastmodified", True),
        SortKey("title", False),
        SortKey("id", False),
        SortKey("created", False),
    )


@pytest.mark.parametrize(
    "text",
    [
        "type = page or type = blogpost and space = DEV",
        "(type = page or type = blogpost) and not (label in (a, b) or title ~ 'x y')",
        'space = DEV and lastmodified >= "2024/01/02 03:04" order by created desc, id',
        "type = page and text !~ '\"exact phrase\"' and ancestor not in (1, 2)",
    ],
)
def test_canonical_text_parses_back_to_the_same_tree(text: str) -> None:
    query = parse_cql(text)
    again = parse_cql(query.to_cql())
    assert again.to_cql() == query.to_cql()
    assert again.order_by == query.order_by


# ---------------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "detail_part"),
    [
        ("type = page and", "found end of query"),
        ("type = page space = DEV", "expected 'and', 'or', 'order by'"),
        ("(type = page", "expected ')'"),
        ("type = page)", "found ')'"),
        ("type page", "expected an operator"),
        ("type == page", "expected a value"),
        ("space = ~bob", "expected a value"),
        ("space = a+b", "reserved character '+'"),
        ('title = "open', "unterminated string"),
        ("space in DEV", "'(' to start the list"),
        ("space in (DEV,)", "expected a value"),
        ("space in (DEV OPS)", "',' or ')'"),
        ("type = page order lastmodified", "'by' after 'order'"),
        ("type = page order by", "expected a field to order by"),
        ("type = page order by title sideways", "expected 'and', 'or', 'order by'"),
        ("order by title", "expected a field name"),
        ("type not page", "expected 'in' after 'not'"),
        ("and type = page", "expected a field name"),
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_syntax_errors_say_could_not_parse(text: str, detail_part: str) -> None:
    with pytest.raises(CqlError) as raised:
        parse_cql(text)
    assert raised.value.message == f"Could not parse cql : {text}"
    assert str(raised.value) == raised.value.message
    assert detail_part in raised.value.detail
    assert raised.value.detail.startswith("QuerySyntaxException: ")
    assert raised.value.query == text


def test_syntax_error_detail_points_at_the_position() -> None:
    with pytest.raises(CqlError) as raised:
        parse_cql("type = page and and")
    assert "line 1:16" in raised.value.detail


def test_unknown_field_message_matches_confluence() -> None:
    with pytest.raises(CqlError) as raised:
        parse_cql("type = page and Grill = x")
    assert raised.value.message == (
        "com.atlassian.confluence.api.service.exceptions.BadRequestException: No field exists with the name: 'Grill'"
    )


@pytest.mark.parametrize(
    ("text", "message_part"),
    [
        ("text = hello", "Operator '=' is not supported for field 'text'"),
        ("type ~ page", "Operator '~' is not supported for field 'type'"),
        ("lastmodified in ('2024-01-01')", "Operator 'IN' is not supported for field 'lastmodified'"),
        ("label > a", "Operator '>' is not supported for field 'label'"),
        ("space = currentUser()", "Function 'currentUser' is not supported for field 'space'"),
        ("created > recentlyViewed()", "Function 'recentlyViewed' is not supported"),
        ("id = abc", "Invalid content id 'abc'"),
        ("ancestor in (1, x2)", "Invalid content id 'x2'"),
        ('created > now("-4x")', "Invalid increment '-4x'"),
        ('created > now("4")', "Invalid increment '4'"),
        ('created > startOfDay("-1d", "x")', "at most 1 argument"),
        ('title ~ "*"', "must contain a search term"),
        ("type = page order by label", "Field 'label' does not support sorting"),
        ("type = page order by colour", "No field exists with the name: 'colour'"),
    ],
)
def test_semantic_errors_are_bad_requests(text: str, message_part: str) -> None:
    with pytest.raises(CqlError) as raised:
        parse_cql(text)
    assert raised.value.message.startswith("com.atlassian.confluence.api.service.exceptions.BadRequestException: ")
    assert message_part in raised.value.message


@pytest.mark.parametrize(
    "literal",
    [
        "2024-01-01 10:00:00",  # seconds are not accepted
        "2024-01-01T10:00",
        "2024-13-01",
        "2024-02-30",
        "2024-01-01 24:00",
        "2024-01-01 10:60",
        "2024/01-01",  # mixed separators
        "01/02/2024",
        "yesterday",
        "2024-01-01 10",
    ],
)
def test_bad_date_literals_are_rejected(literal: str) -> None:
    with pytest.raises(CqlError) as raised:
        parse_cql(f'lastmodified >= "{literal}"')
    assert f"Date value '{literal}' for field 'lastmodified' is invalid" in raised.value.message
    assert "'yyyy-MM-dd HH:mm'" in raised.value.message


@pytest.mark.parametrize(
    "literal", ["2024-01-01 10:00", "2024/01/01 10:00", "2024-01-01", "2024/01/01", "2024-1-2 3:04"]
)
def test_documented_date_formats_are_accepted(literal: str) -> None:
    parse_cql(f"created > '{literal}'")


@pytest.mark.parametrize(
    "text",
    ["type != page", "not type = page", "label not in (a) and type = page", "(title !~ x or type = page)", "text !~ x"],
)
def test_negative_first_clause_is_rejected_as_documented(text: str) -> None:
    with pytest.raises(CqlError) as raised:
        parse_cql(text)
    assert raised.value.message == f"Could not parse cql : {text}"
    assert "negative expression" in raised.value.detail
    parse_cql(text, allow_leading_negation=True)


def test_negative_clause_after_a_positive_one_is_fine() -> None:
    parse_cql("type = page and type != blogpost and not label = x")


# ---------------------------------------------------------------------------------------------------------------
# Evaluation of each field
# ---------------------------------------------------------------------------------------------------------------


def test_space_and_type() -> None:
    page = item(type="page", space_key="DEV")
    assert matches("space = DEV", page)
    assert matches('space.key = "DEV"', page)
    assert not matches("space = dev", page)  # keys are compared exactly
    assert matches("space in (OPS, DEV)", page)
    assert not matches("space = OPS", page)
    assert matches("type = page and space not in (OPS)", page)
    assert matches("type = PAGE", page)
    assert matches("type in (blogpost, page)", page)
    assert not matches("type = page and type != page", page)


def test_ids_accept_numbers_quoted_numbers_and_cloud_attachment_ids() -> None:
    attachment = item(42, type="attachment", container_id=7, parent_id=7, ancestor_ids=(1, 7))
    assert matches("id = 42", attachment)
    assert matches('id = "42"', attachment)
    assert matches("id = att42", attachment)
    assert matches("content in (1, 42)", attachment)
    assert matches("type = attachment and id not in (1, 2)", attachment)
    assert not matches("id = 4", attachment)
    assert matches("container = 7", attachment)
    assert matches("parent = 7", attachment)
    assert not matches("container = 1", attachment)


def test_ancestor_parent_and_container() -> None:
    child = item(5, ancestor_ids=(1, 2, 3), parent_id=3)
    root = item(1)
    assert matches("ancestor = 2", child)
    assert matches("ancestor in (9, 1)", child)
    assert not matches("ancestor = 5", child)
    assert not matches("ancestor = 1", root)
    assert matches("type = page and ancestor != 1", root)
    assert matches("parent = 3", child)
    assert not matches("parent = 2", child)
    assert matches("type = page and parent != 3", root)  # no parent at all
    assert matches("type = page and container != 3", child)  # pages have no container


def test_labels_compare_case_insensitively_and_negation_includes_unlabelled() -> None:
    labelled = item(labels=("Howto", "infra"))
    bare = item()
    assert matches("label = howto", labelled)
    assert matches("label = HOWTO", labelled)
    assert matches("label in (x, infra)", labelled)
    assert not matches("label = howto", bare)
    assert matches("type = page and label != howto", bare)
    assert not matches("type = page and label not in (infra, x)", labelled)


def test_title_equality_is_exact_and_contains_is_word_based() -> None:
    page = item(title="Release Notes 2024: Platform")
    assert matches('title = "Release Notes 2024: Platform"', page)
    assert not matches('title = "release notes 2024: platform"', page)
    assert matches('title in ("x", "Release Notes 2024: Platform")', page)
    assert matches("title ~ release", page)
    assert matches('title ~ "PLATFORM notes"', page)  # every word, any order
    assert not matches('title ~ "platform draft"', page)
    assert matches('title ~ "rel*"', page)
    assert matches('title ~ "\\"notes 2024\\""', page)  # inner quotes: a phrase
    assert not matches('title ~ "\\"2024 notes\\""', page)
    assert matches("type = page and title !~ draft", page)
    assert not matches("type = page and title !~ platform", page)


def test_text_searches_title_and_body() -> None:
    page = item(title="Runbook", text="Restart the Ingest Service with care.")
    assert matches('text ~ "ingest service"', page)
    assert matches("text ~ runbook", page)
    assert matches('text ~ "RUNBOOK restart"', page)
    assert not matches("text ~ database", page)
    assert matches("type = page and text !~ database", page)


def test_not_and_or_evaluate_like_the_tree_says() -> None:
    blog = item(type="blogpost", space_key="OPS")
    assert matches("type = page or type = blogpost and space = OPS", blog)
    assert not matches("(type = page or type = blogpost) and space = DEV", blog)
    assert matches("space = OPS and not (type = page or label = x)", blog)
    assert matches("space = OPS and type = page or space = OPS and type = blogpost or space = HR", blog)


# ---------------------------------------------------------------------------------------------------------------
# Dates: timezone, DST, minute resolution
# ---------------------------------------------------------------------------------------------------------------


def test_literal_is_read_in_the_users_timezone() -> None:
    # 09:30 UTC in January is 10:30 in Berlin (UTC+1).
    edit = modified_at(datetime(2024, 1, 10, 9, 30, tzinfo=UTC))
    query = 'lastmodified >= "2024-01-10 10:00"'
    assert not matches(query, edit, UTC)
    assert matches(query, edit, BERLIN)


def test_offset_follows_daylight_saving_time() -> None:
    winter = 'lastmodified = "2024-01-10 10:00"'
    summer = 'lastmodified = "2024-07-10 10:00"'
    assert matches(winter, modified_at(datetime(2024, 1, 10, 9, 0, tzinfo=UTC)), BERLIN)  # UTC+1
    assert matches(summer, modified_at(datetime(2024, 7, 10, 8, 0, tzinfo=UTC)), BERLIN)  # UTC+2
    assert matches(summer, modified_at(datetime(2024, 7, 10, 14, 0, tzinfo=UTC)), NEW_YORK)  # UTC-4
    assert matches(summer, modified_at(datetime(2024, 7, 10, 10, 0, tzinfo=UTC)), UTC)


def test_time_in_the_spring_gap_moves_forward() -> None:
    # 2024-03-31 02:30 does not exist in Berlin (clocks jump 02:00 -> 03:00): it means 03:30 CEST = 01:30 UTC.
    assert matches('lastmodified = "2024-03-31 02:30"', modified_at(datetime(2024, 3, 31, 1, 30, tzinfo=UTC)), BERLIN)


def test_ambiguous_autumn_time_takes_the_earlier_offset() -> None:
    # 2024-10-27 02:30 happens twice in Berlin; the first (CEST, UTC+2) is 00:30 UTC.
    query = 'lastmodified = "2024-10-27 02:30"'
    assert matches(query, modified_at(datetime(2024, 10, 27, 0, 30, tzinfo=UTC)), BERLIN)
    assert not matches(query, modified_at(datetime(2024, 10, 27, 1, 30, tzinfo=UTC)), BERLIN)


def test_date_only_literal_means_local_midnight() -> None:
    just_after = modified_at(datetime(2024, 2, 29, 23, 0, tzinfo=UTC))  # 00:00 on Mar 1 in Berlin
    assert matches('lastmodified >= "2024/03/01"', just_after, BERLIN)
    assert not matches('lastmodified >= "2024/03/01"', just_after, UTC)
    assert matches('lastmodified = "2024-03-01"', just_after, BERLIN)


@pytest.mark.parametrize(
    ("operator", "at_start", "at_end_of_minute", "next_minute", "previous_minute_end"),
    [
        (">=", True, True, True, False),
        (">", False, False, True, False),
        ("<", False, False, False, True),
        ("<=", True, True, False, True),
        ("=", True, True, False, False),
        ("!=", False, False, True, True),
    ],
)
def test_minute_resolution_boundaries(
    operator: str, at_start: bool, at_end_of_minute: bool, next_minute: bool, previous_minute_end: bool
) -> None:
    query = parse_cql(f'type = page and lastmodified {operator} "2024-05-01 10:05"')
    minute = datetime(2024, 5, 1, 10, 5, tzinfo=UTC)
    predicate = query.compile(UTC, NOW)
    assert predicate(modified_at(minute)) is at_start
    assert predicate(modified_at(minute + timedelta(seconds=59, microseconds=999_999))) is at_end_of_minute
    assert predicate(modified_at(minute + timedelta(minutes=1))) is next_minute
    assert predicate(modified_at(minute - timedelta(microseconds=1))) is previous_minute_end


def test_created_is_compared_separately_from_lastmodified() -> None:
    edited = item(created=datetime(2023, 1, 1, tzinfo=UTC), lastmodified=datetime(2024, 6, 1, tzinfo=UTC))
    assert matches('created < "2024-01-01" and lastmodified > "2024-01-01"', edited)
    assert not matches('created > "2024-01-01"', edited)


def test_item_timestamps_in_other_zones_compare_as_instants() -> None:
    same_instant = modified_at(datetime(2024, 1, 10, 10, 30, tzinfo=BERLIN))  # 09:30 UTC
    assert matches('lastmodified = "2024-01-10 09:30"', same_instant, UTC)


# ---------------------------------------------------------------------------------------------------------------
# Date functions
# ---------------------------------------------------------------------------------------------------------------


def threshold_of(function: str, tz: ZoneInfo | timezone, now: datetime = NOW) -> datetime:
    """The minute a function resolves to, found by probing `lastmodified = f()` minute by minute around it."""
    predicate = parse_cql(f"lastmodified >= {function}").compile(tz, now)
    below = parse_cql(f"lastmodified < {function}").compile(tz, now)
    probe = datetime(2000, 1, 1, tzinfo=UTC)
    low, high = probe, datetime(2100, 1, 1, tzinfo=UTC)
    while high - low > timedelta(minutes=1):  # binary search on the first matching minute
        middle = low + (high - low) / 2
        middle = middle.replace(second=0, microsecond=0)
        if predicate(modified_at(middle)):
            high = middle
        else:
            low = middle
    assert below(modified_at(high - timedelta(minutes=1))) and not below(modified_at(high))
    return high


def test_now_truncates_to_the_minute_and_shifts() -> None:
    assert threshold_of("now()", UTC) == datetime(2024, 5, 15, 12, 30, tzinfo=UTC)
    assert threshold_of('now("-4w")', UTC) == datetime(2024, 4, 17, 12, 30, tzinfo=UTC)
    assert threshold_of('now("-90m")', UTC) == datetime(2024, 5, 15, 11, 0, tzinfo=UTC)
    assert threshold_of('now("+2h")', UTC) == datetime(2024, 5, 15, 14, 30, tzinfo=UTC)
    assert threshold_of('now("-1M")', UTC) == datetime(2024, 4, 15, 12, 30, tzinfo=UTC)
    assert threshold_of("now(-1y)", UTC) == datetime(2023, 5, 15, 12, 30, tzinfo=UTC)


def test_day_units_are_calendar_days_across_dst_but_hours_are_elapsed() -> None:
    after_switch = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)  # 14:00 CEST
    # One calendar day earlier is 14:00 CET on Mar 30 = 13:00 UTC (23 elapsed hours).
    assert threshold_of('now("-1d")', BERLIN, after_switch) == datetime(2024, 3, 30, 13, 0, tzinfo=UTC)
    assert threshold_of('now("-24h")', BERLIN, after_switch) == datetime(2024, 3, 30, 12, 0, tzinfo=UTC)


def test_start_and_end_of_day_in_the_users_timezone() -> None:
    assert threshold_of("startOfDay()", BERLIN) == datetime(2024, 5, 14, 22, 0, tzinfo=UTC)
    assert threshold_of("startOfDay()", UTC) == datetime(2024, 5, 15, 0, 0, tzinfo=UTC)
    assert threshold_of('startOfDay("-1d")', BERLIN) == datetime(2024, 5, 13, 22, 0, tzinfo=UTC)
    assert threshold_of("startOfDay(-1)", BERLIN) == datetime(2024, 5, 13, 22, 0, tzinfo=UTC)
    assert threshold_of('startOfDay("+9h")', UTC) == datetime(2024, 5, 15, 9, 0, tzinfo=UTC)
    assert threshold_of("endOfDay()", UTC) == datetime(2024, 5, 15, 23, 59, tzinfo=UTC)
    assert threshold_of("endOfDay()", NEW_YORK) == datetime(2024, 5, 16, 3, 59, tzinfo=UTC)


def test_end_of_day_includes_the_last_minute_with_less_or_equal() -> None:
    predicate = parse_cql("lastmodified <= endOfDay()").compile(UTC, NOW)
    assert predicate(modified_at(datetime(2024, 5, 15, 23, 59, 59, tzinfo=UTC)))
    assert not predicate(modified_at(datetime(2024, 5, 16, 0, 0, tzinfo=UTC)))


def test_week_month_and_year_boundaries() -> None:
    assert threshold_of("startOfWeek()", UTC) == datetime(2024, 5, 13, tzinfo=UTC)  # Monday
    assert threshold_of("endOfWeek()", UTC) == datetime(2024, 5, 19, 23, 59, tzinfo=UTC)
    assert threshold_of('startOfWeek("-1w")', UTC) == datetime(2024, 5, 6, tzinfo=UTC)
    assert threshold_of("startOfMonth()", UTC) == datetime(2024, 5, 1, tzinfo=UTC)
    assert threshold_of('startOfMonth("+14d")', UTC) == datetime(2024, 5, 15, tzinfo=UTC)
    assert threshold_of("endOfMonth()", UTC) == datetime(2024, 5, 31, 23, 59, tzinfo=UTC)
    assert threshold_of("startOfYear()", BERLIN) == datetime(2023, 12, 31, 23, 0, tzinfo=UTC)
    assert threshold_of("endOfYear(-1)", UTC) == datetime(2023, 12, 31, 23, 59, tzinfo=UTC)


def test_end_of_previous_month_uses_that_months_length() -> None:
    march_31 = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)
    assert threshold_of('endOfMonth("-1M")', UTC, march_31) == datetime(2024, 2, 29, 23, 59, tzinfo=UTC)
    assert threshold_of('now("-1M")', UTC, march_31) == datetime(2024, 2, 29, 12, 0, tzinfo=UTC)


def test_week_start_can_follow_the_locale() -> None:
    import calendar

    predicate = parse_cql("lastmodified >= startOfWeek()").compile(UTC, NOW, week_start=calendar.SUNDAY)
    assert predicate(modified_at(datetime(2024, 5, 12, 0, 0, tzinfo=UTC)))
    assert not predicate(modified_at(datetime(2024, 5, 11, 23, 59, tzinfo=UTC)))


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError):
        parse_cql("type = page").compile(UTC, datetime(2024, 1, 1))


# ---------------------------------------------------------------------------------------------------------------
# Sorting, filtering, restrictions, speed
# ---------------------------------------------------------------------------------------------------------------


def test_order_by_mixed_directions_with_id_tie_break() -> None:
    day = datetime(2024, 1, 1, tzinfo=UTC)
    items = [
        item(3, title="beta", lastmodified=day),
        item(1, title="Alpha", lastmodified=day + timedelta(hours=1)),
        item(2, title="alpha", lastmodified=day),
        item(4, title="Beta", lastmodified=day + timedelta(hours=1)),
    ]
    by_title_then_newest = parse_cql("type = page order by title asc, lastmodified desc").sort(items)
    assert [i.id for i in by_title_then_newest] == [1, 2, 4, 3]
    by_modified = sort_items(items, [SortKey("lastmodified", descending=True)])
    assert [i.id for i in by_modified] == [1, 4, 2, 3]
    assert [i.id for i in parse_cql("type = page order by id desc").sort(items)] == [4, 3, 2, 1]
    assert [i.id for i in parse_cql("type = page").sort(items)] == [1, 2, 3, 4]


def test_filter_returns_matches_in_query_order() -> None:
    day = datetime(2024, 1, 1, tzinfo=UTC)
    items = [item(n, space_key="DEV" if n % 2 else "OPS", created=day + timedelta(days=10 - n)) for n in range(1, 9)]
    result = parse_cql("space = DEV order by created asc").filter(items, UTC, NOW)
    assert [i.id for i in result] == [7, 5, 3, 1]


def test_restricted_values_tell_the_server_where_to_look() -> None:
    query = parse_cql("space in (A, B) and type = Page and (space = B or label = x)")
    assert query.restricted_values("space") == {"A", "B"}  # the `or` branch with a label does not narrow it
    assert parse_cql("space in (A, B) and space = B").restricted_values("space") == {"B"}
    assert query.restricted_values("type") == {"page"}
    assert parse_cql("space = A or space = C").restricted_values("space") == {"A", "C"}
    assert parse_cql("space = A or type = page").restricted_values("space") is None
    assert parse_cql("type = page and not space = A").restricted_values("space") is None
    assert parse_cql("type = page and space != A").restricted_values("space") is None
    assert parse_cql("id in (1, att2) or id = 3").restricted_values("id") == {1, 2, 3}


def test_hundred_thousand_items_filter_well_under_a_second() -> None:
    day = datetime(2024, 1, 1, tzinfo=UTC)
    spaces = ("DEV", "OPS", "HR", "SALES")
    types = ("page", "blogpost", "comment", "attachment")
    items = [
        item(
            n,
            type=types[n % 4],
            space_key=spaces[(n // 4) % 4],
            labels=("howto",) if n % 5 == 0 else (),
            ancestor_ids=(1, n // 100),
            lastmodified=day + timedelta(minutes=n),
        )
        for n in range(100_000)
    ]
    query = parse_cql('space in (DEV, OPS) and type = page and lastmodified >= "2024-02-01 00:00" and label != x')
    started = time.perf_counter()
    result = query.filter(items, BERLIN, NOW)
    elapsed = time.perf_counter() - started
    expected = [
        i for i in items if i.space_key in ("DEV", "OPS") and i.type == "page" and i.lastmodified >= datetime(2024, 1, 31, 23, tzinfo=UTC)
    ]
    assert [i.id for i in result] == [i.id for i in expected]
    assert elapsed < 1.0, f"filtering 100k items took {elapsed:.2f}s"
