"""JSON of the Cloud REST v2 API (`/wiki/api/v2`): pages, blog posts, attachments, comments, spaces, labels.

Shapes follow Atlassian's v2 OpenAPI document (`PageBulk`, `BlogPostBulk`, `AttachmentBulk`, `*CommentModel`,
`SpaceBulk`, ...). List items are rendered to text once per item state and cached (see `render_common`); bodies
are cached per (id, version, format) because they dominate the cost and only change with a new version.
"""

from __future__ import annotations

from typing import Any

from confluence_simulator.adf import storage_to_adf
from confluence_simulator.model import Content, Space, SpacePermission, Version
from confluence_simulator.queries import ChangeTracker
from confluence_simulator.render_common import FragmentCache, Formatter, dumps, item_state

_BODY_SLOT = "\x00body\x00"
_BODY_SLOT_JSON = dumps(_BODY_SLOT)

MEDIA_TYPE_DESCRIPTIONS = {
    "application/pdf": "PDF Document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Microsoft Word Document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Microsoft Excel Spreadsheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "Microsoft PowerPoint Presentation",
    "application/vnd.oasis.opendocument.text": "OpenDocument Text",
    "text/plain": "Text File",
    "text/csv": "CSV File",
    "text/html": "HTML Document",
    "image/png": "PNG Image",
    "image/jpeg": "JPEG Image",
}


class V2Renderer:
    """Renders v2 entities; list items come back as JSON text ready to be joined into a response."""

    def __init__(self, fmt: Formatter, tracker: ChangeTracker, bodies: FragmentCache, fragments: FragmentCache
                 ) -> None:
        self.fmt = fmt
        self.site = fmt.site
        self.tracker = tracker
        self.bodies = bodies  # per (id, version): survive site changes
        self.cache = fragments  # per item state and site generation: cleared on every change

    # ---- bodies ----------------------------------------------------------------------------------------
    def body_json(self, item: Content, body_format: str) -> str:
        """`{"storage": {...}}`-style body object as JSON text, cached per (format, id, version)."""
        key = ("v2body", body_format, item.id, item.versions[-1].number, len(item.body))
        return self.bodies.get_or_render(key, lambda: dumps(self._body_value(item, body_format)))

    def _body_value(self, item: Content, body_format: str) -> dict[str, Any]:
        if body_format == "atlas_doc_format":
            value = storage_to_adf(item.body)
        else:
            value = item.body
        return {body_format: {"representation": body_format, "value": value}}

    def _shell(self, obj: dict[str, Any], body_format: str | None) -> str:
        """JSON of `obj` with `body` just before `_links` (Atlassian's order); a body is a slot filled per response.

        Cached item JSON keeps only the slot, so each body is held once (in the body cache), not once per shape.
        """
        links = obj.pop("_links")
        obj["body"] = {} if body_format is None else _BODY_SLOT
        obj["_links"] = links
        return dumps(obj)

    def _fill(self, shell: str, item: Content, body_format: str | None) -> str:
        if body_format is None:
            return shell
        return shell.replace(_BODY_SLOT_JSON, self.body_json(item, body_format), 1)

    def _with_body(self, obj: dict[str, Any], item: Content, body_format: str | None) -> str:
        return self._fill(self._shell(obj, body_format), item, body_format)

    def version(self, version: Version) -> dict[str, Any]:
        return {
            "createdAt": self.fmt.ts(version.created_at),
            "message": version.message,
            "number": version.number,
            "minorEdit": version.minor_edit,
            "authorId": version.author_id,
        }

    def folder(self, item: Content) -> dict[str, Any]:
        """A `FolderSingle` (Cloud): a node of the page tree with a title and a version, no body."""
        parent = self.site.content.get(item.parent_id) if item.parent_id is not None else None
        return {
            "id": str(item.id),
            "type": "folder",
            "status": item.status,
            "title": item.title,
            "parentId": str(parent.id) if parent is not None else None,
            "parentType": parent.type if parent is not None else None,
            "position": item.position,
            "authorId": item.author_id,
            "ownerId": item.author_id,
            "createdAt": self.fmt.ts(item.created_at),
            "spaceId": str(item.space_id),
            "version": self.version(item.versions[-1]),
            "_links": {"webui": self.fmt.webui(item)},
        }

    # ---- pages and blog posts --------------------------------------------------------------------------
    def page(self, item: Content, body_format: str | None) -> str:
        key = ("v2page", body_format, self.tracker.generation, *item_state(item))
        shell = self.cache.get_or_render(key, lambda: self._shell(self._page_fields(item), body_format))
        return self._fill(shell, item, body_format)

    def _page_fields(self, item: Content) -> dict[str, Any]:
        parent = self.site.content.get(item.parent_id) if item.parent_id is not None else None
        return {
            "id": str(item.id),
            "status": item.status,
            "title": item.title,
            "spaceId": str(item.space_id),
            "parentId": str(parent.id) if parent is not None else None,
            "parentType": parent.type if parent is not None else None,
            "position": item.position,
            "authorId": item.author_id,
            "ownerId": item.author_id,
            "lastOwnerId": None,
            "createdAt": self.fmt.ts(item.created_at),
            "version": self.version(item.versions[-1]),
            "_links": {
                "editui": f"/pages/resumedraft.action?draftId={item.id}",
                "webui": self.fmt.webui(item),
                "edituiv2": f"/spaces/{self._space_key(item)}/pages/edit-v2/{item.id}",
                "tinyui": self.fmt.tiny(item.id),
            },
        }

    def _space_key(self, item: Content) -> str:
        space = self.site.spaces.get(item.space_id)
        return space.key if space else ""

    def blogpost(self, item: Content, body_format: str | None) -> str:
        key = ("v2blog", body_format, self.tracker.generation, *item_state(item))
        shell = self.cache.get_or_render(key, lambda: self._shell(self._blog_fields(item), body_format))
        return self._fill(shell, item, body_format)

    def _blog_fields(self, item: Content) -> dict[str, Any]:
        return {
            "id": str(item.id),
            "status": item.status,
            "title": item.title,
            "spaceId": str(item.space_id),
            "authorId": item.author_id,
            "createdAt": self.fmt.ts(item.created_at),
            "version": self.version(item.versions[-1]),
            "_links": {
                "editui": f"/pages/resumedraft.action?draftId={item.id}",
                "webui": self.fmt.webui(item),
                "tinyui": self.fmt.tiny(item.id),
            },
        }

    def single_page_or_blog(self, item: Content, body_format: str | None, extras: dict[str, Any]) -> str:
        """GET /pages/{id} and /blogposts/{id}: the bulk fields plus `include-*` collections and `_links.base`."""
        obj = self._page_fields(item) if item.type == "page" else self._blog_fields(item)
        obj.update(extras)
        obj["_links"]["base"] = self.fmt.urls.base
        return self._with_body(obj, item, body_format)

    # ---- attachments -----------------------------------------------------------------------------------
    def attachment(self, item: Content) -> str:
        key = ("v2att", self.tracker.generation, *item_state(item))
        return self.cache.get_or_render(key, lambda: dumps(self.attachment_fields(item)))

    def attachment_fields(self, item: Content) -> dict[str, Any]:
        container = self.site.content.get(item.parent_id) if item.parent_id is not None else None
        media_type = item.media_type or "application/octet-stream"
        obj: dict[str, Any] = {
            "id": self.fmt.content_id(item),
            "status": item.status,
            "title": item.title,
            "createdAt": self.fmt.ts(item.created_at),
        }
        if container is not None:
            obj["blogPostId" if container.type == "blogpost" else "pageId"] = str(container.id)
        download = self.fmt.download_path(item)
        webui = self.fmt.webui(item)
        obj.update(
            {
                "mediaType": media_type,
                "mediaTypeDescription": MEDIA_TYPE_DESCRIPTIONS.get(media_type, "File"),
                "comment": item.upload_comment,
                "fileId": self.fmt.file_id(item),
                "fileSize": item.file_size,
                "webuiLink": webui,
                "downloadLink": download,
                "version": self.version(item.versions[-1]),
                "_links": {"webui": webui, "download": download},
            }
        )
        return obj

    # ---- comments --------------------------------------------------------------------------------------
    def comment(self, item: Content, body_format: str | None) -> str:
        key = ("v2comment", body_format, self.tracker.generation, *item_state(item))
        shell = self.cache.get_or_render(key, lambda: self._shell(self.comment_fields(item), body_format))
        return self._fill(shell, item, body_format)

    def comment_fields(self, item: Content) -> dict[str, Any]:
        container = self.site.content.get(item.parent_id) if item.parent_id is not None else None
        obj: dict[str, Any] = {"id": str(item.id), "status": item.status, "title": item.title}
        if container is not None:
            field = {"page": "pageId", "blogpost": "blogPostId", "attachment": "attachmentId"}.get(container.type)
            if field:
                obj[field] = self.fmt.content_id(container)
        if item.parent_comment_id is not None:
            obj["parentCommentId"] = str(item.parent_comment_id)
        obj["version"] = self.version(item.versions[-1])
        if item.comment_location == "inline":
            obj["resolutionStatus"] = item.resolution_status or "open"
            obj["properties"] = {
                "inlineMarkerRef": self.fmt.file_id(item),
                "inlineOriginalSelection": item.inline_original_selection or "",
            }
        obj["_links"] = {"webui": self.fmt.webui(item)}
        return obj

    # ---- spaces ----------------------------------------------------------------------------------------
    def space(self, space: Space, description_format: str | None, include_icon: bool) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": str(space.id),
            "key": space.key,
            "name": space.name,
            "type": space.type,
            "status": space.status,
            "authorId": space.author_id,
            "spaceOwnerId": space.author_id,
            "createdAt": self.fmt.ts(space.created_at),
            "currentActiveAlias": space.key,
        }
        if space.homepage_id is not None:
            obj["homepageId"] = str(space.homepage_id)
        if description_format == "plain":
            obj["description"] = {"plain": {"representation": "plain", "value": space.description}}
        elif description_format == "view":
            obj["description"] = {"view": {"representation": "view", "value": f"<p>{space.description}</p>"}}
        if include_icon:
            obj["icon"] = {
                "path": f"/wiki/aa-avatar/space/{space.key}",
                "apiDownloadLink": f"/wiki/download/attachments/{space.id}/space-icon.png",
            }
        obj["_links"] = {"webui": self.fmt.space_webui(space)}
        return obj

    def space_permission(self, permission: SpacePermission) -> dict[str, Any]:
        if permission.principal_type == "anonymous":
            principal = {"type": "role", "id": "anonymous"}
        else:
            principal = {"type": permission.principal_type, "id": permission.principal_id}
        return {
            "id": str(permission.id),
            "principal": principal,
            "operation": {"key": permission.operation, "targetType": permission.target_type},
        }

    # ---- small objects ---------------------------------------------------------------------------------
    def label(self, name: str) -> dict[str, Any]:
        prefix, sep, rest = name.partition(":")
        if sep and prefix in ("my", "team", "global", "system"):
            return {"id": self.fmt.label_id(name), "name": rest, "prefix": prefix}
        return {"id": self.fmt.label_id(name), "name": name, "prefix": "global"}

    @staticmethod
    def child(item: Content) -> dict[str, Any]:
        return {
            "id": str(item.id),
            "status": item.status,
            "title": item.title,
            "spaceId": str(item.space_id),
            "childPosition": item.position,
        }
