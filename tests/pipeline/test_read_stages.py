"""Full reads in stages (simulator over HTTP -> dlt -> Elasticsearch): a run that reads many spaces in full loads them
a group at a time and saves its progress after each group, so that a first sync or `--full-refresh` stopped part of
the way is followed by a run that reads in full only what is left."""

from __future__ import annotations

import logging
from datetime import datetime

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from confluence_simulator.faults import FaultRule
from confluence_source import ConfluenceError
from confluence_source.reader import Scope, SyncPlan
from confluence_source.sync_state import state_index_name
from pipelines import read_stages, sync_run
from pipelines.read_stages import (indexed_by_space, plan_stages, split_into_stages, stage_documents_for,
                                  unfinished_stage)

from tests.pipeline.test_sync_job import FLAVOURS, endpoint_counts, readable_pages, run_cli, stop_before_normalize

STARTED = datetime.fromisoformat("2026-11-29T10:00:00+00:00")


def plan_of(*scopes: Scope) -> SyncPlan:
    return SyncPlan(scopes=scopes, started_at=STARTED, window_end=STARTED)


def space(key: str, changes_only: bool = False) -> Scope:
    from confluence_source.cql import ChangeWindow

    window = ChangeWindow(start=STARTED, end=STARTED) if changes_only else None
    return Scope(key=key, kind="space", window=window)


def keys(stages: list[SyncPlan]) -> list[list[str]]:
    return [[scope.key for scope in stage.scopes] for stage in stages]


def test_spaces_read_in_full_are_grouped_by_what_the_index_holds_of_them(monkeypatch):
    monkeypatch.setattr(read_stages, "UNKNOWN_SPACE_DOCUMENTS", 40)
    plan = plan_of(space("A"), space("OLD", changes_only=True), space("B"), space("HUGE"), space("C"), space("D"))
    stages = split_into_stages(plan, {"A": 30, "B": 60, "HUGE": 500, "OLD": 1000}, stage_documents=100)
    # what is read for changes only comes first, with the first group; a space larger than a stage is one alone;
    # C and D, which the index holds nothing of, count as 40 each
    assert keys(stages) == [["OLD", "A", "B"], ["HUGE"], ["C", "D"]]
    assert all(stage.started_at == STARTED for stage in stages)


def test_a_plan_without_spaces_to_read_in_full_or_with_rules_is_one_stage():
    changes = plan_of(space("A", changes_only=True), space("B", changes_only=True))
    assert keys(split_into_stages(changes, {})) == [["A", "B"]]
    rules = plan_of(Scope(key='label = "kb"', kind="rule", rule='label = "kb"'),
                    Scope(key='type = blogpost', kind="rule", rule="type = blogpost"))
    assert keys(split_into_stages(rules, {})) == [['label = "kb"', "type = blogpost"]]
    # a space's own document does not count: a stage stopped in its load may have written little else
    assert indexed_by_space({("A", "page"): 3, ("A", "comment"): 2, ("A", "space"): 1, ("B", "page"): 1,
                             ("C", "space"): 1}) == {"A": 5, "B": 1}


def test_after_a_run_stopped_in_its_first_stage_the_stages_are_half_that_stage_from_then_on():
    assert stage_documents_for(100_000, {}, {}) == 100_000
    assert stage_documents_for(100_000, {"documents": 30_000, "spaces": ["A", "B"]}, {}) == 15_000
    assert stage_documents_for(100_000, {"documents": 500_000, "spaces": ["A", "B"]}, {}) == 100_000  # at most asked
    assert stage_documents_for(100_000, {"documents": 1, "spaces": ["A"]}, {}) == 1
    # the size learned is kept, and halved again by another stop; under another --stage-documents it starts over
    assert stage_documents_for(100_000, {}, {"documents": 15_000, "asked": 100_000}) == 15_000
    assert stage_documents_for(100_000, {"documents": 15_000, "spaces": ["A"]},
                               {"documents": 15_000, "asked": 100_000}) == 7_500
    assert stage_documents_for(50_000, {}, {"documents": 15_000, "asked": 100_000}) == 50_000

    plan = plan_of(space("A"), space("B"), space("C"), space("D"))
    first = unfinished_stage(split_into_stages(plan, {"A": 10})[0], {"A": 10})
    assert first == {"documents": 10 + 3 * read_stages.UNKNOWN_SPACE_DOCUMENTS, "spaces": ["A", "B", "C", "D"]}
    # half of 3,010 is 1,505 documents a stage: A (10) and B (1,000) fit in one, C (1,000) does not fit with them
    staged = plan_stages(plan, {"A": 10}, 100_000, first, {})
    assert keys(staged.stages) == [["A", "B"], ["C"], ["D"]]
    assert staged.limit == {"documents": 1_505, "asked": 100_000}
    assert staged.first_stage == {"documents": 1_010, "spaces": ["A", "B"]}
    assert plan_stages(plan, {"A": 10}, 100_000, {}, {}).limit == {}  # the size asked: nothing to keep


class RecordingStore:
    def __init__(self, fails: bool = False) -> None:
        self.forgotten = 0
        self.fails = fails

    def forget_unfinished_stage(self) -> None:
        self.forgotten += 1
        if self.fails:
            raise ConnectionError("Elasticsearch is gone")


def wrapped_interrupt() -> BaseException:
    """A Ctrl-C as a dlt step reports it: wrapped in the step's own error."""
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise RuntimeError("extract step failed") from interrupt
    except RuntimeError as error:
        return error


@pytest.mark.parametrize("error, loaded, forgotten", [
    (KeyboardInterrupt(), False, 0),
    (wrapped_interrupt(), False, 0),
    (wrapped_interrupt(), True, 1),  # stopped once the first stage was in
    (ConfluenceError("Confluence failed"), False, 1),
], ids=["interrupt", "wrapped-interrupt", "interrupt-after-loading", "other-failure"])
def test_only_a_run_stopped_before_loading_its_first_stage_keeps_the_note(error, loaded, forgotten):
    store = RecordingStore()
    read_stages.FirstStageWatch(store=store, first_stage_loaded=loaded).after_failure(error)
    assert store.forgotten == forgotten
    read_stages.FirstStageWatch().after_failure(error)  # a run that noted nothing has nothing to take away
    read_stages.FirstStageWatch(store=RecordingStore(fails=True)).after_failure(ConfluenceError("x"))  # no raise


def test_a_single_space_a_run_was_stopped_in_goes_last(caplog):
    plan = plan_of(space("A"), space("B", changes_only=True), space("C"))
    caplog.set_level(logging.WARNING)
    staged = plan_stages(plan, {"A": 5_000}, 100_000, {"documents": 5_000, "spaces": ["A"]}, {})
    assert keys(staged.stages) == [["B", "C"], ["A"]]
    assert "held the single space A (about 5000 documents): a space is never split, so it is read last" in caplog.text


ONE_SPACE_A_STAGE = 1  # --stage-documents: every space is larger than that


def saved_state(harness) -> dict:
    state_index = state_index_name(harness.index)
    harness.es.indices.refresh(index=state_index)
    hits = harness.es.search(index=state_index, query={"term": {"pipeline_name": harness.pipeline_name}})
    return hits["hits"]["hits"][0]["_source"]


def saved_watermarks(harness) -> dict[str, str]:
    return saved_state(harness)["watermarks"]


def read_how(caplog) -> dict[str, str]:
    """Space key -> "in full" or "changes", as the run's plan logged them."""
    found = {}
    for record in caplog.records:
        message = record.getMessage()
        if message.startswith("Confluence scope "):
            key, how = message[len("Confluence scope "):].split(": reading ", 1)
            found[key] = "in full" if how == "in full" else "changes"
    return found


def site_goes_down_after_the_first_stage(harness, monkeypatch) -> list[list[str]]:
    """Every Confluence request fails from the moment the first stage's progress is saved; returns the spaces of
    the stages whose progress was saved."""
    saved: list[list[str]] = []
    original = sync_run.save_progress

    def save_then_fail(store, state, plan, done, *args):
        saved_at = original(store, state, plan, done, *args)
        saved.append([scope.key for stage in done for scope in stage.full_scopes])
        harness.sim.faults.add(FaultRule(kind="server_error", endpoint="*", retry_after=None))
        return saved_at

    monkeypatch.setattr(sync_run, "save_progress", save_then_fail)
    harness.monkeypatch.setenv("SOURCES__CONFLUENCE__RETRY_COUNT", "0")
    return saved


def stopped_in_the_first_stage(monkeypatch) -> None:
    """The run is stopped (Ctrl-C; a scheduler's time limit sends a signal, or kills the process) while it reads its
    first stage."""
    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sync_run, "run_in_steps", stopped)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_first_sync_stopped_in_its_first_stage_is_followed_by_smaller_stages_from_then_on(make_harness, flavour,
                                                                                           monkeypatch, caplog):
    harness = make_harness(flavour)
    with monkeypatch.context() as patched:
        stopped_in_the_first_stage(patched)
        with pytest.raises(KeyboardInterrupt):
            harness.run()  # every space in one stage
    state = saved_state(harness)
    spaces = state["unfinished_stage"]["spaces"]
    assert len(spaces) >= 3, "the dataset has too few spaces for this test"
    assert state["unfinished_stage"]["documents"] == len(spaces) * read_stages.UNKNOWN_SPACE_DOCUMENTS
    assert state["watermarks"] == {}

    learned = {"documents": len(spaces) * read_stages.UNKNOWN_SPACE_DOCUMENTS // 2,
               "asked": read_stages.STAGE_DOCUMENTS}
    progress: list[dict] = []  # the state as each progress save left it
    original = sync_run.save_progress

    def recorded(*args):
        saved_at = original(*args)
        progress.append(saved_state(harness))
        return saved_at

    caplog.set_level(logging.INFO)
    with monkeypatch.context() as patched:
        patched.setattr(sync_run, "save_progress", recorded)
        summary = harness.run()
    assert "stopped before it had loaded its first stage" in caplog.text
    assert summary.stages == -(-len(spaces) // (len(spaces) // 2))  # stages of half as many spaces
    assert len(progress) == summary.stages - 1
    # the note goes with the first stage loaded; the size stays for a run stopped in a later stage
    assert all(not state["unfinished_stage"] and state["stage_limit"] == learned for state in progress)
    state = saved_state(harness)
    assert state["unfinished_stage"] == {} and state["stage_limit"] == learned
    assert set(harness.docs()) == set().union(*harness.visible().values())

    harness.run()  # reads changes only, in one stage
    assert saved_state(harness)["stage_limit"] == learned
    caplog.clear()
    harness.run(full_refresh=True)  # the size is kept (the spaces, counted in the index now, fit in one stage)
    assert f"Stages of at most {learned['documents']} documents, as learned from a run stopped" in caplog.text
    assert saved_state(harness)["stage_limit"] == learned
    harness.es.indices.delete(index=harness.index)  # the watermarks go with the index, the size learned does not
    harness.run()
    assert saved_state(harness)["stage_limit"] == learned
    assert harness.run(full_refresh=True, stage_documents=10 ** 9).stages == 1  # another size asked: starts over
    assert saved_state(harness)["stage_limit"] == {}


def test_a_full_read_in_one_stage_or_stopped_once_loaded_takes_the_note_away(make_harness, monkeypatch):
    """The note says a run was stopped before it had loaded a stage: a full read that did load (in one stage,
    asked with `--stage-documents 0`), or that was stopped only after it had, leaves none."""
    harness = make_harness("datacenter")
    with monkeypatch.context() as patched:
        stopped_in_the_first_stage(patched)
        with pytest.raises(KeyboardInterrupt):
            harness.run()
    assert saved_state(harness)["unfinished_stage"]
    harness.run(stage_documents=0)
    assert saved_state(harness)["unfinished_stage"] == {} and saved_state(harness)["stage_limit"] == {}

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(sync_run, "plan_deletions", stopped)  # the one stage is loaded, then the run is stopped
        with pytest.raises(KeyboardInterrupt):
            harness.run(full_refresh=True)
    assert not saved_state(harness)["unfinished_stage"]


def test_cli_stopped_by_a_signal_in_its_first_stage_keeps_the_note(make_harness, tmp_path, capsys, monkeypatch):
    """A scheduler's stop reaches the command line as SIGINT or SIGTERM, which dlt notes and the run stops at."""
    import signal

    from dlt.common.runtime import signals

    harness = make_harness("datacenter")
    original = sync_run.run_in_steps

    def signalled_in_the_read(*args, **kwargs):
        signals.set_received_signal(signal.SIGTERM)  # as dlt's handler notes it
        return original(*args, **kwargs)

    monkeypatch.setattr(sync_run, "run_in_steps", signalled_in_the_read)
    code, stderr = run_cli(harness, tmp_path, capsys)
    assert code == 1 and "stopped by SIGTERM" in stderr, stderr
    state = saved_state(harness)
    assert len(state["unfinished_stage"]["spaces"]) >= 2 and state["watermarks"] == {}


def test_a_run_that_fails_in_its_first_stage_without_being_stopped_leaves_the_stage_size_alone(make_harness,
                                                                                               monkeypatch, caplog):
    """Confluence failing is no sign that the stage was too large for the time a run has."""
    harness = make_harness("datacenter")
    original = sync_run.save_before_first_stage

    def save_then_fail(*args):
        saved_at = original(*args)
        harness.sim.faults.add(FaultRule(kind="server_error", endpoint="*", retry_after=None))
        return saved_at

    with monkeypatch.context() as patched:
        patched.setattr(sync_run, "save_before_first_stage", save_then_fail)
        harness.monkeypatch.setenv("SOURCES__CONFLUENCE__RETRY_COUNT", "0")
        with pytest.raises((ConfluenceError, PipelineStepFailed)):
            harness.run()
    assert saved_state(harness)["unfinished_stage"] is None and saved_state(harness)["watermarks"] == {}

    harness.sim.faults.clear()
    harness.monkeypatch.delenv("SOURCES__CONFLUENCE__RETRY_COUNT")
    caplog.set_level(logging.INFO)
    assert harness.run().stages == 1
    assert "stopped before it had loaded its first stage" not in caplog.text


def test_a_full_refresh_stopped_in_its_first_stage_keeps_the_watermarks_and_the_next_one_is_smaller(
        make_harness, monkeypatch, caplog):
    """The note outlives the incremental runs between two full refreshes (the weekly one that the time limit stops
    would otherwise be stopped every week), and moves no watermark."""
    harness = make_harness("datacenter")
    harness.run()
    before = saved_watermarks(harness)
    with monkeypatch.context() as patched:
        stopped_in_the_first_stage(patched)
        with pytest.raises(KeyboardInterrupt):
            harness.run(full_refresh=True)
    assert saved_watermarks(harness) == before
    note = saved_state(harness)["unfinished_stage"]
    assert sorted(note["spaces"]) == sorted(before)

    harness.run()  # reads changes only
    assert saved_state(harness)["unfinished_stage"] == note
    caplog.set_level(logging.INFO)
    summary = harness.run(full_refresh=True)
    assert "stopped before it had loaded its first stage" in caplog.text
    assert summary.stages > 1 and summary.deleted == 0
    assert saved_state(harness)["unfinished_stage"] == {}
    assert saved_state(harness)["stage_limit"]["documents"] == note["documents"] // 2


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_first_sync_in_stages_writes_what_one_stage_does(make_harness, flavour, caplog):
    harness = make_harness(flavour)
    caplog.set_level(logging.INFO)
    summary = harness.run(stage_documents=ONE_SPACE_A_STAGE)
    spaces = [key for key, how in read_how(caplog).items() if how == "in full"]
    assert len(spaces) >= 3, "the dataset has too few spaces for this test"
    assert f"in {len(spaces)} stages" in caplog.text
    assert summary.mode == "full"
    assert set(saved_watermarks(harness)) == set(spaces)

    at_once = make_harness(flavour, reading=harness)  # the same site, into an index of its own, in one stage
    reference = at_once.run()
    assert summary.documents == reference.documents  # the summary counts every stage's documents
    staged, whole = harness.docs(), at_once.docs()
    assert set(staged) == set().union(*harness.visible().values())
    assert staged == whole  # field for field: labels, breadcrumbs and file texts of later stages too


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_first_sync_stopped_after_a_stage_is_continued_by_the_next_run(make_harness, flavour, monkeypatch, caplog):
    harness = make_harness(flavour)
    with monkeypatch.context() as patched:
        saved = site_goes_down_after_the_first_stage(harness, patched)
        with pytest.raises((ConfluenceError, PipelineStepFailed)):
            harness.run(stage_documents=ONE_SPACE_A_STAGE)
    assert len(saved) == 1 and len(saved[0]) == 1
    assert set(saved_watermarks(harness)) == set(saved[0])
    assert not saved_state(harness)["unfinished_stage"]  # a stage was loaded: the next run's stages stay as asked
    in_index = {source["space_key"] for source in harness.docs().values()}
    assert in_index == set(saved[0])  # the first stage's documents, and nothing of the stage that failed

    harness.sim.faults.clear()
    harness.monkeypatch.delenv("SOURCES__CONFLUENCE__RETRY_COUNT")
    caplog.clear()
    caplog.set_level(logging.INFO)
    harness.run()
    assert "stopped before it had loaded its first stage" not in caplog.text
    how = read_how(caplog)
    assert {key for key, read in how.items() if read == "changes"} == set(saved[0])
    assert len([read for read in how.values() if read == "in full"]) >= 2
    assert set(harness.docs()) == set().union(*harness.visible().values())


def test_a_stopped_full_refresh_leaves_the_spaces_it_did_not_reach_to_be_read_in_full(make_harness, monkeypatch,
                                                                                       caplog):
    harness = make_harness("cloud")
    harness.run()
    before = saved_watermarks(harness)
    with monkeypatch.context() as patched:
        saved = site_goes_down_after_the_first_stage(harness, patched)
        with pytest.raises((ConfluenceError, PipelineStepFailed)):
            harness.run(full_refresh=True, stage_documents=ONE_SPACE_A_STAGE)
    after = saved_watermarks(harness)
    assert set(after) == set(saved[0]) and all(after[key] > before[key] for key in saved[0])

    harness.sim.faults.clear()
    harness.monkeypatch.delenv("SOURCES__CONFLUENCE__RETRY_COUNT")
    caplog.clear()
    caplog.set_level(logging.INFO)
    summary = harness.run()  # an incremental run finishes what the full refresh did not reach
    how = read_how(caplog)
    assert {key for key, read in how.items() if read == "in full"} == set(before) - set(saved[0])
    assert summary.deleted == 0
    assert set(harness.docs()) == set().union(*harness.visible().values())


@pytest.mark.parametrize("stage", [1, 2])
def test_a_stage_left_between_its_extract_and_its_load_is_loaded_by_the_next_run(make_harness, monkeypatch, caplog,
                                                                                 stage):
    """The state saved before the first stage, and the progress saved after it, are what the stage's package starts
    from: the next run loads that package as the newest word on its documents instead of dropping it as older than a
    later run's state."""
    harness = make_harness("datacenter")
    with monkeypatch.context() as patched:
        stop_before_normalize(patched, nth=stage)  # between the stage's extract and its normalize
        with pytest.raises(KeyboardInterrupt):
            harness.run(stage_documents=ONE_SPACE_A_STAGE)
    assert dlt.attach(harness.pipeline_name, pipelines_dir=str(harness.pipelines_dir)).has_pending_data

    caplog.set_level(logging.INFO)
    harness.run()
    assert "Loading a package left pending by an earlier run" in caplog.text
    assert "Dropped a package" not in caplog.text
    assert set(harness.docs()) == set().union(*harness.visible().values())


@pytest.mark.parametrize("before, now", [(False, True), (True, False)], ids=["turned-on", "turned-off"])
def test_a_progress_save_records_the_address_and_that_archived_spaces_may_be_indexed(make_harness, monkeypatch,
                                                                                     before, now):
    """Turning `index_archived` off after a stopped run that indexed archived spaces must still let their documents
    go past the mass-delete guard, which looks at the last run's `index_archived`: a progress save says it was on
    when the run had it on, or the run before it."""
    harness = make_harness("datacenter")
    harness.configure(SOURCES__CONFLUENCE__INDEX_ARCHIVED=str(before).lower())
    harness.run()
    harness.configure(SOURCES__CONFLUENCE__INDEX_ARCHIVED=str(now).lower())
    with monkeypatch.context() as patched:
        site_goes_down_after_the_first_stage(harness, patched)
        with pytest.raises((ConfluenceError, PipelineStepFailed)):
            harness.run(full_refresh=True, stage_documents=ONE_SPACE_A_STAGE)
    last_run = saved_state(harness)["last_run"]
    assert last_run["index_archived"] is True and last_run["confluence_address"]


def test_cloud_builds_the_label_maps_of_the_site_once_whatever_the_stages(make_harness, monkeypatch, caplog):
    from confluence_source.cloud import CloudReader

    built: list[str] = []
    for builder in ("_labels_from_search", "_labels_from_label_listing"):
        original = getattr(CloudReader, builder)

        def counting(self, *args, _original=original, _name=builder, **kwargs):
            built.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(CloudReader, builder, counting)
    harness = make_harness("cloud")
    caplog.set_level(logging.INFO)
    harness.run(stage_documents=ONE_SPACE_A_STAGE)
    assert " stages, " in caplog.text
    staged = list(built)
    built.clear()
    harness.run(full_refresh=True)  # one stage
    assert staged and staged == built


def test_cloud_with_index_archived_reads_in_one_stage(make_harness, caplog):
    """Comments and files then come from site-wide listings, which every stage would read whole again."""
    harness = make_harness("cloud")
    harness.configure(SOURCES__CONFLUENCE__INDEX_ARCHIVED="true")
    caplog.set_level(logging.INFO)
    harness.run(stage_documents=ONE_SPACE_A_STAGE)
    assert " stages, " not in caplog.text
    assert endpoint_counts(harness)["v2.footer_comments.list"] == 1


def test_a_first_sync_in_stages_looks_up_no_file_text_in_the_index(make_harness, monkeypatch):
    """The index held no file text when the run started, and what its earlier stages loaded are other files."""
    from confluence_source.sync_state import IndexedDocuments

    looked_up: list[int] = []
    original = IndexedDocuments.attachment_texts

    def counting(self, document_ids):
        looked_up.append(len(document_ids))
        return original(self, document_ids)

    monkeypatch.setattr(IndexedDocuments, "attachment_texts", counting)
    harness = make_harness("datacenter")
    original_steps = sync_run.run_in_steps

    def searchable_at_once(*args, **kwargs):  # as after the refresh interval a stage of a real site outlasts
        load_info = original_steps(*args, **kwargs)
        harness.es.indices.refresh(index=harness.index)
        return load_info

    monkeypatch.setattr(sync_run, "run_in_steps", searchable_at_once)
    first_pages = {}  # a file in every space, so that every stage reads one after an earlier stage loaded one
    for page in readable_pages(harness):
        first_pages.setdefault(page.space_id, page)
    for page in first_pages.values():
        harness.sim.mutations.add_attachment(container_id=page.id, file_name="stage-notes.txt",
                                            data=b"Stage notes.")
    harness.run(stage_documents=ONE_SPACE_A_STAGE)
    assert looked_up == []
    harness.run(full_refresh=True, stage_documents=ONE_SPACE_A_STAGE)
    assert looked_up, "a full refresh takes the indexed texts from the index"


@pytest.mark.parametrize("stage_documents, stages", [("1", True), ("0", False)])
def test_cli_stage_documents_sets_the_stages(make_harness, tmp_path, capsys, caplog, stage_documents, stages):
    harness = make_harness("datacenter")
    caplog.set_level(logging.INFO)
    code, stderr = run_cli(harness, tmp_path, capsys, "--stage-documents", stage_documents)
    assert code == 0, stderr
    assert (" stages, " in caplog.text) is stages
    assert set(harness.docs()) == set().union(*harness.visible().values())


def test_taking_the_note_away_leaves_a_missing_state_index_missing(make_harness):
    """An update would create the side index without its mapping, which later saves would then keep."""
    from confluence_source.sync_state import WatermarkStore

    harness = make_harness("datacenter")
    WatermarkStore(harness.es, harness.index, harness.sim.base_url, harness.pipeline_name).forget_unfinished_stage()
    assert not harness.es.indices.exists(index=state_index_name(harness.index))
