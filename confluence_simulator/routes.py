"""Request/response values and the path router shared by both API flavours.

Handlers are plain functions `(request) -> Response`; the router maps a method and a path (already stripped of the
flavour's prefix) to one handler plus a stable *endpoint name*. Endpoint names are what faults, rate limits and
statistics are keyed by, so they are part of the simulator's public interface (`Simulator.endpoint_names()` lists
them; the `register` methods of `api_v1` and `api_v2` define them) and must not change casually.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import parse_qs

if TYPE_CHECKING:  # pragma: no cover - typing only
    from confluence_simulator.model import User


@dataclass
class Request:
    """One parsed HTTP request as the handlers see it."""

    method: str
    path: str  # path relative to the API prefix, e.g. "/pages/123"
    full_path: str  # path as received, without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    params: dict[str, str] = field(default_factory=dict)  # path parameters from the route pattern
    user: "User | None" = None
    endpoint: str = ""
    body: bytes = b""
    # the fault chosen for this request (faults.Fault), for the kinds a handler must render (empty_page)
    fault: Any = None

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter (Confluence ignores repeats for scalar parameters)."""
        values = self.query.get(name)
        return values[0] if values else default

    def arg_list(self, name: str) -> list[str]:
        """All values of a list parameter, accepting both `a=1,2` and `a=1&a=2` as Atlassian does."""
        out: list[str] = []
        for value in self.query.get(name, []):
            out.extend(part.strip() for part in value.split(",") if part.strip())
        return out

    def arg_bool(self, name: str, default: bool = False) -> bool:
        value = self.arg(name)
        if value is None or value == "":
            return default
        return value.lower() == "true"


@dataclass
class Response:
    """A complete response; `body` is already encoded so faults can cut it at any byte."""

    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json_text(cls, text: str, status: int = 200, headers: list[tuple[str, str]] | None = None) -> "Response":
        return cls(status=status, body=text.encode("utf-8"), headers=list(headers or []))

    @classmethod
    def json_obj(cls, obj: object, status: int = 200, headers: list[tuple[str, str]] | None = None) -> "Response":
        return cls.json_text(json.dumps(obj, separators=(",", ":"), ensure_ascii=False), status, headers)


class ApiError(Exception):
    """Raised by handlers for an error answer; the server renders it in the calling API's error format."""

    def __init__(self, status: int, message: str, headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    endpoint: str
    handler: Handler


class Router:
    """Ordered list of routes; the first match wins. Patterns use `{name}` for one path segment."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, template: str, endpoint: str, handler: Handler) -> None:
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "/?$"
        self._routes.append(Route(method, re.compile(regex), endpoint, handler))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self._routes:
            if route.method != method:
                continue
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None

    def endpoints(self) -> list[str]:
        """Every endpoint name this router serves, in registration order (for documentation and tests)."""
        seen: dict[str, None] = {}
        for route in self._routes:
            seen.setdefault(route.endpoint, None)
        return list(seen)


def parse_query(raw: str) -> dict[str, list[str]]:
    return parse_qs(raw, keep_blank_values=True)
