"""Mutations follow Confluence's version and status rules and keep the site's indexes consistent."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
import pytest

from confluence_simulator import files
from confluence_simulator.generator import KEY_MAIN, DatasetSpec, generate_site
from confluence_simulator.model import Content, Site
from confluence_simulator.mutations import Mutations, MutationError, NotFoundError

START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


class StepClock:
    """Each call returns one second later than the previous one."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture()
def site() -> Site:
    return generate_site(DatasetSpec(seed=11, preset="small", pages=150, blogposts=20, comments=60,
                                     attachments=40))


@pytest.fixture()
def clock() -> StepClock:
    return StepClock()


@pytest.fixture()
def mutations(site: Site, clock: StepClock) -> Mutations:
    return Mutations(site, clock=clock, wallclock=lambda: 5_000.0)


def assert_indexes_consistent(site: Site) -> None:
    """The sorted id indexes hold exactly the items in `site.content`, under their current space and parent."""
    by_space: dict[tuple[int, str], list[int]] = {}
    children: dict[tuple[int, str], list[int]] = {}
    for item in site.content.values():
        by_space.setdefault((item.space_id, item.type), []).append(item.id)
        if item.parent_id is not None:
            children.setdefault((item.parent_id, item.type), []).append(item.id)
    for (space_id, content_type), ids in by_space.items():
        assert site.ids_in_space(space_id, content_type) == sorted(ids)
    for (parent_id, content_type), ids in children.items():
        assert site.child_ids(parent_id, content_type) == sorted(ids)
    indexed = sum(len(site.ids_in_space(space_id, content_type)) for space_id in site.spaces
                  for content_type in ("page", "blogpost", "comment", "attachment"))
    assert indexed == len(site.content)
    for key in site.blobs:
        assert key[0] in site.content


def current_page(site: Site, space_key: str = KEY_MAIN, with_children: bool = False) -> Content:
    space = site.space_by_key(space_key)
    assert space is not None
    for page_id in site.ids_in_space(space.id, "page"):
        page = site.content[page_id]
        if page.status == "current" and page.parent_id is not None and (
                not with_children or site.child_ids(page.id, "page")):
            return page
    raise AssertionError("no suitable page")


def test_add_and_edit_page_bumps_versions(site: Site, mutations: Mutations, clock: StepClock) -> None:
    page = mutations.add_page(space_key=KEY_MAIN, title="Release checklist", body="<p>one</p>", labels=["Ops Team"])
    assert page.status == "current" and page.version.number == 1 and page.parent_id is None
    assert page.created_at == page.last_modified == START + timedelta(seconds=1)
    assert page.labels == ["ops-team"] and page.author_id == site.default_user_id
    assert page.changed_at_wallclock == 5_000.0
    edited = mutations.edit(content_id=page.id, body="<p>two</p>", message="second", author_id=page.author_id)
    assert edited is page and page.version.number == 2 and page.body == "<p>two</p>"
    assert page.last_modified == clock.now and page.last_modified > page.created_at
    assert page.body_versions == {1: "<p>one</p>"} and page.version.message == "second"
    assert page.last_modified.tzinfo == timezone.utc
    with pytest.raises(MutationError):
        mutations.add_page(space_key=KEY_MAIN, title="Release checklist")
    assert_indexes_consistent(site)


def test_child_page_gets_the_next_position(site: Site, mutations: Mutations) -> None:
    parent = current_page(site, with_children=True)
    existing = [site.content[i].position for i in site.child_ids(parent.id, "page")]
    child = mutations.add_page(title="New child", parent_id=parent.id)
    assert child.space_id == parent.space_id and child.position == max(existing) + 1
    assert child.id in site.child_ids(parent.id, "page")
    assert [a.id for a in site.ancestors(child)][-1] == parent.id


def test_labels_restrictions_comments_and_attachments_do_not_bump_the_page(site: Site, mutations: Mutations) -> None:
    page = current_page(site)
    before = (page.version.number, page.last_modified)
    mutations.add_labels(content_id=page.id, labels=["fresh", "Fresh"])
    assert page.labels.count("fresh") == 1
    mutations.remove_label(content_id=page.id, label="fresh")
    mutations.set_restrictions(content_id=page.id, read_groups=["engineering"], read_users=[site.default_user_id])
    assert page.restrictions.read_groups == [site.group_by_name("engineering").id]  # type: ignore[union-attr]
    assert site.can_read(site.default_user, page)
    mutations.clear_restrictions(content_id=page.id)
    comment = mutations.add_comment(container_id=page.id, body="<p>Looks good</p>")
    attachment = mutations.add_attachment(container_id=page.id, file_name="minutes.docx")
    assert (page.version.number, page.last_modified) == before
    assert comment.comment_location == "footer" and comment.title == f"Re: {page.title}"
    assert attachment.extractable_phrase == files.phrase("docx", 0)
    with pytest.raises(NotFoundError):
        mutations.remove_label(content_id=page.id, label="never-there")
    assert_indexes_consistent(site)


def test_inline_comment_marks_its_selection_and_replies_share_it(site: Site, mutations: Mutations) -> None:
    page = mutations.add_page(space_key=KEY_MAIN, title="Inline target", body="<p>Rotate the keys weekly.</p>")
    comment = mutations.add_comment(container_id=page.id, body="<p>Why weekly?</p>", location="inline",
                                    selection="weekly")
    assert f'<ac:inline-comment-marker ac:ref="{comment.inline_marker_ref}">weekly</ac:inline-comment-marker>' in page.body
    assert page.version.number == 1
    reply = mutations.add_comment(container_id=page.id, body="<p>Policy.</p>", parent_comment_id=comment.id)
    assert reply.comment_location == "inline" and reply.inline_marker_ref == comment.inline_marker_ref
    resolved = mutations.resolve_comment(comment_id=comment.id)
    assert resolved.resolution_status == "resolved" and resolved.version.number == 1
    edited = mutations.edit_comment(content_id=comment.id, body="<p>Why weekly, not daily?</p>")
    assert edited.version.number == 2


def test_attachment_versions_have_their_own_bytes(site: Site, mutations: Mutations) -> None:
    page = current_page(site)
    attachment = mutations.add_attachment(container_id=page.id, file_name="figures.xlsx", comment="first")
    updated = mutations.add_attachment_version(attachment_id=attachment.id, comment="second")
    assert updated.version.number == 2 and updated.upload_comment == "second"
    assert site.blobs[(attachment.id, 1)] == files.file_bytes("xlsx", 0)
    assert site.blobs[(attachment.id, 2)] == files.file_bytes("xlsx", 1)
    assert updated.file_size == len(files.file_bytes("xlsx", 1))
    raw = mutations.add_attachment_version(attachment_id=attachment.id, data=b"a,b\n1,2\n", media_type="text/csv")
    assert raw.version.number == 3 and raw.file_size == 8 and site.blobs[(attachment.id, 3)] == b"a,b\n1,2\n"
    with pytest.raises(MutationError):
        mutations.add_attachment(container_id=page.id, file_name="figures.xlsx")


def test_trash_restore_and_purge_a_page(site: Site, mutations: Mutations) -> None:
    page = current_page(site, with_children=True)
    children = list(site.child_ids(page.id, "page"))
    comment = mutations.add_comment(container_id=page.id, body="<p>bye</p>")
    attachment = mutations.add_attachment(container_id=page.id, file_name="notes.txt")
    version = page.version.number
    mutations.trash(content_id=page.id)
    assert page.status == "trashed" and page.version.number == version
    assert all(site.content[child].parent_id == page.parent_id for child in children)
    assert site.child_ids(page.id, "page") == []
    mutations.restore(content_id=page.id)
    assert page.status == "current"
    mutations.trash(content_id=page.id)
    with pytest.raises(MutationError):
        mutations.trash(content_id=page.id)
    purged = mutations.purge(content_id=page.id)
    assert purged is page and page.id not in site.content
    assert comment.id not in site.content and attachment.id not in site.content
    assert not any(key[0] == attachment.id for key in site.blobs)
    assert all(child in site.content for child in children)
    with pytest.raises(NotFoundError):
        mutations.restore(content_id=page.id)
    assert_indexes_consistent(site)


def test_a_page_restored_while_its_parent_is_in_the_trash_returns_at_the_top_of_its_space(
        site: Site, mutations: Mutations) -> None:
    page = current_page(site, with_children=True)
    child = site.content[site.child_ids(page.id, "page")[0]]
    mutations.trash(content_id=page.id, with_descendants=True)
    mutations.restore(content_id=child.id)
    assert child.status == "current" and child.parent_id is None
    assert child.id not in site.child_ids(page.id, "page")
    mutations.restore(content_id=page.id)
    assert page.parent_id is None or site.content[page.parent_id].status == "current"
    assert_indexes_consistent(site)


def test_purge_needs_the_trash_first(mutations: Mutations, site: Site) -> None:
    page = current_page(site)
    with pytest.raises(MutationError):
        mutations.purge(content_id=page.id)
    draft = mutations.add_page(space_key=KEY_MAIN, title="Scratch", status="draft")
    mutations.purge(content_id=draft.id)
    assert draft.id not in site.content


def test_trash_with_descendants_and_comment_trash(site: Site, mutations: Mutations) -> None:
    page = current_page(site, with_children=True)
    subtree = [page.id]
    for page_id in subtree:
        subtree.extend(site.child_ids(page_id, "page"))
    mutations.trash(content_id=page.id, with_descendants=True)
    assert all(site.content[page_id].status == "trashed" for page_id in subtree)
    mutations.purge(content_id=page.id)
    assert not any(page_id in site.content for page_id in subtree)
    blog = next(item for item in site.content.values() if item.type == "blogpost" and item.status == "current")
    comment = mutations.add_comment(container_id=blog.id, body="<p>typo</p>")
    reply = mutations.add_comment(container_id=blog.id, body="<p>fixed</p>", parent_comment_id=comment.id)
    mutations.trash_comment(content_id=comment.id)
    mutations.purge_comment(content_id=comment.id)
    assert comment.id not in site.content and reply.id not in site.content
    assert_indexes_consistent(site)


def test_move_page_within_and_across_spaces(site: Site, mutations: Mutations) -> None:
    page = current_page(site, with_children=True)
    other_space = site.space_by_key("DOCS")
    assert other_space is not None
    new_parent = site.content[other_space.homepage_id]  # type: ignore[index]
    subtree = [page.id]
    for page_id in subtree:
        subtree.extend(site.child_ids(page_id, "page"))
    comment = mutations.add_comment(container_id=page.id, body="<p>moving</p>")
    version, modified = page.version.number, page.last_modified
    moved = mutations.move_page(page_id=page.id, parent_id=new_parent.id)
    assert moved.parent_id == new_parent.id and (moved.version.number, moved.last_modified) == (version, modified)
    assert all(site.content[page_id].space_id == other_space.id for page_id in subtree)
    assert comment.space_id == other_space.id
    assert site.ancestors(page)[-1].id == new_parent.id
    assert_indexes_consistent(site)
    mutations.move_page(page_id=page.id, space_key=KEY_MAIN, bump_version=True)
    assert page.parent_id is None and page.version.number == version + 1
    assert_indexes_consistent(site)
    with pytest.raises(MutationError):
        mutations.move_page(page_id=page.id, parent_id=subtree[-1] if len(subtree) > 1 else page.id)


def test_archive_page_and_spaces(site: Site, mutations: Mutations) -> None:
    page = current_page(site, with_children=True)
    version = page.version.number
    mutations.archive_page(page_id=page.id, with_descendants=True)
    assert page.status == "archived" and page.version.number == version
    assert all(site.content[child].status in ("archived", "trashed", "draft") for child in site.child_ids(page.id, "page"))
    space = mutations.archive_space(space_key="DOCS")
    assert space.status == "archived"
    deleted = mutations.delete_space(space_key="DOCS")
    assert deleted.id not in site.spaces
    assert not any(item.space_id == deleted.id for item in site.content.values())
    assert_indexes_consistent(site)
    with pytest.raises(NotFoundError):
        mutations.archive_space(space_key="DOCS")


def test_an_archived_page_cannot_be_edited_or_commented_on_until_restored(site: Site, mutations: Mutations) -> None:
    """Confluence disables editing and commenting on an archived page."""
    page = next(item for item in site.content.values() if item.type == "page" and item.status == "current"
                and any(site.content[cid].status == "current" for cid in site.child_ids(item.id, "comment"))
                and any(site.content[aid].status == "current" for aid in site.child_ids(item.id, "attachment")))
    comment = next(site.content[cid] for cid in site.child_ids(page.id, "comment")
                   if site.content[cid].status == "current")
    attachment = next(site.content[aid] for aid in site.child_ids(page.id, "attachment")
                      if site.content[aid].status == "current")
    mutations.archive_page(page_id=page.id)
    for change in (lambda: mutations.edit(content_id=page.id, body="<p>x</p>"),
                   lambda: mutations.edit(content_id=comment.id, body="<p>x</p>"),
                   lambda: mutations.add_comment(container_id=page.id, body="<p>x</p>"),
                   lambda: mutations.add_attachment(container_id=page.id, file_name="new.txt"),
                   lambda: mutations.add_attachment_version(attachment_id=attachment.id)):
        with pytest.raises(MutationError, match=f"page {page.id} is archived"):
            change()
    mutations.restore(content_id=page.id)
    before = comment.version.number
    assert mutations.edit(content_id=comment.id, body="<p>x</p>").version.number == before + 1


def test_errors_are_specific(site: Site, mutations: Mutations) -> None:
    with pytest.raises(NotFoundError):
        mutations.edit(content_id=1, body="<p>x</p>")
    attachment = next(item for item in site.content.values() if item.type == "attachment")
    with pytest.raises(MutationError, match="attachment"):
        mutations.edit(content_id=attachment.id, body="<p>x</p>")
    with pytest.raises(NotFoundError):
        mutations.set_restrictions(content_id=current_page(site).id, read_groups=["no-such-group"])
    with pytest.raises(ValueError):
        Mutations(site, clock=lambda: datetime(2026, 1, 1)).add_page(space_key=KEY_MAIN, title="naive clock")


def test_concurrent_mutations_keep_indexes_consistent(site: Site, mutations: Mutations) -> None:
    page = current_page(site)
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            for index in range(20):
                child = mutations.add_page(title=f"Thread {number} page {index}", parent_id=page.id)
                mutations.edit(content_id=child.id, body=f"<p>{index}</p>")
                mutations.add_comment(container_id=child.id, body="<p>c</p>")
                if index % 3 == 0:
                    mutations.trash(content_id=child.id)
                    mutations.purge(content_id=child.id)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    positions = [site.content[i].position for i in site.child_ids(page.id, "page")]
    assert len(positions) == len(set(positions))
    assert_indexes_consistent(site)
