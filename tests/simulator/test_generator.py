"""The generated site is deterministic, sized as promised, and holds the cases a sync job must handle."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from lxml import etree

from confluence_simulator import files
from confluence_simulator.generator import (
    DEFAULT_CREDENTIALS,
    KEY_ARCHIVED,
    KEY_HIDDEN,
    KEY_MAIN,
    PRESETS,
    DatasetSpec,
    generate_site,
)
from confluence_simulator.model import Content, Site

CUTOFF = datetime(2026, 1, 1, tzinfo=timezone.utc)
_ENTITY_DTD = "".join(f'<!ENTITY {name} "&#{code};">' for name, code in
                      (("nbsp", 160), ("rsquo", 8217), ("mdash", 8212), ("ndash", 8211), ("hellip", 8230),
                       ("ldquo", 8220), ("rdquo", 8221), ("eacute", 233)))
_WRAPPER = (f"<!DOCTYPE root [{_ENTITY_DTD}]><root xmlns:ac=\"http://atlassian.com/content\" "
            "xmlns:ri=\"http://atlassian.com/resource/identifier\">{}</root>")


@pytest.fixture(scope="module")
def site() -> Site:
    return generate_site(DatasetSpec(seed=1, preset="small"))


def site_digest(site: Site) -> str:
    """A hash over everything a client can observe, including every attachment's bytes."""
    digest = hashlib.sha256()
    for user in sorted(site.users.values(), key=lambda u: u.account_id):
        digest.update(repr((user.account_id, user.user_key, user.username, user.display_name, user.email,
                            user.password, user.api_token, user.personal_access_token, user.timezone,
                            sorted(user.groups))).encode())
    for space in sorted(site.spaces.values(), key=lambda s: s.id):
        digest.update(repr((space.id, space.key, space.name, space.description, space.type, space.status,
                            space.created_at, space.homepage_id, space.permissions)).encode())
    for item in sorted(site.content.values(), key=lambda c: c.id):
        digest.update(repr((item.id, item.type, item.status, item.title, item.space_id, item.parent_id,
                            item.position, item.labels, item.restrictions, item.versions, item.comment_location,
                            item.parent_comment_id, item.resolution_status, item.media_type,
                            item.file_size)).encode())
        digest.update(item.body.encode())
    for key in sorted(site.blobs):
        if site.blobs.is_materialized(key):
            digest.update(repr(key).encode() + hashlib.sha256(site.blobs[key]).digest())
        else:  # the lazy >10 MB file: its bytes are checked in test_files
            digest.update(repr((key, site.blobs.size_of(key))).encode())
    return digest.hexdigest()


def documents(site: Site) -> int:
    return len(site.spaces) + len(site.content)


def test_same_seed_gives_the_same_site_and_another_seed_does_not(site: Site) -> None:
    again = generate_site(DatasetSpec(seed=1, preset="small"))
    assert site_digest(again) == site_digest(site)
    other = generate_site(DatasetSpec(seed=2, preset="small"))
    assert site_digest(other) != site_digest(site)


def test_generation_does_not_depend_on_hash_randomization(site: Site) -> None:
    """Another interpreter with another PYTHONHASHSEED builds the same site."""
    script = ("import sys; sys.path[:0] = sys.argv[1:]; from test_generator import site_digest; "
              "from confluence_simulator.generator import DatasetSpec, generate_site; "
              "print(site_digest(generate_site(DatasetSpec(seed=1, preset='small'))))")
    here = Path(__file__).resolve().parent
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run([sys.executable, "-c", script, str(here), str(here.parents[1])], env=environment,
                            capture_output=True, text=True, timeout=300, check=True)
    assert result.stdout.strip() == site_digest(site)


@pytest.mark.parametrize("preset, expected", [("small", 1_000), ("medium", 10_000), ("large", 100_000)])
def test_preset_sizes(preset: str, expected: int) -> None:
    generated = generate_site(DatasetSpec(seed=3, preset=preset))  # type: ignore[arg-type]
    assert abs(documents(generated) - expected) <= expected * 0.1
    assert abs(PRESETS[preset].document_count - expected) <= expected * 0.1


def test_explicit_counts_override_the_preset() -> None:
    spec = DatasetSpec(seed=5, preset="small", pages=120, blogposts=15, comments=40, attachments=25)
    generated = generate_site(spec)
    counts = Counter(item.type for item in generated.content.values())
    assert counts == {"page": 120, "blogpost": 15, "comment": 40, "attachment": 25}
    assert documents(generated) == spec.document_count


@pytest.mark.parametrize("counts", [
    {"users": 3, "global_spaces": 1, "personal_spaces": 0, "pages": 0, "blogposts": 0, "comments": 0,
     "attachments": 0, "huge_pages": 0},
    {"users": 3, "pages": 5, "blogposts": 1, "comments": 3, "attachments": 2, "huge_pages": 5},
])
def test_tiny_explicit_specs_still_build(counts: dict[str, int]) -> None:
    generated = generate_site(DatasetSpec(seed=9, **counts))  # type: ignore[arg-type]
    assert generated.default_user_id in generated.users
    assert len(generated.spaces) >= 5  # the special-role spaces always exist
    assert documents(generated) == DatasetSpec(seed=9, **counts).document_count  # type: ignore[arg-type]
    by_type = Counter(item.type for item in generated.content.values())
    assert by_type["page"] == counts["pages"] and by_type["comment"] == counts["comments"]
    assert by_type["attachment"] == counts["attachments"]


def test_default_user_and_credentials(site: Site) -> None:
    user = site.default_user
    assert (user.email, user.api_token, user.username, user.password, user.personal_access_token) == (
        DEFAULT_CREDENTIALS["email"], DEFAULT_CREDENTIALS["api_token"], DEFAULT_CREDENTIALS["username"],
        DEFAULT_CREDENTIALS["password"], DEFAULT_CREDENTIALS["pat"])
    assert len(site.users) >= 10
    for account in site.users.values():
        assert re.fullmatch(r"557058:[0-9a-f-]{36}|[0-9a-f]{24}", account.account_id)
        assert re.fullmatch(r"[0-9a-f]{32}", account.user_key)
        assert account.username.isascii() and account.timezone
        assert account.groups
    assert len({u.username for u in site.users.values()}) == len(site.users)
    assert any(not u.display_name.isascii() for u in site.users.values())


def test_spaces_kinds_and_permissions(site: Site) -> None:
    user = site.default_user
    spaces = list(site.spaces.values())
    assert {space.type for space in spaces} == {"global", "personal"}
    assert [space.key for space in spaces if space.status == "archived"] == [KEY_ARCHIVED]
    unreadable = [space.key for space in spaces if not site.can_read_space(user, space)]
    assert KEY_HIDDEN in unreadable
    assert all(site.can_read_space(user, space) for space in spaces if space.key in (KEY_MAIN, KEY_ARCHIVED))
    for space in spaces:
        homepage = site.content[space.homepage_id]  # type: ignore[index]
        assert homepage.type == "page" and homepage.space_id == space.id and homepage.parent_id is None


def _depth(site: Site, item: Content) -> int:
    return len(site.ancestors(item))


def test_page_trees_statuses_and_positions(site: Site) -> None:
    pages = [item for item in site.content.values() if item.type == "page"]
    assert max(_depth(site, page) for page in pages) >= 4
    assert Counter(page.status for page in pages).keys() >= {"current", "archived", "draft", "trashed"}
    assert min(Counter(page.status for page in pages)[status] for status in ("archived", "draft", "trashed")) >= 3
    blog_statuses = Counter(item.status for item in site.content.values() if item.type == "blogpost")
    assert blog_statuses["draft"] >= 1 and blog_statuses["trashed"] >= 1
    siblings: dict[tuple[int, int | None], list[int]] = {}
    for page in pages:
        if page.parent_id is not None:
            parent = site.content[page.parent_id]
            assert parent.type == "page" and parent.space_id == page.space_id
            assert parent.created_at < page.created_at and parent.id < page.id
        siblings.setdefault((page.space_id, page.parent_id), []).append(page.position)
    for positions in siblings.values():
        assert sorted(positions) == list(range(len(positions)))
    for space in site.spaces.values():
        titles = [p.title for p in pages if p.space_id == space.id]
        assert len(titles) == len(set(titles))


def test_versions_and_timestamps(site: Site) -> None:
    multi = 0
    for item in site.content.values():
        numbers = [version.number for version in item.versions]
        assert numbers == list(range(1, len(numbers) + 1))
        assert item.versions[0].created_at == item.created_at
        times = [version.created_at for version in item.versions]
        assert times == sorted(times) and times[-1] < CUTOFF and times[0].tzinfo is not None
        assert item.versions[0].author_id == item.author_id in site.users
        multi += len(item.versions) > 1 and item.type == "page"
        if item.status == "draft":
            assert len(item.versions) == 1
    assert multi >= 20
    ordered = sorted(site.content.values(), key=lambda c: c.id)
    assert [c.created_at for c in ordered] == sorted(c.created_at for c in ordered)


def test_read_restrictions_and_the_hidden_tree(site: Site) -> None:
    user = site.default_user
    root = site.content[site.landmarks["hidden_tree_root"][0]]
    assert site.spaces[root.space_id].key == KEY_MAIN and not site.can_read(user, root)
    descendants = [item for item in site.content.values() if root in site.ancestors(item)]
    pages = [item for item in descendants if item.type == "page"]
    assert len(pages) >= 3
    assert all(not site.can_read(user, item) for item in descendants)
    assert any(not p.restrictions.read_groups and not p.restrictions.read_users for p in pages)  # inherited only
    assert any(p.restrictions.read_groups for p in pages)  # own restriction, still hidden by the parent's
    restricted_visible = [item for item in site.content.values() if item.type == "page"
                          and (item.restrictions.read_users or item.restrictions.read_groups)
                          and site.can_read(user, item)]
    assert len(restricted_visible) >= 3
    assert any(item.restrictions.update_users and not item.restrictions.read_users
               for item in site.content.values())


def test_comments_threads_and_inline_markers(site: Site) -> None:
    comments = [item for item in site.content.values() if item.type == "comment"]
    locations = Counter(comment.comment_location for comment in comments)
    assert locations["footer"] > 0 and locations["inline"] > 0
    replies = [comment for comment in comments if comment.parent_comment_id is not None]
    assert replies
    for reply in replies:
        parent = site.content[reply.parent_comment_id]  # type: ignore[index]
        assert parent.type == "comment" and parent.parent_id == reply.parent_id
        assert parent.created_at <= reply.created_at
    for comment in comments:
        container = site.content[comment.parent_id]  # type: ignore[index]
        assert container.type in ("page", "blogpost") and comment.space_id == container.space_id
        assert comment.created_at > container.created_at
        if comment.comment_location == "inline" and comment.parent_comment_id is None:
            assert comment.inline_original_selection and comment.resolution_status
            marker = f'ac:ref="{comment.inline_marker_ref}"'
            assert (marker in container.body) == (comment.resolution_status != "dangling")
    assert sum(len(c.body) for c in comments) / len(comments) < 0.5 * (
        sum(len(p.body) for p in site.content.values() if p.type == "page") / len(site.content))


def test_attachments_have_blobs_for_every_version(site: Site) -> None:
    attachments = [item for item in site.content.values() if item.type == "attachment"]
    assert any(len(a.versions) > 1 for a in attachments)
    assert any(a.status == "trashed" for a in attachments)
    media_types = {a.media_type for a in attachments}
    assert {"application/pdf", "image/png", "text/csv"} <= media_types and len(media_types) >= 8
    for attachment in attachments:
        container = site.content[attachment.parent_id]  # type: ignore[index]
        assert container.type in ("page", "blogpost")
        assert site.blobs.versions_of(attachment.id) == [v.number for v in attachment.versions]
        assert attachment.file_size == site.blobs.size_of((attachment.id, attachment.version.number))
    names = Counter((a.parent_id, a.title) for a in attachments)
    assert max(names.values()) == 1
    large = site.content[site.landmarks["large_file"][0]]
    assert large.file_size > 10 * 1024 * 1024
    assert not site.blobs.is_materialized((large.id, 1)), "the >10 MB file is built on first download only"
    assert site.content[site.landmarks["corrupt_pdf"][0]].media_type == "application/pdf"
    encrypted = site.content[site.landmarks["encrypted_pdf"][0]]
    assert site.blobs[(encrypted.id, 1)] == files.file_bytes("pdf-encrypted", 0)


def test_bodies_are_well_formed_and_varied(site: Site) -> None:
    bodies = [item.body for item in site.content.values() if item.type != "attachment"]
    for body in bodies:
        etree.fromstring(_WRAPPER.format(body).encode("utf-8"))
    everything = "".join(bodies)
    features = {
        "word split by a tag": r"[A-Za-z]<(strong|em|code|u|s|sup|sub)>[a-z]+</\1>[a-z]",
        "code macro with CDATA": r'ac:name="code".*?<ac:plain-text-body><!\[CDATA\[',
        "info panel": r'ac:name="info"', "note panel": r'ac:name="note"', "warning panel": r'ac:name="warning"',
        "link to a page": r"<ri:page ri:content-title=", "mention": r"<ri:user ri:account-id=",
        "jira macro": r'ac:name="jira"', "include macro": r'ac:name="include"',
        "image of an attachment": r"<ac:image[^>]*><ri:attachment ri:filename=", "emoticon": r"<ac:emoticon ac:name=",
        "emoji": r"ac:emoji-shortname=", "task list": r"<ac:task-list>", "table": r"<table",
        "heading": r"<h[1-4]>", "list": r"<(ul|ol)><li>", "CJK": r"[\u4e00-\u9fff]", "Cyrillic": r"[\u0400-\u04ff]",
        "Arabic": r"[\u0600-\u06ff]", "Greek": r"[\u0370-\u03ff]", "non-breaking space entity": r"&nbsp;",
        "typographic entity": r"&(rsquo|mdash);",
        "inline comment marker": r"<ac:inline-comment-marker ac:ref=",
    }
    missing = [name for name, pattern in features.items() if not re.search(pattern, everything)]
    assert not missing
    huge = [site.content[item_id] for item_id in site.landmarks["huge_pages"]]
    assert huge and all(len(page.body.encode("utf-8")) > 200_000 for page in huge)


def test_images_reference_attachments_of_the_same_container(site: Site) -> None:
    checked = 0
    for item in site.content.values():
        if item.type not in ("page", "blogpost"):
            continue
        names = {site.content[a].title for a in site.child_ids(item.id, "attachment")}
        for match in re.finditer(r'<ri:attachment ri:filename="([^"]+)"', item.body):
            assert etree.fromstring(f'<x a="{match.group(1)}"/>').get("a") in names
            checked += 1
    assert checked > 0
