"""Advanced rules (CQL) replace `spaces`: exactly the matching content, the spaces it lives in, per-rule watermarks."""

from __future__ import annotations

from typing import Any

from confluence_simulator.model import Content
from confluence_simulator.server import Simulator
from confluence_source import open_reader

from .conftest import RecordingLedger, counts_per_scope_and_type, document_id, run_pipeline, settings_for

RUNBOOKS = 'label = "runbook"'
DOCS_PAGES = 'space = "DOCS" and type = page order by created desc'


def matching(sim: Simulator, rule: str) -> set[str]:
    """Documents a rule must yield, computed from the simulator's model (current, readable, live container)."""
    site = sim.site
    user = site.users[site.default_user_id]
    found = set()
    for item in site.iter_content():
        space = site.spaces[item.space_id]
        if item.status != "current" or space.status != "current" or not site.can_read(user, item):
            continue
        if item.type in ("comment", "attachment") and site.content[item.parent_id].status != "current":
            continue
        if _matches(item, space.key, rule):
            found.add(document_id(sim, item))
    return found


def _matches(item: Content, space_key: str, rule: str) -> bool:
    if rule == RUNBOOKS:
        return "runbook" in item.labels
    return space_key == "DOCS" and item.type == "page"


def test_rules_select_exactly_their_content_and_its_spaces(fresh_sim: Simulator, tmp_path: Any) -> None:
    ledger = RecordingLedger()
    # the rules replace `spaces`: a key that no longer exists there does not stop the run
    run = run_pipeline(settings_for(fresh_sim, spaces="ENG,GONE", advanced_rules=[RUNBOOKS, DOCS_PAGES]), tmp_path,
                       ledger=ledger)
    content = {row["id"] for table in ("pages", "blogposts", "comments", "attachments")
               for row in run.rows.get(table, [])}
    assert content == matching(fresh_sim, RUNBOOKS) | matching(fresh_sim, DOCS_PAGES)
    assert len(matching(fresh_sim, RUNBOOKS)) > 3
    spaces_of_content = {row["space_key"] for table in ("pages", "blogposts", "comments", "attachments")
                         for row in run.rows.get(table, [])}
    assert {row["space_key"] for row in run.rows["spaces"]} == spaces_of_content
    assert len(run.rows["spaces"]) == len(spaces_of_content)  # each space once, however many rules match it
    for rule in (RUNBOOKS, DOCS_PAGES):
        for doc_type in ("page", "blogpost", "comment", "attachment"):
            assert (rule, doc_type) in ledger.fully_read
    assert ledger.seen[(DOCS_PAGES, "page")] == matching(fresh_sim, DOCS_PAGES)

    reader = open_reader(settings_for(fresh_sim, advanced_rules=[RUNBOOKS, DOCS_PAGES]))
    assert set(reader.iter_current_ids(DOCS_PAGES, "page")) == matching(fresh_sim, DOCS_PAGES)
    counts = counts_per_scope_and_type(reader, [DOCS_PAGES])
    assert counts[(DOCS_PAGES, "page")] == len(matching(fresh_sim, DOCS_PAGES))
    assert counts[(DOCS_PAGES, "comment")] == 0


def test_rules_that_match_spaces_index_those_spaces(fresh_sim: Simulator, tmp_path: Any) -> None:
    """"All the data returned by the CQL queries will be indexed": a rule can match spaces themselves (`type = space`,
    a space label), which only Confluence's generic search returns."""
    site = fresh_sim.site
    user = site.users[site.default_user_id]
    readable = {space.key: space for space in site.spaces.values()
                if space.status == "current" and site.can_read_space(user, space)}
    label = next(label for space in readable.values() for label in space.labels)
    labelled_spaces = {key for key, space in readable.items() if label in space.labels}
    rules = ['type = space and space = "DOCS"', f'label = "{label}" and type = space']
    run = run_pipeline(settings_for(fresh_sim, advanced_rules=rules), tmp_path)
    assert not any(run.rows.get(table) for table in ("pages", "blogposts", "comments", "attachments"))
    assert {row["space_key"] for row in run.rows["spaces"]} == {"DOCS"} | labelled_spaces
    assert len(run.rows["spaces"]) == len({"DOCS"} | labelled_spaces)  # each space once
    docs = next(row for row in run.rows["spaces"] if row["space_key"] == "DOCS")
    assert docs["type"] == "space" and docs["title"] == readable["DOCS"].name


def test_rules_sync_incrementally_by_rule_text(fresh_sim: Simulator, tmp_path: Any) -> None:
    settings = settings_for(fresh_sim, advanced_rules=[DOCS_PAGES])
    first = run_pipeline(settings, tmp_path / "first")
    watermarks = {DOCS_PAGES: first.reader.plan_in_use.started_at.isoformat()}
    site = fresh_sim.site
    docs, eng = site.space_by_key("DOCS"), site.space_by_key("ENG")
    inside = next(i for i in site.iter_content("page") if i.space_id == docs.id and i.status == "current"
                  and f"page-{i.id}" in first.ids("pages"))
    outside = next(i for i in site.iter_content("page") if i.space_id == eng.id and i.status == "current")
    fresh_sim.mutations.edit(content_id=inside.id, body="<p>in scope</p>")
    fresh_sim.mutations.edit(content_id=outside.id, body="<p>out of scope</p>")
    second = run_pipeline(settings, tmp_path / "second", watermarks=watermarks)
    assert second.ids("pages") == {f"page-{inside.id}"}
    assert second.requests <= 10  # preflight (the rule checked in both searches), the rule's spaces and the name of
    # their creator, its changes
