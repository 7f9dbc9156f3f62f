"""Cloud REST v2 endpoints (`/wiki/api/v2/...`): spaces, pages, blog posts, attachments, comments, labels, tree.

Paging follows Atlassian's v2 rules: an opaque cursor in `_links.next` (site-relative, including `/wiki`) and in
the `Link` header, `limit` 1..250 (400 above), defaults 25 (attachments 50). Lists return `current` items (plus
`archived` for pages and attachments) unless `status` says otherwise; items the caller may not read are left out
and single GETs on them answer 404, as Confluence does.
"""

from __future__ import annotations

import bisect
import json
from typing import Any, Callable, Sequence, TypeVar

from confluence_simulator.faults import FaultKind
from confluence_simulator.model import Content, Space
from confluence_simulator.pagination import decode_cursor, encode_cursor, relative_link, v2_limit, v2_link_header
from confluence_simulator.render_common import dumps
from confluence_simulator.routes import ApiError, Request, Response, Router
from confluence_simulator.state import ServerState

T = TypeVar("T")
SortKey = Callable[[Any], Any]

PAGE_STATUSES = ("current", "archived", "deleted", "trashed")
BLOG_STATUSES = ("current", "deleted", "trashed")
ATTACHMENT_STATUSES = ("current", "archived", "trashed")
COMMENT_STATUSES = ("current", "archived", "trashed", "deleted", "historical", "draft")
SINGLE_STATUSES = ("current", "archived", "trashed", "deleted", "historical", "draft")
LIST_BODY_FORMATS = ("storage", "atlas_doc_format")
SINGLE_BODY_FORMATS = ("storage", "atlas_doc_format", "view", "export_view", "anonymous_export_view",
                       "styled_view", "editor")


def _millis(moment: Any) -> int:
    return int(moment.timestamp() * 1000)


CONTENT_SORTS: dict[str, SortKey] = {
    "id": lambda item: item.id,
    "created-date": lambda item: _millis(item.created_at),
    "modified-date": lambda item: _millis(item.versions[-1].created_at),
    "title": lambda item: item.title.casefold(),
}
CHILD_SORTS: dict[str, SortKey] = {**CONTENT_SORTS, "child-position": lambda item: item.position}
SPACE_SORTS: dict[str, SortKey] = {
    "id": lambda space: space.id,
    "key": lambda space: space.key.casefold(),
    "name": lambda space: space.name.casefold(),
}


class CloudV2Api:
    """Handlers for `/wiki/api/v2`; `register` adds them to a router under endpoint names `v2.*`."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.site = state.site
        self.queries = state.queries
        self.render = state.v2

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/spaces", "v2.spaces.list", self.list_spaces)
        add("GET", "/spaces/{id}", "v2.spaces.get", self.get_space)
        add("GET", "/spaces/{id}/pages", "v2.spaces.pages", self.space_pages)
        add("GET", "/spaces/{id}/blogposts", "v2.spaces.blogposts", self.space_blogposts)
        add("GET", "/spaces/{id}/permissions", "v2.spaces.permissions", self.space_permissions)
        add("GET", "/pages", "v2.pages.list", self.list_pages)
        add("GET", "/pages/{id}", "v2.pages.get", self.get_page)
        add("GET", "/pages/{id}/attachments", "v2.pages.attachments", self.container_attachments)
        add("GET", "/pages/{id}/footer-comments", "v2.pages.footer_comments", self.footer_comments_of)
        add("GET", "/pages/{id}/inline-comments", "v2.pages.inline_comments", self.inline_comments_of)
        add("GET", "/pages/{id}/labels", "v2.pages.labels", self.labels_of)
        add("GET", "/pages/{id}/ancestors", "v2.pages.ancestors", self.ancestors)
        add("GET", "/pages/{id}/children", "v2.pages.children", self.children)
        add("GET", "/blogposts", "v2.blogposts.list", self.list_blogposts)
        add("GET", "/blogposts/{id}", "v2.blogposts.get", self.get_blogpost)
        add("GET", "/blogposts/{id}/attachments", "v2.blogposts.attachments", self.container_attachments)
        add("GET", "/blogposts/{id}/footer-comments", "v2.blogposts.footer_comments", self.footer_comments_of)
        add("GET", "/blogposts/{id}/inline-comments", "v2.blogposts.inline_comments", self.inline_comments_of)
        add("GET", "/blogposts/{id}/labels", "v2.blogposts.labels", self.labels_of)
        add("GET", "/folders/{id}", "v2.folders.get", self.get_folder)
        add("GET", "/attachments", "v2.attachments.list", self.list_attachments)
        add("GET", "/attachments/{id}", "v2.attachments.get", self.get_attachment)
        add("GET", "/attachments/{id}/labels", "v2.attachments.labels", self.labels_of)
        add("GET", "/labels", "v2.labels.list", self.list_labels)
        add("GET", "/labels/{id}/pages", "v2.labels.pages", self.labelled_pages)
        add("GET", "/labels/{id}/blogposts", "v2.labels.blogposts", self.labelled_blogposts)
        add("GET", "/labels/{id}/attachments", "v2.labels.attachments", self.labelled_attachments)
        add("GET", "/footer-comments", "v2.footer_comments.list", self.list_footer_comments)
        add("GET", "/footer-comments/{id}", "v2.footer_comments.get", self.get_comment)
        add("GET", "/footer-comments/{id}/children", "v2.footer_comments.children", self.comment_children)
        add("GET", "/inline-comments", "v2.inline_comments.list", self.list_inline_comments)
        add("GET", "/inline-comments/{id}", "v2.inline_comments.get", self.get_comment)
        add("GET", "/inline-comments/{id}/children", "v2.inline_comments.children", self.comment_children)
        add("POST", "/users-bulk", "v2.users.bulk", self.users_bulk)

    # ---- shared machinery ------------------------------------------------------------------------------
    def _limit(self, request: Request, default: int = 25) -> int:
        config = self.state.config
        return v2_limit(request, default, config.v2_max_limit, config.v2_clamp_limit)

    @staticmethod
    def _choice(request: Request, name: str, allowed: Sequence[str], default: str | None = None) -> str | None:
        value = request.arg(name)
        if value is None or value == "":
            return default
        if value not in allowed:
            raise ApiError(400, f"Invalid value '{value}' for parameter '{name}'; expected one of {', '.join(allowed)}")
        return value

    @staticmethod
    def _statuses(request: Request, allowed: Sequence[str], default: Sequence[str]) -> set[str]:
        values = request.arg_list("status")
        for value in values:
            if value not in allowed:
                raise ApiError(400, f"Invalid value '{value}' for parameter 'status'")
        return set(values) if values else set(default)

    @staticmethod
    def _sort(request: Request, sorts: dict[str, SortKey], default: str) -> str:
        value = request.arg("sort") or default
        if value.lstrip("-") not in sorts:
            allowed = ", ".join(name for key in sorts for name in (key, "-" + key))
            raise ApiError(400, f"Invalid value '{value}' for parameter 'sort'; expected one of {allowed}")
        return value

    def _int_id(self, raw: str) -> int:
        text = raw[3:] if raw.startswith("att") else raw
        try:
            return int(text)
        except ValueError as exc:
            raise ApiError(400, f"Invalid id: {raw}") from exc

    def _paged(
        self,
        request: Request,
        items: Sequence[T],
        sort: str,
        sorts: dict[str, SortKey],
        render: Callable[[T], str],
        limit: int,
        visible: Callable[[T], bool] | None = None,
        presorted_by_id: bool = False,
    ) -> Response:
        """One page of `items` in `sort` order after the request's cursor, as a v2 list response."""
        name = sort.lstrip("-")
        descending = sort.startswith("-")
        key_of = sorts[name]

        def full_key(item: Any) -> tuple[Any, int]:
            return (key_of(item), item.id)

        ordered = list(items) if presorted_by_id and name == "id" else sorted(items, key=full_key)
        cursor_text = request.arg("cursor")
        position: tuple[Any, int] | None = None
        if cursor_text:
            state = decode_cursor(cursor_text)
            if len(state) != 3 or state[0] != sort:
                raise ApiError(400, f"Invalid cursor: {cursor_text}")
            position = (state[1], state[2])
        if descending:
            end = len(ordered) if position is None else bisect.bisect_left(ordered, position, key=full_key)
            sequence: Any = (ordered[index] for index in range(end - 1, -1, -1))
        else:
            start = 0 if position is None else bisect.bisect_right(ordered, position, key=full_key)
            sequence = (ordered[index] for index in range(start, len(ordered)))
        page: list[Any] = []
        more = False
        for item in sequence:
            if visible is not None and not visible(item):
                continue
            if len(page) == limit:
                more = True
                break
            page.append(item)
        base = self.state.urls.base
        next_link: str | None = None
        if request.fault is not None and request.fault.kind == FaultKind.EMPTY_PAGE:
            page, more = [], True
            next_link = relative_link(request.full_path, request.query, {"cursor": cursor_text})
        elif more:
            last_key = full_key(page[-1])
            token = encode_cursor([sort, last_key[0], last_key[1]])
            next_link = relative_link(request.full_path, request.query, {"cursor": token})
        links: dict[str, str] = {"next": next_link} if next_link else {}
        links["base"] = base
        text = '{"results":[' + ",".join(render(item) for item in page) + '],"_links":' + dumps(links) + "}"
        return Response.json_text(text, headers=v2_link_header(next_link, base))

    def _readable(self, request: Request) -> Callable[[Content], bool]:
        user = request.user
        assert user is not None
        can_read = self.site.can_read
        return lambda item: can_read(user, item)

    def _space(self, request: Request, raw_id: str) -> Space:
        space = self.site.spaces.get(self._int_id(raw_id))
        if space is None or request.user is None or not self.queries.can_see_space(request.user, space):
            raise ApiError(404, f"No space found with id: {raw_id}")
        return space

    def _content(self, request: Request, raw_id: str, types: Sequence[str], statuses: Sequence[str]) -> Content:
        item = self.site.content.get(self._int_id(raw_id))
        if (
            item is None
            or item.type not in types
            or item.status not in statuses
            or request.user is None
            or not self.queries.can_see(request.user, item)
        ):
            raise ApiError(404, f"No content found with id: {raw_id}")
        return item

    def _content_ids(self, content_type: str, space_ids: Sequence[int] | None) -> list[Content]:
        content = self.site.content
        return [content[i] for i in self.queries.ids_of([content_type], space_ids) if i in content]

    def _space_ids(self, request: Request) -> list[int] | None:
        raw = request.arg_list("space-id")
        if not raw:
            return None
        if len(raw) > 100:
            raise ApiError(400, "At most 100 space ids may be given")
        return [self._int_id(value) for value in raw]

    # ---- spaces ----------------------------------------------------------------------------------------
    def list_spaces(self, request: Request) -> Response:
        limit = self._limit(request)
        sort = self._sort(request, SPACE_SORTS, "id")
        ids = {self._int_id(value) for value in request.arg_list("ids")}
        keys = set(request.arg_list("keys"))
        space_type = request.arg("type")
        status = self._choice(request, "status", ("current", "archived"))
        labels = set(request.arg_list("labels"))
        description_format = self._choice(request, "description-format", ("plain", "view"))
        include_icon = request.arg_bool("include-icon")
        user = request.user
        assert user is not None
        spaces = [
            space
            for space in sorted(self.site.spaces.values(), key=lambda s: s.id)
            if (not ids or space.id in ids)
            and (not keys or space.key in keys)
            and (space_type is None or space.type == space_type)
            and (status is None or space.status == status)
            and (not labels or labels.intersection(space.labels))
        ]
        render = self.render

        def render_space(space: Space) -> str:
            return dumps(render.space(space, description_format, include_icon))

        return self._paged(request, spaces, sort, SPACE_SORTS, render_space, limit,
                           visible=lambda space: self.queries.can_see_space(user, space), presorted_by_id=True)

    def get_space(self, request: Request) -> Response:
        space = self._space(request, request.params["id"])
        description_format = self._choice(request, "description-format", ("plain", "view"))
        obj = self.render.space(space, description_format, request.arg_bool("include-icon"))
        if request.arg_bool("include-labels"):
            obj["labels"] = self._embedded([self.render.label(name) for name in space.labels],
                                           f"/api/v2/spaces/{space.id}/labels")
        if request.arg_bool("include-permissions"):
            obj["permissions"] = self._embedded([self.render.space_permission(p) for p in space.permissions],
                                                f"/api/v2/spaces/{space.id}/permissions")
        if request.arg_bool("include-properties"):
            obj["properties"] = self._embedded([], f"/api/v2/spaces/{space.id}/properties")
        if request.arg_bool("include-operations"):
            obj["operations"] = self._embedded([{"operation": "read", "targetType": "space"}],
                                               f"/api/v2/spaces/{space.id}/operations")
        obj["_links"]["base"] = self.state.urls.base
        return Response.json_obj(obj)

    def space_permissions(self, request: Request) -> Response:
        space = self._space(request, request.params["id"])
        limit = self._limit(request)
        render = self.render
        return self._paged(request, list(space.permissions), "id", {"id": lambda p: p.id},
                           lambda p: dumps(render.space_permission(p)), limit)

    def space_pages(self, request: Request) -> Response:
        space = self._space(request, request.params["id"])
        depth = self._choice(request, "depth", ("all", "root"), "all")
        return self._list_pages(request, [space.id], root_only=depth == "root")

    def space_blogposts(self, request: Request) -> Response:
        space = self._space(request, request.params["id"])
        return self._list_blogposts(request, [space.id])

    # ---- pages and blog posts --------------------------------------------------------------------------
    def list_pages(self, request: Request) -> Response:
        return self._list_pages(request, self._space_ids(request))

    def _list_pages(self, request: Request, space_ids: Sequence[int] | None, root_only: bool = False) -> Response:
        limit = self._limit(request)
        sort = self._sort(request, CONTENT_SORTS, "id")
        statuses = self._statuses(request, PAGE_STATUSES, ("current", "archived"))
        body_format = self._choice(request, "body-format", LIST_BODY_FORMATS)
        title = request.arg("title")
        wanted_ids = request.arg_list("id")
        if len(wanted_ids) > 250:
            raise ApiError(400, "At most 250 page ids may be given")
        ids = {self._int_id(value) for value in wanted_ids}
        subtype = self._choice(request, "subtype", ("live", "page"))
        if ids:
            content = self.site.content
            candidates = [content[i] for i in sorted(ids) if i in content and content[i].type == "page"]
            if space_ids is not None:
                wanted_spaces = set(space_ids)
                candidates = [item for item in candidates if item.space_id in wanted_spaces]
        else:
            candidates = self._content_ids("page", space_ids)
        items = [
            item
            for item in candidates
            if item.status in statuses
            and (title is None or item.title == title)
            and (not root_only or item.parent_id is None)
            and subtype != "live"
        ]
        render = self.render
        return self._paged(request, items, sort, CONTENT_SORTS, lambda item: render.page(item, body_format), limit,
                           visible=self._readable(request), presorted_by_id=True)

    def list_blogposts(self, request: Request) -> Response:
        return self._list_blogposts(request, self._space_ids(request))

    def _list_blogposts(self, request: Request, space_ids: Sequence[int] | None) -> Response:
        limit = self._limit(request)
        sorts = {name: key for name, key in CONTENT_SORTS.items() if name != "title"}
        sort = self._sort(request, sorts, "id")
        statuses = self._statuses(request, BLOG_STATUSES, ("current",))
        body_format = self._choice(request, "body-format", LIST_BODY_FORMATS)
        title = request.arg("title")
        ids = {self._int_id(value) for value in request.arg_list("id")}
        items = [
            item
            for item in self._content_ids("blogpost", space_ids)
            if item.status in statuses and (title is None or item.title == title) and (not ids or item.id in ids)
        ]
        render = self.render
        return self._paged(request, items, sort, sorts, lambda item: render.blogpost(item, body_format), limit,
                           visible=self._readable(request), presorted_by_id=True)

    def get_page(self, request: Request) -> Response:
        return self._get_page_or_blog(request, "page")

    def get_blogpost(self, request: Request) -> Response:
        return self._get_page_or_blog(request, "blogpost")

    def _get_page_or_blog(self, request: Request, content_type: str) -> Response:
        statuses = self._statuses(request, SINGLE_STATUSES, ("current", "archived"))
        if request.arg_bool("get-draft"):
            statuses = {"draft"}
        item = self._content(request, request.params["id"], (content_type,), tuple(statuses))
        body_format = self._choice(request, "body-format", SINGLE_BODY_FORMATS)
        version_arg = request.arg("version")
        extras: dict[str, Any] = {}
        base_path = f"/api/v2/{'pages' if content_type == 'page' else 'blogposts'}/{item.id}"
        if request.arg_bool("include-labels"):
            extras["labels"] = self._embedded([self.render.label(name) for name in item.labels],
                                              f"{base_path}/labels")
        if request.arg_bool("include-properties"):
            extras["properties"] = self._embedded([], f"{base_path}/properties")
        if request.arg_bool("include-operations"):
            operations = [{"operation": "read", "targetType": content_type}]
            extras["operations"] = self._embedded(operations, f"{base_path}/operations")
        if request.arg_bool("include-likes"):
            extras["likes"] = self._embedded([], f"{base_path}/likes/users")
        if request.arg_bool("include-versions"):
            versions = [self.render.version(v) for v in reversed(item.versions)]
            extras["versions"] = self._embedded(versions, f"{base_path}/versions")
        if version_arg:
            return self._historical(item, version_arg, body_format, extras)
        if request.arg_bool("include-favorited-by-current-user-status"):
            extras["isFavoritedByCurrentUser"] = False
        text = self.render.single_page_or_blog(item, body_format, extras)
        if not request.arg_bool("include-version", True):
            obj = _loads(text)
            obj.pop("version", None)
            return Response.json_obj(obj)
        return Response.json_text(text)

    def _historical(self, item: Content, version_arg: str, body_format: str | None,
                    extras: dict[str, Any]) -> Response:
        try:
            number = int(version_arg)
        except ValueError as exc:
            raise ApiError(400, f"Invalid version: {version_arg}") from exc
        version = next((v for v in item.versions if v.number == number), None)
        if version is None:
            raise ApiError(404, f"No version {number} of content {item.id}")
        obj = _loads(self.render.single_page_or_blog(item, None, extras))
        obj["version"] = self.render.version(version)
        if number != item.versions[-1].number:
            obj["status"] = "historical"
        if body_format is not None:
            body = item.body if number == item.versions[-1].number else item.body_versions.get(number, "")
            obj["body"] = {body_format: {"representation": body_format, "value": body}}
        return Response.json_obj(obj)

    def _embedded(self, results: list[Any], path: str) -> dict[str, Any]:
        """An `include-*` collection: at most 50 results with `meta.hasMore` and a link to the full list."""
        shown = results[:50]
        meta: dict[str, Any] = {"hasMore": len(results) > 50}
        if len(results) > 50:
            meta["cursor"] = encode_cursor(["offset", 50, 0])
        return {"results": shown, "meta": meta, "_links": {"self": f"{self.state.urls.base}{path}"}}

    # ---- attachments -----------------------------------------------------------------------------------
    def _attachment_filters(self, request: Request) -> Callable[[Content], bool]:
        statuses = self._statuses(request, ATTACHMENT_STATUSES, ("current", "archived"))
        media_type = request.arg("mediaType")
        filename = request.arg("filename")
        return lambda item: (
            item.status in statuses
            and (media_type is None or item.media_type == media_type)
            and (filename is None or item.title == filename)
        )

    def list_attachments(self, request: Request) -> Response:
        limit = self._limit(request, 50)
        sorts = {name: key for name, key in CONTENT_SORTS.items() if name in ("id", "created-date", "modified-date")}
        sort = self._sort(request, sorts, "id")
        wanted = self._attachment_filters(request)
        items = [item for item in self._content_ids("attachment", None) if wanted(item)]
        return self._paged(request, items, sort, sorts, self.render.attachment, limit,
                           visible=self._readable(request), presorted_by_id=True)

    def container_attachments(self, request: Request) -> Response:
        kind = "page" if request.endpoint.startswith("v2.pages.") else "blogpost"
        container = self._content(request, request.params["id"], (kind,), ("current", "archived", "draft"))
        limit = self._limit(request, 50)
        sorts = {name: key for name, key in CONTENT_SORTS.items() if name in ("id", "created-date", "modified-date")}
        sort = self._sort(request, sorts, "id")
        wanted = self._attachment_filters(request)
        items = [item for item in self.queries.children(container.id, "attachment") if wanted(item)]
        return self._paged(request, items, sort, sorts, self.render.attachment, limit, presorted_by_id=True)

    def get_folder(self, request: Request) -> Response:
        item = self._content(request, request.params["id"], ("folder",), ("current", "archived"))
        obj = self.render.folder(item)
        obj["_links"]["base"] = self.state.urls.base
        return Response.json_obj(obj)

    def get_attachment(self, request: Request) -> Response:
        item = self._content(request, request.params["id"], ("attachment",), ("current", "archived"))
        obj = self.render.attachment_fields(item)
        version_arg = request.arg("version")
        if version_arg:
            number = int(version_arg) if version_arg.isdigit() else -1
            version = next((v for v in item.versions if v.number == number), None)
            if version is None:
                raise ApiError(404, f"No version {version_arg} of attachment {item.id}")
            obj["version"] = self.render.version(version)
            obj["downloadLink"] = obj["_links"]["download"] = self.state.fmt.download_path(item, number)
        base_path = f"/api/v2/attachments/{self.state.fmt.content_id(item)}"
        if request.arg_bool("include-labels"):
            obj["labels"] = self._embedded([self.render.label(name) for name in item.labels], f"{base_path}/labels")
        if request.arg_bool("include-versions"):
            obj["versions"] = self._embedded([self.render.version(v) for v in reversed(item.versions)],
                                             f"{base_path}/versions")
        if not request.arg_bool("include-version", True):
            obj.pop("version", None)
        obj["_links"]["base"] = self.state.urls.base
        return Response.json_obj(obj)

    # ---- comments --------------------------------------------------------------------------------------
    def _comment_list(
        self, request: Request, items: list[Content], visible: Callable[[Content], bool] | None = None
    ) -> Response:
        limit = self._limit(request)
        sorts = {name: key for name, key in CONTENT_SORTS.items() if name in ("id", "created-date", "modified-date")}
        sort = self._sort(request, sorts, "id")
        body_format = self._choice(request, "body-format", LIST_BODY_FORMATS)
        render = self.render
        return self._paged(request, items, sort, sorts, lambda item: render.comment(item, body_format), limit,
                           visible=visible, presorted_by_id=True)

    def _container(self, request: Request) -> Content:
        kind = "page" if request.endpoint.startswith("v2.pages.") else "blogpost"
        return self._content(request, request.params["id"], (kind,), ("current", "archived", "draft"))

    def footer_comments_of(self, request: Request) -> Response:
        return self._comments_of(request, "footer")

    def inline_comments_of(self, request: Request) -> Response:
        return self._comments_of(request, "inline")

    def _comments_of(self, request: Request, location: str) -> Response:
        container = self._container(request)
        statuses = self._statuses(request, COMMENT_STATUSES, ("current",))
        resolution = set(request.arg_list("resolution-status"))
        items = [
            item
            for item in self.queries.comment_thread(container.id)
            if item.comment_location == location
            and item.parent_comment_id is None
            and item.status in statuses
            and (not resolution or (item.resolution_status or "open") in resolution)
        ]
        return self._comment_list(request, items)

    def list_footer_comments(self, request: Request) -> Response:
        return self._all_comments(request, "footer")

    def list_inline_comments(self, request: Request) -> Response:
        return self._all_comments(request, "inline")

    def _all_comments(self, request: Request, location: str) -> Response:
        content = self.site.content
        items = [
            content[i]
            for i in self.queries.ids_of(["comment"])
            if i in content and content[i].comment_location == location and content[i].status == "current"
        ]
        return self._comment_list(request, items, visible=self._readable(request))

    def get_comment(self, request: Request) -> Response:
        location = "footer" if request.endpoint.startswith("v2.footer") else "inline"
        item = self._content(request, request.params["id"], ("comment",), ("current",))
        if item.comment_location != location:
            raise ApiError(404, f"No {location} comment found with id: {request.params['id']}")
        body_format = self._choice(request, "body-format", SINGLE_BODY_FORMATS)
        obj = _loads(self.render.comment(item, body_format))
        version_arg = request.arg("version")
        if version_arg:  # an earlier version: its version object and body, status `historical`
            number = int(version_arg) if version_arg.isdigit() else -1
            version = next((v for v in item.versions if v.number == number), None)
            if version is None:
                raise ApiError(404, f"No version {version_arg} of comment {item.id}")
            obj["version"] = self.render.version(version)
            if number != item.versions[-1].number:
                obj["status"] = "historical"
                if body_format is not None:
                    obj["body"] = {body_format: {"representation": body_format,
                                                 "value": item.body_versions.get(number, "")}}
        obj["_links"]["base"] = self.state.urls.base
        return Response.json_obj(obj)

    def comment_children(self, request: Request) -> Response:
        parent = self._content(request, request.params["id"], ("comment",), ("current",))
        items = [
            item
            for item in self.queries.comment_thread(parent.parent_id if parent.parent_id is not None else -1)
            if item.parent_comment_id == parent.id and item.status == "current"
        ]
        return self._comment_list(request, items)

    # ---- labels and tree -------------------------------------------------------------------------------
    def labels_of(self, request: Request) -> Response:
        kind = request.endpoint.split(".")[1]
        content_type = {"pages": "page", "blogposts": "blogpost", "attachments": "attachment"}[kind]
        item = self._content(request, request.params["id"], (content_type,), ("current", "archived"))
        limit = self._limit(request)
        prefix = self._choice(request, "prefix", ("my", "team", "global", "system"))
        labels = [self.render.label(name) for name in item.labels]
        if prefix is not None:
            labels = [label for label in labels if label["prefix"] == prefix]
        indexed = [_Indexed(index, label) for index, label in enumerate(labels)]
        sorts: dict[str, SortKey] = {"id": lambda entry: 0, "name": lambda entry: entry.value["name"],
                                     "created-date": lambda entry: 0}
        sort = self._sort(request, sorts, "id")
        return self._paged(request, indexed, sort, sorts, lambda entry: dumps(entry.value), limit)

    def list_labels(self, request: Request) -> Response:
        """GET /labels: the site's labels the caller can see something under, filtered by id and prefix."""
        limit = self._limit(request)
        sorts: dict[str, SortKey] = {"id": lambda entry: entry.id, "name": lambda entry: entry.value["name"],
                                     "created-date": lambda entry: entry.id}
        sort = self._sort(request, sorts, "id")
        wanted_ids = {self._int_id(value) for value in request.arg_list("label-id")}
        prefixes = set(request.arg_list("prefix"))
        user = request.user
        assert user is not None
        entries = []
        for name in self.queries.label_names():
            label = self.render.label(name)
            if ((wanted_ids and int(label["id"]) not in wanted_ids) or (prefixes and label["prefix"] not in prefixes)
                    or not self.queries.label_visible(user, name)):
                continue
            entries.append(_Indexed(int(label["id"]), label))
        return self._paged(request, entries, sort, sorts, lambda entry: dumps(entry.value), limit)

    def _label_named(self, request: Request) -> str:
        """The label whose id is in the path (404 when no label has it)."""
        label_id = self._int_id(request.params["id"])
        for name in self.queries.label_names():
            if int(self.state.fmt.label_id(name)) == label_id:
                return name
        raise ApiError(404, f"No label found with id: {label_id}")

    def _labelled(self, request: Request, content_type: str, statuses: Sequence[str],
                  space_ids: Sequence[int] | None = None) -> list[Content]:
        content = self.site.content
        spaces = set(space_ids) if space_ids is not None else None
        return [content[i] for i in self.queries.labelled(self._label_named(request))
                if i in content and content[i].type == content_type and content[i].status in statuses
                and (spaces is None or content[i].space_id in spaces)]

    def labelled_pages(self, request: Request) -> Response:
        limit = self._limit(request)
        sort = self._sort(request, CONTENT_SORTS, "id")
        body_format = self._choice(request, "body-format", LIST_BODY_FORMATS)
        items = self._labelled(request, "page", ("current", "archived"), self._space_ids(request))
        render = self.render
        return self._paged(request, items, sort, CONTENT_SORTS, lambda item: render.page(item, body_format), limit,
                           visible=self._readable(request), presorted_by_id=True)

    def labelled_blogposts(self, request: Request) -> Response:
        limit = self._limit(request)
        sorts = {name: key for name, key in CONTENT_SORTS.items() if name != "title"}
        sort = self._sort(request, sorts, "id")
        body_format = self._choice(request, "body-format", LIST_BODY_FORMATS)
        items = self._labelled(request, "blogpost", ("current",), self._space_ids(request))
        render = self.render
        return self._paged(request, items, sort, sorts, lambda item: render.blogpost(item, body_format), limit,
                           visible=self._readable(request), presorted_by_id=True)

    def labelled_attachments(self, request: Request) -> Response:
        limit = self._limit(request)
        sorts = {name: key for name, key in CONTENT_SORTS.items() if name in ("id", "created-date", "modified-date")}
        sort = self._sort(request, sorts, "id")
        items = self._labelled(request, "attachment", ("current", "archived"))
        return self._paged(request, items, sort, sorts, self.render.attachment, limit,
                           visible=self._readable(request), presorted_by_id=True)

    def ancestors(self, request: Request) -> Response:
        item = self._content(request, request.params["id"], ("page",), ("current", "archived", "trashed"))
        limit = self._limit(request)
        chain = self.site.ancestors(item)[-limit:]
        results = [{"id": str(ancestor.id), "type": ancestor.type} for ancestor in chain]
        return Response.json_obj({"results": results, "_links": {"base": self.state.urls.base}})

    def children(self, request: Request) -> Response:
        parent = self._content(request, request.params["id"], ("page",), ("current", "archived"))
        limit = self._limit(request)
        sort = self._sort(request, CHILD_SORTS, "child-position")
        items = [item for item in self.queries.children(parent.id, "page") if item.status in ("current", "archived")]
        render = self.render
        return self._paged(request, items, sort, CHILD_SORTS, lambda item: dumps(render.child(item)), limit,
                           visible=self._readable(request), presorted_by_id=True)


    # ---- users -----------------------------------------------------------------------------------------
    def users_bulk(self, request: Request) -> Response:
        """POST /users-bulk {"accountIds": [...]} (1..250): the users found, in request order."""
        try:
            body = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise ApiError(400, "The request body is not JSON") from exc
        account_ids = body.get("accountIds") if isinstance(body, dict) else None
        if not isinstance(account_ids, list) or not 1 <= len(account_ids) <= 250:
            raise ApiError(400, "accountIds must be a list of 1 to 250 account ids")
        results = []
        for account_id in dict.fromkeys(str(value) for value in account_ids):
            user = self.site.users.get(account_id)
            if user is None:
                continue
            personal = next((s for s in self.site.spaces.values()
                             if s.type == "personal" and s.author_id == account_id), None)
            entry: dict[str, Any] = {
                "accountId": user.account_id,
                "accountType": "atlassian",
                "accountStatus": "active",
                "displayName": user.display_name,
                "publicName": user.display_name,
                "email": user.email,
                "timeZone": user.timezone,
                "isExternalCollaborator": False,
                "profilePicture": {"path": f"/wiki/aa-avatar/{user.account_id}", "isDefault": False},
            }
            if personal is not None:
                entry["personalSpaceId"] = str(personal.id)
            results.append(entry)
        return Response.json_obj({"results": results, "_links": {"base": self.state.urls.base}})


class _Indexed:
    """A label with a synthetic id (its position) so labels page with the same cursor machinery."""

    __slots__ = ("id", "value")

    def __init__(self, index: int, value: dict[str, Any]) -> None:
        self.id = index
        self.value = value


def _loads(text: str) -> dict[str, Any]:
    value = json.loads(text)
    assert isinstance(value, dict)
    return value
