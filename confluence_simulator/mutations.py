"""Changes to a simulated site between sync runs, with Confluence's rules for versions and timestamps.

Tests and the server's admin endpoints call these to create the situations an incremental sync must handle.
Confluence's rules that matter to a sync job, reproduced here:

- Editing a page, blog post or comment appends a version whose `created_at` is now (UTC); that is the item's
  last-modified time. Moving, trashing, restoring, archiving and label or restriction changes do NOT add a version,
  so a watermark on last-modified cannot see them. Adding a comment or an attachment does not touch the container.
- Trashing sets status `trashed`; purging removes the item for good, with its comments and attachments. Only
  trashed items (and drafts) can be purged. Trashing a page re-parents its child pages to the trashed page's parent
  (Data Center behaviour) unless the whole subtree is trashed.
- Deleting a space removes it with all its content; archiving a space only changes its status.

Every mutation holds `site.lock`, takes keyword arguments only and returns the affected `Content` (or `Space`), so
the HTTP layer can map calls and results to JSON directly. Every change sets `changed_at_wallclock`, which the CQL
index-lag knob reads.
"""

from __future__ import annotations

import mimetypes
import time
import uuid
from datetime import datetime, timezone
from html import escape
from typing import Callable, Iterable

from confluence_simulator import files
from confluence_simulator.model import CommentLocation, Content, ContentStatus, Restrictions, Site, Space, Version

Clock = Callable[[], datetime]
WallClock = Callable[[], float]

_EDITABLE = ("page", "blogpost", "comment", "folder")
_TREE = ("page", "folder")  # what pages and folders may hang under
_LIVE = ("current", "archived")


class MutationError(ValueError):
    """A change Confluence would refuse (wrong type or status, duplicate title, bad target)."""


class NotFoundError(MutationError, LookupError):
    """The content id, space key, user or group does not exist."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Mutations:
    """Thread-safe mutation API over one `Site`. Inject `clock` (and `wallclock`) to make tests deterministic."""

    def __init__(self, site: Site, clock: Clock | None = None, wallclock: WallClock | None = None) -> None:
        self.site = site
        self._clock = clock or utc_now
        self._wallclock = wallclock or time.time

    # ---- pages and blog posts --------------------------------------------------------------------------
    def add_page(self, *, space_key: str | None = None, title: str, body: str = "<p></p>",
                 parent_id: int | None = None, author_id: str | None = None, labels: Iterable[str] = (),
                 status: ContentStatus = "current") -> Content:
        """Create a page (status current or draft) under a page or folder, or at the top of a space. Without
        `space_key` the parent's space is used."""
        with self.site.lock:
            parent = self._get(parent_id, _TREE) if parent_id is not None else None
            if parent is not None and space_key is not None and self._space_of(parent).key != space_key:
                raise MutationError(f"parent {parent_id} is not in space {space_key}")
            if parent is None and space_key is None:
                raise MutationError("a page needs space_key or parent_id")
            space = self._space_of(parent) if parent is not None else self._space(space_key or "")
            self._check_status(status, ("current", "draft"))
            self._check_title_free(space.id, "page", title)
            item = self._new_content("page", space, title, body, author_id, status, labels)
            item.parent_id = parent.id if parent is not None else None
            item.position = self._next_position(space.id, item.parent_id)
            self.site.add_content(item)
            return item

    def add_folder(self, *, space_key: str | None = None, title: str, parent_id: int | None = None,
                   author_id: str | None = None) -> Content:
        """Create a folder under a page or folder, or at the top of a space; pages go in with `add_page` or
        `move_page`. Rename one with `edit(title=...)`, move it with `move_page`. Folders exist on Cloud only: a
        Data Center site should not be given any."""
        with self.site.lock:
            parent = self._get(parent_id, _TREE) if parent_id is not None else None
            if parent is None and space_key is None:
                raise MutationError("a folder needs space_key or parent_id")
            space = self._space_of(parent) if parent is not None else self._space(space_key or "")
            self._check_title_free(space.id, "folder", title)
            item = self._new_content("folder", space, title, "", author_id, "current", ())
            item.parent_id = parent.id if parent is not None else None
            item.position = self._next_position(space.id, item.parent_id)
            self.site.add_content(item)
            return item

    def add_blogpost(self, *, space_key: str, title: str, body: str = "<p></p>", author_id: str | None = None,
                     labels: Iterable[str] = (), status: ContentStatus = "current") -> Content:
        with self.site.lock:
            space = self._space(space_key)
            self._check_status(status, ("current", "draft"))
            self._check_title_free(space.id, "blogpost", title)
            item = self._new_content("blogpost", space, title, body, author_id, status, labels)
            self.site.add_content(item)
            return item

    def _refuse_on_archived(self, item: Content, action: str) -> None:
        """Archiving a page disables editing it, commenting on it, and so changing what hangs on it, until it is
        restored (Confluence's own rule)."""
        page: Content | None = item
        while page is not None and page.type not in ("page", "blogpost"):  # a comment on a file: up to its page
            page = self.site.content.get(page.parent_id or 0)
        if page is not None and page.status == "archived":
            raise MutationError(f"cannot {action} {item.type} {item.id}: page {page.id} is archived; restore it first")

    def edit(self, *, content_id: int, title: str | None = None, body: str | None = None,
             author_id: str | None = None, message: str = "", minor_edit: bool = False) -> Content:
        """Publish a new version of a page, blog post or comment. A draft stays a draft (use `publish`)."""
        with self.site.lock:
            item = self._get(content_id, _EDITABLE)
            if item.status == "trashed":
                raise MutationError(f"content {content_id} is trashed; restore it before editing")
            self._refuse_on_archived(item, "edit")
            if title is not None and title != item.title and item.type != "comment":
                self._check_title_free(item.space_id, item.type, title)
            if body is not None:
                item.body_versions[item.version.number] = item.body
                item.body = body
            if title is not None:
                item.title = title
            self._bump(item, author_id, message, minor_edit)
            return item

    edit_page = edit
    edit_blogpost = edit
    edit_comment = edit

    def publish(self, *, content_id: int, author_id: str | None = None) -> Content:
        """Publish a draft page or blog post: it becomes current, version 1 dated now."""
        with self.site.lock:
            item = self._get(content_id, ("page", "blogpost"))
            if item.status != "draft":
                raise MutationError(f"content {content_id} is {item.status}, not a draft")
            now = self._now()
            item.status = "current"
            item.created_at = now
            item.versions = [Version(number=1, created_at=now, author_id=self._author(author_id))]
            self._touch(item)
            return item

    def move_page(self, *, page_id: int, parent_id: int | None = None, space_key: str | None = None,
                  position: int | None = None, bump_version: bool = False) -> Content:
        """Move a page (or folder) under another page or folder, or to the top level of a space (`space_key` without
        `parent_id`).

        The subtree, comments and attachments follow into the new space. As in Confluence, a move adds no
        version unless `bump_version` is set: only ancestors (and perhaps the space) change.
        """
        with self.site.lock:
            page = self._get(page_id, _TREE)
            if parent_id is not None:
                parent = self._get(parent_id, _TREE)
                if parent.id == page.id or page.id in {a.id for a in self.site.ancestors(parent)}:
                    raise MutationError(f"cannot move page {page_id} under itself or its descendant {parent_id}")
                target_space = self._space_of(parent)
                if space_key is not None and target_space.key != space_key:
                    raise MutationError(f"parent page {parent_id} is not in space {space_key}")
            elif space_key is not None:
                target_space = self._space(space_key)
            else:
                raise MutationError("move_page needs parent_id or space_key")
            if target_space.id != page.space_id:
                for moving in self._subtree(page):
                    self._check_title_free(target_space.id, moving.type, moving.title)
            old_parent_id = page.parent_id
            page.parent_id = parent.id if parent_id is not None else None
            page.position = position if position is not None else self._next_position(target_space.id, parent_id)
            old_space_id = page.space_id
            page.space_id = target_space.id
            self.site.reindex(page, old_space_id, old_parent_id)
            if target_space.id != old_space_id:
                subtree = self._subtree(page)
                for moving in subtree[1:]:
                    self._change_space(moving, target_space.id)
                for node in subtree:
                    for attached in self._attached(node):
                        self._change_space(attached, target_space.id)
            if bump_version:
                self._bump(page, None, "Moved", True)
            else:
                self._touch(page)
            return page

    # ---- lifecycle: trash, restore, purge, archive -----------------------------------------------------
    def trash(self, *, content_id: int, with_descendants: bool = False) -> Content:
        """Move a page, folder, blog post, comment or attachment to the trash (no new version). The pages and
        folders below a page or folder move up to its parent unless `with_descendants` trashes them too."""
        with self.site.lock:
            item = self._get(content_id)
            if item.status == "trashed":
                raise MutationError(f"content {content_id} is already trashed")
            if item.type in _TREE:
                if with_descendants:
                    for descendant in self._subtree(item)[1:]:
                        if descendant.status != "trashed":
                            self._set_trashed(descendant)
                else:
                    for child_id in self._tree_children(item.id):
                        child = self.site.content[child_id]
                        if child.status == "trashed":
                            continue  # trashed children stay with the page they were trashed under
                        child.parent_id = item.parent_id
                        child.position = self._next_position(child.space_id, item.parent_id)
                        self.site.reindex(child, child.space_id, item.id)
                        self._touch(child)
            self._set_trashed(item)
            return item

    trash_page = trash
    trash_blogpost = trash
    trash_comment = trash
    trash_attachment = trash

    def restore(self, *, content_id: int) -> Content:
        """Bring a trashed (or archived) item back to current. A page or folder returns under its old parent when that
        is still there; one whose parent was purged or is in the trash too returns at the top of its space, as in
        Confluence (a current page never sits below a trashed one)."""
        with self.site.lock:
            item = self._get(content_id)
            if item.status not in ("trashed", "archived"):
                raise MutationError(f"content {content_id} is {item.status}; only trashed or archived content can be restored")
            if item.type in _TREE and item.parent_id is not None:
                parent = self.site.content.get(item.parent_id)
                if parent is None or parent.status == "trashed":
                    old_parent_id = item.parent_id
                    item.parent_id = None
                    item.position = self._next_position(item.space_id, None)
                    self.site.reindex(item, item.space_id, old_parent_id)
            if item.type in ("comment", "attachment"):
                container = self.site.content.get(item.parent_id or -1)
                if container is None or container.status == "trashed":
                    raise MutationError(f"the container of {content_id} is trashed; restore it first")
            item.status = "current"
            item.trashed_from_parent_id = None
            self._touch(item)
            return item

    def purge(self, *, content_id: int) -> Content:
        """Remove a trashed item (or a draft) for good, with its comments, attachments and trashed subpages."""
        with self.site.lock:
            item = self._get(content_id)
            if item.status not in ("trashed", "draft"):
                raise MutationError(f"content {content_id} is {item.status}; trash it before purging")
            self._purge_tree(item)
            return item

    purge_page = purge
    purge_blogpost = purge
    purge_comment = purge
    purge_attachment = purge

    def archive_page(self, *, page_id: int, with_descendants: bool = False) -> Content:
        """Archive a page (Cloud): status archived, no new version."""
        with self.site.lock:
            page = self._get(page_id, ("page",))
            if page.status != "current":
                raise MutationError(f"page {page_id} is {page.status}; only current pages can be archived")
            targets = self._subtree(page) if with_descendants else [page]
            for target in targets:
                if target.status == "current":
                    target.status = "archived"
                    self._touch(target)
            return page

    # ---- comments --------------------------------------------------------------------------------------
    def add_comment(self, *, container_id: int, body: str, author_id: str | None = None,
                    location: CommentLocation = "footer", parent_comment_id: int | None = None,
                    selection: str | None = None) -> Content:
        """Comment on a page or blog post, or reply to a comment. The container gets no new version.

        A new inline comment highlights `selection` in the container's body (wrapping its first occurrence, or
        adding a paragraph that holds it), as the editor does.
        """
        with self.site.lock:
            container = self._get(container_id, ("page", "blogpost"))
            if container.status not in _LIVE:
                raise MutationError(f"cannot comment on {container.type} {container_id}: it is {container.status}")
            self._refuse_on_archived(container, "comment on")
            parent: Content | None = None
            if parent_comment_id is not None:
                parent = self._get(parent_comment_id, ("comment",))
                if parent.parent_id != container.id:
                    raise MutationError(f"comment {parent_comment_id} belongs to another page")
                location = parent.comment_location or location
            if location not in ("footer", "inline"):
                raise MutationError(f"comment location must be footer or inline, not {location!r}")
            space = self._space_of(container)
            item = self._new_content("comment", space, f"Re: {container.title}", body, author_id, "current", ())
            item.parent_id = container.id
            item.comment_location = location
            if parent is not None:
                item.parent_comment_id = parent.id
                item.inline_original_selection = parent.inline_original_selection
                item.inline_marker_ref = parent.inline_marker_ref
                item.resolution_status = parent.resolution_status
            elif location == "inline":
                text = selection or "this part"
                item.inline_original_selection = text
                item.inline_marker_ref = str(uuid.uuid4())
                item.resolution_status = "open"
                container.body = _mark_selection(container.body, text, item.inline_marker_ref)
            self.site.add_content(item)
            return item

    def resolve_comment(self, *, comment_id: int, resolution_status: str = "resolved") -> Content:
        """Set an inline comment's resolution (open, resolved, reopened, dangling); no new version."""
        with self.site.lock:
            item = self._get(comment_id, ("comment",))
            if item.comment_location != "inline":
                raise MutationError(f"comment {comment_id} is not an inline comment")
            if resolution_status not in ("open", "resolved", "reopened", "dangling"):
                raise MutationError(f"unknown resolution status {resolution_status!r}")
            item.resolution_status = resolution_status
            self._touch(item)
            return item

    # ---- attachments -----------------------------------------------------------------------------------
    def add_attachment(self, *, container_id: int, file_name: str, data: bytes | None = None,
                       media_type: str | None = None, kind: str | None = None, variant: int = 0,
                       comment: str = "", author_id: str | None = None) -> Content:
        """Attach a file. Without `data`, a generated file of `kind` (default: from the extension) is used."""
        with self.site.lock:
            container = self._get(container_id, ("page", "blogpost"))
            if container.status not in _LIVE:
                raise MutationError(f"cannot attach to {container.type} {container_id}: it is {container.status}")
            self._refuse_on_archived(container, "attach to")
            for sibling_id in self.site.child_ids(container.id, "attachment"):
                sibling = self.site.content[sibling_id]
                if sibling.title == file_name and sibling.status != "trashed":
                    raise MutationError(f"{file_name!r} is already attached to {container_id} "
                                        f"(attachment {sibling_id}); add a new version instead")
            payload, resolved_type, phrase = _file_payload(file_name, data, media_type, kind, variant)
            space = self._space_of(container)
            item = self._new_content("attachment", space, file_name, "", author_id, "current", ())
            item.versions[0].minor_edit = True
            item.parent_id = container.id
            item.media_type = resolved_type
            item.upload_comment = comment
            item.extractable_phrase = phrase
            item.file_size = len(payload)
            self.site.add_content(item)
            self.site.blobs[(item.id, 1)] = payload
            return item

    def add_attachment_version(self, *, attachment_id: int, data: bytes | None = None,
                               media_type: str | None = None, kind: str | None = None, variant: int | None = None,
                               comment: str = "", author_id: str | None = None) -> Content:
        """Upload a new version of an attachment's file; without `data` the next generated variant is used."""
        with self.site.lock:
            item = self._get(attachment_id, ("attachment",))
            if item.status == "trashed":
                raise MutationError(f"attachment {attachment_id} is trashed; restore it first")
            self._refuse_on_archived(item, "upload a new version of")
            next_variant = variant if variant is not None else item.version.number
            payload, resolved_type, phrase = _file_payload(item.title, data, media_type or item.media_type,
                                                           kind, next_variant)
            self._bump(item, author_id, comment, True)
            self.site.blobs[(item.id, item.version.number)] = payload
            item.media_type = resolved_type
            item.file_size = len(payload)
            item.upload_comment = comment
            item.extractable_phrase = phrase
            return item

    # ---- labels and restrictions (no new version) ------------------------------------------------------
    def add_labels(self, *, content_id: int, labels: Iterable[str]) -> Content:
        with self.site.lock:
            item = self._get(content_id)
            for label in labels:
                name = _label_name(label)
                if name not in item.labels:
                    item.labels.append(name)
            self._touch(item)
            return item

    def remove_label(self, *, content_id: int, label: str) -> Content:
        with self.site.lock:
            item = self._get(content_id)
            name = _label_name(label)
            if name not in item.labels:
                raise NotFoundError(f"content {content_id} has no label {name!r}")
            item.labels.remove(name)
            self._touch(item)
            return item

    def set_restrictions(self, *, content_id: int, read_users: Iterable[str] | None = None,
                         read_groups: Iterable[str] | None = None, update_users: Iterable[str] | None = None,
                         update_groups: Iterable[str] | None = None) -> Content:
        """Replace the given restriction lists of a page or blog post (None leaves a list unchanged).

        Users are account ids, user keys or usernames; groups are group ids or names.
        """
        with self.site.lock:
            item = self._get(content_id, ("page", "blogpost"))
            current = item.restrictions
            item.restrictions = Restrictions(
                read_users=self._user_ids(read_users) if read_users is not None else list(current.read_users),
                read_groups=self._group_ids(read_groups) if read_groups is not None else list(current.read_groups),
                update_users=self._user_ids(update_users) if update_users is not None else list(current.update_users),
                update_groups=self._group_ids(update_groups) if update_groups is not None else list(current.update_groups),
            )
            self._touch_tree(item)
            return item

    def clear_restrictions(self, *, content_id: int) -> Content:
        with self.site.lock:
            item = self._get(content_id, ("page", "blogpost"))
            item.restrictions = Restrictions()
            self._touch_tree(item)
            return item

    # ---- spaces ----------------------------------------------------------------------------------------
    def rename_space(self, *, space_key: str, name: str) -> Space:
        """Give a space a new name (its key stays). Like in Confluence, no page or blog post gets a new version."""
        if not name.strip():
            raise MutationError("a space name cannot be empty")
        with self.site.lock:
            space = self._space(space_key)
            space.name = name
            return space

    def archive_space(self, *, space_key: str) -> Space:
        with self.site.lock:
            space = self._space(space_key)
            space.status = "archived"
            return space

    def unarchive_space(self, *, space_key: str) -> Space:
        with self.site.lock:
            space = self._space(space_key)
            space.status = "current"
            return space

    def delete_space(self, *, space_key: str) -> Space:
        """Remove a space and everything in it, for good (Confluence purges a deleted space)."""
        with self.site.lock:
            space = self._space(space_key)
            for content_type in ("comment", "attachment", "page", "folder", "blogpost"):
                for content_id in list(self.site.ids_in_space(space.id, content_type)):
                    self.site.remove_content(content_id)
            del self.site.spaces[space.id]
            return space

    # ---- helpers ---------------------------------------------------------------------------------------
    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the mutation clock must return timezone-aware datetimes")
        now = now.astimezone(timezone.utc)
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    def _author(self, author_id: str | None) -> str:
        account_id = author_id or self.site.default_user_id
        if account_id not in self.site.users:
            raise NotFoundError(f"unknown user {account_id!r}")
        return account_id

    def _get(self, content_id: int | None, types: tuple[str, ...] | None = None) -> Content:
        item = self.site.content.get(_as_id(content_id)) if content_id is not None else None
        if item is None:
            raise NotFoundError(f"no content with id {content_id}")
        if types is not None and item.type not in types:
            raise MutationError(f"content {content_id} is a {item.type}, expected {' or '.join(types)}")
        return item

    def _space(self, key: str) -> Space:
        space = self.site.space_by_key(key)
        if space is None:
            raise NotFoundError(f"no space with key {key!r}")
        return space

    def _space_of(self, item: Content) -> Space:
        return self.site.spaces[item.space_id]

    @staticmethod
    def _check_status(status: str, allowed: tuple[str, ...]) -> None:
        if status not in allowed:
            raise MutationError(f"new content can only be created as {' or '.join(allowed)}, not {status!r}")

    def _check_title_free(self, space_id: int, content_type: str, title: str) -> None:
        if not title.strip():
            raise MutationError("title must not be empty")
        for other_id in self.site.ids_in_space(space_id, content_type):
            other = self.site.content[other_id]
            if other.title == title and other.status in ("current", "archived", "draft"):
                raise MutationError(f"a {content_type} titled {title!r} already exists in this space (id {other_id})")

    def _new_content(self, content_type: str, space: Space, title: str, body: str, author_id: str | None,
                     status: ContentStatus, labels: Iterable[str]) -> Content:
        now = self._now()
        author = self._author(author_id)
        return Content(id=self.site.new_id(), type=content_type, status=status, title=title,  # type: ignore[arg-type]
                       space_id=space.id, created_at=now, author_id=author,
                       versions=[Version(number=1, created_at=now, author_id=author)], body=body,
                       labels=[_label_name(label) for label in labels], changed_at_wallclock=self._wallclock())

    def _next_position(self, space_id: int, parent_id: int | None) -> int:
        if parent_id is not None:
            sibling_ids = self._tree_children(parent_id)
        else:
            sibling_ids = [node_id for kind in _TREE for node_id in self.site.ids_in_space(space_id, kind)
                           if self.site.content[node_id].parent_id is None]
        positions = [self.site.content[sibling_id].position for sibling_id in sibling_ids]
        return max(positions, default=-1) + 1

    def _bump(self, item: Content, author_id: str | None, message: str, minor_edit: bool) -> None:
        item.versions.append(Version(number=item.version.number + 1, created_at=self._now(),
                                     author_id=self._author(author_id), message=message, minor_edit=minor_edit))
        self._touch(item)

    def _touch(self, item: Content) -> None:
        item.changed_at_wallclock = self._wallclock()

    def _touch_tree(self, item: Content) -> None:
        """Read restrictions change what descendants expose too; mark them changed for the index-lag knob."""
        for node in self._subtree(item) if item.type == "page" else [item]:
            self._touch(node)
            for attached in self._attached(node):
                self._touch(attached)

    def _set_trashed(self, item: Content) -> None:
        item.trashed_from_parent_id = item.parent_id
        item.status = "trashed"
        self._touch(item)

    def _subtree(self, page: Content) -> list[Content]:
        """The page (or folder) and all its descendant pages and folders, parents before children."""
        result = [page]
        index = 0
        while index < len(result):
            for child_id in self._tree_children(result[index].id):
                result.append(self.site.content[child_id])
            index += 1
        return result

    def _tree_children(self, parent_id: int) -> list[int]:
        """Ids of the pages and folders directly below a page or folder (a copy: callers may move them)."""
        return [*self.site.child_ids(parent_id, "page"), *self.site.child_ids(parent_id, "folder")]

    def _attached(self, container: Content) -> list[Content]:
        ids = [*self.site.child_ids(container.id, "comment"), *self.site.child_ids(container.id, "attachment")]
        return [self.site.content[item_id] for item_id in ids]

    def _change_space(self, item: Content, space_id: int) -> None:
        old_space_id = item.space_id
        item.space_id = space_id
        self.site.reindex(item, old_space_id, item.parent_id)
        self._touch(item)

    def _purge_tree(self, item: Content) -> None:
        if item.type in _TREE:
            for child_id in self._tree_children(item.id):
                child = self.site.content[child_id]
                if child.status in ("trashed", "draft"):
                    self._purge_tree(child)
                else:  # a live child outlives its purged parent at the parent's level
                    child.parent_id = item.parent_id if item.parent_id in self.site.content else None
                    self.site.reindex(child, child.space_id, item.id)
                    self._touch(child)
        if item.type == "comment":
            replies = [c for c in (self.site.content[i] for i in self.site.child_ids(item.parent_id or -1, "comment"))
                       if c.parent_comment_id == item.id]
            for reply in replies:
                self._purge_tree(reply)
        for attached in self._attached(item):
            self.site.remove_content(attached.id)
        self.site.remove_content(item.id)

    def _user_ids(self, values: Iterable[str]) -> list[str]:
        result = []
        for value in values:
            user = (self.site.users.get(value) or self.site.user_by_key(value) or self.site.user_by_username(value))
            if user is None:
                raise NotFoundError(f"unknown user {value!r}")
            result.append(user.account_id)
        return result

    def _group_ids(self, values: Iterable[str]) -> list[str]:
        result = []
        for value in values:
            group = self.site.groups.get(value) or self.site.group_by_name(value)
            if group is None:
                raise NotFoundError(f"unknown group {value!r}")
            result.append(group.id)
        return result


def _as_id(value: object) -> int | None:
    """Content ids arrive as ints from Python and often as strings from JSON (Cloud renders them as strings)."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.startswith("att"):
        text = text[3:]
    return int(text) if text.isdigit() else None


def _label_name(label: str) -> str:
    """Confluence stores labels lower-case without spaces."""
    name = label.strip().lower().replace(" ", "-")
    if not name:
        raise MutationError("a label must not be empty")
    return name


def _file_payload(file_name: str, data: bytes | None, media_type: str | None, kind: str | None,
                  variant: int) -> tuple[bytes, str, str]:
    """Bytes, media type and searchable phrase for an upload (given bytes, or a generated file)."""
    extension = file_name.rpartition(".")[2].lower() if "." in file_name else ""
    if data is not None:
        guessed = media_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        return data, guessed, ""
    resolved_kind = kind or extension
    if resolved_kind not in files.VARIANTS or resolved_kind == "csv-large":
        raise MutationError(f"no generated file for {file_name!r}; pass data or one of kind="
                            f"{', '.join(k for k in files.VARIANTS if k != 'csv-large')}")
    variant = variant % files.VARIANTS[resolved_kind]
    phrase = "" if resolved_kind == "pdf-corrupt" else files.phrase(resolved_kind, variant)
    return files.file_bytes(resolved_kind, variant), files.MEDIA_TYPES[resolved_kind], phrase


def _mark_selection(body: str, selection: str, marker_ref: str) -> str:
    """Wrap the first plain-text occurrence of `selection` in an inline-comment marker, or append it."""
    escaped = escape(selection, quote=False)
    marker = f'<ac:inline-comment-marker ac:ref="{marker_ref}">{escaped}</ac:inline-comment-marker>'
    position = body.find(escaped)
    while position >= 0:
        before = body.rfind("<", 0, position)
        after = body.rfind(">", 0, position)
        inside_cdata = body.rfind("<![CDATA[", 0, position) > body.rfind("]]>", 0, position)
        if before <= after and not inside_cdata:  # plain text, not a tag or code
            return body[:position] + marker + body[position + len(escaped):]
        position = body.find(escaped, position + 1)
    return body + f"<p>{marker}</p>"
