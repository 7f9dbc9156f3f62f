"""Items a run found listed by Confluence but missing from the index, carried in the sync state to later runs.

A comment or file restored from the trash on its own gets no new version, so no change window brings it back; the
deletion check's id listing names it (`DeletionPlan.unindexed`), and the next run reads it by id. An item that run
could not bring into the index either (search leaves out what hangs on archived pages; Elasticsearch may refuse a
document) is set apart as unreadable and tried again a day later, instead of being read on every run.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Mapping

from confluence_source.deletions import DeletionPlan
from confluence_source.documents import doc_id
from confluence_source.sync_state import SyncState, utc_now

logger = logging.getLogger("confluence_to_es")

# Items of each kind the state carries (it is read and written whole by every run).
MAX_ITEMS_FOR_NEXT_RUN = 5000
# An item set apart as unreadable (read, and still missing from the index) is tried again after this long.
RETRY_UNREADABLE_AFTER = timedelta(days=1)


def tried_items(state: SyncState) -> set[str]:
    """Document ids that the deletion check sets apart when still missing: those the last run was sent to read, and
    those set apart less than RETRY_UNREADABLE_AFTER ago."""
    return state.tried(retry_before=(utc_now() - RETRY_UNREADABLE_AFTER).isoformat())


def first_items(items_by_type: Mapping[str, Mapping[str, str]], most: int) -> dict[str, dict[str, str]]:
    """At most `most` of these items (type -> Confluence id -> space key), in a stable order: the state document
    that holds them is read and written whole by every run."""
    kept: dict[str, dict[str, str]] = {}
    room = most
    for doc_type, items in sorted(items_by_type.items()):
        chosen = dict(sorted(items.items())[:room])
        if chosen:
            kept[doc_type] = chosen
        room -= len(chosen)
    return kept


def still_unreadable(state: SyncState, plan: DeletionPlan, read_for_changes: set[str]
                     ) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """The items set apart as unreadable after this run, and since when: those this run's check found so, and those
    of the state in spaces this run read for changes without listing them (nothing says they changed; a space read
    in full has read them); at most MAX_ITEMS_FOR_NEXT_RUN."""
    now = utc_now().isoformat()
    listed = set(plan.listed_scopes)
    merged: dict[str, dict[str, str]] = {doc_type: dict(items) for doc_type, items in plan.unreadable.items()}
    for doc_type, items in state.unreadable.items():
        for confluence_id, space_key in items.items():
            if space_key in read_for_changes and (space_key, doc_type) not in listed:
                merged.setdefault(doc_type, {})[confluence_id] = space_key
    kept = first_items(merged, MAX_ITEMS_FOR_NEXT_RUN)
    since = {document_id: state.unreadable_since.get(document_id, now)
             for document_id in (doc_id(doc_type, confluence_id)
                                 for doc_type, items in kept.items() for confluence_id in items)}
    return kept, since


def items_for_next_run(plan: DeletionPlan) -> dict[str, dict[str, str]]:
    """What the deletion check found in Confluence but not in the index (see `DeletionPlan.unindexed`), for the next
    run to read, at most MAX_ITEMS_FOR_NEXT_RUN of them (the count still differs after that run, so the rest follow
    in later runs)."""
    kept = first_items(plan.unindexed, MAX_ITEMS_FOR_NEXT_RUN)
    if plan.unindexed_count() > MAX_ITEMS_FOR_NEXT_RUN:
        logger.warning("Confluence lists %d items the index does not hold (restored from the trash, or created "
                       "during this run); the next run reads %d of them, later runs the rest (a run with "
                       "--full-refresh reads all at once)", plan.unindexed_count(), MAX_ITEMS_FOR_NEXT_RUN)
    elif kept:
        logger.info("Confluence lists %d item(s) the index does not hold (restored from the trash, or created during "
                    "this run): the next run reads them", plan.unindexed_count())
    return kept
