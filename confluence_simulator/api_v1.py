"""v1 REST endpoints (`/rest/api/...`): all of them on Data Center, the surviving ones on Cloud.

Paging: Data Center uses `start`/`limit` offsets with silent `limit` caps (the response's `limit` shows the
effective value, so clients must advance by `size`) and `_links.next` relative to `_links.base`. Cloud search uses
an opaque cursor instead (`start` is ignored there). `/content/scan` and `/space/{key}/trash` page with DC's
`content:false:<id>` cursors. Content the caller may not read is left out of lists and answers 404 when addressed
directly, like Confluence.

On Cloud, the v1 read endpoints Atlassian removed (CHANGE-864) answer 410 with the GoneException body and
deprecation headers; `SimulatorConfig.cloud_v1_removed=False` serves them instead (with deprecation headers), as
tenants saw during the transition.
"""

from __future__ import annotations

import bisect
import threading
import time
from datetime import timezone, tzinfo
from typing import Any, Callable, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from confluence_simulator.cql import Clause, CqlError, CqlQuery, LiteralValue, Node, Not, parse_cql
from confluence_simulator.faults import FaultKind
from confluence_simulator.model import Content, Space, User
from confluence_simulator.pagination import (
    decode_cursor,
    encode_cursor,
    parse_int,
    parse_scan_cursor,
    relative_link,
    scan_cursor,
    v1_start_limit,
)
from confluence_simulator.render_common import dumps
from confluence_simulator.render_v1 import ExpandTree, expand_key, has_body_expansion, parse_expand
from confluence_simulator.routes import ApiError, Request, Response, Router
from confluence_simulator.state import ServerState

DEPRECATION_HEADERS = [
    ("Deprecation", "Wed, 1 Mar 2023 00:00:00 GMT"),
    ("Link", '<https://developer.atlassian.com/cloud/confluence/changelog/#CHANGE-864>; rel="deprecation"'),
]
GONE_MESSAGE = "com.atlassian.confluence.api.service.exceptions.GoneException: This deprecated endpoint has been removed."
DEFAULT_SINGLE_EXPAND = "history,space,version"
TRASH_DEFAULT_EXPAND = "ancestors,container,space,metadata"


class GoneError(ApiError):
    """410 for a Cloud v1 endpoint Atlassian removed."""

    def __init__(self) -> None:
        super().__init__(410, GONE_MESSAGE, headers=list(DEPRECATION_HEADERS))


class V1Api:
    """Handlers for `/rest/api` (endpoint names `v1.*`), shared by both flavours."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.site = state.site
        self.queries = state.queries
        self.render = state.v1
        self.fmt = state.fmt
        self.cloud = state.cloud
        self._lists: dict[tuple[Any, ...], tuple[float, list[int]]] = {}
        self._lists_lock = threading.Lock()

    def register(self, router: Router) -> None:
        add = router.add
        # present on both flavours
        add("GET", "/content/search", "v1.content.search", self.content_search)
        add("GET", "/search", "v1.search", self.search)
        add("GET", "/content/{id}/restriction/byOperation", "v1.content.restrictions", self.restrictions)
        add("GET", "/content/{id}/restriction/byOperation/{operation}", "v1.content.restrictions.operation",
            self.restriction_by_operation)
        add("GET", "/user/current", "v1.user.current", self.current_user)
        add("GET", "/user", "v1.user.get", self.get_user)
        if self.cloud:
            add("GET", "/user/bulk", "v1.user.bulk", self.users_bulk)
        if self.cloud:
            add("GET", "/content/{id}/child/attachment/{attachment}/download", "v1.attachment.download",
                self.attachment_download_redirect)
        else:
            add("GET", "/content/{id}/restriction/relevantViewRestrictions", "v1.content.relevant_view_restrictions",
                self.relevant_view_restrictions)
            add("GET", "/content/scan", "v1.content.scan", self.content_scan)
            add("GET", "/space/{key}/trash", "v1.space.trash", self.space_trash)
            add("GET", "/space/{key}/permissions", "v1.space.permissions", self.space_permissions)
        legacy: list[tuple[str, str, Callable[[Request], Response]]] = [
            ("/space", "v1.space.list", self.list_spaces),
            ("/space/{key}", "v1.space.get", self.get_space),
            ("/space/{key}/content", "v1.space.content", self.space_content),
            ("/space/{key}/content/{type}", "v1.space.content_type", self.space_content_of_type),
            ("/content", "v1.content.list", self.list_content),
            ("/content/{id}", "v1.content.get", self.get_content),
            ("/content/{id}/child", "v1.content.child", self.child_map),
            ("/content/{id}/child/page", "v1.content.child.page", self.child_pages),
            ("/content/{id}/child/attachment", "v1.content.child.attachment", self.child_attachments),
            ("/content/{id}/child/comment", "v1.content.child.comment", self.child_comments),
            ("/content/{id}/label", "v1.content.labels", self.labels),
            ("/content/{id}/history", "v1.content.history", self.history),
        ]
        for template, endpoint, handler in legacy:
            if not self.cloud:
                add("GET", template, endpoint, handler)
            elif self.state.config.cloud_v1_removed:
                add("GET", template, endpoint, _gone)
            else:
                add("GET", template, endpoint, _deprecated(handler))

    # ---- shared helpers --------------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return self.state.urls.base

    def _user(self, request: Request) -> User:
        assert request.user is not None
        return request.user

    def _api_path(self, request: Request) -> str:
        """The request path relative to `_links.base` (what v1 `next` links start with)."""
        return "/rest/api" + request.path

    def _self_link(self, request: Request) -> str:
        return relative_link(self.base + self._api_path(request), request.query, {})

    def _expand(self, request: Request, default: str = "") -> tuple[ExpandTree, str]:
        raw = request.arg("expand")
        tree = parse_expand(default if raw is None else raw)
        return tree, expand_key(tree)

    def _cap(self, tree: ExpandTree, caps: tuple[int, int, int]) -> int:
        """The silent `limit` cap for a request's expansions (Cloud documents 25 for rendered export bodies)."""
        if has_body_expansion(tree):
            if self.cloud and _expands_any(tree, ("export_view", "styled_view")):
                return min(caps[0], 25)
            return caps[0]
        return caps[1] if tree else caps[2]

    def _content_id(self, raw: str) -> int:
        text = raw[3:] if raw.startswith("att") else raw
        try:
            return int(text)
        except ValueError as exc:
            raise ApiError(404, f"No content found with id: ContentId{{id={raw}}}") from exc

    def _readable_content(self, request: Request, raw_id: str, statuses: Sequence[str] = ("current", "archived")
                          ) -> Content:
        item = self.queries.visible_content(self._user(request), self._content_id(raw_id), statuses)
        if item is None:
            raise ApiError(404, f"No content found with id: ContentId{{id={raw_id}}}")
        return item

    def _space_by_key(self, request: Request, key: str) -> Space:
        space = self.site.space_by_key(key)
        if space is None or not self.queries.can_see_space(self._user(request), space):
            raise ApiError(404, f"No space with key : {key}")
        return space

    @staticmethod
    def _continues(request: Request) -> bool:
        """True for a later page of a paging loop (offset or cursor given): cached evaluations may be reused."""
        return bool(request.arg("cursor")) or parse_int(request, "start", 0) > 0

    def _cached_ids(self, request: Request, key: tuple[Any, ...], compute: Callable[[], list[Content]]
                    ) -> list[Content]:
        """A filtered, visible id list, reused by later offset pages while the site is unchanged."""
        full_key = (*key, self.state.tracker.generation)
        now = time.monotonic()
        cached = self._lists.get(full_key) if self._continues(request) else None
        content = self.site.content
        if cached is not None and now - cached[0] < self.state.config.search_cache_seconds:
            return [content[i] for i in cached[1] if i in content]
        items = compute()
        with self._lists_lock:
            if len(self._lists) > 256:
                self._lists.clear()
            self._lists[full_key] = (now, [item.id for item in items])
        return items

    def _offset_page(
        self,
        request: Request,
        items: Sequence[Content],
        render: Callable[[Content], str],
        default_limit: int,
        cap: int,
        extra: dict[str, Any] | None = None,
        embedded: bool = False,
    ) -> str:
        """A v1 `{results,start,limit,size,_links}` envelope over `items` (already filtered and ordered)."""
        start, limit = v1_start_limit(request, default_limit, cap)
        page = list(items[start : start + limit])
        more = start + len(page) < len(items)
        empty_fault = request.fault is not None and request.fault.kind == FaultKind.EMPTY_PAGE
        if empty_fault:
            page, more = [], True
        links: dict[str, str] = {}
        if not embedded:
            links["base"] = self.base
            links["context"] = self.state.urls.context
        path = self._api_path(request)
        if more:
            next_start = start if empty_fault else start + len(page)
            links["next"] = relative_link(path, request.query, {"start": str(next_start), "limit": str(limit)})
        if start > 0:
            links["prev"] = relative_link(path, request.query,
                                          {"start": str(max(0, start - limit)), "limit": str(limit)})
        links["self"] = self._self_link(request)
        head = '{"results":[' + ",".join(render(item) for item in page) + "]"
        fields: dict[str, Any] = {"start": start, "limit": limit, "size": len(page)}
        if extra:
            fields.update(extra)
        fields["_links"] = links
        return head + "," + dumps(fields)[1:]

    def _render_content(self, request: Request, tree: ExpandTree, key: str) -> Callable[[Content], str]:
        user = self._user(request)
        render = self.render
        return lambda item: render.content(item, tree, key, user)

    # ---- CQL search ------------------------------------------------------------------------------------
    def _user_zone(self, user: User) -> tzinfo:
        name = self.state.config.tz or user.timezone or (None if self.cloud else self.state.config.server_tz)
        if not name:
            return timezone.utc
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return timezone.utc

    def _cql(self, request: Request) -> CqlQuery:
        text = request.arg("cql")
        if text is None or not text.strip():
            raise ApiError(400, "CQL query parameter is required but was empty")
        try:
            query = parse_cql(text)
        except CqlError as error:
            raise ApiError(400, error.message) from error
        if not self.cloud and self.state.config.unknown_space_cql_fails and self._names_unknown_space(query.where):
            raise ApiError(400, "parameters should not be empty")
        return query

    def _names_unknown_space(self, node: Node) -> bool:
        """Whether a `space = KEY` or `space in (...)` clause of the query names a key that no space has."""
        if isinstance(node, Clause):
            return node.field == "space" and node.op in ("=", "in") and any(
                isinstance(value, LiteralValue) and self.site.space_by_key(value.text) is None
                for value in node.values)
        if isinstance(node, Not):
            return self._names_unknown_space(node.child)
        return any(self._names_unknown_space(child) for child in node.children)

    def _search_items(self, request: Request, include_archived: bool = False) -> list[Content]:
        query = self._cql(request)
        user = self._user(request)
        return self.queries.search(user, query, self._user_zone(user), include_archived_spaces=include_archived,
                                   reuse=self._continues(request))

    def _cursor_offset(self, request: Request) -> int:
        """Cloud search: the offset comes from the opaque cursor only (`start` is ignored, as on Cloud)."""
        token = request.arg("cursor")
        if not token:
            return 0
        state = decode_cursor(token)
        if len(state) != 2 or state[0] != "search" or not isinstance(state[1], int) or state[1] < 0:
            raise ApiError(400, f"Invalid cursor: {token}")
        return state[1]

    def _search_page(
        self, request: Request, items: list[Content], render: Callable[[Content], str], caps: tuple[int, int, int],
        tree: ExpandTree, extra: Callable[[int], dict[str, Any]] | None = None,
    ) -> Response:
        """DC: offset paging. Cloud: the same page sizes, but positioned by an opaque cursor (`start` ignored)."""
        if not self.cloud:
            totals = extra(len(items)) if extra else None
            return Response.json_text(self._offset_page(request, items, render, 25, self._cap(tree, caps), totals))
        limit = parse_int(request, "limit", 25)
        limit = min(max(limit, 0) or 25, self._cap(tree, caps))
        start = self._cursor_offset(request)
        page = items[start : start + limit]
        more = start + len(page) < len(items)
        empty_fault = request.fault is not None and request.fault.kind == FaultKind.EMPTY_PAGE
        if empty_fault:
            page, more = [], True
        path = self._api_path(request)
        links: dict[str, str] = {"base": self.base, "context": self.state.urls.context}
        if more:
            next_offset = start if empty_fault else start + len(page)
            links["next"] = relative_link(path, request.query, {
                "next": "true", "prev": None, "cursor": encode_cursor(["search", next_offset]),
                "limit": str(limit), "start": str(next_offset)})
        if start > 0:
            previous = max(0, start - limit)
            links["prev"] = relative_link(path, request.query, {
                "prev": "true", "next": None, "cursor": encode_cursor(["search", previous]),
                "limit": str(limit), "start": str(previous)})
        links["self"] = self._self_link(request)
        fields: dict[str, Any] = {"start": start, "limit": limit, "size": len(page)}
        if extra:
            fields.update(extra(len(items)))
        fields["_links"] = links
        text = '{"results":[' + ",".join(render(item) for item in page) + "]," + dumps(fields)[1:]
        return Response.json_text(text)

    def content_search(self, request: Request) -> Response:
        tree, key = self._expand(request)
        items = self._search_items(request)
        return self._search_page(request, items, self._render_content(request, tree, key),
                                 self.state.config.search_caps, tree)

    def search(self, request: Request) -> Response:
        tree, key = self._expand(request)
        include_archived = request.arg_bool("includeArchivedSpaces")
        started = time.perf_counter()
        user = self._user(request)
        # the generic search returns spaces too (after the content here; Confluence ranks both by relevance)
        items: list[Any] = [*self._search_items(request, include_archived),
                            *self.queries.search_spaces(user, self._cql(request), self._user_zone(user),
                                                        include_archived_spaces=include_archived)]
        render = self.render
        query_text = request.arg("cql") or ""
        duration = int((time.perf_counter() - started) * 1000)

        def extra(total: int) -> dict[str, Any]:
            return {"totalSize": total, "cqlQuery": query_text, "searchDuration": duration}

        def render_result(item: Content | Space) -> str:
            if isinstance(item, Space):
                return render.space_search_result(item, tree, user)
            return render.search_result(item, tree, key, user)

        return self._search_page(request, items, render_result, self.state.config.search_caps, tree, extra)

    # ---- spaces ----------------------------------------------------------------------------------------
    def list_spaces(self, request: Request) -> Response:
        tree, _ = self._expand(request)
        user = self._user(request)
        keys = set(request.arg_list("spaceKey")) | set(request.arg_list("spaceKeys"))
        ids = {int(value) for value in request.arg_list("spaceIds") if value.isdigit()}
        space_type = request.arg("type")
        status = request.arg("status")
        label = request.arg("label")
        spaces = [
            space
            for space in sorted(self.site.spaces.values(), key=lambda s: s.key.casefold())
            if (not keys or space.key in keys)
            and (not ids or space.id in ids)
            and (space_type is None or space.type == space_type)
            and (status is None or space.status == status)
            and (label is None or label in space.labels)
            and self.queries.can_see_space(user, space)
        ]
        render = self.render
        text = self._offset_page(request, spaces, lambda s: dumps(render.space_obj(s, tree, user)),  # type: ignore
                                 25, 500)
        return Response.json_text(text)

    def get_space(self, request: Request) -> Response:
        space = self._space_by_key(request, request.params["key"])
        tree, _ = self._expand(request)
        obj = self.render.space_obj(space, tree, self._user(request))
        obj["_links"]["base"] = self.base
        obj["_links"]["context"] = self.state.urls.context
        return Response.json_obj(obj)

    def _space_items(self, request: Request, space: Space, content_type: str, depth: str) -> list[Content]:
        user = self._user(request)

        def compute() -> list[Content]:
            content = self.site.content
            items = [content[i] for i in self.site.ids_in_space(space.id, content_type) if i in content]
            return [
                item
                for item in items
                if item.status == "current"
                and (depth != "root" or item.parent_id is None)
                and self.queries.can_see(user, item)
            ]

        return self._cached_ids(request, ("space", space.id, content_type, depth, user.account_id), compute)

    def space_content(self, request: Request) -> Response:
        space = self._space_by_key(request, request.params["key"])
        tree, key = self._expand(request)
        depth = request.arg("depth") or "all"
        render = self._render_content(request, tree, key)
        cap = self._cap(tree, self.state.config.list_caps)
        parts = []
        for content_type in ("page", "blogpost"):
            items = self._space_items(request, space, content_type, depth)
            parts.append(f'"{content_type}":' + self._offset_page(request, items, render, 25, cap, embedded=True))
        links = {"base": self.base, "context": self.state.urls.context, "self": self._self_link(request)}
        return Response.json_text("{" + ",".join(parts) + ',"_links":' + dumps(links) + "}")

    def space_content_of_type(self, request: Request) -> Response:
        space = self._space_by_key(request, request.params["key"])
        content_type = request.params["type"]
        if content_type not in ("page", "blogpost"):
            raise ApiError(400, f"Unsupported content type: {content_type}")
        tree, key = self._expand(request)
        items = self._space_items(request, space, content_type, request.arg("depth") or "all")
        cap = self._cap(tree, self.state.config.list_caps)
        return Response.json_text(self._offset_page(request, items, self._render_content(request, tree, key), 25, cap))

    def space_permissions(self, request: Request) -> Response:
        space = self._space_by_key(request, request.params["key"])
        results = []
        for permission in space.permissions:
            subject: dict[str, Any]
            if permission.principal_type == "user":
                target = self.site.users.get(permission.principal_id)
                subject = {"type": "user", "displayName": target.display_name if target else "",
                           "username": target.username if target else "",
                           "userKey": target.user_key if target else permission.principal_id}
            elif permission.principal_type == "group":
                group = self.site.groups.get(permission.principal_id)
                name = group.name if group else permission.principal_id
                subject = {"type": "group", "displayName": name, "name": name}
            else:
                subject = {"type": "anonymous", "displayName": "Anonymous"}
            results.append({
                "operation": {"operationKey": permission.operation, "targetType": permission.target_type},
                "subject": subject,
                "spaceKey": space.key,
                "spaceId": space.id,
            })
        return Response.json_obj(results)

    def space_trash(self, request: Request) -> Response:
        space = self._space_by_key(request, request.params["key"])
        tree, key = self._expand(request, TRASH_DEFAULT_EXPAND)
        user = self._user(request)
        ids = self.queries.ids_of(["page", "blogpost", "attachment", "comment"], [space.id])
        return self._scan_page(request, ids, lambda item: item.status == "trashed" and self.queries.can_see(user, item),
                               tree, key, default_limit=25, cap=200)

    # ---- content lists ---------------------------------------------------------------------------------
    @staticmethod
    def _status_filter(raw: list[str], default: Sequence[str] = ("current",)) -> set[str]:
        statuses = set(raw) if raw else set(default)
        if "any" in statuses:
            statuses.discard("any")
            statuses.update(("current", "trashed", "archived"))
        return statuses

    def list_content(self, request: Request) -> Response:
        tree, key = self._expand(request)
        user = self._user(request)
        content_type = request.arg("type") or "page"
        space_key = request.arg("spaceKey")
        title = request.arg("title")
        posting_day = request.arg("postingDay")
        statuses = self._status_filter(request.arg_list("status"))
        wanted_ids = [self._content_id(value) for value in request.arg_list("ids")]
        space_ids: list[int] | None = None
        if space_key:
            space = self.site.space_by_key(space_key)
            space_ids = [space.id] if space is not None else []

        def compute() -> list[Content]:
            content = self.site.content
            if wanted_ids:
                candidates = [content[i] for i in sorted(set(wanted_ids)) if i in content]
            else:
                candidates = [content[i] for i in self.queries.ids_of([content_type], space_ids) if i in content]
            return [
                item
                for item in candidates
                if item.status in statuses
                and (title is None or item.title == title)
                and (posting_day is None or item.created_at.astimezone(self.fmt.zone).date().isoformat()
                     == posting_day)
                and self.queries.can_see(user, item)
            ]

        cache_key = ("content", content_type, space_key, title, posting_day, tuple(sorted(statuses)),
                     tuple(wanted_ids), user.account_id)
        items = self._cached_ids(request, cache_key, compute)
        cap = self._cap(tree, self.state.config.list_caps)
        return Response.json_text(self._offset_page(request, items, self._render_content(request, tree, key), 25, cap))

    def get_content(self, request: Request) -> Response:
        statuses = self._status_filter(request.arg_list("status"), ("current", "archived"))
        version_arg = request.arg("version")
        if "historical" in statuses:
            statuses.update(("current", "archived"))
        item = self._readable_content(request, request.params["id"], tuple(statuses))
        tree, key = self._expand(request, DEFAULT_SINGLE_EXPAND)
        user = self._user(request)
        if version_arg:
            return self._historical(request, item, version_arg, tree)
        return Response.json_text(self.render.content(item, tree, key, user, single=True))

    def _historical(self, request: Request, item: Content, version_arg: str, tree: ExpandTree) -> Response:
        try:
            number = int(version_arg)
        except ValueError as exc:
            raise ApiError(400, f"Invalid version: {version_arg}") from exc
        version = next((v for v in item.versions if v.number == number), None)
        if version is None:
            raise ApiError(404, f"No content found with id: ContentId{{id={item.id}}} and version {number}")
        obj = self.render.content_obj(item, tree, self._user(request), single=True)
        if number != item.versions[-1].number:
            obj["status"] = "historical"
            if "version" in obj:
                obj["version"] = self.render.version_obj(item, version, tree.get("version", {}))
            body = obj.get("body")
            if isinstance(body, dict):
                for representation, value in body.items():
                    if isinstance(value, dict) and "value" in value:
                        value["value"] = self.render.storage_body(item, number)
        return Response.json_obj(obj)

    def history(self, request: Request) -> Response:
        item = self._readable_content(request, request.params["id"])
        tree, _ = self._expand(request)
        obj = self.render.history_obj(item, tree)
        return Response.json_obj(obj)

    def content_scan(self, request: Request) -> Response:
        tree, key = self._expand(request)
        user = self._user(request)
        content_type = request.arg("type") or "page"
        if content_type not in ("page", "blogpost", "comment"):
            raise ApiError(400, f"Unsupported content type for scan: {content_type}")
        space_key = request.arg("spaceKey")
        statuses = self._status_filter(request.arg_list("status"))
        space_ids: list[int] | None = None
        if space_key:
            space = self.site.space_by_key(space_key)
            space_ids = [space.id] if space is not None else []
        ids = self.queries.ids_of([content_type], space_ids)
        cap = self._cap(tree, self.state.config.list_caps)
        return self._scan_page(request, ids, lambda item: item.status in statuses and self.queries.can_see(user, item),
                               tree, key, default_limit=25, cap=cap)

    def _scan_page(self, request: Request, ids: list[int], accept: Callable[[Content], bool], tree: ExpandTree,
                   key: str, default_limit: int, cap: int) -> Response:
        """DC cursor paging (`content:false:<id>`): accepted items in ascending id order after the cursor.

        Only as many items as the page needs are looked at (ids are sorted, the cursor is a bisect), so a full
        scan costs the same per page from the first page to the last.
        """
        limit = min(max(parse_int(request, "limit", default_limit), 1), cap)
        cursor_text = request.arg("cursor")
        cursor = parse_scan_cursor(cursor_text)
        content = self.site.content
        page: list[Content] = []
        more_after = False
        if cursor is not None and cursor[0]:  # backwards: the page before the cursor's id
            for index in range(bisect.bisect_left(ids, cursor[1]) - 1, -1, -1):
                item = content.get(ids[index])
                if item is not None and accept(item):
                    page.append(item)
                    if len(page) == limit:
                        break
            page.reverse()
            more_after = True
        else:
            start = 0 if cursor is None else bisect.bisect_right(ids, cursor[1])
            for index in range(start, len(ids)):
                item = content.get(ids[index])
                if item is not None and accept(item):
                    if len(page) == limit:
                        more_after = True
                        break
                    page.append(item)
        empty_fault = request.fault is not None and request.fault.kind == FaultKind.EMPTY_PAGE
        if empty_fault:
            page, more_after = [], True
        path = self._api_path(request)
        fields: dict[str, Any] = {}
        links: dict[str, str] = {"base": self.base, "context": self.state.urls.context}
        if cursor_text:
            fields["cursor"] = cursor_text
        if more_after:
            next_cursor = (cursor_text or "") if empty_fault or not page else scan_cursor(page[-1].id)
            if next_cursor:
                fields["nextCursor"] = next_cursor
            links["next"] = relative_link(path, request.query, {"cursor": next_cursor or None,
                                                                "limit": str(limit)})
        if page and cursor_text:
            prev_cursor = scan_cursor(page[0].id, reverse=True)
            fields["prevCursor"] = prev_cursor
            links["prev"] = relative_link(path, request.query, {"cursor": prev_cursor, "limit": str(limit)})
        links["self"] = self._self_link(request)
        fields.update({"limit": limit, "size": len(page), "_links": links})
        render = self._render_content(request, tree, key)
        text = '{"results":[' + ",".join(render(item) for item in page) + "]," + dumps(fields)[1:]
        return Response.json_text(text)

    # ---- children and labels ---------------------------------------------------------------------------
    def child_map(self, request: Request) -> Response:
        item = self._readable_content(request, request.params["id"])
        tree, _ = self._expand(request)
        obj = self.render.children_obj(item, tree, self._user(request))
        obj["_links"]["base"] = self.base
        obj["_links"]["context"] = self.state.urls.context
        return Response.json_obj(obj)

    def child_pages(self, request: Request) -> Response:
        parent = self._readable_content(request, request.params["id"])
        tree, key = self._expand(request)
        items = self.render.visible_children(parent, "page", self._user(request))
        cap = self._cap(tree, self.state.config.list_caps)
        return Response.json_text(self._offset_page(request, items, self._render_content(request, tree, key), 25, cap))

    def child_attachments(self, request: Request) -> Response:
        parent = self._readable_content(request, request.params["id"])
        tree, _ = self._expand(request)
        tree.setdefault("metadata", {})
        key = expand_key(tree)
        filename = request.arg("filename")
        media_type = request.arg("mediaType")
        items = [
            item
            for item in self.render.visible_children(parent, "attachment", self._user(request))
            if (filename is None or item.title == filename) and (media_type is None or item.media_type == media_type)
        ]
        cap = self._cap(tree, self.state.config.list_caps)
        return Response.json_text(self._offset_page(request, items, self._render_content(request, tree, key), 50, cap))

    def child_comments(self, request: Request) -> Response:
        parent = self._readable_content(request, request.params["id"])
        tree, key = self._expand(request)
        locations = set(request.arg_list("location"))
        all_levels = (request.arg("depth") or "") == "all"
        items = []
        for item in self.queries.comment_thread(parent.id):
            if item.status != "current" or (not all_levels and item.parent_comment_id is not None):
                continue
            resolved = item.comment_location == "inline" and item.resolution_status == "resolved"
            if locations and not (
                (item.comment_location in locations and not resolved) or ("resolved" in locations and resolved)
            ):
                continue
            items.append(item)
        cap = self._cap(tree, self.state.config.list_caps)
        return Response.json_text(self._offset_page(request, items, self._render_content(request, tree, key), 25, cap))

    def labels(self, request: Request) -> Response:
        item = self._readable_content(request, request.params["id"])
        prefix = request.arg("prefix")
        labels = [self.render.label(name) for name in item.labels]
        if prefix:
            labels = [label for label in labels if label["prefix"] == prefix]
        start, limit = v1_start_limit(request, 200, 200)
        page = labels[start : start + limit]
        links: dict[str, str] = {"base": self.base, "context": self.state.urls.context}
        if start + len(page) < len(labels):
            links["next"] = relative_link(self._api_path(request), request.query,
                                          {"start": str(start + len(page)), "limit": str(limit)})
        links["self"] = self._self_link(request)
        return Response.json_obj({"results": page, "start": start, "limit": limit, "size": len(page),
                                  "_links": links})

    # ---- restrictions ----------------------------------------------------------------------------------
    def restrictions(self, request: Request) -> Response:
        item = self._readable_content(request, request.params["id"], ("current", "archived", "draft"))
        obj: dict[str, Any] = {op: self.render.restriction_obj(item, op) for op in ("read", "update")}
        obj["_links"] = {"base": self.base, "context": self.state.urls.context,
                         "self": f"{self.base}/rest/api/content/{self.fmt.content_id(item)}/restriction/byOperation"}
        return Response.json_obj(obj)

    def restriction_by_operation(self, request: Request) -> Response:
        item = self._readable_content(request, request.params["id"], ("current", "archived", "draft"))
        operation = request.params["operation"]
        if operation not in ("read", "update"):
            raise ApiError(400, f"Unsupported operation: {operation}")
        start, limit = v1_start_limit(request, 100, 100)
        obj = self.render.restriction_obj(item, operation, limit=limit, start=start)
        obj["_links"].update({"base": self.base, "context": self.state.urls.context})
        return Response.json_obj(obj)

    def relevant_view_restrictions(self, request: Request) -> Response:
        """DC: the read restrictions on the item and every ancestor that limit who can view it."""
        item = self._readable_content(request, request.params["id"], ("current", "archived", "draft"))
        chain = self.site.ancestors(item) + [item]
        results = []
        for node in chain:
            if node.restrictions.read_users or node.restrictions.read_groups:
                restriction = self.render.restriction_obj(node, "read")
                restriction["content"] = {"id": str(node.id), "type": node.type, "status": node.status,
                                          "title": node.title}
                results.append(restriction)
        start, limit = v1_start_limit(request, 50, 50)
        page = results[start : start + limit]
        return Response.json_obj({
            "id": str(item.id),
            "viewContentRestrictions": {"results": page, "start": start, "limit": limit, "size": len(page),
                                        "totalCount": len(results)},
            "_links": {"base": self.base, "context": self.state.urls.context,
                       "self": f"{self.base}/rest/api/content/{item.id}/restriction/relevantViewRestrictions"},
        })

    # ---- users and downloads ---------------------------------------------------------------------------
    def current_user(self, request: Request) -> Response:
        user = self._user(request)
        if not user.account_id:
            anonymous = {"type": "anonymous", "displayName": "Anonymous",
                         "profilePicture": {"path": f"{self.state.urls.context}/images/icons/profilepics/anonymous.svg",
                                            "width": 48, "height": 48, "isDefault": True},
                         "_links": {"self": f"{self.base}/rest/api/user/anonymous"}}
            return Response.json_obj(anonymous)
        obj = dict(self.fmt.v1_user(user.account_id, with_timezone=True))
        if self.state.config.tz:
            obj["timeZone"] = self.state.config.tz
        obj["_links"] = {**obj["_links"], "base": self.base, "context": self.state.urls.context}
        return Response.json_obj(obj)

    def _lookup_user(self, request: Request) -> User | None:
        if self.cloud:
            return self.site.users.get(request.arg("accountId") or "")
        key, username = request.arg("key"), request.arg("username")
        if key:
            return self.site.user_by_key(key)
        if username:
            return self.site.user_by_username(username)
        return None

    def get_user(self, request: Request) -> Response:
        """Cloud `?accountId=`; DC `?key=` or `?username=`. 404 for an unknown user."""
        wanted = ("accountId",) if self.cloud else ("key", "username")
        if not any(request.arg(name) for name in wanted):
            raise ApiError(400, f"One of {', '.join(wanted)} is required")
        user = self._lookup_user(request)
        if user is None:
            raise ApiError(404, "No user found")
        obj = dict(self.fmt.v1_user(user.account_id, with_timezone=self.cloud))
        return Response.json_obj(obj)

    def users_bulk(self, request: Request) -> Response:
        """Cloud `GET /user/bulk?accountId=a&accountId=b`: the users found, as a v1 page."""
        account_ids = request.arg_list("accountId")
        if not account_ids:
            raise ApiError(400, "accountId is required")
        results = [self.fmt.v1_user(account_id) for account_id in dict.fromkeys(account_ids)
                   if account_id in self.site.users]
        return Response.json_obj({"results": results, "start": 0, "limit": len(account_ids), "size": len(results),
                                  "_links": {"base": self.base, "context": self.state.urls.context,
                                             "self": self._self_link(request)}})

    def attachment_download_redirect(self, request: Request) -> Response:
        """Cloud: 302 to the media URL of the attachment's bytes (`version` selects an older one)."""
        container = self._readable_content(request, request.params["id"])
        attachment = self._readable_content(request, request.params["attachment"])
        if attachment.parent_id != container.id:
            raise ApiError(404, f"No attachment {request.params['attachment']} on content {container.id}")
        allowed = [status for value in request.query.get("status") or ["current"] for status in value.split(",")]
        # (no `status`: current files only, as Atlassian's endpoint)
        if attachment.status not in allowed:
            raise ApiError(404, f"No {'/'.join(allowed)} attachment {request.params['attachment']}")
        version = parse_int(request, "version", attachment.versions[-1].number)
        if not any(v.number == version for v in attachment.versions) or (attachment.id, version) not in self.site.blobs:
            raise ApiError(400, f"Attachment {attachment.id} has no version {version}")
        return media_redirect(self.state, attachment, version)


def media_redirect(state: ServerState, attachment: Content, version: int) -> Response:
    from urllib.parse import quote

    token = state.media_token(attachment.id, version)
    media = state.urls.media_origin or state.urls.origin
    location = f"{media}/media/file/{token}/binary?name={quote(attachment.title)}&dl=true"
    return Response(status=302, body=b"", content_type="text/plain", headers=[("Location", location)])


def _expands_any(tree: ExpandTree, names: tuple[str, ...]) -> bool:
    return any(name in names or _expands_any(sub, names) for name, sub in tree.items())


def _gone(request: Request) -> Response:
    raise GoneError()


def _deprecated(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
    def wrapped(request: Request) -> Response:
        response = handler(request)
        response.headers.extend(DEPRECATION_HEADERS)
        response.headers.append(("Warning", '299 - "Deprecated API, will be removed on Mon, 31 Mar 2025 00:00:00 GMT"'))
        return response

    return wrapped
