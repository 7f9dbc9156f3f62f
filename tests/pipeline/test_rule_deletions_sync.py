"""Advanced rules end to end (simulator over HTTP -> dlt -> Elasticsearch): a run that reads every rule in full
(`--full-refresh`) deletes what no rule matches any more, never what search merely had not indexed again yet, and a
rules pipeline and a spaces pipeline sharing one index leave each other's documents alone."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from confluence_source.deletions import UNMATCHED_SETTLE
from confluence_source.sync_state import state_index_name

from tests.pipeline.conftest import CONTENT_TYPES
from tests.pipeline.test_sync_job import FLAVOURS, readable_pages

LABEL = "kb"
RULES = json.dumps([f'label = "{LABEL}"'])
RULES_SETTING = "SOURCES__CONFLUENCE__ADVANCED_RULES"


def matched_by_rule(harness) -> set[str]:
    """Document ids the rule must leave in the index, from the simulator's model: what the account can see (as a
    full sync of every space would index it) that carries the label, and the spaces that content lives in."""
    site = harness.site
    visible = harness.visible()
    found: set[str] = set()
    spaces: set[int] = set()
    for item in site.iter_content():
        if item.type not in CONTENT_TYPES or LABEL not in item.labels:
            continue
        document_id = document_id_of(harness, item)
        if document_id in visible[item.type]:
            found.add(document_id)
            spaces.add(item.space_id)
    return found | {f"space-{space_id}" for space_id in spaces}


def document_id_of(harness, item) -> str:
    cloud = harness.sim.config.flavour == "cloud"  # Cloud names attachments `att<id>`
    return f"{item.type}-{'att' if item.type == 'attachment' and cloud else ''}{item.id}"


def label_some_content(harness) -> tuple[list, object]:
    """Label pages spread over the site, and a comment and a file on them, so that the rule matches them."""
    site, mutations = harness.site, harness.sim.mutations
    pages = readable_pages(harness)
    chosen = pages[:: max(1, len(pages) // 8)][:8]
    for page in chosen:
        mutations.add_labels(content_id=page.id, labels=[LABEL])
    visible_comments = harness.visible()["comment"]
    comment = next(site.content[child] for page in chosen for child in site.child_ids(page.id, "comment")
                   if f"comment-{child}" in visible_comments)
    mutations.add_labels(content_id=comment.id, labels=[LABEL])
    visible_files = harness.visible()["attachment"]
    attachment = next(site.content[child] for page in chosen for child in site.child_ids(page.id, "attachment")
                      if document_id_of(harness, site.content[child]) in visible_files)
    mutations.add_labels(content_id=attachment.id, labels=[LABEL])
    return chosen, comment


def saved_state(harness) -> tuple[str, str, dict]:
    """(state index, document id, source) of this harness's pipeline's sync state."""
    state_index = state_index_name(harness.index)
    harness.es.indices.refresh(index=state_index)
    query = {"term": {"pipeline_name": harness.pipeline_name}}
    hits = harness.es.search(index=state_index, query=query)["hits"]["hits"]
    assert len(hits) == 1
    return state_index, hits[0]["_id"], hits[0]["_source"]


def an_hour_passes(harness) -> None:
    """Date the notes of documents no rule matched back past the hour they must wait (as runs an hour later would
    find them): the sync state is data in Elasticsearch."""
    state_index, state_id, saved = saved_state(harness)
    earlier = (datetime.now(timezone.utc) - UNMATCHED_SETTLE - timedelta(minutes=5)).isoformat()
    notes = {document_id: {**note, "since": earlier} for document_id, note in saved.get("unmatched", {}).items()}
    harness.es.update(index=state_index, id=state_id, doc={"unmatched": notes}, refresh=True)


def noted(harness) -> set[str]:
    return set(saved_state(harness)[2].get("unmatched") or {})


def search_lags_behind_every_item(harness) -> None:
    """Make search leave out every item, as an index rebuild or a backlog would, until the lag is set back to 0."""
    for item in harness.site.content.values():
        item.changed_at_wallclock = time.time()
    harness.sim.state.queries.index_lag_seconds = 3600.0


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_what_no_rule_matches_any_more_goes_an_hour_after_a_full_refresh_found_it(make_harness, flavour):
    harness = make_harness(flavour)
    chosen, comment = label_some_content(harness)
    harness.configure("*", **{RULES_SETTING: RULES})
    harness.run()
    assert set(harness.docs()) == matched_by_rule(harness)

    site, mutations = harness.site, harness.sim.mutations
    trashed, unlabelled, restricted = chosen[-1], chosen[-2], chosen[-3]
    stranger = next(user_id for user_id in site.users if user_id != site.default_user_id)
    mutations.trash(content_id=trashed.id)
    mutations.remove_label(content_id=unlabelled.id, label=LABEL)
    mutations.set_restrictions(content_id=restricted.id, read_users=[stranger])
    mutations.trash(content_id=comment.id)
    file = next(item for item in site.iter_content("attachment") if LABEL in item.labels
                and document_id_of(harness, item) in harness.docs() and item.parent_id not in
                {trashed.id, unlabelled.id, restricted.id})
    mutations.remove_label(content_id=file.id, label=LABEL)
    gone = {f"page-{page.id}" for page in (trashed, unlabelled, restricted)} | {f"comment-{comment.id}",
                                                                                document_id_of(harness, file)}
    assert gone <= set(harness.docs()) and not gone & matched_by_rule(harness)

    summary = harness.run()  # an incremental run reads changes only: it cannot tell what no rule matches
    assert summary.mode == "incremental" and summary.deleted == 0 and noted(harness) == set()

    before = set(harness.docs())
    summary = harness.run(full_refresh=True)  # what no rule matched is noted, and kept for now
    assert summary.deleted == 0 and set(harness.docs()) == before
    assert noted(harness) == gone and summary.unmatched == len(gone)

    harness.run()  # within the hour: kept
    assert set(harness.docs()) == before and noted(harness) == gone
    an_hour_passes(harness)
    summary = harness.run()  # an incremental run an hour later: search still does not match them
    assert not summary.refused_deletions, summary.refusal_message
    assert summary.deleted == len(gone) and set(harness.docs()) == matched_by_rule(harness) | (before - gone)
    assert noted(harness) == set() and summary.unmatched == 0


def test_search_answering_nothing_deletes_nothing(make_harness):
    """An index rebuild, a backlog: search leaves everything out for longer than runs take. What a full read did not
    find is only noted; and when, an hour later, search still matches none of it, all of it at once is what failing
    search looks like: the guard keeps it (exit 3)."""
    harness = make_harness("datacenter")
    label_some_content(harness)
    harness.configure("*", **{RULES_SETTING: RULES})
    harness.run()
    held = set(harness.docs())
    search_lags_behind_every_item(harness)

    summary = harness.run(full_refresh=True)
    assert summary.deleted == 0 and set(harness.docs()) == held
    assert noted(harness) == held  # space documents too

    an_hour_passes(harness)
    summary = harness.run(full_refresh=True)
    assert summary.deleted == 0 and set(harness.docs()) == held
    assert summary.refused_deletions and "--allow-mass-delete" in summary.refusal_message

    harness.sim.state.queries.index_lag_seconds = 0.0  # search is back
    summary = harness.run(full_refresh=True)
    assert summary.deleted == 0 and not summary.refused_deletions and set(harness.docs()) == held
    assert noted(harness) == set()


def test_an_item_search_has_not_indexed_again_by_the_end_of_the_run_is_kept(make_harness):
    """An item changed just before a full read stays out of search for longer than the run: it is noted and kept;
    once search has it again, the next run lets it be."""
    harness = make_harness("datacenter")
    chosen, _ = label_some_content(harness)
    harness.configure("*", **{RULES_SETTING: RULES})
    harness.run()
    for item in harness.site.content.values():
        item.changed_at_wallclock -= 7200  # the labels of the set-up were indexed long ago
    touched = chosen[0]
    harness.sim.mutations.add_labels(content_id=touched.id, labels=["reviewed"])
    harness.sim.state.queries.index_lag_seconds = 3600.0  # not searchable during this run, nor at its end

    summary = harness.run(full_refresh=True)
    assert summary.deleted == 0 and f"page-{touched.id}" in harness.docs()
    assert noted(harness) == {f"page-{touched.id}"}

    harness.sim.state.queries.index_lag_seconds = 0.0
    an_hour_passes(harness)
    summary = harness.run()
    assert summary.deleted == 0 and set(harness.docs()) == matched_by_rule(harness)
    assert noted(harness) == set()


def test_a_rules_pipeline_and_a_spaces_pipeline_share_an_index_without_deleting_each_others_documents(
        make_harness, monkeypatch):
    spaces_pipeline = make_harness("datacenter", spaces="ENG")
    rules_pipeline = make_harness("datacenter", reading=spaces_pipeline)
    rules_pipeline.index = spaces_pipeline.index
    chosen, _ = label_some_content(spaces_pipeline)
    site = spaces_pipeline.site
    eng = site.space_by_key("ENG").id
    assert any(page.space_id != eng for page in chosen) and any(page.space_id == eng for page in chosen)

    def run(harness, **options):
        if harness is rules_pipeline:
            harness.configure("*", **{RULES_SETTING: RULES})
        else:
            monkeypatch.delenv(RULES_SETTING, raising=False)
            harness.configure("ENG")
        return harness.run(**options)

    run(spaces_pipeline)
    eng_only = set(spaces_pipeline.docs())
    run(rules_pipeline)
    both = set(spaces_pipeline.docs())
    from_rules = matched_by_rule(rules_pipeline)
    assert both == eng_only | from_rules and from_rules - eng_only

    summary = run(spaces_pipeline)  # the rules pipeline's documents of other spaces are its own, not deleted here
    assert summary.deleted == 0 and set(spaces_pipeline.docs()) == both
    assert summary.left_to_other_pipelines.get(rules_pipeline.pipeline_name)

    summary = run(rules_pipeline, full_refresh=True)  # ENG's documents that no rule matches are the other's
    assert summary.deleted == 0 and set(spaces_pipeline.docs()) == both


def test_two_rules_pipelines_in_one_index_delete_nothing_of_each_other(make_harness, monkeypatch, caplog):
    """Documents of either could lie in any space, so neither can tell its own: nothing is deleted, with a warning."""
    first = make_harness("datacenter")
    chosen, _ = label_some_content(first)
    second = make_harness("datacenter", reading=first)
    second.index = first.index
    second.configure("*", **{RULES_SETTING: json.dumps(['space = "DOCS" and type = page'])})
    second.run()
    first.configure("*", **{RULES_SETTING: RULES})
    first.run()
    first.sim.mutations.trash(content_id=chosen[-1].id)
    held = set(first.docs())

    summary = first.run(full_refresh=True)

    assert summary.deleted == 0 and set(first.docs()) == held
    assert second.pipeline_name in caplog.text and "Deleting nothing" in caplog.text


def test_under_rules_turning_index_archived_off_lets_an_archived_space_go_past_the_guard(make_harness):
    """The notes made by the run after the setting changed say why, so the run that deletes them an hour later
    (whose last run already had the setting off) still lets them go without `--allow-mass-delete`."""
    from collections import Counter

    from confluence_simulator.generator import DatasetSpec
    from confluence_source.deletions import DeletionPolicy

    harness = make_harness("datacenter", DatasetSpec(seed=3, users=4, global_spaces=3, personal_spaces=0, pages=120,
                                                     blogposts=6, comments=30, attachments=6, huge_pages=0))
    keys = sorted(space.key for space in harness.site.spaces.values() if space.type == "global")
    rules = json.dumps([f'space in ({", ".join(keys)})'])
    harness.configure("*", SOURCES__CONFLUENCE__INDEX_ARCHIVED="true", **{RULES_SETTING: rules})
    harness.run()
    per_space = Counter(doc["space_key"] for doc in harness.docs().values())
    largest = max(keys, key=per_space.__getitem__)
    assert per_space[largest] > DeletionPolicy().min_count, per_space
    harness.sim.mutations.archive_space(space_key=largest)
    harness.run(full_refresh=True)
    assert per_space[largest] == sum(doc["space_key"] == largest for doc in harness.docs().values())

    harness.configure("*", SOURCES__CONFLUENCE__INDEX_ARCHIVED="false", **{RULES_SETTING: rules})
    archived = {space.key for space in harness.site.spaces.values() if space.status == "archived"}
    summary = harness.run(full_refresh=True)
    assert summary.deleted == 0 and summary.unmatched == sum(per_space[key] for key in archived)
    harness.run()  # within the hour, the setting already off in the last run
    an_hour_passes(harness)
    summary = harness.run()
    assert not summary.refused_deletions, summary.refusal_message
    assert summary.deleted == sum(per_space[key] for key in archived)
    assert not any(doc["space_key"] in archived for doc in harness.docs().values())
