"""JSON of the v1 REST API (`/rest/api/...`) as Data Center serves it and as Cloud still serves it for search.

One renderer covers both flavours because the v1 shapes are the same; what differs is identity (Cloud users have
an accountId, DC users a username/userKey), attachment ids (`att123` on Cloud), timestamps (UTC `Z` on Cloud,
server offset on DC), web links and the storage format of user mentions. `expand` is honoured as a tree, so nested
expansions such as `ancestors.restrictions.read.restrictions.user` or `container.version` work as on Confluence;
whatever is not expanded is listed under `_expandable`.
"""

from __future__ import annotations

from typing import Any, Callable

from confluence_simulator.adf import storage_to_adf
from confluence_simulator.model import Content, Space, User, Version
from confluence_simulator.queries import ChangeTracker, SiteQueries
from confluence_simulator.render_common import FragmentCache, Formatter, dumps, item_state
from confluence_simulator.render_v2 import MEDIA_TYPE_DESCRIPTIONS
from confluence_simulator.storage_bodies import to_datacenter_storage

ExpandTree = dict[str, "ExpandTree"]

_BODY_SLOT = "\x00body\x00"
_BODY_SLOT_JSON = dumps(_BODY_SLOT)
BODY_REPRESENTATIONS = (
    "storage",
    "view",
    "export_view",
    "styled_view",
    "editor",
    "editor2",
    "anonymous_export_view",
    "wiki",
    "atlas_doc_format",
    "dynamic",
)
# How many children an expansion such as `children.attachment` embeds (the rest is behind `_links.next`).
EMBEDDED_CHILDREN_LIMIT = 25


def parse_expand(text: str | None) -> ExpandTree:
    """`"body.storage,version"` -> `{"body": {"storage": {}}, "version": {}}`."""
    tree: ExpandTree = {}
    if not text:
        return tree
    for path in text.split(","):
        node = tree
        for part in path.strip().split("."):
            if part:
                node = node.setdefault(part, {})
    return tree


def expand_key(tree: ExpandTree) -> str:
    """Canonical text of an expand tree (order-independent), used in cache keys."""
    return ",".join(f"{name}({expand_key(sub)})" for name, sub in sorted(tree.items()))


def has_body_expansion(tree: ExpandTree) -> bool:
    """True when any body representation is expanded (DC's search caps `limit` at 50 then)."""
    if "body" in tree:
        return True
    return any(has_body_expansion(sub) for sub in tree.values())


class V1Renderer:
    """Renders v1 content, spaces, search results and restrictions for one flavour."""

    def __init__(self, fmt: Formatter, queries: SiteQueries, tracker: ChangeTracker, bodies: FragmentCache,
                 fragments: FragmentCache) -> None:
        self.fmt = fmt
        self.site = fmt.site
        self.queries = queries
        self.tracker = tracker
        self.bodies = bodies  # per (id, version): survive site changes
        self.cache = fragments  # per item state and site generation: cleared on every change
        self.cloud = fmt.cloud
        self._user_keys: tuple[int, dict[str, str]] = (-1, {})
        self._user_dependent: dict[str, bool] = {}  # expand key -> whether the output depends on the caller

    # ---- helpers ---------------------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return self.fmt.urls.base

    def _self_link(self, item: Content) -> str:
        return f"{self.base}/rest/api/content/{self.fmt.content_id(item)}"

    def _space_of(self, item: Content) -> Space | None:
        return self.site.spaces.get(item.space_id)

    def storage_body(self, item: Content, version: int | None = None) -> str:
        """The stored XHTML; DC mentions use user keys instead of account ids, as a DC site stores them."""
        body = item.body
        if version is not None and version != item.versions[-1].number:
            body = item.body_versions.get(version, "")
        if self.cloud:
            return body
        generation, mapping = self._user_keys
        if generation != len(self.site.users):
            mapping = {user.account_id: user.user_key for user in self.site.users.values()}
            self._user_keys = (len(self.site.users), mapping)
        return to_datacenter_storage(body, mapping)

    # ---- content ---------------------------------------------------------------------------------------
    def content(self, item: Content, tree: ExpandTree, key: str, user: User, single: bool = False) -> str:
        """JSON text of one content item with `tree` expanded; cached unless the output depends on the caller."""
        depends = self._user_dependent.get(key)
        if depends is None:
            depends = self._user_dependent[key] = _depends_on_user(tree)
        user_part = user.account_id if depends else ""
        cache_key = ("v1", key, user_part, single, self.tracker.generation, *item_state(item),
                     *self._related_state(item, tree))

        def render() -> str:
            splicer = _Splicer()
            return splicer.dumps(self.content_obj(item, tree, user, single, top=True, splice=splicer))

        shell = self.cache.get_or_render(cache_key, render)
        if "storage" in tree.get("body", {}):  # the cached JSON holds a slot; the body itself is cached once
            return shell.replace(_BODY_SLOT_JSON, self.cached_storage_value(item), 1)
        return shell

    def _related_state(self, item: Content, tree: ExpandTree) -> tuple[object, ...]:
        """State of other items an expansion shows (ancestors, container), so a move elsewhere is not missed."""
        related: list[object] = []
        if "ancestors" in tree:
            related.extend(item_state(ancestor) for ancestor in self.ancestors_of(item))
        if "container" in tree and item.parent_id is not None and item.parent_id in self.site.content:
            related.append(item_state(self.site.content[item.parent_id]))
        return tuple(related)

    def cached_storage_value(self, item: Content) -> str:
        key = ("v1storage", self.fmt.flavour, item.id, item.versions[-1].number, len(item.body))
        return self.bodies.get_or_render(key, lambda: dumps(self.storage_body(item)))

    def content_obj(
        self, item: Content, tree: ExpandTree, user: User, single: bool = False, top: bool = False,
        splice: "_Splicer | None" = None,
    ) -> dict[str, Any]:
        """The v1 `Content` object as a dict (nested expansions rendered recursively).

        `top` marks the outermost object, whose storage body is spliced in from the body cache afterwards.
        With `splice`, the space, ancestors, container and users are taken as cached JSON text (they repeat
        across many items) and substituted when the object is serialized.
        """
        content_id = self.fmt.content_id(item)
        obj: dict[str, Any] = {"id": content_id, "type": item.type, "status": item.status, "title": item.title}
        space = self._space_of(item)
        expandable: dict[str, str] = {}

        def space_value(sub: ExpandTree) -> Any:
            if space is None:
                return None
            return splice(self.space_json(space, sub, user)) if splice else self.space_obj(space, sub, user)

        def ancestors_value(sub: ExpandTree) -> list[Any]:
            if splice:
                sub_key = expand_key(sub)
                return [splice(self.content(a, sub, sub_key, user)) for a in self.ancestors_of(item)]
            return [self.content_obj(a, sub, user) for a in self.ancestors_of(item)]

        handlers: list[tuple[str, Callable[[ExpandTree], Any], str]] = [
            ("space", space_value, f"/rest/api/space/{space.key}" if space else ""),
            ("history", lambda sub: self.history_obj(item, sub, splice), f"/rest/api/content/{content_id}/history"),
            ("version", lambda sub: self.version_obj(item, item.versions[-1], sub, splice), ""),
            ("ancestors", ancestors_value, ""),
            ("container", lambda sub: self.container_obj(item, sub, user, splice), self._container_link(item)),
            ("body", lambda sub: self.body_obj(item, sub, use_slot=top), ""),
            ("metadata", lambda sub: self.metadata_obj(item, sub), ""),
            ("restrictions", lambda sub: self.restrictions_obj(item, sub),
             f"/rest/api/content/{content_id}/restriction/byOperation"),
            ("children", lambda sub: self.children_obj(item, sub, user), f"/rest/api/content/{content_id}/child"),
            ("descendants", lambda sub: self.children_obj(item, sub, user, descendants=True),
             f"/rest/api/content/{content_id}/descendant"),
            ("operations", lambda sub: [{"operation": "read", "targetType": item.type}], ""),
        ]
        for name, make, link in handlers:
            if name in tree:
                value = make(tree[name])
                if value is not None:
                    obj[name] = value
            else:
                expandable[name] = link
        obj["extensions"] = self.extensions_obj(item, tree.get("extensions", {}))
        expandable["childTypes"] = ""
        if self.cloud:
            expandable["schedulePublishDate"] = ""
            expandable["schedulePublishInfo"] = ""
        obj["_expandable"] = expandable
        obj["_links"] = self.content_links(item, single)
        return obj

    def content_links(self, item: Content, single: bool) -> dict[str, str]:
        links: dict[str, str] = {"webui": self.fmt.webui(item)}
        if item.type == "attachment":
            links["download"] = self.fmt.download_path(item)
            if self.cloud:
                links["thumbnail"] = f"/download/thumbnails/{item.parent_id}/{item.title}?version=1"
        elif item.type in ("page", "blogpost"):
            links["edit" if not self.cloud else "editui"] = f"/pages/resumedraft.action?draftId={item.id}"
            links["tinyui"] = self.fmt.tiny(item.id)
        links["self"] = self._self_link(item)
        if single:
            links["collection"] = "/rest/api/content"
            links["base"] = self.base
            links["context"] = self.fmt.urls.context
        return links

    def ancestors_of(self, item: Content) -> list[Content]:
        """Root-first ancestors: parent pages for pages; parent comments for replies; none for the rest."""
        if item.type == "page":
            return self.site.ancestors(item)
        if item.type == "comment":
            chain: list[Content] = []
            parent_id = item.parent_comment_id
            while parent_id is not None:
                parent = self.site.content.get(parent_id)
                if parent is None:
                    break
                chain.append(parent)
                parent_id = parent.parent_comment_id
            chain.reverse()
            return chain
        return []

    def _container_link(self, item: Content) -> str:
        if item.type in ("page", "blogpost"):
            space = self._space_of(item)
            return f"/rest/api/space/{space.key}" if space else ""
        return f"/rest/api/content/{item.parent_id}" if item.parent_id is not None else ""

    def container_obj(self, item: Content, tree: ExpandTree, user: User, splice: "_Splicer | None" = None) -> Any:
        if item.type in ("page", "blogpost"):
            space = self._space_of(item)
            if space is None:
                return None
            return splice(self.space_json(space, tree, user)) if splice else self.space_obj(space, tree, user)
        container = self.site.content.get(item.parent_id) if item.parent_id is not None else None
        if container is None:
            return None
        if splice:
            return splice(self.content(container, tree, expand_key(tree), user))
        return self.content_obj(container, tree, user)

    def user_value(self, account_id: str, splice: "_Splicer | None") -> Any:
        return splice(self.fmt.v1_user_json(account_id)) if splice else self.fmt.v1_user(account_id)

    def version_obj(self, item: Content, version: Version, tree: ExpandTree, splice: "_Splicer | None" = None
                    ) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "by": self.user_value(version.author_id, splice),
            "when": self.fmt.ts(version.created_at),
            "friendlyWhen": self.fmt.friendly(version.created_at),
            "message": version.message,
            "number": version.number,
            "minorEdit": version.minor_edit,
        }
        if self.cloud:
            obj["contentTypeModified"] = False
            obj["confRev"] = f"confluence$content${item.id}.{version.number}"
        else:
            obj["hidden"] = False
        expandable = {"collaborators": ""}
        if "content" in tree:
            obj["content"] = {"id": self.fmt.content_id(item), "type": item.type, "status": item.status,
                              "title": item.title}
        else:
            expandable["content"] = f"/rest/api/content/{self.fmt.content_id(item)}"
        obj["_expandable"] = expandable
        obj["_links"] = {"self": f"{self.base}/rest/experimental/content/{self.fmt.content_id(item)}"
                                 f"/version/{version.number}"}
        return obj

    def history_obj(self, item: Content, tree: ExpandTree, splice: "_Splicer | None" = None) -> dict[str, Any]:
        first_author = item.versions[0].author_id if item.versions else item.author_id
        obj: dict[str, Any] = {
            "latest": True,
            "createdBy": self.user_value(item.author_id or first_author, splice),
            "createdDate": self.fmt.ts(item.created_at),
        }
        expandable: dict[str, str] = {}
        if "lastUpdated" in tree:
            obj["lastUpdated"] = self.version_obj(item, item.versions[-1], tree["lastUpdated"], splice)
        else:
            expandable["lastUpdated"] = ""
        if "previousVersion" in tree and len(item.versions) > 1:
            obj["previousVersion"] = self.version_obj(item, item.versions[-2], tree["previousVersion"], splice)
        else:
            expandable["previousVersion"] = ""
        if "contributors" in tree:
            authors = list(dict.fromkeys(version.author_id for version in item.versions))
            users = [self.fmt.v1_user(author) for author in authors]
            if self.cloud:
                obj["contributors"] = {"publishers": {"users": users, "userAccountIds": authors}}
            else:
                keys = [user.get("userKey", "") for user in users]
                obj["contributors"] = {"publishers": {"users": users, "userKeys": keys}}
        else:
            expandable["contributors"] = ""
        expandable["nextVersion"] = ""
        obj["_expandable"] = expandable
        obj["_links"] = {"self": f"{self.base}/rest/api/content/{self.fmt.content_id(item)}/history"}
        return obj

    def body_obj(self, item: Content, tree: ExpandTree, use_slot: bool = False) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        expandable: dict[str, str] = {}
        for representation in BODY_REPRESENTATIONS:
            if representation in tree:
                value: str = _BODY_SLOT if representation == "storage" and use_slot else self.storage_body(item)
                if representation == "atlas_doc_format" and self.cloud:
                    value = storage_to_adf(item.body)
                obj[representation] = {
                    "value": value,
                    "representation": representation,
                    "embeddedContent": [],
                    "_expandable": {"content": f"/rest/api/content/{self.fmt.content_id(item)}"},
                }
            else:
                expandable[representation] = ""
        obj["_expandable"] = expandable
        return obj

    def labels_obj(self, item: Content) -> dict[str, Any]:
        results = [self.label(name) for name in item.labels]
        return {
            "results": results,
            "start": 0,
            "limit": 200,
            "size": len(results),
            "_links": {"self": f"{self.base}/rest/api/content/{self.fmt.content_id(item)}/label"},
        }

    def label(self, name: str) -> dict[str, Any]:
        prefix, sep, rest = name.partition(":")
        if not (sep and prefix in ("my", "team", "global", "system")):
            prefix, rest = "global", name
        return {"prefix": prefix, "name": rest, "id": self.fmt.label_id(name), "label": rest}

    def metadata_obj(self, item: Content, tree: ExpandTree) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        if item.type == "attachment":
            obj["mediaType"] = item.media_type or "application/octet-stream"
        if "labels" in tree:
            obj["labels"] = self.labels_obj(item)
        expandable = {name: "" for name in ("currentuser", "comments", "simple", "properties", "frontend",
                                            "likes") if name not in tree}
        if "labels" not in tree:
            expandable["labels"] = f"/rest/api/content/{self.fmt.content_id(item)}/label"
        obj["_expandable"] = expandable
        return obj

    def restriction_obj(self, item: Content, operation: str, limit: int = 200, start: int = 0) -> dict[str, Any]:
        """One operation's restriction (`read` or `update`): the users and groups it names directly."""
        restrictions = item.restrictions
        user_ids = restrictions.read_users if operation == "read" else restrictions.update_users
        group_ids = restrictions.read_groups if operation == "read" else restrictions.update_groups
        users = [self.fmt.v1_user(account_id) for account_id in user_ids][start : start + limit]
        groups = [self.fmt.v1_group(self.site.groups[g]) for g in group_ids if g in self.site.groups]
        groups = groups[start : start + limit]
        content_id = self.fmt.content_id(item)
        return {
            "operation": operation,
            "restrictions": {
                "user": {"results": users, "start": start, "limit": limit, "size": len(users)},
                "group": {"results": groups, "start": start, "limit": limit, "size": len(groups)},
            },
            "_expandable": {"content": f"/rest/api/content/{content_id}"},
            "_links": {"self": f"{self.base}/rest/api/content/{content_id}/restriction/byOperation/{operation}"},
        }

    def restrictions_obj(self, item: Content, tree: ExpandTree) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        expandable: dict[str, str] = {}
        content_id = self.fmt.content_id(item)
        for operation in ("read", "update"):
            if operation in tree:
                obj[operation] = self.restriction_obj(item, operation)
            else:
                expandable[operation] = f"/rest/api/content/{content_id}/restriction/byOperation/{operation}"
        obj["_expandable"] = expandable
        obj["_links"] = {"self": f"{self.base}/rest/api/content/{content_id}/restriction/byOperation"}
        return obj

    def children_obj(self, item: Content, tree: ExpandTree, user: User, descendants: bool = False) -> dict[str, Any]:
        content_id = self.fmt.content_id(item)
        kind_word = "descendant" if descendants else "child"
        obj: dict[str, Any] = {}
        expandable: dict[str, str] = {}
        for child_type in ("page", "attachment", "comment"):
            link = f"/rest/api/content/{content_id}/{kind_word}/{child_type}"
            if child_type not in tree:
                expandable[child_type] = link
                continue
            children = self.visible_children(item, child_type, user, all_levels=descendants)
            shown = children[:EMBEDDED_CHILDREN_LIMIT]
            array: dict[str, Any] = {
                "results": [self.content_obj(child, tree[child_type], user) for child in shown],
                "start": 0,
                "limit": EMBEDDED_CHILDREN_LIMIT,
                "size": len(shown),
                "_links": {"self": self.base + link},
            }
            if len(children) > len(shown):
                array["_links"]["next"] = f"{link}?limit={EMBEDDED_CHILDREN_LIMIT}&start={EMBEDDED_CHILDREN_LIMIT}"
            obj[child_type] = array
        obj["_expandable"] = expandable
        obj["_links"] = {"self": f"{self.base}/rest/api/content/{content_id}/{kind_word}"}
        return obj

    def visible_children(self, item: Content, child_type: str, user: User, all_levels: bool = False) -> list[Content]:
        """Current children the user may see: child pages by position, attachments and comments by id."""
        children = [c for c in self.queries.children(item.id, child_type) if c.status == "current"]
        if child_type == "page":
            children = [c for c in children if self.queries.can_see(user, c)]
            children.sort(key=lambda c: (c.position, c.id))
        elif child_type == "comment" and not all_levels:
            children = [c for c in children if c.parent_comment_id is None]
        return children

    def extensions_obj(self, item: Content, tree: ExpandTree) -> dict[str, Any]:
        if item.type == "attachment":
            media_type = item.media_type or "application/octet-stream"
            obj: dict[str, Any] = {"mediaType": media_type, "fileSize": item.file_size, "comment": item.upload_comment}
            if self.cloud:
                obj["mediaTypeDescription"] = MEDIA_TYPE_DESCRIPTIONS.get(media_type, "File")
                obj["fileId"] = self.fmt.file_id(item)
                obj["collectionName"] = f"contentId-{item.parent_id}"
            return obj
        if item.type == "comment":
            obj = {"location": item.comment_location or "footer"}
            if item.comment_location == "inline":
                obj["inlineProperties"] = {
                    "markerRef": item.inline_marker_ref or "",
                    "originalSelection": item.inline_original_selection or "",
                }
                obj["resolution"] = {
                    "status": item.resolution_status or "open",
                    "lastModifier": self.fmt.v1_user(item.versions[-1].author_id),
                    "lastModifiedDate": self.fmt.ts(item.versions[-1].created_at),
                }
            return obj
        if item.type == "page":
            return {"position": item.position}
        return {}

    # ---- spaces ----------------------------------------------------------------------------------------
    def space_json(self, space: Space, tree: ExpandTree, user: User) -> str:
        """A space object as cached JSON text (items of one space all embed the same one)."""
        key = ("v1space", space.id, expand_key(tree), user.account_id if _depends_on_user(tree) else "",
               self.tracker.generation, space.key, space.name, space.status, space.homepage_id, len(space.labels))
        return self.cache.get_or_render(key, lambda: dumps(self.space_obj(space, tree, user)))

    def space_obj(self, space: Space, tree: ExpandTree, user: User) -> dict[str, Any]:
        obj: dict[str, Any] = {"id": space.id, "key": space.key, "name": space.name}
        if self.cloud:
            obj["alias"] = space.key
        expandable: dict[str, str] = {}
        if "icon" in tree:
            obj["icon"] = {"path": "/images/logo/default-space-logo.svg", "width": 48, "height": 48,
                           "isDefault": True}
        else:
            expandable["icon"] = ""
        if "description" in tree:
            description: dict[str, Any] = {}
            for representation in ("plain", "view"):
                if representation in tree["description"]:
                    value = space.description if representation == "plain" else f"<p>{space.description}</p>"
                    description[representation] = {"value": value, "representation": representation,
                                                   "embeddedContent": []}
            description["_expandable"] = {r: "" for r in ("plain", "view") if r not in tree["description"]}
            obj["description"] = description
        else:
            expandable["description"] = ""
        homepage = self.site.content.get(space.homepage_id) if space.homepage_id is not None else None
        if "homepage" in tree and homepage is not None:
            obj["homepage"] = self.content_obj(homepage, tree["homepage"], user)
        elif homepage is not None:
            expandable["homepage"] = f"/rest/api/content/{homepage.id}"
        obj["type"] = space.type
        if "metadata" in tree:
            labels = [self.label(name) for name in space.labels]
            obj["metadata"] = {"labels": {"results": labels, "start": 0, "limit": 200, "size": len(labels)},
                               "_expandable": {}}
        else:
            expandable["metadata"] = ""
        if "history" in tree and self.cloud:
            obj["history"] = {"createdDate": self.fmt.ts(space.created_at),
                              "createdBy": self.fmt.v1_user(space.author_id)}
        else:
            expandable["history"] = ""
        obj["status"] = space.status
        for name in ("settings", "operations", "lookAndFeel", "identifiers", "permissions", "theme"):
            expandable[name] = f"/rest/api/space/{space.key}/settings" if name == "settings" else ""
        obj["_expandable"] = expandable
        links = {"webui": self.fmt.space_webui(space), "self": f"{self.base}/rest/api/space/{space.key}"}
        if not self.cloud:
            links["collection"] = "/rest/api/space"
        obj["_links"] = links
        return obj

    # ---- search results --------------------------------------------------------------------------------
    def search_result(self, item: Content, tree: ExpandTree, key: str, user: User) -> str:
        """One `/rest/api/search` result: the content (expanded by `content.*`) plus the result fields."""
        cache_key = ("v1search", key, user.account_id if _depends_on_user(tree) else "", self.tracker.generation,
                     *item_state(item))

        content_tree = tree.get("content", {})

        def render() -> str:
            space = self._space_of(item)
            icon = {"page": "aui-iconfont-page-default", "blogpost": "aui-iconfont-page-blogpost",
                    "comment": "aui-iconfont-comment", "attachment": "aui-iconfont-file-generic",
                    "folder": "aui-iconfont-folder"}[item.type]
            result: dict[str, Any] = {
                "content": _BODY_SLOT,
                "title": item.title,
                "excerpt": self.queries.cql_item(item).text[:200],
                "url": self.fmt.webui(item),
                "resultGlobalContainer": {
                    "title": space.name if space else "",
                    "displayUrl": self.fmt.space_webui(space) if space else "",
                },
                "breadcrumbs": [],
                "entityType": "content",
                "iconCssClass": icon,
                "lastModified": self.fmt.ts(item.last_modified),
                "friendlyLastModified": self.fmt.friendly(item.last_modified),
                "score": 0.0,
            }
            if item.type in ("comment", "attachment") and item.parent_id in self.site.content:
                container = self.site.content[item.parent_id]
                result["resultParentContainer"] = {"title": container.title,
                                                   "displayUrl": self.fmt.webui(container)}
            if not self.cloud:
                result["timestamp"] = self.fmt.millis(item.last_modified)
            return dumps(result)

        shell = self.cache.get_or_render(cache_key, render)  # the content object is cached on its own
        return shell.replace(_BODY_SLOT_JSON, self.content(item, content_tree, expand_key(content_tree), user), 1)


    def space_search_result(self, space: Space, tree: ExpandTree, user: User) -> str:
        """One `/rest/api/search` result for a space: the space (expanded by `space.*`) plus the result fields."""
        url = self.fmt.space_webui(space)
        result: dict[str, Any] = {
            "space": self.space_obj(space, tree.get("space", {}), user),
            "title": space.name,
            "excerpt": space.description[:200],
            "url": url,
            "resultGlobalContainer": {"title": space.name, "displayUrl": url},
            "breadcrumbs": [],
            "entityType": "space",
            "iconCssClass": "aui-iconfont-space-default",
            "lastModified": self.fmt.ts(space.created_at),
            "friendlyLastModified": self.fmt.friendly(space.created_at),
            "score": 0.0,
        }
        if not self.cloud:
            result["timestamp"] = self.fmt.millis(space.created_at)
        return dumps(result)


class _Splicer:
    """Pre-rendered JSON fragments standing in an object as tokens until it is serialized."""

    def __init__(self) -> None:
        self._parts: list[str] = []

    def __call__(self, text: str) -> str:
        self._parts.append(text)
        return f"\x00{len(self._parts) - 1}\x00"

    def dumps(self, obj: Any) -> str:
        text = dumps(obj)
        for index, part in enumerate(self._parts):
            text = text.replace(f'"\\u0000{index}\\u0000"', part, 1)
        return text


def _depends_on_user(tree: ExpandTree) -> bool:
    """Expansions that list children depend on what the caller may see (restricted child pages are hidden)."""
    return "children" in tree or "descendants" in tree or any(_depends_on_user(sub) for sub in tree.values())
