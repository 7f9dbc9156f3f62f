"""Full reads in stages, so that a long first sync or `--full-refresh` keeps its progress when it is stopped.

A run reads, converts and extracts everything before dlt normalizes and loads it, and the watermarks move only once
the whole run has succeeded. For a site that takes hours to read in full, a run stopped near its end (the
scheduler's time limit, a signal, Confluence or the network failing for longer than the retries) would leave the
next run to start again from nothing. So a run that reads many spaces in full reads them a group at a time: each
group is loaded on its own, and its spaces' watermarks are saved as soon as it is in (`save_progress`); the
next run reads those spaces only for their changes, and the others in full.

Groups are cut by the documents their spaces are expected to hold: what the index holds of them (a
`--full-refresh`, or a first sync that was stopped), or `UNKNOWN_SPACE_DOCUMENTS` for a space it holds nothing of.
The first group also takes everything read for changes only (and advanced rules, which are never split), so a run
without spaces to read in full has a single stage.

A stage that cannot be read within the time a scheduled job has would otherwise be read again from its start by
every run. So before its first stage a run notes that stage in the sync state (`save_before_first_stage`), and the
note goes once a stage is loaded, or the run fails otherwise than by being stopped (`FirstStageWatch`). A run that
finds the note of a run stopped before it loaded a stage makes its stages half that stage's size, and keeps that
size for later runs (`stage_documents_for`): so the size halves until a stage fits in the time a run has, or holds a
single space, which then goes last.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dlt.common.runtime import signals

from confluence_source.reader import Scope, SyncPlan
from confluence_source.sync_state import SyncState, WatermarkStore

logger = logging.getLogger("confluence_to_es")

# Documents a stage is meant to hold at most by default (`--stage-documents`; a space larger than this is a stage of
# its own): some ten minutes of reading from Confluence Cloud. Not less: each stage reads its spaces' comments and
# files on its own. On Cloud those come from site-wide listings when a stage holds at least half of the site's
# spaces, which the next stage lists again (two stages of 25 of the 50 spaces of the simulator's `large` Cloud site
# took 120 s against 119 s for one stage, at 230 MB peak memory against 252 MB), and otherwise from search, which
# costs about twice the requests of those listings: a first sync of a Cloud site of more than 200 spaces makes
# about twice as many requests for its comments and files as it would in one stage.
STAGE_DOCUMENTS = 100_000
# What a space the index holds nothing of is taken to hold, so a first sync reads 100 spaces per stage by default.
# Confluence could count them, but that costs a request per run that reads spaces in full, most of which need no
# stages.
UNKNOWN_SPACE_DOCUMENTS = 1_000


def split_into_stages(plan: SyncPlan, indexed_by_space: Mapping[str, int],
                      stage_documents: int = STAGE_DOCUMENTS) -> list[SyncPlan]:
    """The plan as one or more plans to read and load one after the other, each with the run's `started_at` (which
    every scope's watermark is set to: a later stage's space is then read again from the run's start, never from
    after a change made while an earlier stage was read). `indexed_by_space`: documents per space key in the index;
    `stage_documents`: what a stage is meant to hold at most.
    """
    in_full = _spaces_in_full(plan)
    keys_in_full = {scope.key for scope in in_full}
    stages: list[list[Scope]] = [[scope for scope in plan.scopes if scope.key not in keys_in_full]]
    expected = 0
    for scope in in_full:
        documents = _expected(scope, indexed_by_space)
        if expected and expected + documents > stage_documents:
            stages.append([])
            expected = 0
        stages[-1].append(scope)
        expected += documents
    return [dataclasses.replace(plan, scopes=tuple(scopes)) for scopes in stages]


def _spaces_in_full(plan: SyncPlan) -> list[Scope]:
    return [scope for scope in plan.scopes if scope.is_full and scope.kind == "space"]


def _expected(scope: Scope, indexed_by_space: Mapping[str, int]) -> int:
    """The documents a space read in full is expected to hold."""
    return indexed_by_space.get(scope.key) or UNKNOWN_SPACE_DOCUMENTS


def unfinished_stage(stage: SyncPlan, indexed_by_space: Mapping[str, int]) -> dict[str, Any]:
    """The note of a stage begun and not loaded yet: the documents it is expected to hold, and its spaces read in
    full."""
    in_full = _spaces_in_full(stage)
    return {"documents": sum(_expected(scope, indexed_by_space) for scope in in_full),
            "spaces": [scope.key for scope in in_full]}


@dataclass(frozen=True)
class StagePlan:
    """A run's stages, and what the sync state keeps of their size for later runs."""

    stages: list[SyncPlan]
    # the smaller size learned from runs stopped in their first stage ({"documents", "asked"}); {} for the size asked
    limit: dict[str, int]
    first_stage: dict[str, Any]  # the note saved before the first stage (`unfinished_stage`)


def plan_stages(plan: SyncPlan, indexed_by_space: Mapping[str, int], asked: int, unfinished: Mapping[str, Any],
                learned: Mapping[str, int]) -> StagePlan:
    """`split_into_stages` into stages of at most `stage_documents_for(...)` documents. A single space that a run
    stopped in (`unfinished`) goes last: a space is never split, and if it is too large to read before a run is
    stopped, the spaces after it are read all the same."""
    limit = stage_documents_for(asked, unfinished, learned)
    tried = list(unfinished.get("spaces") or [])
    if len(tried) == 1:
        logger.warning("The last run that read spaces in full stopped before it had loaded its first stage, which "
                       "held the single space %s (about %d documents): a space is never split, so it is read last "
                       "this time; if it is too large to read before a run is stopped, give the runs more time, or "
                       "read it once outside the schedule", tried[0], unfinished.get("documents", 0))
        plan = dataclasses.replace(plan, scopes=tuple(sorted(plan.scopes, key=lambda scope: scope.key == tried[0])))
    elif tried and limit < asked:
        logger.warning("The last run that read spaces in full stopped before it had loaded its first stage (%d "
                       "spaces, about %d documents): stages of at most %d documents from now on, so that one can be "
                       "loaded before a run is stopped", len(tried), unfinished.get("documents", 0), limit)
    elif limit < asked:
        logger.info("Stages of at most %d documents, as learned from a run stopped in its first stage (another "
                    "--stage-documents starts over from that size)", limit)
    stages = split_into_stages(plan, indexed_by_space, limit)
    return StagePlan(stages=stages, limit={"documents": limit, "asked": asked} if limit < asked else {},
                     first_stage=unfinished_stage(stages[0], indexed_by_space))


def stage_documents_for(asked: int, unfinished: Mapping[str, Any], learned: Mapping[str, int]) -> int:
    """What this run's stages are meant to hold at most: `asked` (`--stage-documents`), the size `learned` from
    earlier runs under the same `asked`, or half the first stage of the last run that read spaces in full and loaded
    none of its stages (`unfinished`, its note), whichever is least. That run was stopped, most likely by the
    scheduler's time limit, and a stage of its size would be stopped again: so the smaller size is kept."""
    limit = asked
    if learned.get("asked") == asked and learned.get("documents"):
        limit = min(limit, learned["documents"])
    tried = int(unfinished.get("documents") or 0)
    return min(limit, max(1, tried // 2)) if tried else limit


def save_before_first_stage(store: WatermarkStore, state: SyncState, run_facts: Mapping[str, Any],
                            stage_plan: StagePlan) -> str:
    """Before the first stage of a run that reads spaces in full, save the state as the run found it (no watermark
    moves) with the note of that stage, which the first progress save or the run's own save takes away again, and
    the stage size it keeps. `run_facts` update the last run's record as in `save_progress`. Returns when the state
    was saved."""
    return _save_state_as_found(store, state, dict(state.watermarks), state.space_names, run_facts,
                                unfinished_stage=stage_plan.first_stage, stage_limit=stage_plan.limit)


def _save_state_as_found(store: WatermarkStore, state: SyncState, watermarks: dict[str, str],
                         space_names: Mapping[str, str], run_facts: Mapping[str, Any], **stage_sizing: Any) -> str:
    """Save `state` with these watermarks and space names, the last run's record updated with `run_facts`, and what
    the stages' sizing keeps (`unfinished_stage`, `stage_limit`); what the deletion check noted stays as it was."""
    return store.save(watermarks, last_run={**state.last_run, **run_facts}, space_names=space_names,
                      to_read=state.to_read, unreadable=state.unreadable, unreadable_since=state.unreadable_since,
                      unmatched=state.unmatched, **stage_sizing)


@dataclass
class FirstStageWatch:
    """Keeps the note of a run's first stage (`save_before_first_stage`) only where it means what the next run takes
    it for: that the run was stopped (a signal, Ctrl-C, the process killed) before it had loaded that stage. After
    any other failure (Confluence failing, or Elasticsearch where it still takes the request), or one that came once
    the first stage was in, the note is taken away again, so the next run's stages keep their size."""

    store: WatermarkStore | None = None  # set once the note is saved
    first_stage_loaded: bool = False

    def after_failure(self, error: BaseException) -> None:
        if self.store is None:
            return
        if was_stopped(error) and not self.first_stage_loaded:
            return
        try:
            self.store.forget_unfinished_stage()
        except Exception:  # the run has failed already; its own error is the one to report
            logger.info("Could not take away the note of the run's first stage: the next run that reads spaces in "
                        "full makes its stages smaller", exc_info=logger.isEnabledFor(logging.DEBUG))


def was_stopped(error: BaseException) -> bool:
    """Whether a run failed because it was asked to stop: a signal dlt noted (the command line intercepts SIGINT and
    SIGTERM), or Ctrl-C where nothing intercepts it, also when a dlt step wrapped the interrupt in its own error."""
    if signals.was_signal_received():
        return True
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__
    return False


def indexed_by_space(counts: Mapping[tuple[str, str], int]) -> dict[str, int]:
    """Content documents per space key, from documents per (space key, type). A space's own document does not
    count: a stage stopped in its load may have written the space documents (a small table, loaded early) and
    little else, and its spaces must not look nearly empty to the next run's grouping."""
    totals: dict[str, int] = {}
    for (space_key, doc_type), count in counts.items():
        if doc_type != "space":
            totals[space_key] = totals.get(space_key, 0) + count
    return totals


def save_progress(store: WatermarkStore, state: SyncState, plan: SyncPlan, done: list[SyncPlan],
                  saved: Mapping[str, str], space_names: Mapping[str, str], vanished: set[str],
                  run_facts: Mapping[str, Any], stage_limit: Mapping[str, int]) -> str:
    """After a stage that is not the run's last was loaded, save the state as the run found it (`state`), with
    watermarks for what a stopped run would not need to read again: the spaces the `done` stages read in full, and
    the scopes read for changes as they were (`saved`, the watermarks the run started from: their changes are read
    again, since nothing checked them for deletions yet). Spaces still to read in full get none, so the next run
    reads them in full, also where a stopped `--full-refresh` leaves them. `run_facts` update the last run's record
    (`last_run`): the address that answered, and whether archived spaces may now be in the index (`index_archived`,
    so that turning it off later still lets their documents go past the guard); the note of the run's unfinished
    first stage goes, the stage size it keeps (`stage_limit`) stays. Returns when the state was saved."""
    started = plan.started_at.isoformat()
    watermarks = {scope.key: saved[scope.key] for scope in plan.changed_scopes if scope.key in saved}
    for stage in done:
        watermarks.update({scope.key: started for scope in stage.full_scopes
                           if scope.kind == "space" and scope.key not in vanished})
    return _save_state_as_found(store, state, watermarks, space_names, run_facts, stage_limit=stage_limit)
