"""End-to-end runs of the sync job: simulator over HTTP -> dlt -> a real Elasticsearch node."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

FLAVOURS = ("cloud", "datacenter")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_full_sync_indexes_exactly_what_the_default_user_sees(make_harness, flavour):
    harness = make_harness(flavour)
    summary = harness.run()
    assert summary.mode == "full"
    docs = harness.docs()
    expected = harness.visible()
    for doc_type, ids in expected.items():
        indexed = {doc_id for doc_id, source in docs.items() if source["type"] == doc_type}
        assert indexed == ids, (doc_type, sorted(indexed - ids)[:5], sorted(ids - indexed)[:5])
    assert len(docs) == sum(len(ids) for ids in expected.values())
    assert summary.failed == 0


def readable_pages(harness, space_key: str | None = None):
    """Current pages the default user can read in synced (current, readable) spaces, sorted by id."""
    site = harness.site
    wanted = harness.visible()["page"]
    pages = [item for item in site.iter_content("page") if f"page-{item.id}" in wanted]
    if space_key is not None:
        space = site.space_by_key(space_key)
        pages = [item for item in pages if item.space_id == space.id]
    return sorted(pages, key=lambda item: item.id)


def endpoint_counts(harness) -> dict[str, int]:
    endpoints = harness.sim.stats()["endpoints"]
    return {name: int(entry["requests"]) for name, entry in endpoints.items()}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_incremental_run_picks_up_edits_new_pages_comments_and_labels(make_harness, flavour):
    harness = make_harness(flavour)
    assert harness.run().mode == "full"
    pages = readable_pages(harness)
    edited = pages[0]
    space_key = next(s.key for s in harness.site.spaces.values() if s.id == edited.space_id)
    mutations = harness.sim.mutations
    mutations.edit(content_id=edited.id, body=edited.body + "<p>Quokka rollback procedure added.</p>")
    added = mutations.add_page(space_key=space_key, title="Wombat onboarding guide",
                               body="<p>Every wombat gets a badge.</p>")
    comment = mutations.add_comment(container_id=edited.id, body="<p>Platypus approves this change.</p>")

    summary = harness.run()
    assert summary.mode == "incremental"
    docs = harness.docs()
    edited_doc = docs[f"page-{edited.id}"]
    assert "Quokka rollback procedure added." in edited_doc["body"]
    assert edited_doc["version"] == edited.versions[-1].number
    assert "Every wombat gets a badge." in docs[f"page-{added.id}"]["body"]
    assert "Platypus approves" in docs[f"comment-{comment.id}"]["body"]
    assert docs[f"comment-{comment.id}"]["parent_id"] in (str(edited.id), f"page-{edited.id}")
    assert set(docs) == set().union(*harness.visible().values())



@pytest.mark.parametrize("flavour", FLAVOURS)
def test_relative_links_in_bodies_lead_to_the_site_in_the_markdown_copy(make_harness, flavour):
    """A link written as a path on the site (`/wiki/...`, or under a Data Center context path) leads nowhere from a
    search front end showing `body_markdown`: it is made absolute, by the conversion workers of a full read and by
    the inline conversion of an incremental one alike."""
    from urllib.parse import urlsplit

    harness = make_harness(flavour)
    site_path = urlsplit(harness.sim.base_url).path
    link = f'<p>See <a href="{site_path}/display/ENG/Home">the home page</a>.</p>'
    expected = f"[the home page]({harness.sim.base_url}/display/ENG/Home)"
    first, second = readable_pages(harness)[:2]
    harness.sim.mutations.edit(content_id=first.id, body=link)
    assert harness.run().mode == "full"
    assert expected in harness.docs()[f"page-{first.id}"]["body_markdown"]
    harness.sim.mutations.edit(content_id=second.id, body=link)
    assert harness.run().mode == "incremental"
    assert expected in harness.docs()[f"page-{second.id}"]["body_markdown"]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_watermarks_live_in_elasticsearch_so_a_fresh_dlt_folder_stays_incremental(make_harness, flavour, tmp_path):
    harness = make_harness(flavour)
    harness.run()
    edited = readable_pages(harness)[2]
    harness.sim.mutations.edit(content_id=edited.id, body="<p>Echidna migration notes.</p>")
    summary = harness.run(pipelines_dir=str(tmp_path / "brand-new-dlt-folder"))
    assert summary.mode == "incremental"
    assert summary.documents.get("pages", 0) <= 3, summary.documents
    assert "Echidna migration notes." in harness.docs()[f"page-{edited.id}"]["body"]
    assert set(harness.docs()) == set().union(*harness.visible().values())


def test_the_dlt_folder_keeps_no_document_copies_and_a_bounded_number_of_load_packages(make_harness, monkeypatch):
    """`.dlt/config.toml` deletes load files once loaded, and every run prunes old packages: a host that syncs every
    few minutes must not accumulate copies of the wiki, nor one package per run forever."""
    import dlt

    import pipelines.working_folder as working_folder

    monkeypatch.setattr(working_folder, "KEPT_LOADED_PACKAGES", 2)
    harness = make_harness("cloud")
    harness.run()
    page = readable_pages(harness)[0]
    for round_number in range(3):
        harness.sim.mutations.edit(content_id=page.id, body=f"<p>Numbat census round {round_number}.</p>")
        harness.run()
    assert "Numbat census round 2." in harness.docs()[f"page-{page.id}"]["body"]

    working_dir = harness.pipelines_dir / harness.pipeline_name
    leftovers = [path for path in working_dir.rglob("*") if path.is_file() and "jsonl" in path.name]
    assert leftovers == []
    pipeline = dlt.attach(harness.pipeline_name, pipelines_dir=str(harness.pipelines_dir))
    loaded = pipeline.list_completed_load_packages()
    # the two kept before the last run started, plus the last run's own package
    assert len(loaded) == 3, loaded
    assert len(list((working_dir / "load" / "loaded").iterdir())) == 3
    assert all(pipeline.get_load_package_info(load_id).state == "loaded" for load_id in loaded)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_incremental_run_picks_up_a_label_added_without_a_new_version(make_harness, flavour):
    harness = make_harness(flavour)
    harness.run()
    labelled = readable_pages(harness)[1]
    harness.sim.mutations.add_labels(content_id=labelled.id, labels=["needs-review", "aaa-first"])
    summary = harness.run()
    assert summary.mode == "incremental"
    labels = harness.docs()[f"page-{labelled.id}"]["labels"]
    assert "needs-review" in labels and "aaa-first" in labels
    assert labels == sorted(labels)  # in the order a full read writes them, so the next check finds no change
    assert summary.documents.get("pages", 0) <= 3, summary.documents  # the labelled page, not every page
    assert harness.run().documents.get("pages", 0) == 0


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_incremental_run_picks_up_labels_added_to_and_removed_from_an_attachment(make_harness, flavour):
    """Labelling a file creates no version either; the check lists attachments' labels, re-reads only the file whose
    labels changed, and takes its text from the index instead of downloading it again."""
    harness = make_harness(flavour)
    visible = harness.visible()["attachment"]
    prefix = "attachment-att" if flavour == "cloud" else "attachment-"  # Cloud's attachment ids start with "att"
    contract = next(item for item in sorted(harness.site.iter_content("attachment"), key=lambda item: item.id)
                    if f"{prefix}{item.id}" in visible and not item.labels and item.extractable_phrase)
    document_id = f"{prefix}{contract.id}"
    assert harness.run().mode == "full"
    assert harness.docs()[document_id]["labels"] == []
    assert harness.docs()[document_id]["content_extraction"] == "extracted"
    assert harness.run().documents.get("attachments", 0) == 0  # an old file, nothing changed: nothing read

    harness.sim.mutations.add_labels(content_id=contract.id, labels=["legal", "team:contracts"])
    summary = harness.run()
    assert summary.mode == "incremental"
    document = harness.docs()[document_id]
    assert sorted(document["labels"]) == ["legal", "team:contracts"]
    assert " ".join(contract.extractable_phrase.split()) in " ".join(document["body"].split())
    assert summary.file_requests == 0  # the text came from the index
    assert summary.documents.get("attachments", 0) == 1, summary.documents
    assert not summary.documents.get("pages") and not summary.documents.get("comments"), summary.documents

    harness.sim.mutations.remove_label(content_id=contract.id, label="legal")
    summary = harness.run()
    assert summary.mode == "incremental" and summary.file_requests == 0
    assert summary.documents.get("attachments", 0) == 1, summary.documents
    assert harness.docs()[document_id]["labels"] == ["team:contracts"]


def test_a_file_search_has_not_indexed_again_yet_is_not_deleted(make_harness):
    """Data Center lists attachment ids for the deletion check through search. A file changed a moment ago without a
    new version (a label removed) can be missing there until search indexes it again; deleted then, nothing would
    bring it back. Read by its id it is still there, so it stays, and the next run updates its labels."""
    harness = make_harness("datacenter")
    visible = harness.visible()["attachment"]
    labelled = next(item for item in sorted(harness.site.iter_content("attachment"), key=lambda item: item.id)
                    if f"attachment-{item.id}" in visible and item.labels)
    gone = next(item for item in sorted(harness.site.iter_content("attachment"), key=lambda item: item.id)
                if f"attachment-{item.id}" in visible and item.id != labelled.id)
    assert harness.run().mode == "full"
    harness.sim.state.queries.index_lag_seconds = 3.0
    harness.sim.mutations.remove_label(content_id=labelled.id, label=labelled.labels[0])
    harness.sim.mutations.trash(content_id=gone.id)
    harness.sim.mutations.purge(content_id=gone.id)
    summary = harness.run()
    assert f"attachment-{labelled.id}" in harness.docs()
    assert f"attachment-{gone.id}" not in harness.docs()  # what is really gone still goes
    assert summary.deleted == 1, summary.deleted
    time.sleep(3.2)
    harness.run()
    assert harness.docs()[f"attachment-{labelled.id}"]["labels"] == sorted(labelled.labels)


def test_a_full_read_through_search_does_not_delete_a_file_search_is_indexing_again(make_harness):
    """Data Center reads files through search in a full read too: a file labelled a moment before a
    `--full-refresh` can be missing from that read. Read by its id it is still there, so it stays."""
    harness = make_harness("datacenter")
    visible = harness.visible()["attachment"]
    labelled, gone = [item for item in sorted(harness.site.iter_content("attachment"), key=lambda item: item.id)
                      if f"attachment-{item.id}" in visible][:2]
    assert harness.run().mode == "full"
    harness.sim.state.queries.index_lag_seconds = 3.0
    harness.sim.mutations.add_labels(content_id=labelled.id, labels=["reviewed"])
    harness.sim.mutations.trash(content_id=gone.id)
    harness.sim.mutations.purge(content_id=gone.id)
    summary = harness.run(full_refresh=True)
    assert f"attachment-{labelled.id}" in harness.docs()
    assert f"attachment-{gone.id}" not in harness.docs() and summary.deleted == 1  # what is really gone still goes
    time.sleep(3.2)
    harness.run()
    assert "reviewed" in harness.docs()[f"attachment-{labelled.id}"]["labels"]


def test_an_offset_inferred_from_the_other_side_of_a_daylight_saving_change_misses_no_edit(make_harness):
    """Data Center, an account without a profile time zone: CQL date literals are read in the server's zone (Berlin
    here), whose offset the connector infers from the newest edit's timestamp. When that edit is from the other
    side of a daylight-saving change, the offset is an hour off, and the change windows must still meet."""
    from zoneinfo import ZoneInfo

    berlin, now = ZoneInfo("Europe/Berlin"), datetime.now(timezone.utc)
    site_end = datetime(2026, 1, 1, tzinfo=timezone.utc)  # the simulated site's edits are all older
    days = [datetime(year, month, 15, 12, tzinfo=timezone.utc) for year in (now.year, now.year - 1) for month in (7, 1)]
    other_side = [day for day in days if site_end <= day < now
                  and day.astimezone(berlin).utcoffset() != now.astimezone(berlin).utcoffset()]
    if not other_side:
        pytest.skip("no day since the simulated site's last edit lies on the other side of a daylight-saving change")
    harness = make_harness("datacenter")
    harness.site.users[harness.site.default_user_id].timezone = ""  # never chosen: the server's offset is inferred
    mutations = harness.sim.mutations.target
    clock = mutations._clock
    mutations._clock = lambda: other_side[0]  # the newest edit of the site
    harness.sim.mutations.edit(content_id=readable_pages(harness)[0].id, body="<p>an edit from another season</p>")
    mutations._clock = clock
    assert harness.run().mode == "full"
    comment = next(item for item in sorted(harness.site.iter_content("comment"), key=lambda item: item.id)
                   if f"comment-{item.id}" in harness.docs())
    harness.sim.mutations.edit(content_id=comment.id, body="<p>edited after the full sync: zebra</p>")
    harness.run()
    assert "zebra" in harness.docs()[f"comment-{comment.id}"]["body"]


def test_cloud_attachment_labels_come_from_the_label_listing_when_that_is_cheaper(make_harness, monkeypatch):
    """Where the site has fewer labels than its files take search responses, the check asks what carries each label
    instead of listing every file; a label added and one removed reach the index the same way."""
    harness = make_harness("cloud")
    visible = harness.visible()["attachment"]
    contract = next(item for item in sorted(harness.site.iter_content("attachment"), key=lambda item: item.id)
                    if f"attachment-att{item.id}" in visible and not item.labels and item.extractable_phrase)
    document_id = f"attachment-att{contract.id}"
    assert harness.run().mode == "full"
    from confluence_source.cloud import CloudReader

    # as on a site with far more files than labels (this small one has more labels than its files take responses)
    monkeypatch.setattr(CloudReader, "_label_listing_beats", staticmethod(lambda search_cost, label_count: True))
    every_label = CloudReader._site_labels
    monkeypatch.setattr(CloudReader, "_site_labels", lambda self, at_most=None: every_label(self))

    harness.sim.mutations.add_labels(content_id=contract.id, labels=["legal"])
    before = endpoint_counts(harness)
    summary = harness.run()
    assert endpoint_counts(harness).get("v2.labels.attachments", 0) > before.get("v2.labels.attachments", 0)
    assert harness.docs()[document_id]["labels"] == ["legal"]
    assert summary.documents.get("attachments", 0) == 1 and summary.file_requests == 0, summary.documents

    harness.sim.mutations.remove_label(content_id=contract.id, label="legal")
    summary = harness.run()
    assert harness.docs()[document_id]["labels"] == []
    assert summary.documents.get("attachments", 0) == 1, summary.documents
    assert harness.run().documents.get("attachments", 0) == 0  # nothing changed since: nothing read


def subtrees_with_dependents(harness, space_keys: set[str]) -> list:
    """Readable pages with a readable child page and a comment or attachment somewhere below, in these spaces."""
    site = harness.site
    visible = set().union(*harness.visible().values())
    found = []
    for page in readable_pages(harness):
        if site.spaces[page.space_id].key not in space_keys:
            continue
        children = [child for child in site.child_ids(page.id, "page") if f"page-{child}" in visible]
        hanging = [item for item in site.iter_content() if item.type in ("comment", "attachment")
                   and f"{item.type}-{item.id}" in visible and page in site.ancestors(item)]
        if children and hanging:
            found.append(page)
    return found


def outline_of(document: dict) -> dict:
    fields = ("title", "space_key", "labels", "ancestor_ids", "ancestor_titles", "breadcrumb", "parent_id",
              "parent_title", "version", "status")
    return {name: document.get(name) for name in fields}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_renamed_space_is_read_again_so_its_documents_carry_the_new_name(make_harness, flavour, caplog):
    harness = make_harness(flavour)
    harness.run()
    renamed = harness.site.spaces[readable_pages(harness)[0].space_id]
    old_name = renamed.name
    harness.sim.mutations.rename_space(space_key=renamed.key, name="Platform Handbook")
    caplog.set_level("INFO", logger="confluence_source")
    # a run that fails after noticing the rename saves nothing, so the next run notices it again
    from confluence_simulator.faults import FaultRule

    endpoint, kind = FAULTS_ON_LISTINGS[(flavour, "outline")]
    harness.sim.faults.add(FaultRule(kind=kind, endpoint=endpoint, retry_after=None))
    harness.monkeypatch.setenv("SOURCES__CONFLUENCE__RETRY_COUNT", "1")
    with pytest.raises(Exception):
        harness.run()
    assert "was renamed" in caplog.text
    harness.sim.faults.clear()
    caplog.clear()

    summary = harness.run()
    assert summary.mode == "incremental"
    assert f"Space {renamed.key} was renamed from {old_name!r} to 'Platform Handbook'" in caplog.text
    docs = harness.docs()
    in_space = [doc for doc in docs.values() if doc["space_key"] == renamed.key]
    assert {doc["type"] for doc in in_space} >= {"space", "page", "comment", "attachment"}
    assert {doc["space_name"] for doc in in_space} == {"Platform Handbook"}
    assert all(doc["breadcrumb"].startswith("Platform Handbook") for doc in in_space if doc["type"] != "space")
    # only that space was read again
    assert summary.documents.get("pages", 0) == len(readable_pages(harness, renamed.key))
    assert set(docs) == set().union(*harness.visible().values())

    caplog.clear()
    assert harness.run().documents.get("pages", 0) <= 3  # the next run is incremental again for every space
    assert "was renamed" not in caplog.text


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_changes_without_a_new_version_reach_the_index_as_a_full_refresh_would(make_harness, flavour):
    """Label removals, moves (inside a space and to another synced one), a restore from the trash and a lifted
    restriction create no version, and a rename creates none on the pages, comments and attachments below: the next
    incremental run must still leave every document exactly as a full refresh writes it."""
    harness = make_harness(flavour, spaces="ENG,DOCS")
    harness.run()
    site = harness.site
    mutations = harness.sim.mutations
    candidates = subtrees_with_dependents(harness, {"ENG", "DOCS"})
    moved = next(page for page in candidates if page.parent_id is not None)
    renamed = next(page for page in candidates
                   if page.id != moved.id and page not in site.ancestors(moved) and moved not in site.ancestors(page))
    space_key = site.spaces[moved.space_id].key
    new_parent = next(page for page in readable_pages(harness, space_key)
                      if page.id not in (moved.id, moved.parent_id, renamed.id) and moved not in site.ancestors(page))
    labelled = next(page for page in readable_pages(harness) if page.labels and page.id not in (moved.id, renamed.id))
    untouched = {moved.id, renamed.id, labelled.id, new_parent.id}
    restored = next(page for page in reversed(leaf_pages(harness, "DOCS")) if page.id not in untouched)
    across = next(page for page in leaf_pages(harness, "ENG") if page.id not in untouched | {restored.id})
    unrestricted = next(page for page in leaf_pages(harness, "ENG")
                        if page.id not in untouched | {restored.id, across.id})
    someone_else = next(user.account_id for user in site.users.values() if user.account_id != site.default_user_id)
    mutations.trash(content_id=restored.id)
    mutations.set_restrictions(content_id=unrestricted.id, read_users=[someone_else])
    assert harness.run().deleted >= 2
    assert not {f"page-{restored.id}", f"page-{unrestricted.id}"} & set(harness.docs())

    mutations.move_page(page_id=moved.id, parent_id=new_parent.id)
    mutations.move_page(page_id=across.id, space_key="DOCS")
    mutations.edit(content_id=renamed.id, title=renamed.title + " (renamed)")
    mutations.remove_label(content_id=labelled.id, label=labelled.labels[0])
    mutations.restore(content_id=restored.id)
    mutations.clear_restrictions(content_id=unrestricted.id)
    summary = harness.run()
    assert summary.mode == "incremental"
    incremental = {doc_id: outline_of(doc) for doc_id, doc in harness.docs().items()}
    assert incremental[f"page-{moved.id}"]["parent_id"] == f"page-{new_parent.id}"
    assert {f"page-{restored.id}", f"page-{unrestricted.id}"} <= set(incremental)
    assert incremental[f"page-{across.id}"]["space_key"] == "DOCS"

    refreshed = harness.run(full_refresh=True)
    assert refreshed.mode == "full" and refreshed.deleted == 0
    full = {doc_id: outline_of(doc) for doc_id, doc in harness.docs().items()}
    stale = {doc_id: (incremental.get(doc_id), full[doc_id])
             for doc_id in full if incremental.get(doc_id) != full[doc_id]}
    assert not stale, list(stale.items())[:3]
    assert set(incremental) == set(full)


def test_cloud_folders_are_part_of_the_page_tree_in_full_and_incremental_runs(make_harness, caplog):
    """Cloud pages can sit in (nested) folders, which the page listing does not return. Their ancestors and
    breadcrumbs name the folders, and those of their comments and attachments too; an incremental run sees the same
    tree as the full read (nothing is re-read for it); a renamed or moved folder, and a page moved out of one, reach
    the index as a full refresh would write them."""
    harness = make_harness("cloud")  # every space: comments and attachments come from the site-wide v2 listings
    mutations = harness.sim.mutations
    handbooks = mutations.add_folder(space_key="ENG", title="Handbooks")
    security = mutations.add_folder(parent_id=handbooks.id, title="Security")
    response = mutations.add_page(parent_id=security.id, title="Incident response", body="<p>Page the on-call.</p>")
    matrix = mutations.add_page(parent_id=response.id, title="Escalation matrix")
    contacts = mutations.add_attachment(container_id=response.id, file_name="contacts.txt", data=b"on-call: 555")
    remark = mutations.add_comment(container_id=response.id, body="<p>Reviewed.</p>")
    assert harness.run().mode == "full"
    docs = harness.docs()
    folders = [f"folder-{handbooks.id}", f"folder-{security.id}"]
    assert docs[f"page-{response.id}"]["ancestor_ids"] == folders
    assert docs[f"page-{response.id}"]["ancestor_titles"] == ["Handbooks", "Security"]
    assert docs[f"page-{response.id}"]["parent_id"] == f"folder-{security.id}"
    assert docs[f"page-{matrix.id}"]["ancestor_ids"] == [*folders, f"page-{response.id}"]
    for dependent in (f"attachment-att{contacts.id}", f"comment-{remark.id}"):
        assert docs[dependent]["ancestor_titles"] == ["Handbooks", "Security", "Incident response"], dependent
    assert "Handbooks" in docs[f"page-{matrix.id}"]["breadcrumb"]
    assert not any(doc_id.startswith("folder-") for doc_id in docs), "folders are not documents"

    caplog.set_level("INFO", logger="confluence_source.structure")
    assert harness.run().mode == "incremental"
    assert "Label and page-tree check" not in caplog.text, "the full read and the search disagree on the tree"

    mutations.edit(content_id=handbooks.id, title="Runbooks")
    mutations.move_page(page_id=matrix.id, space_key="ENG")
    assert harness.run().mode == "incremental"
    docs = harness.docs()
    assert docs[f"page-{response.id}"]["ancestor_titles"] == ["Runbooks", "Security"]
    assert docs[f"comment-{remark.id}"]["ancestor_titles"] == ["Runbooks", "Security", "Incident response"]
    assert docs[f"page-{matrix.id}"]["ancestor_ids"] == []
    mutations.move_page(page_id=security.id, space_key="ENG")  # the nested folder moves to the top of the space
    assert harness.run().mode == "incremental"
    incremental = {doc_id: outline_of(doc) for doc_id, doc in harness.docs().items()}
    assert incremental[f"page-{response.id}"]["ancestor_ids"] == [f"folder-{security.id}"]
    assert harness.run(full_refresh=True).mode == "full"
    full = {doc_id: outline_of(doc) for doc_id, doc in harness.docs().items()}
    assert {doc_id: outline for doc_id, outline in incremental.items() if full.get(doc_id) != outline} == {}


@pytest.mark.parametrize("status", [401, 403])
def test_a_folder_the_account_may_not_read_ends_the_breadcrumb(make_harness, caplog, status):
    """A scoped Cloud token without the folder scope gets 401 on folders: the run goes on, says why once and asks
    for no further folder. A 403 on one folder costs only that folder. Either way the pages below are indexed."""
    from confluence_simulator.faults import FaultKind, FaultRule

    harness = make_harness("cloud", spaces="ENG")
    mutations = harness.sim.mutations
    hidden = mutations.add_folder(space_key="ENG", title="Hidden")
    in_hidden = [mutations.add_page(parent_id=hidden.id, title=f"Guide {n}") for n in range(3)]
    harness.sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, endpoint="v2.folders.get", status=status,
                                     path=f"/folders/{hidden.id}$"))
    caplog.set_level("WARNING", logger="confluence_source")
    assert harness.run().mode == "full"
    docs = harness.docs()
    assert all(docs[f"page-{page.id}"]["ancestor_ids"] == [] for page in in_hidden)
    assert caplog.text.count("read:folder:confluence") == (1 if status == 401 else 0)
    if status == 403:  # the other folders are still read
        visible = mutations.add_folder(space_key="ENG", title="Visible")
        in_visible = mutations.add_page(parent_id=visible.id, title="Guide 3")
        harness.run(full_refresh=True)
        assert harness.docs()[f"page-{in_visible.id}"]["ancestor_ids"] == [f"folder-{visible.id}"]


def test_cloud_labels_from_the_label_listing_equal_those_from_search(make_harness, monkeypatch):
    """Cloud labels are read through `/labels` and what carries each label when that costs fewer requests than a
    body-less search; both ways give every page, blog post and attachment the same labels (prefixes included)."""
    from confluence_source.cloud import CloudReader

    harness = make_harness("cloud")
    page = readable_pages(harness)[0]
    attachment = harness.sim.mutations.add_attachment(container_id=page.id, file_name="plan.txt", data=b"plan")
    harness.sim.mutations.add_labels(content_id=page.id, labels=["team:platform"])
    harness.sim.mutations.add_labels(content_id=attachment.id, labels=["diagram"])
    monkeypatch.setattr(CloudReader, "_label_search_cost", lambda self, doc_types: 10**6)
    before = endpoint_counts(harness)
    harness.run()
    assert endpoint_counts(harness).get("v2.labels.pages", 0) > before.get("v2.labels.pages", 0)
    listed = {doc_id: doc.get("labels") or [] for doc_id, doc in harness.docs().items()}
    assert "team:platform" in listed[f"page-{page.id}"]
    assert "diagram" in listed[f"attachment-att{attachment.id}"]
    monkeypatch.setattr(CloudReader, "_label_search_cost", lambda self, doc_types: 0)
    assert harness.run(full_refresh=True).mode == "full"
    searched = {doc_id: doc.get("labels") or [] for doc_id, doc in harness.docs().items()}
    assert listed == searched


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_labels_and_moves_check_can_be_turned_off(make_harness, flavour, monkeypatch):
    harness = make_harness(flavour)
    harness.run()
    monkeypatch.setenv("SOURCES__CONFLUENCE__CHECK_LABELS_AND_MOVES", "false")
    labelled = readable_pages(harness)[1]
    harness.sim.mutations.add_labels(content_id=labelled.id, labels=["needs-review"])
    assert harness.run().mode == "incremental"
    assert "needs-review" not in harness.docs()[f"page-{labelled.id}"]["labels"]


def test_refresh_spaces_reads_those_spaces_in_full_and_the_others_for_changes(make_harness, monkeypatch):
    """`--refresh-spaces` is a `--full-refresh` of part of the site: what only a full read sees (here a label added
    without a new version, with the check that would find it turned off) reaches the index for that space alone."""
    harness = make_harness("datacenter")
    harness.run()
    monkeypatch.setenv("SOURCES__CONFLUENCE__CHECK_LABELS_AND_MOVES", "false")
    pages = readable_pages(harness)
    refreshed = next(page for page in pages if not harness.docs()[f"page-{page.id}"]["space_key"].startswith("~"))
    space_key = harness.docs()[f"page-{refreshed.id}"]["space_key"]
    other = next(page for page in pages if harness.docs()[f"page-{page.id}"]["space_key"] != space_key)
    for page in (refreshed, other):
        harness.sim.mutations.add_labels(content_id=page.id, labels=["needs-review"])
    summary = harness.run(refresh_spaces=(space_key.lower(),))  # keys in any case, as in `spaces`
    assert summary.mode == "incremental"
    assert "needs-review" in harness.docs()[f"page-{refreshed.id}"]["labels"]
    assert "needs-review" not in harness.docs()[f"page-{other.id}"]["labels"]
    in_space = Counter(doc["type"] for doc in harness.docs().values() if doc.get("space_key") == space_key
                       and doc["type"] in ("page", "blogpost"))
    assert summary.documents.get("pages", 0) == in_space["page"]  # that space's pages, and no other's
    assert summary.documents.get("blogposts", 0) == in_space["blogpost"]


def test_refresh_spaces_naming_a_space_the_run_does_not_sync_exits_2_before_writing(make_harness, tmp_path, capsys):
    harness = make_harness("cloud")
    code, stderr = run_cli(harness, tmp_path, capsys, "--refresh-spaces", "NOPE")
    assert code == 2 and "--refresh-spaces names NOPE, which this run does not sync" in stderr, stderr
    assert not harness.es.indices.exists(index=harness.index)
    harness.monkeypatch.setenv("SOURCES__CONFLUENCE__ADVANCED_RULES", "type = page")
    code, stderr = run_cli(harness, tmp_path, capsys, "--refresh-spaces", "ENG")
    assert code == 2 and "use --full-refresh" in stderr, stderr


def test_full_refresh_picks_up_a_label_added_without_a_new_version(make_harness):
    harness = make_harness("datacenter")
    harness.run()
    labelled = readable_pages(harness)[1]
    harness.sim.mutations.add_labels(content_id=labelled.id, labels=["needs-review"])
    assert harness.run(full_refresh=True).mode == "full"
    assert "needs-review" in harness.docs()[f"page-{labelled.id}"]["labels"]


def test_a_deleted_content_index_is_filled_again_by_a_full_read(make_harness, monkeypatch):
    from confluence_source import ConfluenceConfigError

    harness = make_harness("datacenter")
    harness.run()
    harness.es.indices.delete(index=harness.index)  # the state index with its watermarks stays
    monkeypatch.setenv("SOURCES__CONFLUENCE__SPACES", "NOPE")
    with pytest.raises(ConfluenceConfigError):
        harness.run()  # a setting to fix: nothing is created, the watermarks stay
    assert not harness.es.indices.exists(index=harness.index)
    monkeypatch.setenv("SOURCES__CONFLUENCE__SPACES", "*")
    summary = harness.run()
    assert summary.mode == "full"
    assert set(harness.docs()) == set().union(*harness.visible().values())


def test_a_run_that_fails_after_creating_the_missing_index_is_followed_by_a_full_read(make_harness):
    """The watermarks of a missing content index are forgotten before it is created: a run that then fails leaves an
    empty index behind, and the next run must still read everything, not only what changed since the watermarks."""
    from confluence_source import ConfluenceError
    from dlt.pipeline.exceptions import PipelineStepFailed

    harness = make_harness("datacenter")
    harness.run()
    harness.es.indices.delete(index=harness.index)  # the state index with its watermarks stays
    from confluence_simulator.faults import FaultRule

    harness.sim.faults.add(FaultRule(kind="server_error", endpoint="*", path="/content/(scan|search)",
                                     retry_after=None))  # every listing of the full read
    harness.monkeypatch.setenv("SOURCES__CONFLUENCE__RETRY_COUNT", "1")
    with pytest.raises((ConfluenceError, PipelineStepFailed)):
        harness.run()  # the index was created, then the read failed
    assert harness.es.indices.exists(index=harness.index) and not harness.docs()
    harness.sim.faults.clear()
    summary = harness.run()
    assert summary.mode == "full"
    assert set(harness.docs()) == set().union(*harness.visible().values())


FOREIGN_NOTE = "that this connector did not write"


def test_a_first_sync_into_an_index_holding_another_tools_documents_warns_and_leaves_them(make_harness, caplog):
    """Elastic's own connector writes `search-confluence` too, with the Confluence id as `_id` and no `site_url`:
    those copies would sit beside ours for good, so the first sync into such an index says so."""
    harness = make_harness("datacenter")
    harness.es.index(index=harness.index, id="98305", document={"title": "Onboarding", "body": "Welcome"},
                     refresh=True)
    caplog.set_level("WARNING", logger="confluence_to_es")
    harness.run()
    notes = [record.getMessage() for record in caplog.records if FOREIGN_NOTE in record.getMessage()]
    assert len(notes) == 1
    assert f"Index {harness.index} already holds 1 document(s)" in notes[0]
    assert "destination.elasticsearch.es_index" in notes[0]
    assert "98305" in harness.docs()  # never ours to delete
    caplog.clear()
    harness.run()  # said once, at the first sync: sharing an index can be on purpose
    assert FOREIGN_NOTE not in caplog.text


def test_a_failed_look_at_who_else_wrote_to_the_index_does_not_fail_the_run(make_harness, monkeypatch):
    from elasticsearch import ConnectionTimeout

    from confluence_source.sync_state import IndexedDocuments

    def times_out(self):  # noqa: ANN001, ANN202
        raise ConnectionTimeout("timed out")

    harness = make_harness("datacenter")
    harness.es.indices.create(index=harness.index)
    monkeypatch.setattr(IndexedDocuments, "other_writers", times_out)
    assert harness.run().mode == "full" and harness.docs()


OTHER_SITE_NOTE = "holds documents of another Confluence address"


def test_a_first_sync_into_an_index_holding_another_sites_documents_warns_that_ids_collide(make_harness, caplog):
    first = make_harness("datacenter")
    first.run()
    second = make_harness("datacenter")  # another site (the same content ids), on its own address
    second.index = first.index
    second.configure()
    caplog.set_level("WARNING", logger="confluence_to_es")
    second.run()
    notes = [record.getMessage() for record in caplog.records if OTHER_SITE_NOTE in record.getMessage()]
    assert len(notes) == 1 and f"({first.sim.base_url} with " in notes[0]
    assert "destination.elasticsearch.es_index" in notes[0] and FOREIGN_NOTE not in caplog.text
    caplog.clear()
    first.run()  # its own index: the first site has synced into it before
    assert OTHER_SITE_NOTE not in caplog.text
    third = make_harness("datacenter", reading=second)  # the second site again, under another pipeline name
    third.index = first.index
    third.configure()
    third.run()
    assert OTHER_SITE_NOTE not in caplog.text and FOREIGN_NOTE not in caplog.text


def test_a_first_sync_into_an_empty_index_of_ones_own_gets_no_warning(make_harness, caplog):
    caplog.set_level("WARNING", logger="confluence_to_es")
    empty = make_harness("cloud")
    empty.es.indices.create(index=empty.index)
    empty.run()
    assert FOREIGN_NOTE not in caplog.text and OTHER_SITE_NOTE not in caplog.text


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_run_without_changes_costs_a_handful_of_requests(make_harness, flavour):
    harness = make_harness(flavour)
    harness.run()
    harness.run()  # the changes of the last minute are read once more (CQL dates have minute resolution)
    before = endpoint_counts(harness)
    quiet = harness.run()
    by_endpoint = {name: count - before.get(name, 0) for name, count in endpoint_counts(harness).items()
                   if count != before.get(name, 0)}
    assert quiet.mode == "incremental"
    # CQL dates have minute resolution, so the changes of the last minute are read again (idempotent upserts)
    assert quiet.deleted == 0, quiet.as_dict()
    rewritten = {table: count for table, count in quiet.documents.items() if table != "spaces"}
    assert sum(rewritten.values()) <= 3, quiet.as_dict()
    print(f"{flavour}: no-change incremental run made {quiet.requests} requests: {by_endpoint}")
    assert quiet.requests <= 10, (quiet.requests, by_endpoint)


def leaf_pages(harness, space_key: str):
    """Readable current pages of a space with no child pages, so each change touches one page and what hangs on it."""
    site = harness.site
    return [page for page in readable_pages(harness, space_key)
            if not any(site.content[child].status == "current" for child in site.child_ids(page.id, "page"))]


def indexed_ids(harness) -> set[str]:
    return set(harness.docs())


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_trashed_purged_archived_and_moved_away_content_leaves_the_index(make_harness, flavour):
    harness = make_harness(flavour, spaces="ENG")
    harness.run()
    assert indexed_ids(harness) == set().union(*harness.visible({"ENG"}).values())
    trashed, purged, moved, archived = leaf_pages(harness, "ENG")[:4]
    mutations = harness.sim.mutations
    mutations.trash(content_id=trashed.id)
    mutations.trash(content_id=purged.id)
    mutations.purge(content_id=purged.id)
    mutations.move_page(page_id=moved.id, space_key="DOCS")
    if flavour == "cloud":  # page archiving is a Cloud feature
        mutations.archive_page(page_id=archived.id)
    gone = {f"page-{page.id}" for page in (trashed, purged, moved)} | (
        {f"page-{archived.id}"} if flavour == "cloud" else set())
    assert gone <= indexed_ids(harness)

    summary = harness.run()
    assert summary.mode == "incremental"
    assert not summary.refused_deletions, summary.refusal_message
    remaining = indexed_ids(harness)
    assert not gone & remaining
    assert remaining == set().union(*harness.visible({"ENG"}).values())
    assert summary.deleted >= len(gone)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_comment_and_a_file_restored_on_their_own_are_back_after_the_next_run(make_harness, flavour):
    """Restoring a comment or a file from the trash (its page stayed) creates no version, so no change window
    brings it back: the deletion check finds it listed but missing from the index, and the next run reads it."""
    harness = make_harness(flavour)
    harness.run()
    visible = harness.visible()
    site = harness.site
    replied_to = {item.parent_comment_id for item in site.iter_content("comment")}
    comment = next(item for item in site.iter_content("comment") if f"comment-{item.id}" in visible["comment"]
                   and item.parent_comment_id is None and item.id not in replied_to)
    file_id = sorted(visible["attachment"])[0]
    attachment = site.content[int(file_id.split("-", 1)[1].removeprefix("att"))]
    restored = {f"comment-{comment.id}", file_id}
    for item in (comment, attachment):
        harness.sim.mutations.trash(content_id=item.id)
    assert harness.run().deleted == 2 and not restored & indexed_ids(harness)
    for item in (comment, attachment):
        harness.sim.mutations.restore(content_id=item.id)

    found = harness.run()
    assert found.missing_from_index == 2 and not restored & indexed_ids(harness)
    read = harness.run()
    assert read.documents.get("comments") == 1 and read.documents.get("attachments") == 1
    assert read.missing_from_index == 0 and read.deleted == 0
    docs = harness.docs()
    assert restored <= set(docs) and set(docs) == set().union(*harness.visible().values())
    assert docs[file_id]["content_extraction"] in ("extracted", "unsupported_type", "encrypted", "unreadable")
    quiet = harness.run()
    assert quiet.documents.get("comments", 0) == 0 and quiet.documents.get("attachments", 0) == 0


def test_turning_index_archived_off_removes_archived_spaces_without_the_guard_but_archiving_one_is_guarded(
        make_harness):
    """Like a space taken out of `spaces`, archived spaces left out because `index_archived` was turned off are the
    user's choice: their documents go without `--allow-mass-delete`. A space archived in Confluence meanwhile, with
    the setting unchanged, is still guarded: its content vanished from what the run reads."""

    from confluence_simulator.generator import DatasetSpec
    from confluence_source.deletions import DeletionPolicy

    # a space large enough for the guard to matter (it lets up to 20 documents go unasked)
    harness = make_harness("cloud", DatasetSpec(seed=3, users=4, global_spaces=3, personal_spaces=0, pages=120,
                                                blogposts=6, comments=30, attachments=6, huge_pages=0))
    harness.configure("*", SOURCES__CONFLUENCE__INDEX_ARCHIVED="true")
    harness.run()
    per_space = Counter(doc["space_key"] for doc in harness.docs().values())
    largest = max((space.key for space in harness.site.spaces.values() if space.type == "global"),
                  key=per_space.__getitem__)
    assert per_space[largest] > DeletionPolicy().min_count, per_space  # more than the guard lets go unasked

    def indexed_there() -> bool:
        return any(doc["space_key"] == largest for doc in harness.docs().values())

    harness.sim.mutations.archive_space(space_key=largest)
    harness.run()
    assert indexed_there()  # archived content is indexed

    harness.configure("*", SOURCES__CONFLUENCE__INDEX_ARCHIVED="false")
    summary = harness.run()
    assert not summary.refused_deletions and summary.deleted
    assert not indexed_there()

    harness.sim.mutations.unarchive_space(space_key=largest)
    harness.run()
    assert indexed_there()
    harness.sim.mutations.archive_space(space_key=largest)  # archived in Confluence, the setting unchanged
    assert harness.run().refused_deletions and indexed_there()


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_restored_item_the_next_run_cannot_read_either_is_not_read_again_and_again(make_harness, flavour):
    """With `index_archived`, a comment restored on an archived page is listed, but search (which reads the noted
    items) leaves out what hangs on archived pages: once a run has tried it, later runs stop asking."""
    harness = make_harness(flavour)
    harness.configure("*", SOURCES__CONFLUENCE__INDEX_ARCHIVED="true")
    harness.run()
    site = harness.site
    replied_to = {item.parent_comment_id for item in site.iter_content("comment")}
    indexed = indexed_ids(harness)
    comment = next(item for item in site.iter_content("comment") if f"comment-{item.id}" in indexed
                   and item.id not in replied_to and site.content[item.parent_id or 0].type == "page")
    harness.sim.mutations.archive_page(page_id=comment.parent_id)
    harness.run(full_refresh=True)
    harness.sim.mutations.trash(content_id=comment.id)
    harness.run()
    harness.sim.mutations.restore(content_id=comment.id)

    assert harness.run().missing_from_index == 1  # listed, not indexed: noted
    tried = harness.run()  # reads it (search does not return it) and sets it apart
    assert tried.missing_from_index == 0 and tried.unreadable == 1
    quiet = harness.run()
    assert quiet.missing_from_index == 0 and quiet.unreadable == 1 and quiet.documents.get("comments", 0) == 0

    # a day later it is tried again, and set apart again while its page stays archived
    harness.monkeypatch.setattr("pipelines.missing_items.RETRY_UNREADABLE_AFTER", timedelta(0))
    assert harness.run().missing_from_index == 1
    assert harness.run().unreadable == 1
    # its page unarchived, the next run reads that space in full (see `archived_pages.py`), the comment with it
    harness.sim.mutations.restore(content_id=comment.parent_id)
    read = harness.run()
    assert read.documents.get("comments", 0) >= 1 and read.unreadable == 0 and read.missing_from_index == 0
    assert f"comment-{comment.id}" in indexed_ids(harness)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_restored_comment_whose_page_moves_to_another_synced_space_is_read_there(make_harness, flavour):
    harness = make_harness(flavour)
    harness.run()
    site = harness.site
    visible = harness.visible()
    replied_to = {item.parent_comment_id for item in site.iter_content("comment")}
    comment = next(item for item in site.iter_content("comment") if f"comment-{item.id}" in visible["comment"]
                   and item.parent_comment_id is None and item.id not in replied_to
                   and site.content[item.parent_id or 0].type == "page")
    page = site.content[comment.parent_id or 0]
    harness.sim.mutations.trash(content_id=comment.id)
    harness.run()
    harness.sim.mutations.restore(content_id=comment.id)
    assert harness.run().missing_from_index == 1
    other = next(key for key in sorted(visible_space_keys(harness)) if key != site.spaces[page.space_id].key)
    harness.sim.mutations.move_page(page_id=page.id, space_key=other)

    harness.run()  # the noted comment is read under the space its page moved to
    assert f"comment-{comment.id}" in indexed_ids(harness)
    assert indexed_ids(harness) == set().union(*harness.visible().values())


def visible_space_keys(harness) -> set[str]:
    return {doc_id_and_doc[1]["space_key"] for doc_id_and_doc in harness.docs().items()
            if doc_id_and_doc[1]["type"] == "space"}


FAULTS_ON_LISTINGS = {
    # The endpoint a listing that finds the deletion uses, and the fault to inject: the label and page-tree check's
    # outline listing (content search) during the read, and the deletion reconciliation's id listing after the load
    # (see the no-change run's request breakdown).
    ("cloud", "outline"): ("v1.content.search", "drop_connection"),
    ("datacenter", "outline"): ("v1.content.search", "server_error"),
    ("cloud", "deletions"): ("v2.spaces.pages", "drop_connection"),
    ("datacenter", "deletions"): ("v1.search", "server_error"),
}


@pytest.mark.parametrize("flavour,listing", list(FAULTS_ON_LISTINGS))
def test_a_failed_listing_fails_the_run_and_deletes_nothing(make_harness, flavour, listing):
    from confluence_simulator.faults import FaultRule

    harness = make_harness(flavour)
    harness.monkeypatch.setenv("SOURCES__CONFLUENCE__CHECK_LABELS_AND_MOVES", str(listing == "outline").lower())
    harness.run()
    before = indexed_ids(harness)
    trashed = leaf_pages(harness, "ENG")[0]
    harness.sim.mutations.trash(content_id=trashed.id)
    endpoint, kind = FAULTS_ON_LISTINGS[(flavour, listing)]
    harness.sim.faults.add(FaultRule(kind=kind, endpoint=endpoint, retry_after=None))
    harness.monkeypatch.setenv("SOURCES__CONFLUENCE__RETRY_COUNT", "1")
    with pytest.raises(Exception):
        harness.run()
    assert indexed_ids(harness) == before
    assert harness.sim.stats()["faults"], "the fault never fired: the test did not exercise a failed listing"

    harness.sim.faults.clear()
    assert harness.run().mode == "incremental"  # the failed run moved no watermark; the next one catches up
    assert f"page-{trashed.id}" not in indexed_ids(harness)


def test_mass_delete_guard_keeps_a_vanished_space_until_allowed(make_harness, tmp_path, capsys):
    from pipelines.confluence_to_es import main

    harness = make_harness("datacenter")
    harness.run()
    eng_ids = {doc_id for doc_id, source in harness.docs().items() if source.get("space_key") == "ENG"}
    assert len(eng_ids) > 25, "the data set must give the guard something large to refuse"
    harness.sim.mutations.delete_space(space_key="ENG")

    summary = harness.run()
    assert [refused["space_key"] for refused in summary.refused_deletions] == ["ENG"]
    assert eng_ids <= indexed_ids(harness)

    harness.monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "cli-dlt"))
    code = main(["--pipeline-name", harness.pipeline_name])
    stderr = capsys.readouterr().err
    assert code == 3, stderr
    assert "ENG" in stderr and "--allow-mass-delete" in stderr
    assert eng_ids <= indexed_ids(harness)

    allowed = harness.run(allow_mass_delete=True)
    assert not allowed.refused_deletions
    assert not eng_ids & indexed_ids(harness)
    assert indexed_ids(harness) == set().union(*harness.visible().values())


def test_the_last_synced_space_archived_leaves_the_index_like_any_other(make_harness):
    """With one space left to sync (or none), the deletion check still runs: the documents of a space archived
    under `spaces = *` meet the guard, and leave once allowed, as when other spaces are still synced."""
    harness = make_harness("datacenter")
    harness.run()
    site = harness.site
    readable = sorted(space.key for space in site.spaces.values()
                      if space.status == "current" and site.can_read_space(site.default_user, space))
    for key in readable:
        harness.sim.mutations.archive_space(space_key=key)
    summary = harness.run()
    assert summary.refused_deletions and indexed_ids(harness)
    harness.run(allow_mass_delete=True)
    assert indexed_ids(harness) == set()


def test_cli_an_account_that_sees_no_space_at_all_fails_the_run_and_deletes_nothing(make_harness, tmp_path, capsys):
    """No space visible at all is more likely lost permissions (or the wrong account) than an empty site: the run
    stops with exit 2 naming the credentials, so a scheduled job fails instead of succeeding while the index ages,
    and it keeps the index as it is, even where deletions are allowed."""
    harness = make_harness("cloud")
    assert run_cli(harness, tmp_path, capsys)[0] == 0
    before = indexed_ids(harness)
    for space in list(harness.site.spaces.values()):
        space.permissions = [permission for permission in space.permissions if permission.operation != "read"]
    code, stderr = run_cli(harness, tmp_path, capsys, "--allow-mass-delete")
    assert code == 2, stderr
    assert stderr.startswith("error: The account sees no space at all on ") and len(stderr.splitlines()) == 1
    assert "sources.confluence.account_email and sources.confluence.api_token" in stderr
    assert indexed_ids(harness) == before


def test_trashing_most_of_a_space_is_refused_then_allowed(make_harness):
    harness = make_harness("cloud")
    harness.run()
    roots = [page for page in readable_pages(harness, "ENG") if page.parent_id is None]
    for page in roots:
        harness.sim.mutations.trash(content_id=page.id, with_descendants=True)
    before = indexed_ids(harness)
    summary = harness.run()
    assert [refused["space_key"] for refused in summary.refused_deletions] == ["ENG"], summary.as_dict()
    assert indexed_ids(harness) == before
    assert harness.run(allow_mass_delete=True).refused_deletions == []
    assert indexed_ids(harness) == set().union(*harness.visible().values())


def test_a_page_a_rule_starts_matching_brings_only_what_the_rule_matches_below_it(make_harness):
    """A page labelled into a label rule arrives without a new version; its unlabelled comments and attachments are
    no more matched by the rule than before, so they stay out of the index."""
    harness = make_harness("datacenter")
    harness.monkeypatch.setenv("SOURCES__CONFLUENCE__ADVANCED_RULES", json.dumps(['label = "runbook"']))
    harness.run()
    site = harness.site
    indexed = harness.docs()
    def unlabelled_children(item):
        return [site.content[child] for kind in ("comment", "attachment") for child in site.child_ids(item.id, kind)
                if site.content[child].status == "current" and not site.content[child].labels]

    page = next(item for item in readable_pages(harness) if f"page-{item.id}" not in indexed
                and len(unlabelled_children(item)) >= 2)
    labelled_child, *others = unlabelled_children(page)
    harness.sim.mutations.add_labels(content_id=page.id, labels=["runbook"])
    harness.sim.mutations.add_labels(content_id=labelled_child.id, labels=["runbook"])

    harness.run()
    docs = harness.docs()
    assert f"page-{page.id}" in docs
    added = {doc_id for doc_id, source in docs.items() if source["type"] in ("comment", "attachment")} - set(indexed)
    assert len(added) == 1 and next(iter(added)).endswith(str(labelled_child.id))  # the child the rule matches
    assert not any(str(other.id) in doc_id for other in others for doc_id in added)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_file_labelled_into_a_label_rule_is_indexed_by_the_next_run(make_harness, flavour):
    """Labelling a file creates no version, so no change window finds it; the label check lists what the rules
    match and reads the file a rule newly matches."""
    harness = make_harness(flavour)
    harness.monkeypatch.setenv("SOURCES__CONFLUENCE__ADVANCED_RULES", json.dumps(['label = "runbook"']))
    harness.run()
    indexed = harness.docs()
    site = harness.site
    readable = {page.id for page in readable_pages(harness)}
    prefix = "attachment-att" if flavour == "cloud" else "attachment-"
    runbook = next(item for item in sorted(site.iter_content("attachment"), key=lambda item: item.id)
                   if item.status == "current" and item.parent_id in readable and not item.labels
                   and f"{prefix}{item.id}" not in indexed)
    harness.sim.mutations.add_labels(content_id=runbook.id, labels=["runbook"])
    summary = harness.run()
    assert summary.mode == "incremental"
    assert harness.docs()[f"{prefix}{runbook.id}"]["labels"] == ["runbook"]
    assert set(harness.docs()) - set(indexed) == {f"{prefix}{runbook.id}"}


def run_cli(harness, tmp_path, capsys, *args: str) -> tuple[int, str]:
    from pipelines.confluence_to_es import main

    harness.monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "cli-dlt"))
    code = main(["--pipeline-name", harness.pipeline_name, *args])
    return code, capsys.readouterr().err.strip()


def test_documents_go_through_the_ingest_pipeline_es_pipeline_names(make_harness, tmp_path, capsys):
    """The sink takes `es_pipeline` from the settings as the preflight does; a pipeline the cluster lacks stops the
    run before Confluence is asked anything."""
    harness = make_harness("cloud")
    harness.monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_PIPELINE", "no-such-pipeline")
    code, stderr = run_cli(harness, tmp_path, capsys)
    assert code == 2 and stderr.endswith("(set destination.elasticsearch.es_pipeline)"), stderr
    assert harness.sim.stats()["requests"] == 0
    pipeline = f"{harness.index}-pipeline"
    harness.es.ingest.put_pipeline(id=pipeline, processors=[])
    try:
        harness.monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_PIPELINE", pipeline)
        code, stderr = run_cli(harness, tmp_path, capsys)
        assert code == 0, stderr
        through = [(node["ingest"].get("pipelines") or {}).get(pipeline, {}) for node in
                   harness.es.nodes.stats(metric="ingest")["nodes"].values()]
        indexed = harness.es.count(index=harness.index)["count"]
        assert indexed > 50 and sum(stats.get("ingested_as_first_pipeline_in_bytes", 0) for stats in through) > (
            indexed * 200)
    finally:
        harness.es.ingest.delete_pipeline(id=pipeline)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_cli_bad_credentials_exit_2_naming_the_setting_without_the_secret(make_harness, flavour, tmp_path, capsys):
    harness = make_harness(flavour)
    wrong = "wrong-secret-value-5f3a9c"
    setting = "API_TOKEN" if flavour == "cloud" else "PERSONAL_ACCESS_TOKEN"
    harness.monkeypatch.setenv(f"SOURCES__CONFLUENCE__{setting}", wrong)
    code, stderr = run_cli(harness, tmp_path, capsys)
    assert code == 2, stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert setting.lower() in stderr, stderr
    assert wrong not in stderr
    assert all(secret not in stderr for secret in harness.sim.credentials.values() if len(secret) > 6), stderr


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_cli_a_site_down_from_the_first_request_is_an_outage_where_it_synced_before(make_harness, flavour, tmp_path,
                                                                                  capsys):
    """A site that drops every connection from the first request on looks like a wrong address (exit 2, naming
    the setting) to a pipeline that never read it; to one whose last run read it at this address, it is down
    (exit 1), and the setting is only named in case the site moved."""
    from confluence_simulator.faults import FaultKind, FaultRule

    harness = make_harness(flavour)
    harness.configure("*", SOURCES__CONFLUENCE__RETRY_COUNT="1", SOURCES__CONFLUENCE__MAX_RETRY_DELAY="0.05")
    harness.run()
    harness.sim.faults.add(FaultRule(kind=FaultKind.DROP_CONNECTION, endpoint="*"))
    code, stderr = run_cli(harness, tmp_path, capsys)
    assert code == 1, stderr
    assert "stopped answering while checking the credentials" in stderr and "answered the last run" in stderr
    assert len(stderr.splitlines()) == 1, stderr

    harness.pipeline_name = "never_synced_here"
    code, stderr = run_cli(harness, tmp_path, capsys)
    assert code == 2, stderr
    assert "check sources.confluence.confluence_url" in stderr and "answered the last run" not in stderr


def test_an_outage_is_only_assumed_at_the_address_the_last_run_used(make_harness):
    """Through Atlassian's gateway (the site's cloud id looked up first), a site down from the first request is an
    outage where the last run used the same gateway; a gateway set since, which does not answer, is a setting to
    fix."""
    from confluence_simulator.faults import FaultKind, FaultRule
    from confluence_source.errors import ConfluenceConnectionError, ConfluenceWentAwayError

    harness = make_harness("cloud")
    harness.configure("*", SOURCES__CONFLUENCE__RETRY_COUNT="0",
                      SOURCES__CONFLUENCE__API_GATEWAY=harness.sim.gateway_origin())
    harness.run()
    harness.sim.faults.add(FaultRule(kind=FaultKind.DROP_CONNECTION, endpoint="*"))
    with pytest.raises(ConfluenceWentAwayError, match="answered the last run at this address"):
        harness.run()
    harness.sim.faults.clear()

    harness.configure("*", SOURCES__CONFLUENCE__RETRY_COUNT="0",
                      SOURCES__CONFLUENCE__API_GATEWAY="http://localhost:9")
    with pytest.raises(ConfluenceConnectionError) as failed:
        harness.run()
    assert not isinstance(failed.value, ConfluenceWentAwayError), failed.value
    assert "api_gateway" in str(failed.value)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_service_account_with_oauth_client_credentials_runs_the_job(make_harness, flavour, tmp_path, capsys):
    """Cloud through the API gateway with Atlassian's token endpoint (here the simulator's), Data Center with its own
    token endpoint under the site URL: a full sync, an incremental run, and a wrong secret refused in one line."""
    harness = make_harness(flavour)
    for name in ("ACCOUNT_EMAIL", "API_TOKEN", "PERSONAL_ACCESS_TOKEN"):
        harness.monkeypatch.delenv(f"SOURCES__CONFLUENCE__{name}", raising=False)
    credentials = harness.sim.credentials
    harness.monkeypatch.setenv("SOURCES__CONFLUENCE__OAUTH_CLIENT_ID", credentials["oauth_client_id"])
    harness.monkeypatch.setenv("SOURCES__CONFLUENCE__OAUTH_CLIENT_SECRET", credentials["oauth_client_secret"])
    if flavour == "cloud":
        harness.monkeypatch.setenv("SOURCES__CONFLUENCE__API_GATEWAY", harness.sim.gateway_origin())
        harness.monkeypatch.setenv("SOURCES__CONFLUENCE__OAUTH_TOKEN_URL", f"{harness.sim.origin}/oauth/token")
    full = harness.run()
    assert full.mode == "full" and full.failed == 0
    assert full.token_requests == 1 and full.as_dict()["token_requests"] == 1
    docs = harness.docs()
    for doc_type, ids in harness.visible().items():
        assert {doc_id for doc_id, source in docs.items() if source["type"] == doc_type} == ids, doc_type
    page = readable_pages(harness)[0]
    harness.sim.mutations.edit(content_id=page.id, title="Seen by the service account")
    again = harness.run()
    assert again.mode == "incremental" and harness.docs()[f"page-{page.id}"]["title"] == "Seen by the service account"
    assert harness.sim.tokens.issued == 2  # one per run
    wrong = "wrong-client-secret-8e1d"
    harness.monkeypatch.setenv("SOURCES__CONFLUENCE__OAUTH_CLIENT_SECRET", wrong)
    code, stderr = run_cli(harness, tmp_path, capsys)
    assert code == 2 and len(stderr.splitlines()) == 1, stderr
    assert "oauth_client_secret" in stderr and wrong not in stderr
    assert all(secret not in stderr for secret in credentials.values() if len(secret) > 6), stderr


def stop_before_normalize(monkeypatch, nth: int = 1) -> None:
    """The process stops (KeyboardInterrupt) before the `nth` normalize from now on: between a run's extract and
    its normalize, where dlt leaves the extracted package pending."""
    import dlt

    original_normalize = dlt.Pipeline.normalize
    calls: list[int] = []

    def stopped(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == nth:
            raise KeyboardInterrupt
        return original_normalize(self, *args, **kwargs)

    monkeypatch.setattr(dlt.Pipeline, "normalize", stopped)


def test_a_package_left_between_extract_and_load_is_finished_first_and_not_counted_twice(make_harness, monkeypatch):
    import dlt

    harness = make_harness("datacenter")
    reference = harness.run()  # what a full read of this site writes
    harness.es.indices.delete(index=harness.index)  # start over: the next run reads in full again
    harness.es.indices.delete(index=f"{harness.index}-sync-state")

    stop_before_normalize(monkeypatch)  # the process stops between its extract and its normalize
    with pytest.raises(KeyboardInterrupt):
        harness.run()
    assert dlt.attach(harness.pipeline_name, pipelines_dir=str(harness.pipelines_dir)).has_pending_data

    summary = harness.run()
    assert summary.documents == reference.documents  # this run's own documents, not the pending package's too
    assert set(harness.docs()) == set().union(*harness.visible().values())
    assert not dlt.attach(harness.pipeline_name, pipelines_dir=str(harness.pipelines_dir)).has_pending_data


def test_a_package_left_pending_never_puts_older_versions_back_over_newer_ones(make_harness, monkeypatch, tmp_path):
    """Runs go on from another working folder (a fresh CI runner) while one folder keeps the package of a failed
    load: when that folder runs again, the package's older version must not overwrite the newer one, which nothing
    would ever read again."""
    from datetime import datetime, timedelta, timezone

    from elastic_transport import ConnectionError as TransportConnectionError

    from confluence_simulator.mutations import Mutations
    from destinations.es_bulk import BulkWriter

    harness = make_harness("cloud")
    harness.run()
    page = readable_pages(harness)[0]
    harness.sim.mutations.edit(content_id=page.id, body="<p>Second version, never loaded here.</p>")
    harness.configure(DESTINATION__ELASTICSEARCH__ES_MAX_RETRIES="0")

    def refused(self, actions, chunk_bytes):
        raise TransportConnectionError("Connection refused")

    with monkeypatch.context() as patched:
        patched.setattr(BulkWriter, "_send", refused)
        with pytest.raises(Exception):
            harness.run()  # the load fails: its package stays in this working folder
    # dated before the overlap of the next window reaches, so that only the other runner's full read brings it
    # (as an edit older than overlap_minutes would)
    Mutations(harness.site, clock=lambda: datetime.now(timezone.utc) - timedelta(hours=2)).edit(
        content_id=page.id, body="<p>Third version, from another runner.</p>")
    harness.sim.notify_changed()
    harness.run(pipelines_dir=str(tmp_path / "another-runner"), full_refresh=True)
    assert "Third version" in harness.docs()[f"page-{page.id}"]["body"]

    harness.run()  # the first working folder again
    document = harness.docs()[f"page-{page.id}"]
    assert "Third version" in document["body"] and document["version"] == page.versions[-1].number


def test_a_partly_loaded_package_is_finished_so_what_only_it_had_read_again_is_not_lost(make_harness, monkeypatch):
    """A renamed page brings no new version to its comments: the run that saw the rename read them again because
    the index held their old breadcrumb. Its load wrote the page, then failed on the comments; the next run finds
    the page as Confluence has it and would not read them again: the pending package must be loaded."""
    from dlt.pipeline.exceptions import PipelineStepFailed

    from destinations.es_bulk import BulkWriter
    from destinations.es_errors import ElasticsearchUnavailableError

    harness = make_harness("cloud")
    harness.run()
    site = harness.site
    page = next(item for item in readable_pages(harness)
                if any(comment.parent_id == item.id for comment in site.iter_content("comment")))
    comments = [f"comment-{comment.id}" for comment in site.iter_content("comment") if comment.parent_id == page.id]
    renamed = page.title + " (renamed)"
    harness.sim.mutations.edit(content_id=page.id, title=renamed)
    harness.configure(DESTINATION__ELASTICSEARCH__ES_MAX_RETRIES="0")
    original_write = BulkWriter.write

    def comments_refused(self, actions):
        if any(action.doc_id.startswith("comment-") for action in actions):
            raise ElasticsearchUnavailableError("refused for the test", names_a_setting=False)
        return original_write(self, actions)

    with monkeypatch.context() as patched:
        patched.setattr(BulkWriter, "write", comments_refused)
        patched.setenv("LOAD__RAISE_ON_MAX_RETRIES", "5")  # dlt goes on with the other jobs, pages among them
        with pytest.raises(PipelineStepFailed):
            harness.run()
    docs = harness.docs()
    assert docs[f"page-{page.id}"]["title"] == renamed
    assert not any(docs[comment_id]["parent_title"] == renamed for comment_id in comments)

    harness.run()
    docs = harness.docs()
    assert all(docs[comment_id]["parent_title"] == renamed for comment_id in comments)


def test_deletions_left_pending_are_planned_again_not_applied(make_harness, monkeypatch):
    """A run stopped while it deleted the spaces its settings had left out; the settings take them back in before
    the next run: the old plan must not empty them (to read them all again after)."""
    from dlt.pipeline.exceptions import PipelineStepFailed

    from destinations.es_bulk import BulkWriter
    from destinations.es_errors import ElasticsearchUnavailableError

    harness = make_harness("cloud")
    harness.run()
    everything = indexed_ids(harness)
    harness.configure("ENG", DESTINATION__ELASTICSEARCH__ES_MAX_RETRIES="0")
    original_write = BulkWriter.write

    def deletions_refused(self, actions):
        if any(action.operation == "delete" for action in actions):
            raise ElasticsearchUnavailableError("refused for the test", names_a_setting=False)
        return original_write(self, actions)

    with monkeypatch.context() as patched:
        patched.setattr(BulkWriter, "write", deletions_refused)
        with pytest.raises(PipelineStepFailed):
            harness.run()
    assert indexed_ids(harness) == everything

    harness.configure("*")
    deletes_sent: list[str] = []

    def recorded(self, actions):
        deletes_sent.extend(action.doc_id for action in actions if action.operation == "delete")
        return original_write(self, actions)

    monkeypatch.setattr(BulkWriter, "write", recorded)
    assert harness.run().deleted == 0
    assert deletes_sent == []  # not deleted and written again: never deleted
    assert indexed_ids(harness) == everything


def test_deletions_left_before_their_normalize_are_dropped_too(make_harness, monkeypatch):
    """A run stopped inside the deletions' own run of dlt, before their package was normalized: dlt drops only
    normalized packages by their id, so such a package must not fail every later run."""
    import dlt

    harness = make_harness("cloud")
    harness.run()
    everything = indexed_ids(harness)
    harness.configure("ENG")
    with monkeypatch.context() as patched:
        # the first normalizes the content; the second, inside the deletions' run, stops
        stop_before_normalize(patched, nth=2)
        with pytest.raises(KeyboardInterrupt):
            harness.run()
    assert dlt.attach(harness.pipeline_name, pipelines_dir=str(harness.pipelines_dir)).list_extracted_load_packages()
    harness.configure("*")
    assert harness.run().deleted == 0
    assert harness.run().deleted == 0
    assert indexed_ids(harness) == everything


def test_a_package_left_pending_for_another_index_and_site_is_dropped_not_loaded_here(make_harness, monkeypatch):
    """The working folder is shared by every configuration that uses the pipeline name; the sink writes to the
    index set now. A package extracted for one site and index must not end up in another's."""
    first = make_harness("datacenter")
    stop_before_normalize(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        first.run()
    second = make_harness("cloud")  # now configured: another site, another index, the same working folder

    second.run(pipelines_dir=str(first.pipelines_dir), pipeline_name=first.pipeline_name)

    assert {doc["site_url"] for doc in second.docs().values()} == {second.sim.base_url.removesuffix("/wiki")}
    first.configure()
    first.run()
    assert set(first.docs()) == set().union(*first.visible().values())


def test_the_half_written_package_of_a_killed_extract_is_removed(make_harness, tmp_path):
    """A killed extract leaves its package in a folder of its own, which dlt never reads or removes."""
    harness = make_harness("cloud")
    marker = tmp_path / "rows-on-disk"
    killed_extract = textwrap.dedent(f"""
        import pathlib, sys, time
        sys.path.insert(0, {str(REPO_ROOT)!r})
        import dlt

        @dlt.resource(name="pages")
        def pages():
            for number in range(2000):
                yield {{"id": f"page-{{number}}", "body": "x" * 200}}
            pathlib.Path({str(marker)!r}).touch()  # most rows are flushed to the package's files by now
            time.sleep(120)

        pipeline = dlt.pipeline({harness.pipeline_name!r}, pipelines_dir={str(harness.pipelines_dir)!r})
        pipeline.extract(pages())
    """)
    process = subprocess.Popen([sys.executable, "-c", killed_extract], cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the extract never got going"
    finally:
        process.kill()
        process.wait(timeout=30)
    normalize = harness.pipelines_dir / harness.pipeline_name / "normalize"
    abandoned = [path for path in normalize.iterdir() if path.is_dir() and path.name != "extracted"]
    assert abandoned and any(path.is_file() for folder in abandoned for path in folder.rglob("*"))

    harness.run()
    assert [path for path in normalize.iterdir() if path.is_dir() and path.name != "extracted"] == []
    assert set(harness.docs()) == set().union(*harness.visible().values())


def test_a_moment_without_elasticsearch_at_the_end_of_a_run_is_waited_out(make_harness, monkeypatch):
    """The content is loaded; losing the connection while saving the watermarks must not throw the run away."""
    from elasticsearch import ConnectionError as EsConnectionError

    from confluence_source.sync_state import WatermarkStore

    harness = make_harness("datacenter")
    original_save = WatermarkStore.save
    attempts = []

    def flaky_save(self, *args, **kwargs):
        if kwargs["last_run"].get("finished_at"):  # the run's own save, after the load and the deletion check
            attempts.append(1)
            if len(attempts) == 1:
                raise EsConnectionError("connection reset by peer")
        return original_save(self, *args, **kwargs)

    monkeypatch.setattr(WatermarkStore, "save", flaky_save)
    assert harness.run().mode == "full"
    assert len(attempts) == 2
    assert harness.run().mode == "incremental"  # the watermarks were saved


def test_elasticsearch_lost_after_the_load_fails_the_run_with_one_line(make_harness, monkeypatch):
    from elasticsearch import ConnectionError as EsConnectionError

    import pipelines.sync_run as sync_run
    from confluence_source.sync_state import WatermarkStore
    from destinations.es_errors import ElasticsearchUnavailableError

    harness = make_harness("cloud")
    harness.run()
    harness.configure(DESTINATION__ELASTICSEARCH__ES_MAX_RETRIES="1")

    plans = []

    def gone(*_args, **_kwargs):
        plans.append(1)
        raise EsConnectionError("connection refused")

    monkeypatch.setattr(sync_run, "plan_deletions", gone)  # the content is loaded; now Elasticsearch is gone
    saves = []
    monkeypatch.setattr(WatermarkStore, "save", lambda self, watermarks, **kwargs: saves.append(dict(watermarks)))
    with pytest.raises(ElasticsearchUnavailableError) as failed:
        harness.run()
    # it answered at the start of the run: an outage (exit 1), not a setting to fix
    assert "after it had answered this run" in str(failed.value) and "\n" not in str(failed.value)
    assert not failed.value.names_a_setting
    assert len(plans) == 2  # tried again once (es_max_retries), after a pause
    assert saves == []  # the watermarks stay where they were: the next run repeats this one


def test_elasticsearch_gone_during_the_load_costs_one_series_of_retries_not_one_per_load_job(make_harness, monkeypatch):
    """dlt may start a package's jobs again after one fails: once a batch has waited out all its retries, the others
    try the cluster once each, so a run with a dead cluster ends after one series of waits (per load worker) instead
    of one per job and attempt; the next run, with the cluster back, loads the package as usual."""
    from elastic_transport import ConnectionError as TransportConnectionError

    from dlt.pipeline.exceptions import PipelineStepFailed

    from destinations.elastic import find_destination_error
    from destinations.es_bulk import BulkWriter
    from destinations.es_retry import RetryPolicy

    harness = make_harness("cloud")
    # dlt's own default, in force where the project's .dlt/config.toml (which says 1) is not read: dlt then starts
    # every job of the package again up to five times before the load fails
    harness.configure(DESTINATION__ELASTICSEARCH__ES_MAX_RETRIES="3", LOAD__RAISE_ON_MAX_RETRIES="5")
    waits: list[int] = []
    monkeypatch.setattr(RetryPolicy, "sleep_before", lambda self, retry_number, reason: waits.append(retry_number))
    sends: list[int] = []

    def refused(self, actions, chunk_bytes):
        sends.append(len(actions))
        raise TransportConnectionError("Connection refused")

    with monkeypatch.context() as patched:
        patched.setattr(BulkWriter, "_send", refused)
        with pytest.raises(PipelineStepFailed) as failed:
            harness.run()
    assert "after it had answered this run" in str(find_destination_error(failed.value))
    assert len(sends) > 8, sends  # more than two jobs' first series were sent (dlt went on)
    # one series of retries in all per load worker (two run at once, see .dlt/config.toml): the jobs after them
    # tried once each
    assert waits.count(1) <= 2 and sorted(set(waits)) == [1, 2, 3], waits
    waits.clear()
    harness.run()  # the cluster is back: the kept package loads, each request with its retries again
    assert set(harness.docs()) == set().union(*harness.visible().values())


def test_cli_stops_at_the_next_safe_point_on_sigterm_even_when_it_comes_at_the_end_of_the_load(
        make_harness, tmp_path, capsys, monkeypatch):
    """dlt lets its own step finish when a signal arrives late in it; the sync must not then go on to check for
    deletions and move the watermarks as if nobody had asked it to stop."""
    import signal

    from dlt.common.runtime import signals

    import pipelines.sync_run as sync_run
    from confluence_source.sync_state import WatermarkStore

    harness = make_harness("cloud")
    original_steps = sync_run.run_in_steps

    def signalled_as_the_load_ends(*args, **kwargs):
        info = original_steps(*args, **kwargs)
        # e.g. a scheduler's stop, just as the last bulk request returned (noted as dlt's handler notes it)
        assert signal.getsignal(signal.SIGTERM) is not handler_before, "the command line does not intercept signals"
        signals.set_received_signal(signal.SIGTERM)
        return info

    handler_before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(sync_run, "run_in_steps", signalled_as_the_load_ends)
    plans, saves = [], []
    monkeypatch.setattr(sync_run, "plan_deletions", lambda *args, **kwargs: plans.append(1))
    monkeypatch.setattr(WatermarkStore, "save", lambda self, watermarks, **kwargs: saves.append(dict(watermarks)))
    code, stderr = run_cli(harness, tmp_path, capsys)
    assert code == 1, stderr
    assert stderr == ("error: stopped by SIGTERM before the sync finished; the watermarks did not move (but for the "
                      "spaces of the finished stages of a long full read), so the next run repeats the rest of the "
                      "work")
    assert plans == [] and saves == [{}]  # only the note before the first stage of the read, which moves none
    assert signal.getsignal(signal.SIGTERM) is handler_before  # handlers are back as they were
    assert not signals.was_signal_received()


def test_cli_stops_at_once_on_sigterm_while_waiting_out_a_long_retry_after(make_harness, tmp_path, capsys):
    """A site that throttles with `Retry-After: 60` must not hold a scheduler's stop up for a minute per retry (a
    GitHub Actions cancel kills the job 7.5 s after its first signal)."""
    import os
    import signal
    import threading

    from dlt.common.runtime import signals

    from confluence_simulator.faults import FaultKind, FaultRule

    harness = make_harness("cloud")
    harness.sim.faults.add(FaultRule(kind=FaultKind.RATE_LIMIT, count=1000, retry_after=60))
    handler_before = signal.getsignal(signal.SIGTERM)
    done = threading.Event()
    sent: list[float] = []

    def stop_once_throttled() -> None:
        # only once the command line intercepts SIGTERM (else it would end the test run) and the site has throttled
        while not done.wait(0.05):
            if harness.sim.stats()["faults"].get("rate_limit") and signal.getsignal(signal.SIGTERM) is signals._signal_receiver:
                time.sleep(0.3)  # well inside the wait
                sent.append(time.monotonic())
                os.kill(os.getpid(), signal.SIGTERM)
                return

    stopper = threading.Thread(target=stop_once_throttled, daemon=True)
    stopper.start()
    try:
        code, stderr = run_cli(harness, tmp_path, capsys)
    finally:
        done.set()
        stopper.join()
    assert sent, "the site never throttled the run"
    assert time.monotonic() - sent[0] < 30  # not after the Retry-After ran out
    assert code == 1, stderr
    assert stderr.splitlines()[-1].startswith("error: stopped by SIGTERM before the sync finished"), stderr
    assert signal.getsignal(signal.SIGTERM) is handler_before


def test_cli_a_stop_during_the_deletion_check_ends_it_before_its_next_request(make_harness, tmp_path, capsys,
                                                                               monkeypatch):
    """The deletion check lists ids page after page (a large space, a slow site: minutes); a stop that arrives then
    must not wait for the end of the listings, past a scheduler's grace period. Nothing is deleted."""
    import signal

    from dlt.common.runtime import signals

    import pipelines.sync_run as sync_run

    harness = make_harness("cloud")
    assert run_cli(harness, tmp_path, capsys)[0] == 0
    before = indexed_ids(harness)
    for page in readable_pages(harness)[:3]:
        harness.sim.mutations.trash(content_id=page.id)  # counts differ: the check lists ids
    original_plan = sync_run.plan_deletions
    requests_during_the_check: list[int] = []

    def stopped_as_the_check_starts(*args, **kwargs):
        signals.set_received_signal(signal.SIGTERM)  # as the command line's handler notes a SIGTERM
        start = harness.sim.stats()["requests"]
        try:
            return original_plan(*args, **kwargs)
        finally:
            requests_during_the_check.append(harness.sim.stats()["requests"] - start)

    monkeypatch.setattr(sync_run, "plan_deletions", stopped_as_the_check_starts)
    code, stderr = run_cli(harness, tmp_path, capsys)
    assert code == 1, stderr
    assert stderr.splitlines()[-1].startswith("error: stopped by SIGTERM"), stderr
    assert requests_during_the_check == [0]
    assert indexed_ids(harness) == before
    assert not signals.was_signal_received()


def test_cli_stops_at_once_on_sigterm_while_elasticsearch_is_too_busy_and_the_next_run_loads_it_all(
        make_harness, tmp_path, capsys, monkeypatch):
    """The sink backs off a busy cluster for up to a minute per retry; a stop must not wait for that, and the batch
    it was holding is kept for the next run rather than failed for good."""
    import os
    import signal
    import threading

    from dlt.common.runtime import signals

    from destinations.es_bulk import BulkWriter

    harness = make_harness("datacenter")
    harness.configure(DESTINATION__ELASTICSEARCH__ES_MAX_RETRIES="12")
    original_write = BulkWriter.write
    blocked = threading.Event()

    def write_into_a_full_disk(self, actions):
        if not blocked.is_set():  # as at the flood-stage watermark: every document is answered 429
            harness.es.indices.put_settings(index=harness.index,
                                            settings={"index.blocks.read_only_allow_delete": True})
            blocked.set()
        return original_write(self, actions)

    monkeypatch.setattr(BulkWriter, "write", write_into_a_full_disk)
    sent: list[float] = []

    def stop_while_backing_off() -> None:
        if blocked.wait(120) and signal.getsignal(signal.SIGTERM) is signals._signal_receiver:
            time.sleep(2.0)  # two retries in: the next wait is 2-4 s, the later ones up to 30 s each
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGTERM)

    stopper = threading.Thread(target=stop_while_backing_off, daemon=True)
    stopper.start()
    try:
        code, stderr = run_cli(harness, tmp_path, capsys)
    finally:
        harness.es.indices.put_settings(index=harness.index, settings={"index.blocks.read_only_allow_delete": None})
        stopper.join()
    assert sent, "the load never started"
    assert time.monotonic() - sent[0] < 20  # not after the minutes of backing off left
    assert code == 1, stderr
    assert "Traceback" not in stderr and "StoppedBeforeRetry" not in stderr, stderr  # stopping is not failing
    assert stderr.splitlines()[-1].startswith("error: stopped by SIGTERM before the sync finished"), stderr
    # the batches are kept for the next run: the package is still to load, no job of it failed
    import dlt

    stopped = dlt.attach(harness.pipeline_name, pipelines_dir=str(tmp_path / "cli-dlt" / "pipelines"))
    [package] = stopped.list_normalized_load_packages()
    assert stopped.list_completed_load_packages() == []
    assert stopped.list_failed_jobs_in_package(package) == []

    monkeypatch.setattr(BulkWriter, "write", original_write)
    code, stderr = run_cli(harness, tmp_path, capsys)
    assert code == 0, stderr
    assert set(harness.docs()) == set().union(*harness.visible().values())


def test_cli_refuses_to_overlap_a_running_sync_of_the_same_pipeline(make_harness, tmp_path, capsys):
    from pipelines.run_lock import exclusive_run

    harness = make_harness("datacenter")
    with exclusive_run(str(tmp_path / "cli-dlt" / "pipelines"), harness.pipeline_name):
        code, stderr = run_cli(harness, tmp_path, capsys)
    assert code == 1, stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert "still running" in stderr and "did nothing" in stderr, stderr
    assert not harness.es.indices.exists(index=harness.index)  # it stopped before touching anything
    assert harness.sim.stats()["requests"] == 0

    code, stderr = run_cli(harness, tmp_path, capsys)  # once the other run is over, the next one goes ahead
    assert code == 0, stderr
    assert set(harness.docs()) == set().union(*harness.visible().values())


def test_cli_unknown_space_key_exit_2_listing_the_available_keys(make_harness, tmp_path, capsys):
    harness = make_harness("cloud", spaces="ENG, NOPE")
    code, stderr = run_cli(harness, tmp_path, capsys)
    assert code == 2, stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert "NOPE" in stderr and "spaces" in stderr
    assert "ENG" in stderr and "DOCS" in stderr, stderr


def test_cli_elasticsearch_unreachable_exit_2_naming_es_hosts(make_harness, tmp_path, capsys):
    harness = make_harness("datacenter")
    harness.monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_HOSTS", "http://127.0.0.1:9")
    harness.monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_REQUEST_TIMEOUT", "3")
    code, stderr = run_cli(harness, tmp_path, capsys)
    assert code == 2, stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert "es_hosts" in stderr, stderr


@pytest.mark.parametrize("args, complaint", [
    (["--summary-json", "no-such-folder/summary.json"], "the folder no-such-folder does not exist"),
    (["--summary-json", "."], ". is a folder, not a file"),
    (["--demo", "--demo-preset", "huge"], "invalid choice: 'huge'"),
    (["--pipeline-name", "nightly/wiki"], "'nightly/wiki' is not a pipeline name"),
    (["--pipeline-name", "../wiki"], "'../wiki' is not a pipeline name"),
    (["--pipeline-name", "a:b"], "'a:b' is not a pipeline name: it cannot name a folder on every system"),
    (["--pipeline-name=-wiki"], "'-wiki' is not a pipeline name: it must not begin with - or ."),
    (["--pipeline-name", "w" * 101], "is not a pipeline name: it is longer than 100 characters"),
    (["--pipeline-name", "sources__confluence"], "it must not contain __"),
    (["--stage-documents", "-1"], "-1 is below 0 (0 reads everything in one stage)"),
    (["--stage-documents", "1e5"], "'1e5' is not a whole number"),
], ids=["missing-folder", "folder", "preset", "pipeline-name-with-slash", "pipeline-name-outside",
        "pipeline-name-with-colon", "pipeline-name-like-an-option", "pipeline-name-too-long",
        "pipeline-name-like-a-setting-section", "negative-stage", "stage-not-whole"])
def test_cli_arguments_are_checked_before_the_run(args, complaint, capsys):
    from pipelines.confluence_to_es import main

    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert ": error: " in last_line and complaint in last_line, last_line


def test_cli_a_failed_run_writes_its_failure_to_the_summary_json(make_harness, tmp_path, capsys):
    """A scheduler that reads the summary file learns of a failed run there, with the message and exit code."""
    harness = make_harness("datacenter")
    harness.monkeypatch.setenv("SOURCES__CONFLUENCE__PERSONAL_ACCESS_TOKEN", "wrong-secret-value-81c2")
    target = tmp_path / "summary.json"
    code, stderr = run_cli(harness, tmp_path, capsys, "--summary-json", str(target))
    assert code == 2
    summary = json.loads(target.read_text())
    assert summary == {"status": "failed", "exit_code": 2, "error": stderr.removeprefix("error: ")}
    assert "rejected the credentials" in summary["error"] and "wrong-secret-value-81c2" not in target.read_text()


def test_cli_a_summary_that_cannot_be_written_does_not_hide_the_sync(make_harness, tmp_path, capsys):
    import pipelines.confluence_to_es as cli

    harness = make_harness("datacenter")
    target = tmp_path / "summary.json"
    target.mkdir()  # a path the write fails on (the argument check is let through below)
    harness.monkeypatch.setattr(cli, "writable_file", cli.Path)
    code, stderr = run_cli(harness, tmp_path, capsys, "--summary-json", str(target))
    assert code == 2, stderr
    assert stderr.splitlines()[-1].startswith(f"error: could not write the summary to {target} (--summary-json)")
    assert set(harness.docs()) == set().union(*harness.visible().values())  # the sync itself went through


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_the_summary_says_where_the_time_and_the_cpu_went(make_harness, flavour, tmp_path, capsys):
    from pipelines.confluence_to_es import main
    from pipelines.run_costs import STEPS

    harness = make_harness(flavour)
    target = tmp_path / "summary.json"
    harness.monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "cli-dlt"))
    assert main(["--pipeline-name", harness.pipeline_name, "--summary-json", str(target)]) == 0
    summary = json.loads(target.read_text())
    assert summary["status"] == "succeeded"
    steps = summary["step_seconds"]
    assert list(steps) == list(STEPS)  # every step, in the order it ran
    assert all(seconds >= 0 for seconds in steps.values()) and steps["extract"] > 0 and steps["load"] > 0
    # the laps cover the run: nothing is counted twice or left out
    assert sum(steps.values()) == pytest.approx(summary["elapsed_seconds"], abs=0.01)
    cpu = summary["cpu_seconds"]
    assert set(cpu) == {"process", "workers"} and cpu["process"] > 0
    assert cpu["workers"] > 0  # the files' text was extracted by worker processes (each starts a Python), waited for
    # the printed summary has them too
    printed = [line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("time ")]
    assert len(printed) == 1 and all(f"{step} " in printed[0] for step in STEPS), printed


def test_demo_command_prints_the_summaries_and_a_sample_search(es_url, tmp_path):
    """Also with settings meant for the user's own site in the working directory's `.dlt/` and the shell: the demo
    deletes and refills its indices, so none of them may steer it (a cloud id would point it at a real cluster)."""
    from urllib.parse import urlsplit

    from es_local.options import DEFAULT_PORT

    parts = urlsplit(es_url)
    if parts.hostname not in ("127.0.0.1", "localhost") or parts.port != DEFAULT_PORT:
        pytest.skip(f"the demo always uses es_local's node on port {DEFAULT_PORT} (es_local.ensure_running() "
                    f"without options); the session's node is {es_url}")
    result = run_cli_in(
        tmp_path, ["--demo"],
        config='[sources.confluence]\nspaces = "NOPE"\nextract_attachment_content = false\nconcurrent_downloads = 0\n'
               'space = "a typo the demo never reads"\n',
        secrets='[destination.elasticsearch]\nes_cloud_id = "prod:ZXhhbXBsZS5pbnZhbGlkJGFiYyRkZWY="\nes_api_key = "k"\n'
                '[sources.confluence]\npersonal_access_token = "not-the-demo"\nssl_ca = "/nowhere.pem"\n',
        variables={"SOURCES__CONFLUENCE__ADVANCED_RULES": '[{"query": "space = NOPE"}]',
                   "DESTINATION__ELASTICSEARCH__ES_HOSTS": "http://127.0.0.1:1"})
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "Full sync finished" in out and "Incremental sync finished" in out, out
    assert "deployment checklist" in out.lower() or "rollback" in out.lower(), out
    word_forms = out.split("Sample search for 'canary rollbacks drills': ", 1)[1]
    assert not word_forms.startswith("0 ") and "Engineering Home" in word_forms, "other forms of the words find it"
    assert "[attachment]" in out, out  # the second sample search finds words inside an attached PDF
    assert "extracted" in out  # the summary says how many file texts were extracted


def test_demo_without_the_simulators_packages_says_how_to_install_them(monkeypatch, capsys):
    """An install of the connector alone (`pip install .`) has no simulator: one line, exit 2, nothing started."""
    import importlib.util

    from pipelines import demo
    from pipelines.confluence_to_es import main

    found = importlib.util.find_spec
    monkeypatch.setattr(demo.importlib.util, "find_spec", lambda name, *rest: None if name == "fpdf" else found(name))
    monkeypatch.setattr(demo, "ensure_running", lambda: pytest.fail("Elasticsearch started for a demo that cannot run"))
    assert main(["--demo"]) == 2
    stderr = capsys.readouterr().err.strip()
    assert stderr == ("error: --demo runs the Confluence simulator, which needs fpdf2: install the connector with "
                      "`pip install '.[simulator]'` (`make demo` does)")


def run_cli_in(folder, arguments: list[str], config: str, secrets: str, variables: dict[str, str]):
    """The command line run in `folder` with these `.dlt/` files and setting variables (none of the session's)."""
    (folder / ".dlt").mkdir()
    (folder / ".dlt" / "config.toml").write_text(config)
    (folder / ".dlt" / "secrets.toml").write_text(secrets)
    env = {name: value for name, value in os.environ.items() if not name.startswith(("SOURCES__", "DESTINATION__"))}
    env |= {"DLT_DATA_DIR": str(folder / "dlt"), **variables}
    script = Path(__file__).resolve().parents[2] / "pipelines" / "confluence_to_es.py"
    return subprocess.run([sys.executable, str(script), *arguments], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=120)


def phrase_hits(harness, phrase: str) -> set[str]:
    """Ids of the documents a search for this exact phrase finds, the way a search UI would ask."""
    response = harness.es.search(index=harness.index, query={"match_phrase": {"body": phrase}}, size=50)
    return {hit["_id"] for hit in response["hits"]["hits"]}


def docx_with(text: str) -> bytes:
    from docx import Document

    document = Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def pdf_with(text: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(text=text)
    return bytes(pdf.output())


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_attachment_text_is_searchable_and_follows_a_new_file_version(make_harness, flavour):
    harness = make_harness(flavour)
    pages = readable_pages(harness)
    mutations = harness.sim.mutations
    attached = mutations.add_attachment(container_id=pages[0].id, file_name="capacity-plan.docx",
                                        data=docx_with("Quokka capacity forecast for the northern region"))
    harness.run()
    doc_id = f"attachment-att{attached.id}" if flavour == "cloud" else f"attachment-{attached.id}"
    assert phrase_hits(harness, "quokka capacity forecast") == {doc_id}
    assert harness.docs()[doc_id]["content_extraction"] == "extracted"

    replaced = mutations.add_attachment_version(attachment_id=attached.id, media_type="application/pdf",
                                                data=pdf_with("Numbat migration ledger, second revision"))
    summary = harness.run()
    assert summary.mode == "incremental"
    assert phrase_hits(harness, "numbat migration ledger") == {doc_id}
    assert phrase_hits(harness, "quokka capacity forecast") == set()
    assert harness.docs()[doc_id]["version"] == replaced.version.number
    assert summary.attachment_text == {"extracted": 1}


def attachment_statuses(harness) -> dict[str, str]:
    return {doc_id: source["content_extraction"] for doc_id, source in harness.docs().items()
            if source["type"] == "attachment"}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_full_refresh_takes_unchanged_files_text_from_the_index(make_harness, flavour, monkeypatch):
    from confluence_source.sync_state import IndexedDocuments

    lookups = []
    real_lookup = IndexedDocuments.attachment_texts
    monkeypatch.setattr(IndexedDocuments, "attachment_texts",
                        lambda self, ids: lookups.append(len(ids)) or real_lookup(self, ids))
    harness = make_harness(flavour)
    first = harness.run()
    assert lookups == []  # an index without any attachment text is not asked for texts to reuse
    extracted = first.attachment_text["extracted"]
    assert extracted > 0 and first.file_requests >= extracted
    before = {doc_id: source.get("body") for doc_id, source in harness.docs().items()}

    again = harness.run(full_refresh=True)
    assert again.file_requests == 0, again.as_dict()
    assert sum(lookups) >= extracted
    # every file downloaded before (extracted, or found encrypted or damaged) is taken from the index
    downloaded_before = sum(first.attachment_text.get(status, 0)
                            for status in ("extracted", "no_text", "encrypted", "unreadable"))
    assert again.attachment_text["kept_from_index"] == downloaded_before
    assert "extracted" not in again.attachment_text
    after = harness.docs()
    assert {doc_id: source.get("body") for doc_id, source in after.items()} == before


def test_a_newer_extractor_reads_the_files_again_on_a_full_refresh(make_harness, monkeypatch):
    """Texts found by another version of the extractor (a library upgrade, a new format) are not reused: a full
    refresh downloads and reads those files again, and the next one reuses what the newer extractor found."""
    from confluence_source import attachment_text

    harness = make_harness("datacenter")
    first = harness.run()
    reusable = sum(first.attachment_text.get(status, 0) for status in attachment_text.REUSABLE)
    stamps = {source.get("content_extractor") for source in harness.docs().values()
              if source.get("content_extraction") in attachment_text.REUSABLE}
    assert reusable > 0 and stamps == {attachment_text.extractor_version()}

    monkeypatch.setattr(attachment_text, "extractor_version", lambda: "an upgraded extractor")
    upgraded = harness.run(full_refresh=True)
    assert "kept_from_index" not in upgraded.attachment_text, upgraded.attachment_text
    assert upgraded.file_requests >= reusable
    assert {source.get("content_extractor") for source in harness.docs().values()
            if source.get("content_extraction") in attachment_text.REUSABLE} == {"an upgraded extractor"}
    assert harness.run(full_refresh=True).attachment_text["kept_from_index"] == reusable


def test_file_size_and_text_length_limits_are_settings_and_raising_them_reads_only_what_they_kept_out(make_harness):
    """`max_file_download_size` keeps larger files from being downloaded (their documents say `too_large`) and
    `max_file_text_length` cuts each text. Raised, the next run reads the files over the old size limit, and a full
    refresh reads again the files whose text was cut, while whole texts are taken from the index."""
    harness = make_harness("datacenter")
    whole = _attachments(harness, harness.run())
    sizes = sorted(source["file_size"] for source in whole.values())
    limit = sizes[len(sizes) // 2]  # about half the files are larger
    lengths = sorted(len(source["body"]) for source in whole.values() if source["file_size"] <= limit and
                     source["content_extraction"] == "extracted")
    length = lengths[len(lengths) // 2]  # about half the texts of the smaller files are longer
    harness.configure(SOURCES__CONFLUENCE__MAX_FILE_DOWNLOAD_SIZE=str(limit),
                      SOURCES__CONFLUENCE__MAX_FILE_TEXT_LENGTH=str(length))
    cut = harness.run(full_refresh=True)
    documents = _attachments(harness, cut)
    too_large = {doc_id for doc_id, source in documents.items() if source["file_size"] > limit}
    assert too_large and {doc_id for doc_id, source in documents.items()
                          if source["content_extraction"] == "too_large"} == too_large
    texts = {doc_id: source["body"] for doc_id, source in documents.items()
             if source["content_extraction"] == "extracted"}
    assert texts and max(map(len, texts.values())) <= length
    shortened = {doc_id for doc_id in texts if len(whole[doc_id]["body"]) > length}
    assert shortened and shortened != set(texts)  # some texts were cut, some are whole
    assert all(whole[doc_id]["body"].startswith(texts[doc_id]) for doc_id in texts)
    assert cut.file_requests <= len(documents) - len(too_large)  # the larger files were not downloaded

    harness.configure(SOURCES__CONFLUENCE__MAX_FILE_TEXT_LENGTH="100000")
    raised = harness.run(full_refresh=True)
    documents = _attachments(harness, raised)
    assert all(documents[doc_id]["body"] == whole[doc_id]["body"] for doc_id in texts)
    assert raised.attachment_text["kept_from_index"] >= len(texts) - len(shortened)  # whole texts are not read again
    assert raised.file_requests <= len(shortened) + len(documents) - len(texts) - len(too_large)
    assert {documents[doc_id]["content_extraction"] for doc_id in too_large} == {"too_large"}

    harness.monkeypatch.delenv("SOURCES__CONFLUENCE__MAX_FILE_DOWNLOAD_SIZE")  # the default: 10 MB
    again = harness.run()  # incremental: the files kept out by the old limit are read
    assert again.mode == "incremental" and again.file_requests >= len(too_large)
    documents = _attachments(harness, again)
    assert all(documents[doc_id]["content_extraction"] != "too_large" for doc_id in too_large)
    assert harness.run().file_requests == 0


def test_a_file_listed_smaller_than_it_is_is_not_downloaded_again_every_run(make_harness):
    """A file found over the limit while downloading, although listed under it, keeps its listed size: it must not
    look like one a raised limit lets in, to be read again by every run."""
    from confluence_source.extraction import extractable_type

    harness = make_harness("datacenter")
    visible = harness.visible()["attachment"]
    large = max((item for item in harness.site.iter_content("attachment") if f"attachment-{item.id}" in visible
                 and extractable_type(item.media_type, item.title)), key=lambda item: item.file_size)
    limit = large.file_size - 1
    harness.configure(SOURCES__CONFLUENCE__MAX_FILE_DOWNLOAD_SIZE=str(limit))
    large.file_size = 100  # what the listing says; the download finds more than the limit
    harness.run()
    document = harness.docs()[f"attachment-{large.id}"]
    assert (document["content_extraction"], document["content_extractor"]) == ("too_large", f"over {limit} bytes")
    assert harness.run().file_requests == 0


def _attachments(harness, summary) -> dict[str, dict]:
    assert summary.attachment_text
    return {doc_id: source for doc_id, source in harness.docs().items() if source["type"] == "attachment"}


def test_a_file_text_cut_to_fit_the_index_is_read_again_not_reused(make_harness, monkeypatch):
    harness = make_harness("datacenter")
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_MAX_DOCUMENT_BYTES", "4000")
    harness.run()
    cut = {doc_id: source["body"] for doc_id, source in harness.docs().items()
           if source["type"] == "attachment" and "body" in (source.get("truncated") or [])}
    assert cut
    monkeypatch.delenv("DESTINATION__ELASTICSEARCH__ES_MAX_DOCUMENT_BYTES")
    again = harness.run(full_refresh=True)
    assert again.file_requests >= len(cut)
    after = harness.docs()
    for doc_id, short in cut.items():
        assert "truncated" not in after[doc_id] and len(after[doc_id]["body"]) > len(short), doc_id


@pytest.mark.parametrize("flavour, rules", [("cloud", None), ("datacenter", None),
                                            ("datacenter", '["type = attachment"]')])
def test_files_that_failed_to_download_are_tried_again_by_the_next_run(make_harness, flavour, rules, monkeypatch):
    from confluence_simulator.faults import FaultKind, FaultRule

    harness = make_harness(flavour)
    if rules:
        monkeypatch.setenv("SOURCES__CONFLUENCE__ADVANCED_RULES", rules)
    monkeypatch.setenv("SOURCES__CONFLUENCE__RETRY_COUNT", "0")
    harness.sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, endpoint=harness.sim.file_endpoint, status=502))
    first = harness.run()
    failed = {doc_id for doc_id, status in attachment_statuses(harness).items() if status == "download_failed"}
    assert failed and first.attachment_text["download_failed"] == len(failed)

    harness.sim.faults.clear()
    second = harness.run()
    assert second.mode == "incremental"
    statuses = attachment_statuses(harness)
    assert {statuses[doc_id] for doc_id in failed} <= {"extracted", "no_text", "encrypted", "unreadable"}
    assert second.attachment_text.get("extracted", 0) >= 1
    assert second.documents.get("attachments", 0) >= len(failed)


def test_turning_extraction_on_fills_in_the_text_of_files_indexed_without_it(make_harness, monkeypatch):
    harness = make_harness("datacenter")
    monkeypatch.setenv("SOURCES__CONFLUENCE__EXTRACT_ATTACHMENT_CONTENT", "false")
    first = harness.run()
    assert first.file_requests == 0
    assert set(attachment_statuses(harness).values()) == {"disabled"}

    monkeypatch.setenv("SOURCES__CONFLUENCE__EXTRACT_ATTACHMENT_CONTENT", "true")
    second = harness.run()
    assert second.mode == "incremental"
    statuses = attachment_statuses(harness)
    assert "disabled" not in statuses.values() and "extracted" in statuses.values()
    third = harness.run()
    assert third.file_requests == 0  # nothing left to fetch


def test_a_password_in_es_hosts_stays_out_of_dlts_saved_run_trace(make_harness, tmp_path, capsys):
    """dlt saves every resolved setting with its run trace (`dlt pipeline <name> trace` prints them) and blanks only
    secret-typed ones; `es_hosts` is not one, but may carry user:password@."""
    harness = make_harness("datacenter")
    secret = "es-url-secret-7d41b2"
    harness.monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_HOSTS",
                               harness.es_url.replace("://", f"://elastic:{secret}@", 1))
    code, stderr = run_cli(harness, tmp_path, capsys)
    assert code == 0, stderr
    assert secret not in stderr
    files = [path for path in (tmp_path / "cli-dlt").rglob("*") if path.is_file()]
    traces = [path for path in files if path.name == "trace.pickle"]
    assert traces, files
    assert b"127.0.0.1" in traces[0].read_bytes() or b"localhost" in traces[0].read_bytes()  # es_hosts is there
    assert [path for path in files if secret.encode() in path.read_bytes()] == []


def test_cli_a_load_that_elasticsearch_refuses_ends_in_one_line_not_a_traceback_per_attempt(
        make_harness, tmp_path, capsys, monkeypatch):
    """dlt logs each failed load-job attempt twice with its traceback; without -v the run says only what to fix."""
    from destinations.es_bulk import BulkWriter

    harness = make_harness("datacenter")
    original_write = BulkWriter.write

    def write_into_a_blocked_index(self, actions):
        harness.es.indices.put_settings(index=harness.index, settings={"index.blocks.write": True})
        return original_write(self, actions)

    monkeypatch.setattr(BulkWriter, "write", write_into_a_blocked_index)
    try:
        code, stderr = run_cli(harness, tmp_path, capsys)
    finally:
        harness.es.indices.put_settings(index=harness.index, settings={"index.blocks.write": None})
    assert code == 2, stderr  # the write block: a setting (or the index) to fix
    assert len(stderr.splitlines()) == 1 and stderr.startswith("error: "), stderr
    assert "the index is blocked (index [" in stderr and "es_api_key" not in stderr, stderr  # not the credentials


def test_cli_elasticsearch_failing_while_the_source_reads_the_index_is_an_outage(
        make_harness, tmp_path, capsys, monkeypatch):
    """The source asks the index what it holds while dlt extracts; dlt wraps a failure there in its own exceptions,
    and the run must still say in one line that Elasticsearch could not be reached, and where; having answered at
    the start of the run, it went away: exit 1, no setting to fix."""
    from elastic_transport import ConnectionError as TransportConnectionError

    from confluence_source.sync_state import IndexedDocuments

    harness = make_harness("cloud")
    assert run_cli(harness, tmp_path, capsys)[0] == 0

    def unreachable(self, *args, **kwargs):
        raise TransportConnectionError("Connection refused")

    monkeypatch.setattr(IndexedDocuments, "outlines", unreachable)
    code, stderr = run_cli(harness, tmp_path, capsys)
    assert code == 1, stderr
    assert stderr.startswith("error: Elasticsearch at ") and len(stderr.splitlines()) == 1, stderr
    assert "could not be reached after it had answered this run" in stderr and "(set " not in stderr


@pytest.mark.parametrize("files, environment, expected", [
    ({}, {"SOURCES__CONFLUENCE__RETRY_COUNT": "three"}, "sources.confluence.retry_count must be a whole number"),
    ({}, {"DESTINATION__ELASTICSEARCH__ES_VERIFY_CERTS": "nope"},
     "destination.elasticsearch.es_verify_certs must be true or false"),
    ({"secrets.toml": '[sources.confluence]\npassword = "pw-5c1e9a\n'}, {}, "secrets.toml is not valid TOML at line 2"),
    ({"config.toml": '[sources.confluence]\npassword = "pw-5c1e9a"\n'}, {},
     "sources.confluence.password is a secret and cannot be set in config.toml"),
], ids=["not-a-number", "not-a-boolean", "broken-toml", "secret-in-config-toml"])
def test_cli_settings_dlt_cannot_read_exit_2_in_one_line(tmp_path, files, environment, expected):
    """Settings files are edited by hand: a typo there gets the same one line as any other setting to fix."""
    (tmp_path / ".dlt").mkdir()
    for name, text in files.items():
        (tmp_path / ".dlt" / name).write_text(text)
    env = {name: value for name, value in os.environ.items() if not name.startswith(("SOURCES__", "DESTINATION__"))}
    env |= {"DLT_DATA_DIR": str(tmp_path / "dlt"), "SOURCES__CONFLUENCE__CONFLUENCE_URL": "http://127.0.0.1:9",
            **environment}
    result = subprocess.run([sys.executable, str(REPO_ROOT / "pipelines" / "confluence_to_es.py")], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    stderr = result.stderr.strip()
    assert result.returncode == 2, stderr
    assert stderr.splitlines() == [stderr] and stderr.startswith(f"error: {expected}"), stderr
    assert "pw-5c1e9a" not in stderr


def test_shortened_setting_variables_meant_for_something_else_do_not_reach_the_source(make_harness, tmp_path):
    """dlt would read a bare `SPACES` or `PASSWORD` (or `SOURCES__SPACES`) ahead of `[sources.confluence]` in the
    settings files: a `USERNAME` that every Windows machine sets broke the credentials, and a stray `SPACES` made
    the run delete every other space from the index."""
    harness = make_harness("datacenter")
    keys = sorted(space.key for space in harness.site.spaces.values() if not space.key.startswith("~"))
    credentials = harness.sim.credentials
    result = run_cli_in(
        tmp_path, ["--pipeline-name", harness.pipeline_name],
        config=f'[destination.elasticsearch]\nes_hosts = "{harness.es_url}"\nes_index = "{harness.index}"\n'
               f'[sources.confluence]\ndata_source = "Confluence Data Center"\n'
               f'confluence_url = "{harness.sim.base_url}"\nspaces = "{keys[0]}"\n',
        secrets=f'[sources.confluence]\nusername = "{credentials["username"]}"\n'
                f'password = "{credentials["password"]}"\n',
        variables={"USERNAME": "somebody-else", "PASSWORD": "not-for-confluence", "SPACES": keys[1],
                   "SOURCES__SPACES": keys[1], f"{harness.pipeline_name.upper()}__SPACES": keys[1]})
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ignored")]
    assert len(warnings) == 2 and "SOURCES__SPACES" in warnings[1], result.stderr
    assert {doc["space_key"] for doc in harness.docs().values()} == {keys[0]}


def test_a_setting_variable_behind_the_pipeline_name_stops_the_run(tmp_path):
    """dlt would give it to the load alone: documents in one index, watermarks and deletions in another."""
    variable = "CONFLUENCE_TO_ES__DESTINATION__ELASTICSEARCH__ES_INDEX"
    result = run_cli_in(
        tmp_path, [],
        config='[destination.elasticsearch]\nes_hosts = "http://127.0.0.1:1"\n'
               '[sources.confluence]\ndata_source = "Confluence Cloud"\nconfluence_url = "http://127.0.0.1:1/wiki"\n',
        secrets='[sources.confluence]\naccount_email = "a@example.com"\napi_token = "t"\n',
        variables={variable: "seen-by-the-load-only"})
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.splitlines()[-1] == (
        f"error: a setting the run does not read: {variable} in the environment (set "
        "DESTINATION__ELASTICSEARCH__ES_INDEX instead: behind the pipeline name only part of the run reads it); fix or "
        "remove it (the README lists the settings)")


def test_a_misspelt_setting_stops_the_run_before_anything_is_read(tmp_path):
    """`space` for `spaces` would leave `spaces` at `*`: every space synced, and the others deleted once fixed."""
    result = run_cli_in(
        tmp_path, [],
        config='[destination.elasticsearch]\nes_hosts = "http://127.0.0.1:1"\n'
               '[sources.confluence]\ndata_source = "Confluence Cloud"\nconfluence_url = "http://127.0.0.1:1/wiki"\n'
               'space = "ENG"\n',
        secrets='[sources.confluence]\naccount_email = "a@example.com"\napi_token = "t-4e1b7c"\n',
        variables={"SOURCES__CONFLUENCE__RETRY_COUNTS": "0"})
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip() == (
        "error: settings the run does not read: sources.confluence.space in config.toml (did you mean spaces?), "
        "SOURCES__CONFLUENCE__RETRY_COUNTS in the environment (did you mean retry_count?); fix or remove them (the "
        "README lists the settings)")


def test_a_setting_variable_set_to_nothing_leaves_the_settings_files_in_charge(tmp_path):
    """Schedulers pass an unconfigured variable as an empty string (GitHub's unset `vars.X`); dlt would take it as the
    value and override config.toml."""
    from pipelines.setting_environment import unset_blank_setting_variables

    environment = {"SOURCES__CONFLUENCE__SPACES": " ", "DESTINATION__ELASTICSEARCH__ES_INDEX": "kept",
                   "DESTINATION__ELASTICSEARCH__ES_HOSTS": "", "OTHER": ""}
    assert unset_blank_setting_variables(environment) == ["DESTINATION__ELASTICSEARCH__ES_HOSTS",
                                                          "SOURCES__CONFLUENCE__SPACES"]
    assert environment == {"DESTINATION__ELASTICSEARCH__ES_INDEX": "kept", "OTHER": ""}

    result = run_cli_in(
        tmp_path, [],
        config='[destination.elasticsearch]\nes_hosts = "http://127.0.0.1:1"\nes_max_retries = 0\n'
               '[sources.confluence]\ndata_source = "Confluence Cloud"\nconfluence_url = "http://127.0.0.1:1/wiki"\n',
        secrets='[sources.confluence]\naccount_email = "a@example.com"\napi_token = "t"\n',
        variables={"DESTINATION__ELASTICSEARCH__ES_HOSTS": "", "SOURCES__CONFLUENCE__DATA_SOURCE": ""})
    assert result.returncode == 2, result.stderr[-2000:]
    assert "127.0.0.1:1" in result.stderr.splitlines()[-1], result.stderr[-2000:]


def test_pipelines_sharing_an_index_leave_each_others_spaces_alone(make_harness):
    """Two pipelines (say, one per team) syncing different spaces of one site into one index: a space one of them
    does not sync is the other's, not gone. A space a pipeline stops syncing is still removed by that pipeline."""
    harness = make_harness("datacenter")
    keys = ["ENG", "~syncbot", "DOCS"]
    first, second = harness.pipeline_name, f"{harness.pipeline_name}_other"
    harness.configure(spaces=f"{keys[0]},{keys[2]}")
    harness.run(pipeline_name=first)
    harness.configure(spaces=keys[1])
    assert harness.run(pipeline_name=second).deleted == 0
    harness.configure(spaces=f"{keys[0]},{keys[2]}")
    assert harness.run(pipeline_name=first).deleted == 0
    assert {doc["space_key"] for doc in harness.docs().values()} == {keys[0], keys[1], keys[2]}

    harness.configure(spaces=keys[0])
    summary = harness.run(pipeline_name=first)

    assert {doc["space_key"] for doc in harness.docs().values()} == {keys[0], keys[1]}
    assert summary.deleted > 0 and summary.left_to_other_pipelines == {second: [keys[1]]}

    # the other pipeline retired as the warning says: its state deleted, its space goes with the next run
    from confluence_source.sync_state import WatermarkStore

    site_url = next(iter(harness.docs().values()))["site_url"]
    (other,) = WatermarkStore(harness.es, harness.index, site_url, first).other_pipelines()
    harness.es.delete(index=f"{harness.index}-sync-state", id=other.state_id, refresh=True)
    summary = harness.run(pipeline_name=first)
    assert {doc["space_key"] for doc in harness.docs().values()} == {keys[0]}
    assert summary.left_to_other_pipelines == {}


def test_cli_an_unreachable_elasticsearch_is_one_line_with_default_retries(tmp_path):
    """The client's node warnings and the preflight's retries would come before the message that matters."""
    result = run_cli_in(
        tmp_path, [],
        config='[destination.elasticsearch]\nes_hosts = "http://127.0.0.1:9"\n'
               '[sources.confluence]\ndata_source = "Confluence Cloud"\nconfluence_url = "http://127.0.0.1:9/wiki"\n',
        secrets='[sources.confluence]\naccount_email = "a@example.com"\napi_token = "t"\n', variables={})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: Cannot reach Elasticsearch at http://127.0.0.1:9 (set destination.elasticsearch.es_hosts)"]


def differences_from_a_full_sync(make_harness, harness, flavour: str, **settings: str) -> list[str]:
    """How the index differs, field by field, from what a full sync of the same site writes into a fresh one."""
    from tests.pipeline.test_random_changes import comparable, first_differences

    fresh = make_harness(flavour, reading=harness)
    fresh.configure("*", **settings)
    fresh.run()
    harness.configure("*", **settings)  # the environment names the index: back to this harness's
    full = {doc_id: comparable(doc) for doc_id, doc in fresh.docs().items()}
    return first_differences(full, {doc_id: comparable(doc) for doc_id, doc in harness.docs().items()})


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_with_index_archived_pages_archived_unarchived_or_moved_while_archived_are_followed(make_harness, flavour,
                                                                                          caplog):
    """Archiving or unarchiving a page creates no version, and search leaves archived pages out: before a run, the
    archived pages of each space are compared with the index, and a space where they changed is read in full, so
    status, space and breadcrumbs (ids and titles, also of pages above the parent) are as a full sync writes them."""
    settings = {"SOURCES__CONFLUENCE__INDEX_ARCHIVED": "true"}
    harness = make_harness(flavour)
    harness.configure("*", **settings)
    harness.run()
    site, mutations = harness.site, harness.sim.mutations
    visible = harness.visible()
    leaf = next(page for page in site.iter_content("page")
                if f"page-{page.id}" in visible["page"] and not site.child_ids(page.id, "page")
                and page.parent_id in site.content and site.content[page.parent_id].parent_id in site.content
                and f"page-{page.parent_id}" in visible["page"])
    middle = site.content[leaf.parent_id or 0]
    space_key = site.spaces[leaf.space_id].key
    other_space = next(key for key in sorted(visible_space_keys(harness)) if key != space_key)

    def run_and_compare(step: str) -> dict:
        summary = harness.run()
        assert summary.mode == "incremental", step
        differences = differences_from_a_full_sync(make_harness, harness, flavour, **settings)
        assert not differences, f"after {step}: {differences[:8]}"
        return harness.docs()[f"page-{leaf.id}"]

    mutations.archive_page(page_id=leaf.id)
    assert run_and_compare("archiving a page")["status"] == "archived"
    mutations.edit(content_id=middle.id, title="Renamed above an archived page", body="<p>new</p>")
    assert run_and_compare("renaming its parent")["ancestor_titles"][-1] == "Renamed above an archived page"
    grandparent = site.content[middle.parent_id or 0]
    mutations.edit(content_id=grandparent.id, title="Renamed two levels up", body="<p>new</p>")
    assert "Renamed two levels up" in run_and_compare("renaming the page above its parent")["ancestor_titles"]
    mutations.move_page(page_id=middle.id, space_key=space_key)  # its parent to the top of the space
    assert run_and_compare("moving its parent")["ancestor_ids"] == [f"page-{middle.id}"]
    mutations.move_page(page_id=middle.id, space_key=other_space)  # with the archived page below it
    assert run_and_compare("moving it to another space")["space_key"] == other_space
    mutations.restore(content_id=leaf.id)
    assert run_and_compare("unarchiving it")["status"] == "current"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="confluence_source"):
        harness.run()
    assert "reading in full" not in caplog.text  # nothing changed since: every space is read for changes only


def test_edited_comments_on_archived_pages_keep_their_creation_date_on_cloud(make_harness):
    """A v2 listing dates only a comment's latest version and search leaves out comments on archived pages: those
    are dated by their first version."""
    harness = make_harness("cloud")
    site, mutations = harness.site, harness.sim.mutations
    page = next(page for page in site.iter_content("page") if page.status == "current"
                and any(site.content[cid].status == "current" for cid in site.child_ids(page.id, "comment")))
    comment = next(site.content[cid] for cid in site.child_ids(page.id, "comment")
                   if site.content[cid].status == "current")
    mutations.edit(content_id=comment.id, body="<p>edited</p>")
    mutations.archive_page(page_id=page.id)
    harness.configure("*", SOURCES__CONFLUENCE__INDEX_ARCHIVED="true")
    harness.run()
    created = harness.docs()[f"comment-{comment.id}"]["created_at"]
    assert created is not None and created.startswith(comment.versions[0].created_at.strftime("%Y-%m-%dT%H:%M"))


def test_one_unreachable_node_among_several_es_hosts_does_not_fail_runs(make_harness, es_url):
    """With several `es_hosts`, a request that cannot reach one node goes on to the next."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    harness = make_harness("datacenter")
    harness.configure("*", DESTINATION__ELASTICSEARCH__ES_HOSTS=f"{dead},{es_url}")
    harness.run()
    for _ in range(3):  # each run starts with a fresh client, which tries the nodes in turn
        assert harness.run().mode == "incremental"
    assert indexed_ids(harness) == set().union(*harness.visible().values())


@pytest.mark.parametrize("flavour", [*FLAVOURS, "datacenter-9.3"])
def test_a_space_deleted_before_the_deletion_check_is_skipped_not_fatal(make_harness, flavour, caplog):
    """A space deleted between the content load and the deletion check: on Cloud its id listing answers 404, and
    the run keeps that space's documents and finishes; the next run, which no longer sees the space, treats it as any
    space that vanished (the mass-delete guard applies). Data Center lists an unknown space key as empty, so the
    guard applies in that same run; Data Center 9.3 refuses the count naming it (CONFSERVER-101465), which
    is then met like Cloud's 404."""
    import pipelines.sync_run as sync_run

    harness = make_harness(flavour.split("-")[0])
    harness.sim.config.unknown_space_cql_fails = flavour == "datacenter-9.3"
    harness.run()
    eng_ids = {doc_id for doc_id, source in harness.docs().items() if source.get("space_key") == "ENG"}
    assert eng_ids
    planned = sync_run.plan_deletions

    def space_deleted_first(*args, **kwargs):
        harness.sim.mutations.delete_space(space_key="ENG")
        return planned(*args, **kwargs)

    harness.monkeypatch.setattr(sync_run, "plan_deletions", space_deleted_first)
    with caplog.at_level(logging.WARNING):
        summary = harness.run()
    assert summary.mode == "incremental"
    assert eng_ids <= indexed_ids(harness), "a space that vanished mid-run lost documents without the guard"
    if flavour != "datacenter":
        assert "Space ENG disappeared during the run" in caplog.text
        assert not summary.refused_deletions
    else:
        assert [refused["space_key"] for refused in summary.refused_deletions] == ["ENG"]

    harness.monkeypatch.setattr(sync_run, "plan_deletions", planned)
    guarded = harness.run()
    assert [refused["space_key"] for refused in guarded.refused_deletions] == ["ENG"]
    harness.run(allow_mass_delete=True)
    assert not eng_ids & indexed_ids(harness)
    assert indexed_ids(harness) == set().union(*harness.visible().values())


def test_a_space_deleted_during_a_data_center_9_3_read_fails_the_run_but_not_as_a_setting(make_harness):
    """Data Center 9.3 refuses a change window's search naming a space deleted since the run listed the spaces
    (CONFSERVER-101465): the run stops without deleting anything, with exit code 1 (nothing to fix), and the next run,
    which no longer sees the space, goes on."""
    import pipelines.sync_run as sync_run
    from confluence_source.errors import UnknownSpaceQueryError
    from destinations.elastic import find_wrapped_error
    from pipelines.confluence_to_es import EXIT_FAILED, exit_code_of

    harness = make_harness("datacenter")
    harness.run()
    before = indexed_ids(harness)
    harness.sim.config.unknown_space_cql_fails = True
    chosen = sync_run.spaces_to_refresh

    def space_deleted_after_the_preflight(*args, **kwargs):
        harness.sim.mutations.delete_space(space_key="ENG")
        return chosen(*args, **kwargs)

    harness.monkeypatch.setattr(sync_run, "spaces_to_refresh", space_deleted_after_the_preflight)
    with pytest.raises(Exception) as raised:
        harness.run()
    refused = find_wrapped_error(raised.value, (UnknownSpaceQueryError,))
    assert refused is not None, raised.value
    assert exit_code_of(refused) == EXIT_FAILED
    assert "names a space key that no space has" in str(refused)
    assert indexed_ids(harness) == before

    harness.monkeypatch.setattr(sync_run, "spaces_to_refresh", chosen)
    summary = harness.run()
    assert [refused["space_key"] for refused in summary.refused_deletions] == ["ENG"]


def test_cli_a_read_only_cluster_exits_2_naming_the_block_and_the_next_run_catches_up(make_harness, tmp_path, capsys):
    """`cluster.blocks.read_only` (set by an operator, e.g. during maintenance) refuses every write of the run, the
    mappings and the state included: one line naming the block, exit code 2, and nothing half-done for the next run."""
    from pipelines.confluence_to_es import main

    harness = make_harness("datacenter")
    harness.run()
    edited = readable_pages(harness)[0]
    harness.sim.mutations.edit(content_id=edited.id, body="<p>written while the cluster was read-only</p>")
    harness.monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "cli-dlt"))
    harness.es.cluster.put_settings(persistent={"cluster.blocks.read_only": True})
    try:
        code = main(["--pipeline-name", harness.pipeline_name])
    finally:
        harness.es.cluster.put_settings(persistent={"cluster.blocks.read_only": None})
    stderr = capsys.readouterr().err
    assert code == 2, stderr
    assert "the whole cluster is read-only" in stderr and "cluster.blocks.read_only" in stderr, stderr
    assert "es_hosts" in stderr and "es_index" not in stderr  # another index of that cluster would not help
    assert len(stderr.strip().splitlines()) == 1, stderr

    assert main(["--pipeline-name", harness.pipeline_name]) == 0
    assert "read-only" in harness.docs()[f"page-{edited.id}"]["body"]


@pytest.mark.parametrize("flavour", ["cloud", "datacenter-9.3"])
def test_a_space_deleted_between_the_counts_and_its_listing_keeps_its_documents(make_harness, flavour):
    """The counts found a space's files one short (a file trashed), and the space is deleted before its id listing:
    Cloud's listing answers 404, Data Center 9.3's search refuses the missing key; either way the space is met as
    vanished, its documents stay, and the run finishes."""
    import pipelines.sync_run as sync_run

    harness = make_harness(flavour.split("-")[0])
    harness.sim.config.unknown_space_cql_fails = flavour == "datacenter-9.3"
    harness.run()
    docs = harness.docs()
    attachment = next(doc for doc in docs.values() if doc["type"] == "attachment" and doc["space_key"] == "ENG")
    eng_ids = {doc_id for doc_id, source in docs.items() if source.get("space_key") == "ENG"}
    harness.sim.mutations.trash(content_id=int(attachment["confluence_id"].removeprefix("att")))
    planned = sync_run.plan_deletions

    def space_deleted_before_the_first_listing(*args, **kwargs):
        listing = kwargs["iter_current_ids"]

        def deleting_first(scope_key, doc_type):
            if harness.site.space_by_key("ENG") is not None:
                harness.sim.mutations.delete_space(space_key="ENG")
            return listing(scope_key, doc_type)

        return planned(*args, **{**kwargs, "iter_current_ids": deleting_first})

    harness.monkeypatch.setattr(sync_run, "plan_deletions", space_deleted_before_the_first_listing)
    summary = harness.run()
    assert not summary.refused_deletions and summary.deleted == 0
    assert eng_ids <= indexed_ids(harness)
