"""Find indexed documents that no longer exist (or are no longer visible or synced) in Confluence.

Confluence's change feed (CQL `lastmodified`) never reports deletions: trashed, purged, archived, moved-away and
newly restricted content silently drops out of it. Deletions are therefore found by reconciling ids, as cheaply as
the facts allow:

* a scope (space, type) that this run read in full already has its complete id set in the ledger;
* otherwise CQL counts are compared with the index. Every id that Confluence currently shows was upserted by this or
  an earlier successful run, so the Confluence set is contained in the indexed set; equal sizes therefore prove equal
  sets and nothing needs listing. One count covers every unsettled scope at once; only where it disagrees does the
  check narrow down (per type, then halving the spaces), and only scopes whose counts still differ are listed, id by
  id, without bodies. A run without deletions costs one request.

A comment or file restored from the trash on its own breaks that containment (it gets no new version, so no change
window reads it): the count then shows one more than the index holds, and the listing that follows names it. Such
items are noted in the plan (`unindexed`) for the next run to read.

This runs only after the content load succeeded, and every listing raises on failure or truncation, so a failed or
partial read of Confluence can never delete anything. A guard refuses to delete more than a configurable share of
a space in one run unless the user explicitly allows it.

Under advanced rules the synced scope is whatever CQL search matches, which no listing but search can tell: what a
full read of the rules leaves out is noted, and goes only when a later search still does not match it
(`plan_rule_deletions`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Collection, Iterable, Mapping

from . import settings as defaults
from .cql import parse_instant
from .errors import SpaceVanishedError
from .sync_state import IndexedDocuments, SyncLedger

logger = logging.getLogger(__name__)

CONTENT_TYPES: tuple[str, ...] = defaults.CONTENT_TYPES
# Types whose id listings and CQL counts cover the same items, so that a count can vouch for a listing (comments and
# attachments under archived or hidden containers are counted by search but never listed).
COUNT_CHECKED_TYPES: tuple[str, ...] = ("page", "blogpost")

CountTotal = Callable[[list[str], list[str]], int]  # (space keys, types) -> current items Confluence counts
IterCurrentIds = Callable[[str, str], Iterable[str]]
# (space key, type, indexed ids the listing left out) -> those confirmed gone (see `ConfluenceReader.confirm_gone`)
ConfirmGone = Callable[[str, str, list[str]], set[str]]
# (type, indexed ids the advanced rules' read left out) -> those a rule matches now (see
# `ConfluenceReader.still_matched_by_rules`); () -> keys of the spaces a rule matches itself
StillMatched = Callable[[str, list[str]], set[str]]
SpacesMatched = Callable[[], set[str]]
# How long an indexed item no advanced rule matches must stay unmatched before it goes: far longer than search takes
# to index a change, so that a lagging search (an item saved a moment before a read is missing from it) deletes nothing.
UNMATCHED_SETTLE = timedelta(hours=1)


@dataclass(frozen=True)
class DeletionPolicy:
    """The mass-delete guard: at most `max_fraction` of a space's indexed documents (and never fewer than
    `min_count` documents are always allowed) may be deleted in one run, unless `allow_mass_delete` is set."""

    max_fraction: float = 0.2
    min_count: int = 20
    allow_mass_delete: bool = False

    def allows(self, to_delete: int, indexed: int) -> bool:
        if self.allow_mass_delete or to_delete <= self.min_count:
            return True
        return to_delete <= self.max_fraction * indexed


@dataclass
class RefusedSpace:
    space_key: str
    would_delete: int
    indexed: int


@dataclass
class ShortListing:
    """A scope whose listing returned fewer items than Confluence counts: nothing of it was deleted."""

    space_key: str
    doc_type: str
    listed: int
    counted: int
    kept: int  # indexed documents that would have been deleted


@dataclass
class DeletionPlan:
    """Ids to delete, the spaces whose deletions the guard held back, and the scopes whose listings were short."""

    delete_ids: list[str] = field(default_factory=list)
    by_type: dict[str, int] = field(default_factory=dict)
    refused: list[RefusedSpace] = field(default_factory=list)
    listed_scopes: list[tuple[str, str]] = field(default_factory=list)
    short_listings: list[ShortListing] = field(default_factory=list)
    # type -> Confluence id -> space key: items a scope's id listing showed that the index does not hold and this run
    # did not read (a comment or file restored from the trash on its own, which no change window brings back)
    unindexed: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    # the same, of items an earlier run already tried to read (`tried`): reading them again at once would not bring
    # them (search does not return them, or Elasticsearch refuses them), so they are set apart
    unreadable: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))

    def unindexed_count(self) -> int:
        return sum(len(items) for items in self.unindexed.values())

    def refusal_message(self, flag: str = "--allow-mass-delete") -> str:
        parts = [f"{r.space_key}: {r.would_delete} of {r.indexed} documents" for r in self.refused]
        return (
            "Refused to delete a large share of "
            + ", ".join(parts)
            + f". Nothing was deleted in those spaces. If Confluence really lost that content, run again with {flag}."
        )


def plan_deletions(
    indexed: IndexedDocuments,
    synced_spaces: set[str],
    spaces_from_config: bool,
    ledger: SyncLedger,
    count_total: CountTotal,
    iter_current_ids: IterCurrentIds,
    policy: DeletionPolicy,
    content_types: Iterable[str] = CONTENT_TYPES,
    all_seen_indexed: bool = True,
    confirm_gone: ConfirmGone | None = None,
    spaces_of_others: Collection[str] = (),
    tried: Collection[str] = (),
    archived_indexed: bool = False,
    archived_by_settings: Collection[str] = (),
) -> DeletionPlan:
    """Work out which indexed documents of this site must go.

    `synced_spaces` is the set of space keys this run synced. Documents of other spaces go too: when the user
    listed the spaces explicitly that is their decision and is not guarded; with `spaces = "*"` a vanished space
    was deleted, archived or hidden in Confluence, so the guard applies. `all_seen_indexed` says that Elasticsearch
    accepted every document of this run's load (none was dead-lettered), which lets counts stand in for id sets.
    `confirm_gone`, where given, has the last word on what a scope's id listing left out. `spaces_of_others` are
    spaces that other pipelines sync into the same index: not syncing them here deletes nothing of theirs. `tried`
    are document ids an earlier run noted missing and this one tried to read (or set apart lately): still missing,
    they go to `unreadable`, not `unindexed`. `archived_indexed` (`index_archived`): the index holds archived pages
    and what hangs on them, which search does not count (see `IndexedDocuments.search_comparable_counts`).
    `archived_by_settings` are archived spaces left out because `index_archived` was just turned off: a choice of
    the user's, like a space taken out of `spaces`, so not guarded either.
    """
    candidates: dict[str, list[tuple[str, str]]] = defaultdict(list)  # space key -> [(id, type)]

    indexed_counts = indexed.counts_by_space_and_type()  # refreshes the index first
    for doc_id, space_key, doc_type in indexed.ids(exclude_space_keys=set(synced_spaces) | set(spaces_of_others)):
        candidates[space_key].append((doc_id, doc_type))
    unguarded_spaces = set(candidates) if spaces_from_config else set(candidates).intersection(archived_by_settings)

    content_types = tuple(content_types)
    plan = DeletionPlan()
    unsettled: list[tuple[str, str]] = []
    listed: dict[tuple[str, str], int] = {}  # (space, type) -> how many current items its listing returned
    for space_key in sorted(synced_spaces):
        for doc_type in content_types:
            if ledger.is_fully_read(space_key, doc_type):
                if indexed_counts.get((space_key, doc_type), 0) == 0:
                    continue
                seen = ledger.ids(space_key, doc_type)
                # everything seen was just indexed, so equal sizes mean equal sets: no id scan needed
                if not all_seen_indexed or len(seen) != indexed_counts[(space_key, doc_type)]:
                    unseen: dict[str, list[tuple[str, str]]] = defaultdict(list)
                    _collect(indexed, space_key, doc_type, seen, unseen)
                    # a full read through search can miss what search is indexing again: `confirm_gone` decides
                    doomed = _confirmed_gone([doc_id for doc_id, _ in unseen[space_key]], space_key, doc_type,
                                             confirm_gone)
                    candidates[space_key].extend((doc_id, doc_type) for doc_id in doomed)
                    listed[(space_key, doc_type)] = len(seen)
            else:
                # empty scopes stay in: their count must be 0 too, and keeping them makes one count cover all
                unsettled.append((space_key, doc_type))

    # A dead-lettered document makes the index one short, which can mask a deletion: then counts prove nothing.
    known_counts: dict[tuple[str, str], int] = {}  # Confluence's counts of single scopes asked on the way
    if all_seen_indexed and unsettled:
        counts, always_listed = indexed.search_comparable_counts() if archived_indexed else (indexed_counts, set())
        to_list = [scope for scope in unsettled if scope in always_listed] + _scopes_with_other_counts(
            [scope for scope in unsettled if scope not in always_listed], counts, count_total, known_counts)
    else:
        to_list = unsettled
    vanished: set[str] = set()  # synced spaces deleted since this run read them: their documents stay for now
    for space_key, doc_type in to_list:
        if indexed_counts.get((space_key, doc_type), 0) == 0 and not all_seen_indexed:
            continue  # nothing indexed there, so nothing to delete (and its count was not asked: maybe nothing to read)
        if space_key in vanished:
            continue
        try:
            current = set(iter_current_ids(space_key, doc_type))
        except SpaceVanishedError:
            vanished.add(space_key)
            continue
        plan.listed_scopes.append((space_key, doc_type))
        left_out: dict[str, list[tuple[str, str]]] = defaultdict(list)
        held = _collect(indexed, space_key, doc_type, current, left_out)
        _note_unindexed(plan, space_key, doc_type, current.difference(held), ledger.ids(space_key, doc_type), tried)
        doomed = _confirmed_gone([doc_id for doc_id, _ in left_out[space_key]], space_key, doc_type, confirm_gone)
        candidates[space_key].extend((doc_id, doc_type) for doc_id in doomed)
        listed[(space_key, doc_type)] = len(current)
    if vanished:  # what earlier listings of those spaces found too
        for space_key in vanished:
            candidates.pop(space_key, None)
        listed = {scope: count for scope, count in listed.items() if scope[0] not in vanished}
        plan.listed_scopes = [scope for scope in plan.listed_scopes if scope[0] not in vanished]
        for notes in (plan.unindexed, plan.unreadable):
            for items in notes.values():
                for confluence_id in [key for key, space_key in items.items() if space_key in vanished]:
                    del items[confluence_id]
    _hold_back_short_listings(listed, candidates, count_total, known_counts, plan, policy.allow_mass_delete)

    _guarded(candidates, indexed_counts, unguarded_spaces, policy, plan)
    return plan


@dataclass
class RuleDeletionPlan(DeletionPlan):
    """A deletion plan under advanced rules, with the indexed documents no rule matched, waiting for a later search to
    confirm it: document id -> {"since": when a run first found it so (ISO), "space": its space key}, kept with the
    sync state (see `plan_rule_deletions`); the spaces where unmatched documents stay for now; and whether the run
    read every rule in full, which is what lets it compare the whole index with the matches."""

    unmatched: dict[str, dict[str, str]] = field(default_factory=dict)
    held_spaces: set[str] = field(default_factory=set)
    full_read: bool = False


def plan_rule_deletions(
    indexed: IndexedDocuments,
    rules: Collection[str],
    ledger: SyncLedger,
    still_matched: StillMatched,
    spaces_matched: SpacesMatched,
    policy: DeletionPolicy,
    now: datetime,
    noted: Mapping[str, Mapping[str, str]] | None = None,
    spaces_of_others: Collection[str] = (),
    unguarded_spaces: Collection[str] = (),
    content_types: Iterable[str] = CONTENT_TYPES,
    settle: timedelta = UNMATCHED_SETTLE,
) -> RuleDeletionPlan:
    """Under advanced rules, work out which indexed documents of this site go because no rule matches them.

    Only a run that read every rule in full knows the complete set of matches: it compares the index with it. Rules
    are evaluated by CQL search alone, and search lags behind edits (an item saved a moment before can be missing
    from it for a while) or can fail wholesale (an index rebuild), so nothing goes on search's word at one moment:

    * what the read left out is searched for again by id at the end of the run (`still_matched`): an item changed
      during the read is back by then;
    * what search still does not match (deleted, trashed, restricted away, a label removed, a rule narrowed, moved
      out of a rule's reach) is noted (`unmatched`, saved with the sync state) and goes when a search at least
      `settle` later, by any later run, still does not match it (what a run read does not count: several reads,
      such as files read again for their text, follow no rule);
    * too many of those at once (more than the guard's share of the whole site, or all of its content) look like
      search failing rather than content changing, and are kept, as the guard keeps a large share of a space.

    A space's document, noted the same way, goes once its space holds no content and no rule matches the space
    itself (`spaces_matched`), but never all of them at once. Spaces that other pipelines sync into the same index
    are theirs (`spaces_of_others`: a noted document found there since is left to them); `unguarded_spaces` are
    spaces the user's settings just left out (archived ones, `index_archived` turned off): their notes say so, and
    go past the guards when they settle. What a guard kept is not searched for again before the next full read or
    a run allowed to mass-delete (on a large site that could be hundreds of searches every run)."""
    content_types = tuple(content_types)
    noted = dict(noted or {})
    # a space the settings left out stays unguarded until its notes have settled, by later runs too
    unguarded = set(unguarded_spaces) | {str(waiting.get("space")) for waiting in noted.values()
                                         if waiting.get("unguarded")}
    full_read = all(ledger.is_fully_read(rule, doc_type) for rule in rules for doc_type in content_types)
    plan = RuleDeletionPlan(full_read=full_read)
    settled_before = now - settle

    def settled(doc_id: str) -> bool:
        since = _noted_at(noted.get(doc_id))
        return since is not None and since <= settled_before

    def note(doc_id: str, space_key: str, kept_by_guard: bool = False) -> None:
        since = _noted_at(noted.get(doc_id))  # a note that lost its date counts as made now
        kept = {"since": (since or now).isoformat(), "space": space_key}
        if space_key in unguarded:
            kept["unguarded"] = "settings"
        if kept_by_guard:
            kept["kept_by_guard"] = "yes"
        plan.unmatched[doc_id] = kept

    unmatched: dict[str, list[tuple[str, str]]] = defaultdict(list)  # type -> [(id, space key)] to look at
    if full_read:
        matched: set[str] = set()
        for rule in rules:
            for doc_type in (*content_types, "space"):
                matched |= ledger.ids(rule, doc_type)
        for doc_id, space_key, doc_type in indexed.ids(exclude_space_keys=spaces_of_others):
            if doc_id not in matched:
                unmatched[doc_type].append((doc_id, space_key))
    else:
        # between full reads, only what an earlier one noted is looked at again, once it has settled
        due = {doc_id for doc_id, waiting in noted.items() if settled(doc_id)
               and (policy.allow_mass_delete or not waiting.get("kept_by_guard"))}
        for doc_id, waiting in noted.items():
            if doc_id not in due:
                note(doc_id, str(waiting.get("space", "")), bool(waiting.get("kept_by_guard")))
        where = indexed.held(due)  # a document's space now: another pipeline may have written it since
        for doc_id in sorted(due):
            space_key = where.get(doc_id)
            if doc_id in where and space_key not in spaces_of_others:
                unmatched[doc_id.split("-", 1)[0]].append((doc_id, space_key or ""))
        if not unmatched:
            plan.held_spaces = {waiting["space"] for waiting in plan.unmatched.values() if waiting["space"]}
            return plan
    indexed_counts = indexed.counts_by_space_and_type()  # refreshes the index first

    going: list[tuple[str, str, str]] = []  # (id, space key, type): unmatched now and at least `settle` ago
    for doc_type in content_types:
        items = unmatched.get(doc_type, [])
        if not items:
            continue
        again = still_matched(doc_type, [doc_id for doc_id, _ in items])
        if again:
            logger.info("Kept %d %s document(s) that an advanced rule matches again (search had not indexed them "
                        "again when they were read)", len(again), doc_type)
            plan.held_spaces.update(space_key for doc_id, space_key in items if doc_id in again)
        for doc_id, space_key in items:
            if doc_id in again:
                continue
            if settled(doc_id):
                going.append((doc_id, space_key, doc_type))
            else:
                note(doc_id, space_key)

    def ours(space_key: str) -> bool:
        return space_key not in spaces_of_others

    guarded = [item for item in going if item[1] not in unguarded]
    site_total = sum(count for (space_key, _), count in indexed_counts.items() if ours(space_key))
    site_content = sum(count for (space_key, doc_type), count in indexed_counts.items()
                       if ours(space_key) and doc_type in content_types)
    # all of the content at once, however little, is what a search answering nothing looks like
    if guarded and (not policy.allows(len(guarded), site_total)
                    or (len(guarded) >= site_content and not policy.allow_mass_delete)):
        plan.refused.append(RefusedSpace("(no longer matched by the rules, all spaces)", len(guarded), site_total))
        logger.error("Mass-delete guard: keeping %d documents that no advanced rule has matched for %s (of %d "
                     "indexed): search may be failing", len(guarded), settle, site_total)
        for doc_id, space_key, _ in guarded:
            note(doc_id, space_key, kept_by_guard=True)
        going = [item for item in going if item[1] in unguarded]
    candidates: dict[str, list[tuple[str, str]]] = defaultdict(list)  # space key -> [(id, type)]
    for doc_id, space_key, doc_type in going:
        candidates[space_key].append((doc_id, doc_type))

    space_docs = unmatched.get("space", [])
    kept = _add_emptied_spaces(candidates, indexed_counts, [item for item in space_docs if settled(item[0])],
                               spaces_matched, content_types, policy.allow_mass_delete or bool(unguarded))
    if kept is not None:
        plan.refused.append(kept)
    _guarded(candidates, indexed_counts, unguarded, policy, plan)
    for refused in plan.refused:  # what the guard kept stays, and stays noted with its first date
        if refused.space_key in candidates:
            plan.held_spaces.add(refused.space_key)
        for doc_id, _ in candidates.get(refused.space_key, []):
            note(doc_id, refused.space_key, kept_by_guard=True)
    deleted = set(plan.delete_ids)
    for doc_id, space_key in space_docs:  # a space's document waits for the last of its content
        if doc_id not in deleted:
            note(doc_id, space_key)
    plan.held_spaces.update(waiting["space"] for waiting in plan.unmatched.values() if waiting["space"])
    if plan.delete_ids:
        logger.info("Deleting %d document(s) that no advanced rule matches any more (%s)", len(plan.delete_ids),
                    ", ".join(f"{count} {doc_type}" for doc_type, count in sorted(plan.by_type.items())))
    if plan.unmatched:
        logger.info("%d document(s) that no advanced rule matches now go once a search %s after they were first found "
                    "so still matches none of them", len(plan.unmatched), settle)
    return plan


def _noted_at(note: Mapping[str, str] | None) -> datetime | None:
    """When a run first found a noted document unmatched; None for no note, or one without a readable date."""
    if not note:
        return None
    try:
        return parse_instant(str(note.get("since")))
    except ValueError:
        return None


def _add_emptied_spaces(candidates: dict[str, list[tuple[str, str]]], indexed_counts: Mapping[tuple[str, str], int],
                        space_docs: list[tuple[str, str]], spaces_matched: SpacesMatched,
                        content_types: tuple[str, ...], allow_all: bool) -> RefusedSpace | None:
    """Add the space documents (noted long enough) whose space keeps no content in the index once the candidates go
    and that no rule matches (asked only when there are such spaces); never every space document at once, which is
    what a search answering nothing looks like, unless `allow_all`: that is a refusal of the mass-delete guard,
    returned for the plan."""
    def content_left(space_key: str) -> int:
        held = sum(indexed_counts.get((space_key, doc_type), 0) for doc_type in content_types)
        return held - len(candidates.get(space_key, ()))

    emptied = [(doc_id, space_key) for doc_id, space_key in space_docs if content_left(space_key) <= 0]
    kept_spaces = spaces_matched() if emptied else set()
    going = [(doc_id, space_key) for doc_id, space_key in emptied if space_key not in kept_spaces]
    all_spaces = sum(count for (_, doc_type), count in indexed_counts.items() if doc_type == "space")
    if going and len(going) >= all_spaces and not allow_all:
        logger.error("Mass-delete guard: keeping the documents of all %d spaces, which no advanced rule matches any "
                     "more: search may be failing", len(going))
        return RefusedSpace("(space documents no longer matched by the rules, all spaces)", len(going), all_spaces)
    for doc_id, space_key in going:
        candidates[space_key].append((doc_id, "space"))
    return None


def _guarded(candidates: Mapping[str, list[tuple[str, str]]], indexed_counts: Mapping[tuple[str, str], int],
             unguarded_spaces: Collection[str], policy: DeletionPolicy, plan: DeletionPlan) -> None:
    """Move the candidates into the plan, space by space, where the mass-delete guard lets them go."""
    space_totals: dict[str, int] = defaultdict(int)
    for (space_key, _), count in indexed_counts.items():
        space_totals[space_key] += count

    for space_key, docs in sorted(candidates.items()):
        if space_key not in unguarded_spaces and not policy.allows(len(docs), space_totals.get(space_key, len(docs))):
            plan.refused.append(RefusedSpace(space_key, len(docs), space_totals.get(space_key, len(docs))))
            logger.error("Mass-delete guard: keeping %d documents of space %s", len(docs), space_key)
            continue
        for doc_id, doc_type in docs:
            plan.delete_ids.append(doc_id)
            plan.by_type[doc_type] = plan.by_type.get(doc_type, 0) + 1


def _hold_back_short_listings(listed: Mapping[tuple[str, str], int], candidates: dict[str, list[tuple[str, str]]],
                              count_total: CountTotal, known_counts: Mapping[tuple[str, str], int],
                              plan: DeletionPlan, overridden: bool = False) -> None:
    """Keep what a listing that ended early would delete. A server that ends a listing without saying so (no next
    link, no error) looks exactly like one that has no more items; where pages or blog posts are about to be deleted,
    Confluence's count of the scope (asked only then, unless the count check already did) must not exceed what was
    listed. A gap that lasts (search counting something its listings never show) would keep those documents for
    good, so `overridden` (`--allow-mass-delete`) lets the deletions through, with a warning."""
    for (space_key, doc_type), listed_count in sorted(listed.items()):
        if doc_type not in COUNT_CHECKED_TYPES:
            continue
        doomed = [item for item in candidates.get(space_key, []) if item[1] == doc_type]
        if not doomed:
            continue
        counted = known_counts.get((space_key, doc_type))
        if counted is None:
            counted = count_total([space_key], [doc_type])
        if counted <= listed_count:
            continue
        if overridden:
            logger.warning("Deleting %d %s document(s) of space %s although Confluence counts %d there and its listing "
                           "returned %d (--allow-mass-delete)", len(doomed), doc_type, space_key, counted, listed_count)
            continue
        candidates[space_key] = [item for item in candidates[space_key] if item[1] != doc_type]
        plan.short_listings.append(ShortListing(space_key, doc_type, listed_count, counted, len(doomed)))
        logger.warning("Kept %d %s document(s) of space %s: Confluence counts %d there, but its listing returned %d; "
                       "the next run checks again (where this lasts, a run with --allow-mass-delete deletes them)",
                       len(doomed), doc_type, space_key, counted, listed_count)


def _note_unindexed(plan: DeletionPlan, space_key: str, doc_type: str, missing: Iterable[str], seen: Collection[str],
                    tried: Collection[str]) -> None:
    """Note listed items that are missing from the index (`missing`) for the next run to read. Those an earlier
    note already sent to be read (`tried`) go to `unreadable` instead: search did not return them, or Elasticsearch
    refused them, and reading them again at once would not change that. Of the others, what this run read itself
    (`seen`) and the index still lacks was refused: it is left out, and only read again if a later count finds it
    missing. Items created after this run's read are noted too; the next run's change window brings them anyway, and
    it does not read anything twice."""
    for document_id in sorted(missing):
        if document_id in tried:
            plan.unreadable[doc_type][document_id.split("-", 1)[1]] = space_key
        elif document_id not in seen:
            plan.unindexed[doc_type][document_id.split("-", 1)[1]] = space_key


def _confirmed_gone(doomed: list[str], space_key: str, doc_type: str, confirm_gone: ConfirmGone | None) -> list[str]:
    """Of the indexed ids a read or listing left out, those `confirm_gone` (where given) says are gone."""
    if not doomed or confirm_gone is None:
        return doomed
    gone = confirm_gone(space_key, doc_type, doomed)
    return [doc_id for doc_id in doomed if doc_id in gone]


def _collect(indexed: IndexedDocuments, space_key: str, doc_type: str, current: set[str],
             candidates: dict[str, list[tuple[str, str]]]) -> list[str]:
    """Add the indexed ids of one scope that Confluence no longer lists; returns every indexed id of the scope."""
    held: list[str] = []
    for doc_id, _, _ in indexed.ids(space_key=space_key, doc_types=[doc_type]):
        held.append(doc_id)
        if doc_id not in current:
            candidates[space_key].append((doc_id, doc_type))
    return held


def _scopes_with_other_counts(
    scopes: list[tuple[str, str]], indexed_counts: Mapping[tuple[str, str], int], count_total: CountTotal,
    known_counts: dict[tuple[str, str], int] | None = None,
) -> list[tuple[str, str]]:
    """The scopes whose Confluence count differs from the index, found top-down: all scopes in one count, then per
    type, then by halving the spaces of a disagreeing type: one half is counted and the other half's count is the
    rest, so one space out of N that lost documents costs about log2(N) counts instead of N. Where Confluence counts
    more than the index holds (items created since this run read them), halves can cancel out, so that type's spaces
    are counted one by one. (A surplus and a loss that cancel out within one counted part, or within the type's own
    count, stay unseen until the next run has indexed the new items: what is deleted always comes from an id
    listing, so counts can only delay a deletion or list a scope for nothing.)"""
    if not scopes:
        return []

    def counted(group: list[tuple[str, str]]) -> int:
        total = count_total(sorted({space for space, _ in group}), sorted({doc_type for _, doc_type in group}))
        if known_counts is not None and len(group) == 1:
            known_counts[group[0]] = total  # kept for `_hold_back_short_listings`
        return total

    def indexed_total(group: list[tuple[str, str]]) -> int:
        # a group is a full cross product of its spaces and types, so the indexed side sums every pair in it
        return sum(indexed_counts.get(scope, 0) for scope in _cross_product(group))

    def one_by_one(group: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [scope for scope in group if counted([scope]) != indexed_counts.get(scope, 0)]

    def differing_within(group: list[tuple[str, str]], confluence_total: int) -> list[tuple[str, str]]:
        """`group`: scopes of one type whose Confluence total is known."""
        in_index = indexed_total(group)
        if confluence_total == in_index:
            return []
        if len(group) == 1:
            return group
        if confluence_total > in_index:
            # Confluence holds items the index does not (created since this run read them): a surplus in one space can
            # hide a loss in another within any part, so each space is counted on its own
            return one_by_one(group)
        left, right = group[: len(group) // 2], group[len(group) // 2 :]
        left_total = counted(left)
        right_total = confluence_total - left_total
        if left_total > indexed_total(left) or right_total > indexed_total(right):
            return one_by_one(group)  # the same surplus, found in one half
        return differing_within(left, left_total) + differing_within(right, right_total)

    # one count for everything, when the unsettled scopes form a full grid (else settled scopes would be counted too)
    if set(_cross_product(scopes)) == set(scopes) and counted(scopes) == indexed_total(scopes):
        return []
    differing: list[tuple[str, str]] = []
    for doc_type in sorted({doc_type for _, doc_type in scopes}):
        of_type = sorted(scope for scope in scopes if scope[1] == doc_type)
        differing.extend(differing_within(of_type, counted(of_type)))
    return differing


def _cross_product(scopes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    spaces = sorted({space for space, _ in scopes})
    types = sorted({doc_type for _, doc_type in scopes})
    return [(space, doc_type) for space in spaces for doc_type in types]
