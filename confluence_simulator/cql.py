"""The subset of Confluence Query Language (CQL) that connectors send, parsed and evaluated like Confluence does.

Why a real parser: connectors build CQL from user settings (`spaces`, `advanced_rules`) and from sync watermarks,
and the bugs worth catching are exactly the ones a lenient matcher would hide: wrong precedence of `and`/`or`,
unquoted values with reserved characters, a watermark formatted in UTC while Confluence reads it in the user's
timezone, seconds in a date literal. So the text is tokenized, parsed by recursive descent into an AST, checked
against the fields and operators Confluence accepts, and compiled into plain Python closures once per request so
that filtering 100k items stays cheap.

Semantics that matter for sync correctness:

* Date literals (`"yyyy-MM-dd HH:mm"`, `"yyyy/MM/dd HH:mm"`, `"yyyy-MM-dd"`, `"yyyy/MM/dd"`) are wall-clock times in
  the searching user's timezone. A time in a DST gap moves forward by the gap; an ambiguous time takes the earlier
  (summer) offset, as Java's zone rules do.
* Resolution is one minute: an item's timestamp is compared as if truncated to its minute, so
  `lastmodified >= "2024-05-01 10:05"` includes an edit at 10:05:59 and `lastmodified > "2024-05-01 10:05"` does not.
* Date functions (`now("-4w")`, `startOfDay("-1d")`, `endOfMonth()`, ...) are computed in the user's timezone from the
  request time, then truncated to the minute.
* A negative clause (`!=`, `!~`, `not in`, `not ...`) may not be the first clause of a query, as Atlassian documents.

Error messages imitate Confluence's (`Could not parse cql : <query>`, `No field exists with the name: ...`) so a
client sees the same 400 body it would get from a real site; `CqlError.detail` says precisely what was wrong.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Callable, Collection, Iterable, Literal, Sequence

__all__ = [
    "And",
    "Clause",
    "CqlError",
    "CqlItem",
    "CqlQuery",
    "FunctionCall",
    "LiteralValue",
    "Node",
    "Not",
    "Or",
    "SortKey",
    "parse_cql",
    "sort_items",
]

_BAD_REQUEST = "com.atlassian.confluence.api.service.exceptions.BadRequestException"
_UTC = timezone.utc
_ONE_MINUTE = timedelta(minutes=1)


class CqlError(ValueError):
    """A query Confluence would answer with HTTP 400.

    `message` is what Confluence puts into the error body's "message"; `detail` names the exact problem and where
    it is (useful in logs and test failures); `query` is the text as received.
    """

    def __init__(self, message: str, *, query: str, detail: str) -> None:
        super().__init__(message)
        self.message = message
        self.query = query
        self.detail = detail

    def __str__(self) -> str:
        return self.message


# ---------------------------------------------------------------------------------------------------------------
# Items the evaluator looks at
# ---------------------------------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class CqlItem:
    """The indexed facts of one searchable item, as Confluence's search index holds them.

    The server builds one per content item (and may keep it while the item's version is unchanged). `labels` are
    compared in lower case, as Confluence stores labels; `text` is the readable body text (not XHTML);
    `ancestor_ids` are the ancestor pages (for comments and attachments: the container and its ancestors);
    `container_id` is the page or blog post holding a comment or attachment (the space's id is not used here).
    `created` and `lastmodified` are timezone-aware (UTC in the simulator's model).
    """

    id: int
    type: str
    space_key: str
    title: str
    created: datetime
    lastmodified: datetime
    text: str = ""
    labels: Collection[str] = ()
    ancestor_ids: Collection[int] = ()
    parent_id: int | None = None
    container_id: int | None = None
    _folded_title: str | None = field(default=None, init=False, repr=False)
    _folded_all: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.labels = frozenset(label.lower() for label in self.labels)
        if not isinstance(self.ancestor_ids, (frozenset, set)):
            self.ancestor_ids = frozenset(self.ancestor_ids)

    def folded_title(self) -> str:
        """Case-folded title, computed once per item (text search over many queries reuses it)."""
        if self._folded_title is None:
            self._folded_title = self.title.casefold()
        return self._folded_title

    def folded_title_and_text(self) -> str:
        """Case-folded title plus body text, the haystack of `text ~`, computed once per item."""
        if self._folded_all is None:
            self._folded_all = f"{self.title}\n{self.text}".casefold()
        return self._folded_all


# ---------------------------------------------------------------------------------------------------------------
# AST
# ---------------------------------------------------------------------------------------------------------------

Operator = Literal["=", "!=", "~", "!~", ">", ">=", "<", "<=", "in", "not in"]
NEGATIVE_OPERATORS: frozenset[str] = frozenset({"!=", "!~", "not in"})


@dataclass(frozen=True, slots=True)
class LiteralValue:
    """A value as written: `quoted` tells `"123"` from `123` (both mean the same to CQL, kept for round-tripping)."""

    text: str
    quoted: bool = False

    def to_cql(self) -> str:
        if not self.quoted and _WORD_RE.fullmatch(self.text) and self.text.lower() not in _KEYWORDS:
            return self.text
        escaped = self.text.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A function in value position, e.g. `now("-4w")`; `name` is in canonical spelling."""

    name: str
    args: tuple[LiteralValue, ...] = ()

    def to_cql(self) -> str:
        return f"{self.name}({', '.join(arg.to_cql() for arg in self.args)})"


Value = LiteralValue | FunctionCall


@dataclass(frozen=True, slots=True)
class Clause:
    """`field op value` or `field [not] in (values)`; `field` is canonical (aliases such as `space.key` resolved)."""

    field: str
    op: Operator
    values: tuple[Value, ...]

    def to_cql(self) -> str:
        if self.op in ("in", "not in"):
            return f"{self.field} {self.op} ({', '.join(v.to_cql() for v in self.values)})"
        return f"{self.field} {self.op} {self.values[0].to_cql()}"


@dataclass(frozen=True, slots=True)
class Not:
    child: Node

    def to_cql(self) -> str:
        return f"not {_wrap(self.child)}"


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]

    def to_cql(self) -> str:
        return " and ".join(_wrap(child) for child in self.children)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]

    def to_cql(self) -> str:
        return " or ".join(_wrap(child) for child in self.children)


Node = Clause | Not | And | Or


def _wrap(node: Node) -> str:
    """Render a sub-expression, parenthesised whenever it is compound, so the canonical text shows the tree."""
    return node.to_cql() if isinstance(node, Clause) else f"({node.to_cql()})"


SortField = Literal["lastmodified", "created", "title", "id"]


@dataclass(frozen=True, slots=True)
class SortKey:
    field: SortField
    descending: bool = False


# ---------------------------------------------------------------------------------------------------------------
# Fields: names, aliases, kinds and the operators each accepts (Atlassian's CQL field reference)
# ---------------------------------------------------------------------------------------------------------------

FieldKind = Literal["space", "type", "content_id", "label", "title", "text", "date"]

_FIELD_ALIASES: dict[str, str] = {
    "space": "space",
    "space.key": "space",
    "type": "type",
    "id": "id",
    "content": "id",
    "label": "label",
    "ancestor": "ancestor",
    "parent": "parent",
    "container": "container",
    "title": "title",
    "text": "text",
    "lastmodified": "lastmodified",
    "created": "created",
}
_FIELD_KIND: dict[str, FieldKind] = {
    "space": "space",
    "type": "type",
    "id": "content_id",
    "ancestor": "content_id",
    "parent": "content_id",
    "container": "content_id",
    "label": "label",
    "title": "title",
    "text": "text",
    "lastmodified": "date",
    "created": "date",
}
_EQUALITY_OPS: frozenset[str] = frozenset({"=", "!=", "in", "not in"})
_OPERATORS_BY_KIND: dict[FieldKind, frozenset[str]] = {
    "space": _EQUALITY_OPS,
    "type": _EQUALITY_OPS,
    "content_id": _EQUALITY_OPS,
    "label": _EQUALITY_OPS,
    "title": _EQUALITY_OPS | {"~", "!~"},
    "text": frozenset({"~", "!~"}),
    "date": frozenset({"=", "!=", ">", ">=", "<", "<="}),
}
_SORT_FIELDS: dict[str, SortField] = {
    "lastmodified": "lastmodified",
    "created": "created",
    "title": "title",
    "id": "id",
    "content": "id",
}
# Date functions, canonical spelling by lower-case name; value = the calendar period they snap to (None for now()).
_DATE_FUNCTIONS: dict[str, tuple[str, str | None, bool]] = {
    "now": ("now", None, False),
    "startofday": ("startOfDay", "d", False),
    "endofday": ("endOfDay", "d", True),
    "startofweek": ("startOfWeek", "w", False),
    "endofweek": ("endOfWeek", "w", True),
    "startofmonth": ("startOfMonth", "M", False),
    "endofmonth": ("endOfMonth", "M", True),
    "startofyear": ("startOfYear", "y", False),
    "endofyear": ("endOfYear", "y", True),
}

# ---------------------------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------------------------

# Unquoted words: letters, digits and the few punctuation marks that CQL does not reserve and that real values use
# (`space.key`, `2024-05-01`, account ids with `:`). `~`, `+`, `/`, `*` and friends must be quoted, as in Confluence.
_WORD_RE = re.compile(r"[\w.:\-]+")
_KEYWORDS: frozenset[str] = frozenset({"and", "or", "not", "in", "order", "by", "asc", "desc"})
_OPERATOR_RE = re.compile(r"!=|!~|>=|<=|=|~|>|<")

TokenKind = Literal["word", "string", "op", "(", ")", ",", "end"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: TokenKind
    text: str
    pos: int

    def keyword(self) -> str | None:
        """The lower-case keyword this token spells, if it is an unquoted keyword."""
        if self.kind == "word" and self.text.lower() in _KEYWORDS:
            return self.text.lower()
        return None


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    length = len(query)
    while pos < length:
        char = query[pos]
        if char.isspace():
            pos += 1
            continue
        if char in "(),":
            tokens.append(_Token(char, char, pos))  # type: ignore[arg-type]
            pos += 1
            continue
        if char in "\"'":
            text, pos_after = _read_quoted(query, pos)
            tokens.append(_Token("string", text, pos))
            pos = pos_after
            continue
        operator = _OPERATOR_RE.match(query, pos)
        if operator:
            tokens.append(_Token("op", operator.group(), pos))
            pos = operator.end()
            continue
        word = _WORD_RE.match(query, pos)
        if word:
            tokens.append(_Token("word", word.group(), pos))
            pos = word.end()
            continue
        raise _syntax_error(query, pos, f"reserved character '{char}' must be inside quotes")
    tokens.append(_Token("end", "", length))
    return tokens


def _read_quoted(query: str, start: int) -> tuple[str, int]:
    """Read a quoted string starting at `start`; backslash escapes the next character. Returns (text, end pos)."""
    quote = query[start]
    pos = start + 1
    chunks: list[str] = []
    while pos < len(query):
        char = query[pos]
        if char == "\\" and pos + 1 < len(query):
            chunks.append(query[pos + 1])
            pos += 2
            continue
        if char == quote:
            return "".join(chunks), pos + 1
        chunks.append(char)
        pos += 1
    raise _syntax_error(query, start, f"unterminated string starting with {quote}")


def _syntax_error(query: str, pos: int, problem: str) -> CqlError:
    return CqlError(
        f"Could not parse cql : {query}",
        query=query,
        detail=f"QuerySyntaxException: line 1:{pos} {problem}",
    )


def _bad_request(query: str, message: str) -> CqlError:
    return CqlError(f"{_BAD_REQUEST}: {message}", query=query, detail=message)


# ---------------------------------------------------------------------------------------------------------------
# Parser (recursive descent; precedence: not > and > or)
# ---------------------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokenize(query)
        self.index = 0

    # -- token helpers --------------------------------------------------------------------------------------------
    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def expect(self, kind: TokenKind, what: str) -> _Token:
        if self.current.kind != kind:
            raise self.error(f"expected {what}")
        return self.advance()

    def error(self, problem: str) -> CqlError:
        token = self.current
        found = "end of query" if token.kind == "end" else f"'{token.text}'"
        return _syntax_error(self.query, token.pos, f"{problem} but found {found}")

    # -- grammar -------------------------------------------------------------------------------------------------
    def parse(self) -> tuple[Node, tuple[SortKey, ...]]:
        if self.current.kind == "end":
            raise self.error("expected a clause")
        where = self.parse_or()
        order_by: tuple[SortKey, ...] = ()
        if self.current.keyword() == "order":
            order_by = self.parse_order_by()
        if self.current.kind != "end":
            raise self.error("expected 'and', 'or', 'order by' or the end of the query")
        return where, order_by

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.current.keyword() == "or":
            self.advance()
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Node:
        children = [self.parse_not()]
        while self.current.keyword() == "and":
            self.advance()
            children.append(self.parse_not())
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_not(self) -> Node:
        if self.current.keyword() == "not":
            self.advance()
            return Not(self.parse_not())
        return self.parse_primary()

    def parse_primary(self) -> Node:
        token = self.current
        if token.kind == "(":
            self.advance()
            node = self.parse_or()
            self.expect(")", "')'")
            return node
        if token.kind == "word" and token.keyword() is None:
            return self.parse_clause()
        raise self.error("expected a field name or '('")

    def parse_clause(self) -> Clause:
        field_token = self.advance()
        field_name = _FIELD_ALIASES.get(field_token.text.lower())
        if field_name is None:
            raise _bad_request(self.query, f"No field exists with the name: '{field_token.text}'")
        operator = self.parse_operator()
        kind = _FIELD_KIND[field_name]
        if operator not in _OPERATORS_BY_KIND[kind]:
            shown = operator.upper() if operator in ("in", "not in") else operator
            raise _bad_request(self.query, f"Operator '{shown}' is not supported for field '{field_token.text}'")
        if operator in ("in", "not in"):
            values = self.parse_value_list()
        else:
            values = (self.parse_value(),)
        clause = Clause(field_name, operator, values)
        _validate_clause(self.query, clause, field_token.text)
        return clause

    def parse_operator(self) -> Operator:
        token = self.current
        if token.kind == "op":
            self.advance()
            return token.text  # type: ignore[return-value]
        keyword = token.keyword()
        if keyword == "in":
            self.advance()
            return "in"
        if keyword == "not":
            self.advance()
            if self.current.keyword() != "in":
                raise self.error("expected 'in' after 'not'")
            self.advance()
            return "not in"
        raise self.error("expected an operator (=, !=, ~, !~, >, >=, <, <=, in, not in)")

    def parse_value_list(self) -> tuple[Value, ...]:
        self.expect("(", "'(' to start the list of values")
        values = [self.parse_value()]
        while self.current.kind == ",":
            self.advance()
            values.append(self.parse_value())
        self.expect(")", "',' or ')' in the list of values")
        return tuple(values)

    def parse_value(self) -> Value:
        token = self.current
        if token.kind == "string":
            self.advance()
            return LiteralValue(token.text, quoted=True)
        if token.kind == "word" and token.keyword() is None:
            self.advance()
            if self.current.kind == "(":
                return self.parse_function_args(token)
            return LiteralValue(token.text)
        raise self.error("expected a value")

    def parse_function_args(self, name_token: _Token) -> FunctionCall:
        self.expect("(", "'('")
        args: list[LiteralValue] = []
        if self.current.kind != ")":
            while True:
                token = self.current
                if token.kind not in ("string", "word"):
                    raise self.error("expected a function argument")
                self.advance()
                args.append(LiteralValue(token.text, quoted=token.kind == "string"))
                if self.current.kind != ",":
                    break
                self.advance()
        self.expect(")", "')' to close the function call")
        spec = _DATE_FUNCTIONS.get(name_token.text.lower())
        name = spec[0] if spec else name_token.text
        return FunctionCall(name, tuple(args))

    def parse_order_by(self) -> tuple[SortKey, ...]:
        self.advance()  # order
        if self.current.keyword() != "by":
            raise self.error("expected 'by' after 'order'")
        self.advance()
        keys = [self.parse_sort_key()]
        while self.current.kind == ",":
            self.advance()
            keys.append(self.parse_sort_key())
        return tuple(keys)

    def parse_sort_key(self) -> SortKey:
        token = self.current
        if token.kind != "word" or token.keyword() is not None:
            raise self.error("expected a field to order by")
        self.advance()
        sort_field = _SORT_FIELDS.get(token.text.lower())
        if sort_field is None:
            if token.text.lower() in _FIELD_ALIASES:
                raise _bad_request(self.query, f"Field '{token.text}' does not support sorting")
            raise _bad_request(self.query, f"No field exists with the name: '{token.text}'")
        direction = self.current.keyword()
        if direction in ("asc", "desc"):
            self.advance()
        return SortKey(sort_field, descending=direction == "desc")


# ---------------------------------------------------------------------------------------------------------------
# Validation of values (parse time, so a bad query fails before any item is looked at)
# ---------------------------------------------------------------------------------------------------------------

_DATE_LITERAL_RE = re.compile(r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?: (\d{1,2}):(\d{2}))?")
_INCREMENT_RE = re.compile(r"([+-]?)(\d+)([yMwdhm]?)")
_DATE_FORMATS_TEXT = "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd'"


@dataclass(frozen=True, slots=True)
class _WallTime:
    """A wall-clock minute as written in a date literal (no timezone yet)."""

    year: int
    month: int
    day: int
    hour: int
    minute: int

    def naive(self) -> datetime:
        return datetime(self.year, self.month, self.day, self.hour, self.minute)


def _parse_date_literal(query: str, text: str, field_text: str) -> _WallTime:
    match = _DATE_LITERAL_RE.fullmatch(text.strip())
    if match:
        year, _, month, day, hour, minute = match.groups()
        try:
            wall = _WallTime(int(year), int(month), int(day), int(hour or 0), int(minute or 0))
            wall.naive()  # range check (month 13, Feb 30, hour 24, ...)
            return wall
        except ValueError:
            pass
    raise _bad_request(
        query,
        f"Date value '{text}' for field '{field_text}' is invalid. Valid formats include: {_DATE_FORMATS_TEXT}",
    )


@dataclass(frozen=True, slots=True)
class _Increment:
    amount: int
    unit: str | None  # y M w d h m, or None for "the function's own period"


def _parse_increment(query: str, function: FunctionCall) -> _Increment | None:
    if not function.args:
        return None
    if len(function.args) > 1:
        raise _bad_request(query, f"Function '{function.name}' expected at most 1 argument but got {len(function.args)}")
    text = function.args[0].text.strip()
    match = _INCREMENT_RE.fullmatch(text)
    if not match or (function.name == "now" and not match.group(3)):
        raise _bad_request(
            query,
            f"Invalid increment '{text}' for function '{function.name}': expected (+/-)nn(y|M|w|d|h|m), e.g. \"-4w\"",
        )
    sign, number, unit = match.groups()
    amount = -int(number) if sign == "-" else int(number)
    return _Increment(amount, unit or None)


def _validate_clause(query: str, clause: Clause, field_text: str) -> None:
    kind = _FIELD_KIND[clause.field]
    for value in clause.values:
        if isinstance(value, FunctionCall):
            if kind != "date" or value.name.lower() not in _DATE_FUNCTIONS:
                raise _bad_request(
                    query, f"Function '{value.name}' is not supported for field '{field_text}'"
                )
            _parse_increment(query, value)
            continue
        if kind == "date":
            _parse_date_literal(query, value.text, field_text)
        elif kind == "content_id":
            _content_id(query, value.text, field_text)
        elif kind in ("title", "text") and clause.op in ("~", "!~") and not _search_terms(value.text):
            raise _bad_request(query, f"The value for '{field_text} {clause.op}' must contain a search term")


def _content_id(query: str, text: str, field_text: str) -> int:
    """Content ids are numbers; Cloud's `att123` attachment ids are accepted as the number they wrap."""
    digits = text.strip()
    if digits.lower().startswith("att"):
        digits = digits[3:]
    if not digits.isdigit():
        raise _bad_request(query, f"Invalid content id '{text}' for field '{field_text}': expected a number")
    return int(digits)


def _search_terms(text: str) -> tuple[str, ...]:
    """Split a `~` value into case-folded terms. An inner quoted phrase (`"\\"a b\\""`) stays one term.

    Wildcards (`*`, `?`) only widen Confluence's word match; substring matching already covers them, so they are
    dropped.
    """
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        phrase = stripped[1:-1].replace("*", "").replace("?", "").strip().casefold()
        return (phrase,) if phrase else ()
    words = (word.replace("*", "").replace("?", "").casefold() for word in stripped.split())
    return tuple(word for word in words if word)


def _first_clause_is_negative(node: Node) -> bool:
    while True:
        if isinstance(node, (And, Or)):
            node = node.children[0]
        elif isinstance(node, Not):
            return True
        else:
            return node.op in NEGATIVE_OPERATORS


# ---------------------------------------------------------------------------------------------------------------
# Date maths in the user's timezone
# ---------------------------------------------------------------------------------------------------------------

_UNIT_RANK = {"m": 0, "h": 1, "d": 2, "w": 3, "M": 4, "y": 5}


def _localize(naive: datetime, tz: tzinfo) -> datetime:
    """Wall time -> UTC instant. fold=0: a gap time moves forward, an ambiguous time takes the earlier offset."""
    return naive.replace(tzinfo=tz, fold=0).astimezone(_UTC)


def _add_calendar(naive: datetime, amount: int, unit: str) -> datetime:
    """Add days/weeks/months/years to a wall time (month ends clamp: Jan 31 + 1M = Feb 28/29)."""
    if unit == "d":
        return naive + timedelta(days=amount)
    if unit == "w":
        return naive + timedelta(weeks=amount)
    months = amount * 12 if unit == "y" else amount
    month_index = naive.month - 1 + months
    year = naive.year + month_index // 12
    month = month_index % 12 + 1
    day = min(naive.day, calendar.monthrange(year, month)[1])
    return naive.replace(year=year, month=month, day=day)


def _shift(instant: datetime, increment: _Increment, tz: tzinfo) -> datetime:
    """Apply an increment to a UTC instant: hours/minutes are elapsed time, longer units are calendar time."""
    assert increment.unit is not None
    if increment.unit == "m":
        return instant + timedelta(minutes=increment.amount)
    if increment.unit == "h":
        return instant + timedelta(hours=increment.amount)
    wall = instant.astimezone(tz).replace(tzinfo=None)
    return _localize(_add_calendar(wall, increment.amount, increment.unit), tz)


def _period_start(wall: datetime, period: str, week_start: int) -> datetime:
    day_start = wall.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "d":
        return day_start
    if period == "w":
        return day_start - timedelta(days=(day_start.weekday() - week_start) % 7)
    if period == "M":
        return day_start.replace(day=1)
    return day_start.replace(month=1, day=1)


def _period_end(wall: datetime, period: str, week_start: int) -> datetime:
    """The last minute of the period (Confluence's end is xx:59:59.999; at minute resolution that is xx:59)."""
    start = _period_start(wall, period, week_start)
    if period == "d":
        following = start + timedelta(days=1)
    elif period == "w":
        following = start + timedelta(weeks=1)
    else:
        following = _add_calendar(start, 1, period)
    return following - _ONE_MINUTE


def _truncate_to_minute(instant: datetime) -> datetime:
    return instant.replace(second=0, microsecond=0)


def _evaluate_function(query: str, function: FunctionCall, tz: tzinfo, now: datetime, week_start: int) -> datetime:
    _, period, is_end = _DATE_FUNCTIONS[function.name.lower()]
    increment = _parse_increment(query, function)
    now_utc = now.astimezone(_UTC)
    if period is None:
        result = now_utc if increment is None else _shift(now_utc, increment, tz)
        return _truncate_to_minute(result)
    if increment is not None and increment.unit is None:
        increment = _Increment(increment.amount, period)
    # An increment at least as long as the period moves the anchor first (endOfMonth("-1M") is the end of last
    # month, however long it was); a shorter one offsets the boundary (startOfDay("+9h") is 09:00 today).
    anchor = now_utc
    if increment is not None and _UNIT_RANK[increment.unit or period] >= _UNIT_RANK[period]:
        anchor = _shift(anchor, increment, tz)
        increment = None
    wall = anchor.astimezone(tz).replace(tzinfo=None)
    boundary_wall = _period_end(wall, period, week_start) if is_end else _period_start(wall, period, week_start)
    boundary = _localize(boundary_wall, tz)
    if increment is not None:
        boundary = _shift(boundary, increment, tz)
    return _truncate_to_minute(boundary)


# ---------------------------------------------------------------------------------------------------------------
# Compilation into closures
# ---------------------------------------------------------------------------------------------------------------

Predicate = Callable[[CqlItem], bool]


class _Compiler:
    def __init__(self, query: str, tz: tzinfo, now: datetime, week_start: int) -> None:
        if now.tzinfo is None:
            raise ValueError("`now` must be timezone-aware")
        self.query = query
        self.tz = tz
        self.now = now
        self.week_start = week_start

    def compile(self, node: Node) -> Predicate:
        if isinstance(node, Clause):
            return self.clause(node)
        if isinstance(node, Not):
            inner = self.compile(node.child)
            return lambda item: not inner(item)
        predicates = [self.compile(child) for child in node.children]
        if isinstance(node, And):
            return _all_of(predicates)
        return _any_of(predicates)

    def clause(self, clause: Clause) -> Predicate:
        kind = _FIELD_KIND[clause.field]
        positive = self.positive_clause(clause, kind)
        if clause.op in NEGATIVE_OPERATORS:
            return lambda item: not positive(item)
        return positive

    def positive_clause(self, clause: Clause, kind: FieldKind) -> Predicate:
        texts = [value.text for value in clause.values if isinstance(value, LiteralValue)]
        if kind == "space":
            return _equals_any(lambda item: item.space_key, texts)
        if kind == "type":
            return _equals_any(lambda item: item.type, [text.lower() for text in texts])
        if kind == "label":
            wanted_labels = frozenset(text.lower() for text in texts)
            if len(wanted_labels) == 1:
                (label,) = wanted_labels
                return lambda item: label in item.labels
            return lambda item: not wanted_labels.isdisjoint(item.labels)
        if kind == "content_id":
            ids = [_content_id(self.query, text, clause.field) for text in texts]
            return self.content_id_clause(clause.field, ids)
        if kind == "title":
            if clause.op in ("~", "!~"):
                return _contains_all(CqlItem.folded_title, _search_terms(texts[0]))
            return _equals_any(lambda item: item.title, texts)
        if kind == "text":
            return _contains_all(CqlItem.folded_title_and_text, _search_terms(texts[0]))
        return self.date_clause(clause)

    @staticmethod
    def content_id_clause(field_name: str, ids: list[int]) -> Predicate:
        if field_name == "ancestor":
            wanted = frozenset(ids)
            if len(wanted) == 1:
                (only,) = wanted
                return lambda item: only in item.ancestor_ids
            return lambda item: not wanted.isdisjoint(item.ancestor_ids)
        if field_name == "parent":
            return _equals_any(lambda item: item.parent_id, ids)
        if field_name == "container":
            return _equals_any(lambda item: item.container_id, ids)
        return _equals_any(lambda item: item.id, ids)

    def date_clause(self, clause: Clause) -> Predicate:
        value = clause.values[0]
        if isinstance(value, FunctionCall):
            threshold = _evaluate_function(self.query, value, self.tz, self.now, self.week_start)
        else:
            threshold = _localize(_parse_date_literal(self.query, value.text, clause.field).naive(), self.tz)
        # Compare the item's time truncated to its minute with the threshold (a whole minute), without truncating
        # each item: trunc(t) >= T <=> t >= T; trunc(t) > T <=> t >= T+1m; trunc(t) < T <=> t < T;
        # trunc(t) <= T <=> t < T+1m; trunc(t) == T <=> T <= t < T+1m.
        start = threshold
        end = threshold + _ONE_MINUTE
        name = clause.field
        if name == "lastmodified":
            def stamp(item: CqlItem) -> datetime:
                return item.lastmodified
        else:
            def stamp(item: CqlItem) -> datetime:
                return item.created
        op = clause.op
        if op == ">=":
            return lambda item: stamp(item) >= start
        if op == ">":
            return lambda item: stamp(item) >= end
        if op == "<":
            return lambda item: stamp(item) < start
        if op == "<=":
            return lambda item: stamp(item) < end
        # "=" and "!=" (negated by the caller)
        return lambda item: start <= stamp(item) < end


def _equals_any(getter: Callable[[CqlItem], object], values: Sequence[object]) -> Predicate:
    wanted = frozenset(values)
    if len(wanted) == 1:
        (only,) = wanted
        return lambda item: getter(item) == only
    return lambda item: getter(item) in wanted


def _contains_all(haystack: Callable[[CqlItem], str], terms: tuple[str, ...]) -> Predicate:
    if len(terms) == 1:
        (term,) = terms
        return lambda item: term in haystack(item)
    return lambda item: all(term in haystack(item) for term in terms)


def _all_of(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 2:
        first, second = predicates
        return lambda item: first(item) and second(item)
    return lambda item: all(predicate(item) for predicate in predicates)


def _any_of(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 2:
        first, second = predicates
        return lambda item: first(item) or second(item)
    return lambda item: any(predicate(item) for predicate in predicates)


# ---------------------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------------------


def _sort_value(item: CqlItem, sort_field: SortField) -> object:
    if sort_field == "lastmodified":
        return item.lastmodified
    if sort_field == "created":
        return item.created
    if sort_field == "title":
        return item.folded_title()
    return item.id


def sort_items(items: Iterable[CqlItem], order_by: Sequence[SortKey]) -> list[CqlItem]:
    """Sort items by the `order by` keys, ties broken by ascending id so paging through the result is stable.

    Stable sorts applied from the last key to the first give mixed directions without negating values.
    """
    result = sorted(items, key=lambda item: item.id)
    for key in reversed(order_by):
        sort_field = key.field
        result.sort(key=lambda item: _sort_value(item, sort_field), reverse=key.descending)  # type: ignore[arg-type]
    return result


@dataclass(frozen=True)
class CqlQuery:
    """A parsed CQL query: the condition tree (`where`), the `order by` keys and the original text."""

    text: str
    where: Node
    order_by: tuple[SortKey, ...] = ()

    def compile(self, tz: tzinfo, now: datetime, *, week_start: int = calendar.MONDAY) -> Predicate:
        """Bind the query to one user's timezone and the request time; returns a fast `item -> bool` predicate.

        Do this once per request: date literals and functions are resolved here, not per item. `week_start`
        (0 = Monday) is the first day for start/endOfWeek, which Confluence takes from the user's locale.
        """
        return _Compiler(self.text, tz, now, week_start).compile(self.where)

    def matches(self, item: CqlItem, tz: tzinfo, now: datetime) -> bool:
        """Convenience for one item; use `compile` or `filter` for many."""
        return self.compile(tz, now)(item)

    def filter(self, items: Iterable[CqlItem], tz: tzinfo, now: datetime) -> list[CqlItem]:
        """The matching items, sorted by the query's `order by` (ascending id when it has none)."""
        predicate = self.compile(tz, now)
        return sort_items([item for item in items if predicate(item)], self.order_by)

    def sort(self, items: Iterable[CqlItem]) -> list[CqlItem]:
        return sort_items(items, self.order_by)

    def restricted_values(self, field_name: Literal["space", "type", "id"]) -> frozenset[str] | frozenset[int] | None:
        """Values that field must take in every match, or None if the query does not pin it down.

        Lets the server look only at, say, the spaces a query names instead of scanning every item. Example:
        `space = A and type in (page, blogpost)` -> space {A}, type {page, blogpost}; an `or` with an unrestricted
        branch -> None. Types come back in lower case; ids as ints.
        """
        return _restricted(self.text, self.where, field_name)

    def to_cql(self) -> str:
        """Canonical text (compound sub-expressions parenthesised): shows how the query was understood."""
        text = self.where.to_cql()
        if self.order_by:
            keys = ", ".join(f"{key.field} {'desc' if key.descending else 'asc'}" for key in self.order_by)
            text += f" order by {keys}"
        return text


def _restricted(query: str, node: Node, field_name: str) -> frozenset | None:  # type: ignore[type-arg]
    if isinstance(node, Clause):
        if node.field != field_name or node.op not in ("=", "in"):
            return None
        texts = [value.text for value in node.values if isinstance(value, LiteralValue)]
        if field_name == "id":
            return frozenset(_content_id(query, text, field_name) for text in texts)
        if field_name == "type":
            return frozenset(text.lower() for text in texts)
        return frozenset(texts)
    if isinstance(node, Not):
        return None
    parts = [_restricted(query, child, field_name) for child in node.children]
    if isinstance(node, And):
        known = [part for part in parts if part is not None]
        if not known:
            return None
        result = known[0]
        for part in known[1:]:
            result = result & part
        return result
    if any(part is None for part in parts):
        return None
    union: frozenset = frozenset()  # type: ignore[type-arg]
    for part in parts:
        union = union | part  # type: ignore[operator]
    return union


def parse_cql(text: str, *, allow_leading_negation: bool = False) -> CqlQuery:
    """Parse and validate a CQL query; raises CqlError (Confluence answers those with HTTP 400).

    `allow_leading_negation=True` lifts Atlassian's documented rule that a negative clause cannot come first.
    """
    if text is None or not text.strip():
        raise _syntax_error(text or "", 0, "the query is empty")
    where, order_by = _Parser(text).parse()
    if not allow_leading_negation and _first_clause_is_negative(where):
        raise CqlError(
            f"Could not parse cql : {text}",
            query=text,
            detail="QuerySyntaxException: a negative expression cannot be the first clause of a CQL statement",
        )
    return CqlQuery(text=text, where=where, order_by=order_by)
