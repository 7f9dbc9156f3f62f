"""Pieces of JSON both API flavours share: timestamps, links, users, labels and the fragment cache.

Why a fragment cache: list endpoints return up to 250 documents with multi-kilobyte bodies, and `json.dumps` of
those is most of the cost of a response. Each item's JSON is therefore rendered once per (representation, item
state, site generation) and responses are assembled by joining strings. The site generation changes on every
mutation made through the simulator, so cached text never outlives the data it was made from; the item's own
version, status, title and position are part of the key too, which keeps direct edits of the model safe.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Literal
from urllib.parse import quote, quote_plus
from zoneinfo import ZoneInfo

from confluence_simulator.model import Content, Group, Site, Space, User

Flavour = Literal["cloud", "datacenter"]
_UTC = timezone.utc


def dumps(obj: Any) -> str:
    """Compact JSON as Atlassian sends it (no spaces, UTF-8 characters kept)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class FragmentCache:
    """A bounded dict of rendered JSON text; cleared wholesale when it grows past its budget (cheap and simple)."""

    def __init__(self, max_chars: int = 400_000_000) -> None:
        self._data: dict[tuple[Any, ...], str] = {}
        self._chars = 0
        self._max_chars = max_chars
        self._lock = threading.Lock()

    def get_or_render(self, key: tuple[Any, ...], render: Callable[[], str]) -> str:
        text = self._data.get(key)
        if text is not None:
            return text
        text = render()
        with self._lock:
            if self._chars + len(text) > self._max_chars:
                self._data.clear()
                self._chars = 0
            self._data[key] = text
            self._chars += len(text)
        return text

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._chars = 0


def item_state(item: Content) -> tuple[Any, ...]:
    """Everything about one item that can change its JSON without a new version (moves, trash, labels)."""
    return (
        item.id,
        item.versions[-1].number,
        item.status,
        item.title,
        item.parent_id,
        item.space_id,
        item.position,
        len(item.labels),
        item.resolution_status,
        len(item.body),
    )


@dataclass
class SiteUrls:
    """Where the simulated site lives: `base` is `_links.base` (absolute), `context` is `_links.context`."""

    origin: str  # scheme://host:port
    context: str  # "/wiki" on Cloud, the context path ("" allowed) on Data Center
    media_origin: str = ""  # where Cloud's download redirects lead ("" = the origin)

    @property
    def base(self) -> str:
        return self.origin + self.context


class Formatter:
    """Flavour-specific rendering of timestamps, links and identities (one instance per server)."""

    def __init__(self, site: Site, flavour: Flavour, urls: SiteUrls, server_tz: str = "UTC") -> None:
        self.site = site
        self.flavour = flavour
        self.urls = urls
        self.cloud = flavour == "cloud"
        self.zone = _UTC if self.cloud else ZoneInfo(server_tz)
        self._times: dict[datetime, str] = {}
        self._users: dict[tuple[str, bool], dict[str, Any]] = {}
        self._user_texts: dict[str, str] = {}

    # ---- time ----------------------------------------------------------------------------------------------
    def ts(self, moment: datetime) -> str:
        """Cloud: UTC with `Z`; Data Center: the server's local offset (e.g. `+01:00`), millisecond precision."""
        text = self._times.get(moment)
        if text is None:
            local = moment.astimezone(self.zone)
            millis = f"{local.microsecond // 1000:03d}"
            if self.cloud:
                text = local.strftime("%Y-%m-%dT%H:%M:%S.") + millis + "Z"
            else:
                offset = local.strftime("%z")
                text = local.strftime("%Y-%m-%dT%H:%M:%S.") + millis + offset[:3] + ":" + offset[3:]
            if len(self._times) > 500_000:
                self._times.clear()
            self._times[moment] = text
        return text

    @staticmethod
    def millis(moment: datetime) -> int:
        return int(moment.timestamp() * 1000)

    @staticmethod
    def friendly(moment: datetime) -> str:
        return moment.strftime("%b %d, %Y")

    # ---- ids and links ------------------------------------------------------------------------------------
    def content_id(self, item: Content) -> str:
        """Cloud renders attachment ids as `att<id>`; everything else is the plain number."""
        if self.cloud and item.type == "attachment":
            return f"att{item.id}"
        return str(item.id)

    @staticmethod
    def tiny(content_id: int) -> str:
        """Confluence's tiny link: little-endian id bytes, base64, trailing 'A'/'=' dropped, URL-safe characters."""
        raw = content_id.to_bytes(8, "little").rstrip(b"\0") or b"\0"
        text = base64.b64encode(raw).decode("ascii").rstrip("=")
        text = text.replace("/", "-").replace("+", "_")
        return "/x/" + (text.rstrip("A") or "A")

    def space_webui(self, space: Space) -> str:
        return f"/spaces/{space.key}" if self.cloud else f"/display/{space.key}"

    def webui(self, item: Content) -> str:
        """The `_links.webui` of a content item (relative to `_links.base`)."""
        space = self.site.spaces.get(item.space_id)
        key = space.key if space else ""
        if item.type == "page":
            if self.cloud:
                return f"/spaces/{key}/pages/{item.id}/{quote_plus(item.title)}"
            return self._dc_display(key, item, "")
        if item.type == "folder":
            return f"/spaces/{key}/folder/{item.id}"
        if item.type == "blogpost":
            day = item.created_at.astimezone(self.zone).strftime("%Y/%m/%d")
            if self.cloud:
                return f"/spaces/{key}/blog/{day}/{item.id}/{quote_plus(item.title)}"
            return self._dc_display(key, item, day + "/")
        container = self.site.content.get(item.parent_id) if item.parent_id is not None else None
        if item.type == "comment":
            page_link = self.webui(container) if container is not None else f"/spaces/{key}"
            separator = "&" if "?" in page_link else "?"
            return f"{page_link}{separator}focusedCommentId={item.id}#comment-{item.id}"
        # attachment
        container_id = item.parent_id if item.parent_id is not None else 0
        preview = quote(f"/{container_id}/{item.id}/{item.title}", safe="")
        return f"/pages/viewpageattachments.action?pageId={container_id}&preview={preview}"

    def _dc_display(self, key: str, item: Content, prefix: str) -> str:
        """DC uses /display/KEY/Title for simple titles and viewpage.action for titles a URL path cannot hold."""
        title = item.title
        if title and all(ch.isalnum() or ch in " -_." for ch in title):
            return f"/display/{key}/{prefix}{quote_plus(title)}"
        return f"/pages/viewpage.action?pageId={item.id}"

    def download_path(self, item: Content, version: int | None = None) -> str:
        """Attachment download link relative to `_links.base` (the servlet path, not the REST API)."""
        number = version if version is not None else item.versions[-1].number
        moment = item.versions[-1].created_at
        for entry in item.versions:
            if entry.number == number:
                moment = entry.created_at
        container_id = item.parent_id if item.parent_id is not None else 0
        path = f"/download/attachments/{container_id}/{quote(item.title)}?version={number}"
        path += f"&modificationDate={self.millis(moment)}"
        if self.cloud:
            path += "&cacheVersion=1"
        return path + "&api=v2"

    @staticmethod
    def file_id(item: Content) -> str:
        """A stable media file UUID for a Cloud attachment (what ADF media nodes reference)."""
        return str(uuid.UUID(bytes=hashlib.md5(f"file-{item.id}".encode()).digest(), version=4))

    @staticmethod
    def label_id(name: str) -> str:
        """Stable numeric label id derived from the name (Confluence labels are site-wide objects)."""
        return str(int(hashlib.sha1(name.lower().encode("utf-8")).hexdigest()[:8], 16) % 900_000_000 + 100_000)

    # ---- people -------------------------------------------------------------------------------------------
    def v1_user(self, account_id: str, with_timezone: bool = False) -> dict[str, Any]:
        """A v1 `User`: accountId-based on Cloud, username/userKey-based on Data Center."""
        cached = self._users.get((account_id, with_timezone))
        if cached is not None:
            return cached
        user = self.site.users.get(account_id)
        rendered = self._render_v1_user(user, account_id, with_timezone)
        self._users[(account_id, with_timezone)] = rendered
        return rendered

    def v1_user_json(self, account_id: str) -> str:
        """`v1_user` as JSON text, cached (the same few authors appear in thousands of items)."""
        text = self._user_texts.get(account_id)
        if text is None:
            text = self._user_texts[account_id] = dumps(self.v1_user(account_id))
        return text

    def _render_v1_user(self, user: User | None, account_id: str, with_timezone: bool) -> dict[str, Any]:
        display = user.display_name if user else "Unknown user"
        if self.cloud:
            out: dict[str, Any] = {
                "type": "known" if user else "unknown",
                "accountId": account_id,
                "accountType": "atlassian",
                "email": user.email if user else "",
                "publicName": display,
                "profilePicture": {
                    "path": f"/wiki/aa-avatar/{account_id}",
                    "width": 48,
                    "height": 48,
                    "isDefault": False,
                },
                "displayName": display,
                "isExternalCollaborator": False,
                "isGuest": False,
            }
            if with_timezone and user:
                out["timeZone"] = user.timezone
            out["_expandable"] = {"operations": "", "personalSpace": ""}
            out["_links"] = {"self": f"{self.urls.base}/rest/api/user?accountId={account_id}"}
            return out
        user_key = user.user_key if user else account_id
        out = {
            "type": "known" if user else "unknown",
            "username": user.username if user else "",
            "userKey": user_key,
            "profilePicture": {
                "path": f"{self.urls.context}/images/icons/profilepics/default.svg",
                "width": 48,
                "height": 48,
                "isDefault": True,
            },
            "displayName": display,
        }
        if with_timezone and user:
            out["timeZone"] = user.timezone
        out["_links"] = {"self": f"{self.urls.base}/rest/api/user?key={user_key}"}
        out["_expandable"] = {"status": ""}
        return out

    def v1_group(self, group: Group) -> dict[str, Any]:
        if self.cloud:
            return {
                "type": "group",
                "name": group.name,
                "id": group.id,
                "_links": {"self": f"{self.urls.base}/rest/api/group/by-id?id={group.id}"},
            }
        return {
            "type": "group",
            "name": group.name,
            "_links": {"self": f"{self.urls.base}/rest/api/group/{quote(group.name)}"},
        }

    def clear(self) -> None:
        self._users.clear()
        self._user_texts.clear()
