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
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Collection, Iterable, Mapping

from . import settings as defaults
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
                    _collect(indexed, space_key, doc_type, seen, candidates)
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
    for space_key, doc_type in to_list:
        if indexed_counts.get((space_key, doc_type), 0) == 0 and not all_seen_indexed:
            continue  # nothing indexed there, so nothing to delete (and its count was not asked: maybe nothing to read)
        current = set(iter_current_ids(space_key, doc_type))
        plan.listed_scopes.append((space_key, doc_type))
        left_out: dict[str, list[tuple[str, str]]] = defaultdict(list)
        held = _collect(indexed, space_key, doc_type, current, left_out)
        doomed = [doc_id for doc_id, _ in left_out[space_key]]
        _note_unindexed(plan, space_key, doc_type, current.difference(held), ledger.ids(space_key, doc_type), tried)
        if doomed and confirm_gone is not None:
            gone = confirm_gone(space_key, doc_type, doomed)
            doomed = [doc_id for doc_id in doomed if doc_id in gone]
        candidates[space_key].extend((doc_id, doc_type) for doc_id in doomed)
        listed[(space_key, doc_type)] = len(current)
    _hold_back_short_listings(listed, candidates, count_total, known_counts, plan, policy.allow_mass_delete)

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
    return plan


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
    refused them, and reading them again at once would not change that. Of the others, what this run read itself (`seen`)
    and the index still lacks was refused: it is left out, and only read again if a later count finds it missing.
    Items created after this run's read are noted too; the next run's change window brings them anyway, and it
    does not read anything twice."""
    for document_id in sorted(missing):
        if document_id in tried:
            plan.unreadable[doc_type][document_id.split("-", 1)[1]] = space_key
        elif document_id not in seen:
            plan.unindexed[doc_type][document_id.split("-", 1)[1]] = space_key


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
