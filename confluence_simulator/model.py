"""The simulator's in-memory Confluence site: users, groups, spaces and content.

One `Site` object is the single source of truth that both API flavours (Cloud and Data Center) render from,
so the same data can be checked through either API. Rendering to JSON lives in the server modules; this module
only holds data and the indexes the server needs to page quickly (ids kept sorted per space and type so a cursor
is a bisect, not a scan).

Timestamps are timezone-aware UTC datetimes. Content ids are integers, unique across all content types (as in
Confluence, where pages, blog posts, comments and attachments share one id sequence); Cloud renders attachment ids
as ``att<id>``.
"""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterator, Literal, MutableMapping

ContentType = Literal["page", "blogpost", "comment", "attachment", "folder"]  # folders: Cloud only
ContentStatus = Literal["current", "draft", "archived", "trashed", "historical"]
SpaceType = Literal["global", "personal"]
SpaceStatus = Literal["current", "archived"]
CommentLocation = Literal["footer", "inline"]
CONTENT_TYPES: tuple[ContentType, ...] = ("page", "blogpost", "comment", "attachment")


@dataclass
class User:
    """A person. `account_id` is the Cloud identity; `user_key`/`username` the Data Center one."""

    account_id: str
    user_key: str
    username: str
    display_name: str
    email: str
    password: str
    api_token: str
    personal_access_token: str
    timezone: str = "UTC"
    # A scoped API token (Cloud): accepted only through the api.atlassian.com gateway, as Atlassian's are.
    scoped_api_token: str = ""
    # OAuth 2.0 client credentials (a service account's): exchanged at the token endpoint for an access token.
    oauth_client_id: str = ""
    oauth_client_secret: str = ""
    groups: set[str] = field(default_factory=set)


@dataclass
class Group:
    """A group of users; Cloud identifies it by `id`, Data Center by `name`."""

    id: str
    name: str


@dataclass
class SpacePermission:
    """One space permission row: principal (user or group) allowed one operation (e.g. read)."""

    id: int
    principal_type: Literal["user", "group", "anonymous"]
    principal_id: str  # account id for users, group id for groups, "" for anonymous
    operation: str = "read"
    target_type: str = "space"


@dataclass
class Space:
    id: int
    key: str
    name: str
    description: str
    type: SpaceType
    status: SpaceStatus
    created_at: datetime
    author_id: str  # account id
    homepage_id: int | None = None
    labels: list[str] = field(default_factory=list)
    permissions: list[SpacePermission] = field(default_factory=list)


@dataclass
class Version:
    number: int
    created_at: datetime
    author_id: str  # account id
    message: str = ""
    minor_edit: bool = False


@dataclass
class Restrictions:
    """Direct restrictions on one content item. Empty lists mean 'not restricted at this level'.

    Read restrictions are inherited by descendants (Confluence semantics); update restrictions are not.
    """

    read_users: list[str] = field(default_factory=list)  # account ids
    read_groups: list[str] = field(default_factory=list)  # group ids
    update_users: list[str] = field(default_factory=list)
    update_groups: list[str] = field(default_factory=list)


@dataclass
class Content:
    """A page, blog post, comment, attachment or (Cloud) folder.

    `parent_id` is the parent page or folder for pages and folders, the container (page or blog post) for comments
    and attachments. A folder only groups pages in the tree: it has a title and a version, no body.
    Comment replies have `parent_comment_id`. `versions` holds the history, the last entry being current.
    """

    id: int
    type: ContentType
    status: ContentStatus
    title: str
    space_id: int
    created_at: datetime
    author_id: str
    versions: list[Version]
    body: str = ""  # storage format XHTML (pages, blog posts, comments)
    parent_id: int | None = None
    position: int = 0
    labels: list[str] = field(default_factory=list)
    restrictions: Restrictions = field(default_factory=Restrictions)
    # comments
    comment_location: CommentLocation | None = None
    parent_comment_id: int | None = None
    inline_original_selection: str | None = None
    resolution_status: str | None = None  # inline comments: open | resolved | reopened | dangling
    # attachments
    media_type: str | None = None
    file_size: int = 0
    upload_comment: str = ""
    # wall-clock (time.time()) of the last change, for the CQL index-lag knob
    changed_at_wallclock: float = 0.0
    # inline comments: the `ac:ref` of the `ac:inline-comment-marker` in the container's body
    inline_marker_ref: str | None = None
    # attachments: a phrase the current file's extracted text contains (lets tests check text extraction)
    extractable_phrase: str = ""
    # bodies of earlier versions (version number -> storage XHTML), kept only for versions replaced by a mutation;
    # generated history has no stored older bodies
    body_versions: dict[int, str] = field(default_factory=dict)
    # where a trashed item sat before it was trashed, so a restore can put it back
    trashed_from_parent_id: int | None = None

    @property
    def version(self) -> Version:
        return self.versions[-1]

    @property
    def last_modified(self) -> datetime:
        return self.versions[-1].created_at


BlobFactory = Callable[[], bytes]


class BlobStore(MutableMapping[tuple[int, int], bytes]):
    """Attachment bytes per (attachment id, version number), with optional lazy entries.

    A lazy entry is a factory plus the size it will produce, so a very large file costs no memory until someone
    downloads it (then its bytes are kept). It behaves like a dict for readers: `store[key]` returns bytes.
    Many attachments share one `bytes` object (same template file), which keeps big presets small in memory.
    """

    def __init__(self) -> None:
        self._bytes: dict[tuple[int, int], bytes] = {}
        self._lazy: dict[tuple[int, int], tuple[BlobFactory, int]] = {}
        self._versions: dict[int, set[int]] = {}  # content id -> stored version numbers
        self._lock = threading.Lock()

    def set_lazy(self, key: tuple[int, int], factory: BlobFactory, size: int) -> None:
        """Register bytes that are produced on first read; `size` must equal len(factory())."""
        self._bytes.pop(key, None)
        self._lazy[key] = (factory, size)
        self._versions.setdefault(key[0], set()).add(key[1])

    def size_of(self, key: tuple[int, int]) -> int:
        """Size in bytes without materializing a lazy entry. KeyError when absent."""
        if key in self._bytes:
            return len(self._bytes[key])
        return self._lazy[key][1]

    def is_materialized(self, key: tuple[int, int]) -> bool:
        return key in self._bytes

    def __getitem__(self, key: tuple[int, int]) -> bytes:
        data = self._bytes.get(key)
        if data is not None:
            return data
        with self._lock:
            if key in self._bytes:
                return self._bytes[key]
            factory, size = self._lazy[key]
            data = factory()
            if len(data) != size:
                raise ValueError(f"lazy blob {key} produced {len(data)} bytes, {size} announced")
            self._bytes[key] = data
            del self._lazy[key]
            return data

    def __setitem__(self, key: tuple[int, int], value: bytes) -> None:
        self._lazy.pop(key, None)
        self._bytes[key] = value
        self._versions.setdefault(key[0], set()).add(key[1])

    def __delitem__(self, key: tuple[int, int]) -> None:
        found = self._bytes.pop(key, None) is not None
        found = self._lazy.pop(key, None) is not None or found
        if not found:
            raise KeyError(key)
        versions = self._versions.get(key[0])
        if versions is not None:
            versions.discard(key[1])
            if not versions:
                del self._versions[key[0]]

    def __contains__(self, key: object) -> bool:
        return key in self._bytes or key in self._lazy

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(list(self._bytes) + list(self._lazy))

    def __len__(self) -> int:
        return len(self._bytes) + len(self._lazy)

    def versions_of(self, content_id: int) -> list[int]:
        """Version numbers stored for one attachment, ascending."""
        return sorted(self._versions.get(content_id, ()))

    def remove_all(self, content_id: int) -> None:
        """Drop every version of one attachment."""
        for version in self.versions_of(content_id):
            del self[(content_id, version)]


class Site:
    """All data of one simulated Confluence site, with a lock for mutations and sorted id indexes for paging.

    Readers may iterate while a mutation runs on another thread: every mutation holds `lock`, and the server takes
    the same lock while it renders one response page, so a page is always consistent.
    """

    def __init__(self, base_url_hint: str = "") -> None:
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}  # by account id
        self.groups: dict[str, Group] = {}  # by group id
        self.spaces: dict[int, Space] = {}  # by id
        self.content: dict[int, Content] = {}  # by id
        # attachment bytes per (attachment id, version number); entries may be lazy (see BlobStore)
        self.blobs: BlobStore = BlobStore()
        # account id of the user the simulator's credentials belong to (set by the generator)
        self.default_user_id: str = ""
        # ids of notable generated items, so tests can find them: hidden_tree_root, corrupt_pdf, encrypted_pdf,
        # large_file, huge_pages
        self.landmarks: dict[str, list[int]] = {}
        self._next_id = 1000
        # sorted content ids per (space id, type); every status included, filtering happens at read time
        self._ids_by_space_type: dict[tuple[int, str], list[int]] = {}
        # sorted ids of children per container id and type (child pages, comments, attachments)
        self._children: dict[tuple[int, str], list[int]] = {}
        self.base_url_hint = base_url_hint

    # ---- ids -------------------------------------------------------------------------------------------
    def new_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    # ---- indexing --------------------------------------------------------------------------------------
    def add_space(self, space: Space) -> None:
        with self.lock:
            self.spaces[space.id] = space
            self._next_id = max(self._next_id, space.id)

    def add_content(self, item: Content) -> None:
        """Insert a new content item and index it. Ids must be unique."""
        with self.lock:
            if item.id in self.content:
                raise ValueError(f"duplicate content id {item.id}")
            self.content[item.id] = item
            self._next_id = max(self._next_id, item.id)
            if not item.changed_at_wallclock:
                item.changed_at_wallclock = time.time()
            bisect.insort(self._ids_by_space_type.setdefault((item.space_id, item.type), []), item.id)
            if item.parent_id is not None:
                bisect.insort(self._children.setdefault((item.parent_id, item.type), []), item.id)

    def remove_content(self, content_id: int) -> Content | None:
        """Purge an item for good (no trash), with its blobs. Returns the removed item."""
        with self.lock:
            item = self.content.pop(content_id, None)
            if item is None:
                return None
            self._unindex(item)
            self.blobs.remove_all(content_id)
            return item

    def reindex(self, item: Content, old_space_id: int, old_parent_id: int | None) -> None:
        """Move an item's index entries after its space or parent changed."""
        with self.lock:
            self._remove_sorted(self._ids_by_space_type.get((old_space_id, item.type)), item.id)
            if old_parent_id is not None:
                self._remove_sorted(self._children.get((old_parent_id, item.type)), item.id)
            bisect.insort(self._ids_by_space_type.setdefault((item.space_id, item.type), []), item.id)
            if item.parent_id is not None:
                bisect.insort(self._children.setdefault((item.parent_id, item.type), []), item.id)

    def _unindex(self, item: Content) -> None:
        self._remove_sorted(self._ids_by_space_type.get((item.space_id, item.type)), item.id)
        if item.parent_id is not None:
            self._remove_sorted(self._children.get((item.parent_id, item.type)), item.id)

    @staticmethod
    def _remove_sorted(ids: list[int] | None, content_id: int) -> None:
        if not ids:
            return
        index = bisect.bisect_left(ids, content_id)
        if index < len(ids) and ids[index] == content_id:
            del ids[index]

    # ---- reading ---------------------------------------------------------------------------------------
    @property
    def default_user(self) -> User:
        """The user the simulator's default credentials authenticate as."""
        return self.users[self.default_user_id]

    def user_by_username(self, username: str) -> User | None:
        return next((user for user in self.users.values() if user.username == username), None)

    def user_by_key(self, user_key: str) -> User | None:
        return next((user for user in self.users.values() if user.user_key == user_key), None)

    def user_by_email(self, email: str) -> User | None:
        wanted = email.lower()
        return next((user for user in self.users.values() if user.email.lower() == wanted), None)

    def group_by_name(self, name: str) -> Group | None:
        return next((group for group in self.groups.values() if group.name == name), None)

    def ids_in_space(self, space_id: int, content_type: str) -> list[int]:
        """Sorted ids of one type in one space (all statuses). Do not mutate the returned list."""
        return self._ids_by_space_type.get((space_id, content_type), [])

    def child_ids(self, container_id: int, content_type: str) -> list[int]:
        """Sorted ids of direct children of one type (pages, comments or attachments) of a container."""
        return self._children.get((container_id, content_type), [])

    def space_by_key(self, key: str) -> Space | None:
        for space in self.spaces.values():
            if space.key == key:
                return space
        return None

    def ancestors(self, item: Content) -> list[Content]:
        """Ancestor pages and folders, root first (as Confluence's `ancestors` expansion orders them: Cloud's v1 API
        treats a folder as content, so it is part of the chain).

        For comments and attachments the container page and its ancestors are returned.
        """
        chain: list[Content] = []
        parent_id = item.parent_id
        while parent_id is not None:
            parent = self.content.get(parent_id)
            if parent is None:
                break
            chain.append(parent)
            parent_id = parent.parent_id if parent.type in ("page", "folder") else None
        chain.reverse()
        return chain

    def iter_content(self, content_type: str | None = None) -> Iterator[Content]:
        for item in list(self.content.values()):
            if content_type is None or item.type == content_type:
                yield item

    def can_read(self, user: User, item: Content) -> bool:
        """Effective read permission: space read permission and every read restriction on the item or an ancestor."""
        space = self.spaces.get(item.space_id)
        if space is None or not self.can_read_space(user, space):
            return False
        chain = self.ancestors(item) + [item]
        for node in chain:
            restriction = node.restrictions
            if restriction.read_users or restriction.read_groups:
                if user.account_id in restriction.read_users:
                    continue
                if user.groups.intersection(restriction.read_groups):
                    continue
                return False
        return True

    def can_read_space(self, user: User, space: Space) -> bool:
        for permission in space.permissions:
            if permission.operation != "read":
                continue
            if permission.principal_type == "anonymous":
                return True
            if permission.principal_type == "user" and permission.principal_id == user.account_id:
                return True
            if permission.principal_type == "group" and permission.principal_id in user.groups:
                return True
        return False
