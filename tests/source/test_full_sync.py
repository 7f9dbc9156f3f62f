"""Full syncs against the simulator over real HTTP, in both flavours: exactly the visible documents, in the contract's
shape, with few requests."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote_plus

from confluence_simulator.model import Content, Site
from confluence_simulator.server import Simulator
from confluence_source import open_reader

from .conftest import (CapturedRun, RecordingLedger, counts_per_scope_and_type, document_id, expected_ids,
                       run_pipeline, settings_for)

TABLES = {"space": "spaces", "page": "pages", "blogpost": "blogposts", "comment": "comments",
          "attachment": "attachments"}


def assert_whole_site_read(run: CapturedRun, sim: Simulator) -> None:
    """Every visible document of every type, and the files' text extracted, none of them refused or failed."""
    expected = expected_ids(sim)
    for doc_type, table in TABLES.items():
        assert run.ids(table) == expected[doc_type], doc_type
    outcomes = {row["content_extraction"] for row in run.rows["attachments"]}
    assert "extracted" in outcomes and not outcomes & {"download_failed", "download_refused", "failed"}


def test_full_sync_yields_exactly_the_visible_documents(small_sim: Simulator, tmp_path: Any) -> None:
    ledger = RecordingLedger()
    run = run_pipeline(settings_for(small_sim), tmp_path, ledger=ledger)
    expected = expected_ids(small_sim)
    for doc_type, table in TABLES.items():
        assert run.ids(table) == expected[doc_type], doc_type
    synced_spaces = {row["space_key"] for row in run.rows["spaces"]}
    for space_key in synced_spaces:
        for doc_type in ("page", "blogpost", "comment", "attachment"):
            assert (space_key, doc_type) in ledger.fully_read
    seen = {doc_id for ids in ledger.seen.values() for doc_id in ids}
    assert seen == {doc_id for ids in expected.values() for doc_id in ids}
    documents = sum(len(ids) for ids in expected.values())
    # lists, never items: a few dozen requests for ~750 documents
    assert run.requests <= documents / 15, run.reader.stats


def test_documents_follow_the_contract(small_sim: Simulator, tmp_path: Any) -> None:
    run = run_pipeline(settings_for(small_sim), tmp_path)
    site: Site = small_sim.site
    documents = run.by_id()
    base = small_sim.base_url + ("/wiki" if small_sim.config.flavour == "cloud" else "")
    checked = {"page": 0, "blogpost": 0, "comment": 0, "attachment": 0}
    edited = dict.fromkeys(checked, 0)
    for item in site.iter_content():
        document = documents.get(document_id(small_sim, item))
        if document is None:
            continue
        checked[item.type] += 1
        space = site.spaces[item.space_id]
        assert document["type"] == item.type
        assert document["space_key"] == space.key and document["space_name"] == space.name
        assert document["title"] == item.title
        assert document["version"] == item.versions[-1].number
        assert document["status"] == "current"
        assert document["url"].startswith(base + "/")
        assert document["site_url"] == small_sim.base_url
        assert _same_instant(document["updated_at"], item.versions[-1].created_at)
        # also for edited comments, which Cloud's v2 lists date only by their latest version
        assert _same_instant(document["created_at"], item.created_at)
        edited[item.type] += len(item.versions) > 1
        assert sorted(document["labels"]) == sorted(_label_text(name) for name in item.labels)
        chain = _ancestry(site, item)
        assert document["ancestor_ids"] == [document_id(small_sim, node) for node in chain]
        assert document["ancestor_titles"] == [node.title for node in chain]
        assert document["breadcrumb"] == " › ".join([space.name] + [node.title for node in chain])
        if item.type in ("page", "blogpost"):
            assert (document["body"] != "") == bool(_visible_text(item.body))
            assert "<p>" not in document["body"] and "ac:" not in document["body"]
        if item.type == "page":
            parent = site.content.get(item.parent_id) if item.parent_id is not None else None
            assert document.get("parent_id") == (f"page-{parent.id}" if parent else None)
        if item.type in ("comment", "attachment"):
            container = site.content[item.parent_id]
            assert document["parent_id"] == document_id(small_sim, container)
            assert document["parent_type"] == container.type and document["parent_title"] == container.title
            parent_document = documents.get(document["parent_id"])  # absent when the page is archived
            if parent_document is not None:
                assert document["parent_url"] == parent_document["url"]
            else:
                assert container.status == "archived" and document["parent_url"].startswith(base + "/")
        if item.type == "comment":
            assert document["comment_location"] == item.comment_location
            expected_parent = f"comment-{item.parent_comment_id}" if item.parent_comment_id else None
            assert document.get("parent_comment_id") == expected_parent
            if item.comment_location == "inline":
                assert document.get("resolution_status") == (item.resolution_status or "open")
        if item.type == "attachment":
            assert document["file_name"] == item.title and document["file_size"] == item.file_size
            assert document["media_type"] == item.media_type
            assert document["download_url"].startswith(base + "/download/attachments/")
            assert document.get("comment") == (item.upload_comment or None)
    assert all(count > 10 for count in checked.values()), checked
    assert edited["comment"] > 0, edited
    for row in run.rows["spaces"]:
        space = next(s for s in site.spaces.values() if f"space-{s.id}" == row["id"])
        assert (row["space_key"], row["title"], row["space_type"]) == (space.key, space.name, space.type)
        assert row.get("description") == (space.description or None)
        assert row["url"].startswith(base + "/")


def test_people_are_named(small_sim: Simulator, tmp_path: Any) -> None:
    """Authors and @mentions carry display names: embedded in v1 answers, or looked up in bulk (Cloud v2) or per
    user key (Data Center mentions), with a bounded number of lookups."""
    run = run_pipeline(settings_for(small_sim), tmp_path)
    site = small_sim.site
    documents = run.by_id()
    mentions_checked = 0
    for item in site.iter_content():
        document = documents.get(document_id(small_sim, item))
        if document is None:
            continue
        author = item.author_id
        if item.type in ("comment", "attachment") and len(item.versions) > 1:
            author = item.versions[-1].author_id  # v2 names only the last version's author for these; v1 agrees
        assert document["author_name"] == site.users[author].display_name, document["id"]
        assert document["author_id"] == (author if small_sim.config.flavour == "cloud" else site.users[author].user_key)
        for account_id in re.findall(r'ri:account-id="([^"]+)"', item.body):
            user = site.users[account_id]
            assert user.display_name in document["body"], document["id"]
            assert account_id not in document["body"] and user.user_key not in document["body"]
            mentions_checked += 1
    assert mentions_checked > 5
    if small_sim.config.flavour == "cloud":  # Data Center's space listing names no creator
        for row in run.rows["spaces"]:
            space = next(s for s in site.spaces.values() if f"space-{s.id}" == row["id"])
            assert row["author_name"] == site.users[space.author_id].display_name, row["id"]
    lookups = sum(count for status, count in run.reader.stats["by_status"].items() if status == 200)
    assert lookups <= 60, run.reader.stats


def test_selected_spaces_only(small_sim: Simulator, tmp_path: Any) -> None:
    run = run_pipeline(settings_for(small_sim, spaces="DOCS"), tmp_path)
    expected = expected_ids(small_sim, {"DOCS"})
    for doc_type, table in TABLES.items():
        assert run.ids(table) == expected.get(doc_type, set()), doc_type


def test_archived_content_only_when_asked(small_sim: Simulator, tmp_path: Any) -> None:
    run = run_pipeline(settings_for(small_sim, index_archived=True), tmp_path)
    expected = expected_ids(small_sim, index_archived=True)
    for doc_type, table in TABLES.items():
        assert run.ids(table) == expected.get(doc_type, set()), doc_type
    archived = [row for row in run.rows["pages"] if row["status"] == "archived"]
    assert archived and any(row["space_key"] == "LEGACY" for row in run.rows["pages"])


def test_reader_counts_and_lists_what_it_indexes(small_sim: Simulator, tmp_path: Any) -> None:
    """Id listings (used to find deletions) agree exactly with a full sync; CQL counts agree for what CQL sees."""
    run = run_pipeline(settings_for(small_sim), tmp_path)
    reader = open_reader(settings_for(small_sim))
    keys = {row["space_key"] for row in run.rows["spaces"]}
    before = reader.stats["requests"]
    counts = counts_per_scope_and_type(reader, keys)
    assert reader.stats["requests"] - before == 4 * len(keys)
    before = reader.stats["requests"]
    assert reader.count_total(sorted(keys), ["page", "blogpost"]) == sum(
        counts[(key, doc_type)] for key in keys for doc_type in ("page", "blogpost"))
    assert reader.stats["requests"] - before == 1
    for key in keys:
        for doc_type in ("page", "blogpost", "comment", "attachment"):
            synced = {row["id"] for row in run.rows[TABLES[doc_type]] if row["space_key"] == key}
            listed = list(reader.iter_current_ids(key, doc_type))
            assert len(listed) == len(set(listed))
            assert set(listed) == synced, (key, doc_type)
            assert counts[(key, doc_type)] == len(synced), (key, doc_type)


def _ancestry(site: Site, item: Content) -> list[Content]:
    """Expected ancestry: parent pages root first; for comments/attachments the container's chain + container."""
    if item.type == "blogpost":
        return []
    if item.type == "page":
        return site.ancestors(item)
    container = site.content[item.parent_id]
    return (site.ancestors(container) if container.type == "page" else []) + [container]


def _label_text(name: str) -> str:
    prefix, _, rest = name.partition(":")
    return name if prefix in ("my", "team") and rest else (rest if prefix in ("global",) and rest else name)


def _same_instant(text: str | None, moment: Any) -> bool:
    from datetime import datetime

    return text is not None and abs((datetime.fromisoformat(text) - moment).total_seconds()) < 0.001


def _visible_text(storage: str) -> str:
    from confluence_simulator.queries import readable_text

    return readable_text(storage)


def test_urls_are_web_links(small_sim: Simulator, tmp_path: Any) -> None:
    run = run_pipeline(settings_for(small_sim, spaces="ENG"), tmp_path)
    page = next(row for row in run.rows["pages"] if row["title"].replace(" ", "").isalnum())
    if small_sim.config.flavour == "cloud":
        assert page["url"] == (f"{small_sim.base_url}/wiki/spaces/ENG/pages/{page['confluence_id']}/"
                               f"{quote_plus(page['title'])}")
    else:
        assert page["url"] == f"{small_sim.base_url}/display/ENG/{quote_plus(page['title'])}"


def test_bodies_converted_in_worker_processes_equal_inline_conversion(small_sim: Simulator, tmp_path: Any) -> None:
    inline = run_pipeline(settings_for(small_sim), tmp_path / "inline").by_id()
    parallel_run = run_pipeline(settings_for(small_sim), tmp_path / "parallel", body_workers=2)
    parallel = parallel_run.by_id()
    assert parallel_run.reader.body_pool is None  # stopped after the extract
    assert parallel_run.reader.bodies_sent_to_workers > 50
    assert set(parallel) == set(inline)
    with_bodies = [doc_id for doc_id, row in inline.items() if row.get("body")]
    assert len(with_bodies) > 50
    differing = [doc_id for doc_id in inline if inline[doc_id] != parallel[doc_id]]
    assert not differing, differing[:3]


def test_bodies_a_worker_sends_back_incomplete_are_converted_again_exactly_as_inline(
    small_sim: Simulator, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's body that needed a lookup its job did not carry is converted again in the main process: with
    everything inline conversion uses (links to the page's own files included)."""
    from confluence_source import body_conversion

    convert_job = body_conversion.convert_job
    monkeypatch.setattr(body_conversion, "convert_job",
                        lambda job, web_base: body_conversion.BodyResult(convert_job(job, web_base).body, False))
    inline = run_pipeline(settings_for(small_sim), tmp_path / "inline").by_id()
    redone_run = run_pipeline(settings_for(small_sim), tmp_path / "redone", body_workers=2)
    redone = redone_run.by_id()
    assert redone_run.reader.bodies_sent_to_workers > 50
    assert any("/download/attachments/" in (row.get("body_markdown") or "") for row in inline.values())
    if small_sim.config.flavour == "cloud":
        # a Cloud link by page title depends on whether that page was read yet (README, Known limitations): compare
        # everything else, and the files' links
        def files(row: dict[str, Any]) -> list[str]:
            return re.findall(r"\(([^)]*/download/attachments/[^)]*)\)", row.get("body_markdown") or "")

        differing = [doc_id for doc_id in inline
                     if {**inline[doc_id], "body_markdown": None} != {**redone[doc_id], "body_markdown": None}
                     or files(inline[doc_id]) != files(redone[doc_id])]
    else:
        differing = [doc_id for doc_id in inline if inline[doc_id] != redone[doc_id]]
    assert not differing, differing[:3]
