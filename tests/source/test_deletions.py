"""Deletion planning against a real Elasticsearch index, with only the Confluence side replaced by recording fakes.

The index is created with the destination's own mapping and holds small documents (id, type, space_key, site_url),
including documents of another site that must never be touched. The fake Confluence answers `count_total` and
`iter_current_ids` from one set of "current" ids, so what it reports is derived from the same data the index was
filled from, and every call is recorded: the point of the count narrowing is to ask Confluence as little as possible.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch, helpers

from confluence_source.deletions import CONTENT_TYPES, DeletionPolicy, plan_deletions
from confluence_source.sync_state import IndexedDocuments, SyncLedger
from destinations.es_indices import create_index_if_missing
from destinations.es_mapping import content_index_mappings, content_index_settings
from destinations.es_retry import RetryPolicy
from tests.es_helpers import delete_indices, unique_index_name

SITE = "https://wiki.example.test"
OTHER_SITE = "https://other.example.test"
SPACES = ("ALPHA", "BETA", "GAMMA")

_ids = itertools.count(1000)


@pytest.fixture
def index(request: pytest.FixtureRequest, es: Elasticsearch) -> Iterator[str]:
    """A fresh content index per test, created the way the destination creates it, deleted afterwards."""
    name = unique_index_name(request, "test-deletions")
    create_index_if_missing(es, name, content_index_mappings(), content_index_settings(), RetryPolicy(max_retries=2))
    yield name
    delete_indices(es, name)


def make_docs(space_key: str, doc_type: str, count: int, site_url: str = SITE) -> list[dict[str, str]]:
    return [
        {"id": f"{doc_type}-{next(_ids)}", "type": doc_type, "space_key": space_key, "site_url": site_url}
        for _ in range(count)
    ]


def index_docs(es: Elasticsearch, index: str, docs: Iterable[dict[str, str]]) -> None:
    actions = ({"_index": index, "_id": doc["id"], "_source": doc} for doc in docs)
    helpers.bulk(es, actions, refresh=True)


class FakeConfluence:
    """The Confluence side of deletion planning: current ids per (space, type), and a log of every question."""

    def __init__(self, current: dict[tuple[str, str], set[str]]) -> None:
        self.current = current
        self.count_calls: list[tuple[list[str], list[str]]] = []
        self.list_calls: list[tuple[str, str]] = []
        self.fail_listing: Exception | None = None

    def count_total(self, space_keys: list[str], types: list[str]) -> int:
        self.count_calls.append((list(space_keys), list(types)))
        return sum(len(self.current.get((space, doc_type), ())) for space in space_keys for doc_type in types)

    def iter_current_ids(self, space_key: str, doc_type: str) -> Iterator[str]:
        self.list_calls.append((space_key, doc_type))
        ids = sorted(self.current.get((space_key, doc_type), ()))
        yield from ids[: len(ids) // 2]
        if self.fail_listing is not None:
            raise self.fail_listing
        yield from ids[len(ids) // 2:]


class RecordingIndexedDocuments(IndexedDocuments):
    """The real index queries, with a record of every id scan (to prove which scans were avoided)."""

    def __init__(self, client: Elasticsearch, index: str, site_url: str) -> None:
        super().__init__(client, index, site_url)
        self.id_scans: list[dict[str, Any]] = []

    def ids(self, space_key: str | None = None, doc_types: Iterable[str] | None = None,
            exclude_space_keys: Iterable[str] | None = None) -> Iterator[tuple[str, str, str]]:
        self.id_scans.append({"space_key": space_key, "doc_types": None if doc_types is None else list(doc_types),
                              "exclude_space_keys": exclude_space_keys})
        return super().ids(space_key=space_key, doc_types=doc_types, exclude_space_keys=exclude_space_keys)

    def scoped_scans(self) -> list[tuple[str, list[str]]]:
        return [(scan["space_key"], scan["doc_types"]) for scan in self.id_scans if scan["space_key"] is not None]


class Site:
    """Indexed documents per (space, type) of the site under test; Confluence starts out identical to the index."""

    def __init__(self, es: Elasticsearch, index: str, sizes: dict[str, int] | None = None,
                 spaces: Iterable[str] = SPACES) -> None:
        sizes = sizes or {"page": 10, "blogpost": 3, "comment": 6, "attachment": 4}
        self.es = es
        self.index = index
        self.docs: dict[tuple[str, str], list[str]] = {}
        all_docs: list[dict[str, str]] = []
        for space in spaces:
            for doc_type, count in sizes.items():
                docs = make_docs(space, doc_type, count)
                self.docs[(space, doc_type)] = [doc["id"] for doc in docs]
                all_docs.extend(docs)
            space_doc = make_docs(space, "space", 1)
            all_docs.extend(space_doc)
        # another site in the same index, with the same space keys: never a candidate for this site's deletions
        for space in spaces:
            all_docs.extend(make_docs(space, "page", 3, site_url=OTHER_SITE))
        all_docs.extend(make_docs("ELSEWHERE", "page", 30, site_url=OTHER_SITE))
        index_docs(es, index, all_docs)
        self.confluence = FakeConfluence({scope: set(ids) for scope, ids in self.docs.items()})
        self.indexed = RecordingIndexedDocuments(es, index, SITE)

    def delete_in_confluence(self, space: str, doc_type: str, count: int = 1) -> list[str]:
        gone = sorted(self.confluence.current[(space, doc_type)])[:count]
        self.confluence.current[(space, doc_type)] -= set(gone)
        return gone

    def ledger_matching_confluence(self, scopes: Iterable[tuple[str, str]]) -> SyncLedger:
        """A ledger as a run that read `scopes` in full would leave it."""
        ledger = SyncLedger()
        for space, doc_type in scopes:
            for doc_id in self.confluence.current.get((space, doc_type), ()):
                ledger.saw(space, doc_type, doc_id)
            ledger.mark_fully_read(space, doc_type)
        return ledger

    def plan(self, ledger: SyncLedger | None = None, synced: Iterable[str] = SPACES, spaces_from_config: bool = True,
             policy: DeletionPolicy | None = None, all_seen_indexed: bool = True,
             confirm_gone=None, tried: frozenset[str] | set[str] = frozenset()):  # type: ignore[no-untyped-def]
        return plan_deletions(
            self.indexed,
            synced_spaces=set(synced),
            spaces_from_config=spaces_from_config,
            ledger=ledger or SyncLedger(),
            count_total=self.confluence.count_total,
            iter_current_ids=self.confluence.iter_current_ids,
            policy=policy or DeletionPolicy(),
            all_seen_indexed=all_seen_indexed,
            confirm_gone=confirm_gone,
            tried=tried,
        )


def test_nothing_deleted_costs_one_count_and_no_listing(es: Elasticsearch, index: str) -> None:
    site = Site(es, index)

    plan = site.plan()

    assert plan.delete_ids == [] and plan.refused == [] and plan.listed_scopes == []
    assert site.confluence.count_calls == [(sorted(SPACES), sorted(CONTENT_TYPES))]
    assert site.confluence.list_calls == []
    assert site.indexed.scoped_scans() == []


def test_one_deleted_page_narrows_to_its_space_and_type(es: Elasticsearch, index: str) -> None:
    site = Site(es, index)
    gone = site.delete_in_confluence("BETA", "page")

    plan = site.plan()

    assert plan.delete_ids == gone
    assert plan.by_type == {"page": 1}
    assert plan.listed_scopes == [("BETA", "page")]
    assert site.confluence.list_calls == [("BETA", "page")]
    calls = site.confluence.count_calls
    assert calls[0] == (sorted(SPACES), sorted(CONTENT_TYPES)), "the first question covers every scope at once"
    # at most: the total, one per type, one per space of the disagreeing type
    assert len(calls) <= 1 + len(CONTENT_TYPES) + len(SPACES)
    per_space = [call for call in calls if len(call[0]) == 1]
    assert per_space and all(types == ["page"] for _, types in per_space), per_space
    assert all(spaces == sorted(SPACES) for spaces, types in calls[1:] if types != ["page"])
    assert site.indexed.scoped_scans() == [("BETA", ["page"])]


def test_what_a_listing_left_out_is_deleted_only_once_confirmed_gone(es: Elasticsearch, index: str) -> None:
    site = Site(es, index)
    gone = site.delete_in_confluence("BETA", "attachment", count=3)
    asked: list[tuple[str, str, list[str]]] = []

    def confirm_gone(space_key: str, doc_type: str, document_ids: list[str]) -> set[str]:
        asked.append((space_key, doc_type, sorted(document_ids)))
        return set(document_ids) - {gone[0]}  # search missed this one: it is still there

    plan = site.plan(confirm_gone=confirm_gone)
    assert asked == [("BETA", "attachment", gone)]
    assert sorted(plan.delete_ids) == gone[1:]
    assert plan.by_type == {"attachment": 2}


def test_items_listed_but_missing_from_the_index_are_noted_for_the_next_run(es: Elasticsearch, index: str) -> None:
    """A comment restored from the trash on its own gets no new version: no change window brings it back, but the
    count sees one more than the index holds, and the listing that follows names it. What this run read itself is
    not noted (the index refused it: reading it again would not help), nor is anything of scopes listed for no
    such reason."""
    site = Site(es, index)
    restored, refused = "comment-77", "comment-78"
    site.confluence.current[("GAMMA", "comment")] |= {restored, refused}
    ledger = SyncLedger()
    ledger.saw("GAMMA", "comment", refused)

    plan = site.plan(ledger=ledger)

    assert plan.delete_ids == [] and plan.listed_scopes == [("GAMMA", "comment")]
    assert plan.unindexed == {"comment": {"77": "GAMMA"}} and plan.unindexed_count() == 1


def test_items_still_missing_after_a_run_tried_to_read_them_are_not_sent_to_be_read_again(
        es: Elasticsearch, index: str) -> None:
    """A noted item that the next run could not bring into the index (search does not return a comment on an
    archived page; Elasticsearch refuses a document) would otherwise be noted, read and missed again run after run:
    once tried, it is set apart as unreadable."""
    site = Site(es, index)
    site.confluence.current[("GAMMA", "comment")] |= {"comment-77", "comment-78", "comment-79"}
    ledger = SyncLedger()
    ledger.saw("GAMMA", "comment", "comment-78")  # sent to be read, read, and refused by Elasticsearch

    plan = site.plan(ledger=ledger, tried={"comment-77", "comment-78"})

    assert plan.unindexed == {"comment": {"79": "GAMMA"}}
    assert plan.unreadable == {"comment": {"77": "GAMMA", "78": "GAMMA"}}


def test_a_scope_the_index_holds_nothing_of_is_listed_when_confluence_counts_items_there(
        es: Elasticsearch, index: str) -> None:
    """The only file of a space restored from the trash: nothing of that scope is indexed, so nothing could be
    deleted, but the listing is what finds the file missing."""
    site = Site(es, index, sizes={"page": 3, "attachment": 0})
    site.confluence.current[("BETA", "attachment")] = {"attachment-att501"}

    plan = site.plan()

    assert plan.listed_scopes == [("BETA", "attachment")]
    assert plan.unindexed == {"attachment": {"att501": "BETA"}}


def test_among_many_spaces_the_one_that_lost_documents_is_found_by_halving(es: Elasticsearch, index: str) -> None:
    """Sixteen spaces, one page gone in one of them: the spaces of the disagreeing type are halved (one half counted,
    the other's count is the rest), four counts instead of sixteen."""
    spaces = [f"S{n:02d}" for n in range(16)]
    site = Site(es, index, sizes={"page": 3, "comment": 2}, spaces=spaces)
    gone = site.delete_in_confluence("S11", "page")

    plan = site.plan(synced=spaces)

    assert plan.delete_ids == gone and plan.listed_scopes == [("S11", "page")]
    calls = site.confluence.count_calls
    types = sorted(CONTENT_TYPES)
    assert calls[:5] == [(spaces, types)] + [(spaces, [doc_type]) for doc_type in types]
    halving, vouching = calls[5:-1], calls[-1]
    assert [space_keys for space_keys, _ in halving] == [spaces[:8], spaces[8:12], spaces[8:10], ["S10"]]
    assert all(doc_types == ["page"] for _, doc_types in halving)
    assert vouching == (["S11"], ["page"])  # the listing that is about to delete a page is checked against a count


def test_items_created_since_the_read_make_the_halving_count_space_by_space(es: Elasticsearch, index: str) -> None:
    """Pages created in Confluence after this run read them (counted there, not yet indexed) can cancel out a lost
    page within a half (S0 +1 and S1 -1 would count as S0-S1 unchanged): where Confluence counts more than the index,
    each space is counted."""
    spaces = ["S0", "S1", "S2", "S3"]
    site = Site(es, index, sizes={"page": 10}, spaces=spaces)
    gone = site.delete_in_confluence("S1", "page")
    site.confluence.current[("S0", "page")].add("page-created-since-1")
    site.confluence.current[("S2", "page")].add("page-created-since-2")

    plan = site.plan(synced=spaces)

    assert plan.delete_ids == gone
    assert sorted(plan.listed_scopes) == [("S0", "page"), ("S1", "page"), ("S2", "page")]


def test_deletions_of_two_types_in_two_spaces_list_only_those_scopes(es: Elasticsearch, index: str) -> None:
    site = Site(es, index)
    gone = site.delete_in_confluence("ALPHA", "comment", 2) + site.delete_in_confluence("GAMMA", "attachment")

    plan = site.plan()

    assert sorted(plan.delete_ids) == sorted(gone)
    assert plan.by_type == {"comment": 2, "attachment": 1}
    assert sorted(site.confluence.list_calls) == [("ALPHA", "comment"), ("GAMMA", "attachment")]


def test_fully_read_scopes_use_the_ledger_without_counting_or_scanning(es: Elasticsearch, index: str) -> None:
    site = Site(es, index)
    ledger = site.ledger_matching_confluence(site.docs)

    plan = site.plan(ledger=ledger)

    assert plan.delete_ids == []
    assert site.confluence.count_calls == [] and site.confluence.list_calls == []
    assert site.indexed.scoped_scans() == [], "ledger size equal to the indexed count needs no id scan"


def test_fully_read_scope_with_a_deletion_is_settled_from_the_ledger(es: Elasticsearch, index: str) -> None:
    site = Site(es, index)
    gone = site.delete_in_confluence("GAMMA", "blogpost")
    ledger = site.ledger_matching_confluence(site.docs)

    plan = site.plan(ledger=ledger)

    assert plan.delete_ids == gone
    assert site.confluence.count_calls == [(["GAMMA"], ["blogpost"])]  # only to vouch for the read before deleting
    assert site.confluence.list_calls == []
    assert site.indexed.scoped_scans() == [("GAMMA", ["blogpost"])]


def test_only_unsettled_scopes_reach_confluence(es: Elasticsearch, index: str) -> None:
    site = Site(es, index)
    gone_alpha = site.delete_in_confluence("ALPHA", "page")
    gone_beta = site.delete_in_confluence("BETA", "page")
    full_scopes = [scope for scope in site.docs if scope[0] == "ALPHA"]  # ALPHA was read in full, the rest changed
    ledger = site.ledger_matching_confluence(full_scopes)

    plan = site.plan(ledger=ledger)

    assert sorted(plan.delete_ids) == sorted(gone_alpha + gone_beta)
    assert site.confluence.list_calls == [("BETA", "page")]
    assert site.confluence.count_calls[0] == (["BETA", "GAMMA"], sorted(CONTENT_TYPES))
    # ALPHA's read vouched for by one count before its page goes, nothing else
    assert [call for call in site.confluence.count_calls if "ALPHA" in call[0]] == [(["ALPHA"], ["page"])]


def test_all_seen_indexed_false_compares_ids_of_fully_read_scopes(es: Elasticsearch, index: str) -> None:
    """A rejected new page and a deleted old page leave the sizes equal; only the id comparison tells them apart."""
    site = Site(es, index)
    gone = site.delete_in_confluence("ALPHA", "page")
    rejected_new_page = "page-rejected-by-elasticsearch"
    site.confluence.current[("ALPHA", "page")].add(rejected_new_page)
    ledger = site.ledger_matching_confluence(site.docs)

    trusting = site.plan(ledger=ledger, all_seen_indexed=True)
    assert trusting.delete_ids == [], "with every document indexed, equal sizes are taken as equal sets"

    site.indexed.id_scans.clear()
    checked = site.plan(ledger=ledger, all_seen_indexed=False)

    assert checked.delete_ids == gone
    assert sorted(site.indexed.scoped_scans()) == sorted((space, [doc_type]) for space, doc_type in site.docs)
    assert site.confluence.count_calls == [(["ALPHA"], ["page"])] and site.confluence.list_calls == []


def test_all_seen_indexed_false_does_not_trust_counts_of_unsettled_scopes(es: Elasticsearch, index: str) -> None:
    site = Site(es, index)
    gone = site.delete_in_confluence("ALPHA", "page")
    site.confluence.current[("ALPHA", "page")].add("page-rejected-by-elasticsearch")

    plan = site.plan(all_seen_indexed=False)

    assert plan.delete_ids == gone


def test_a_settled_scope_in_the_first_count_does_not_hide_a_deletion(es: Elasticsearch, index: str) -> None:
    site = Site(es, index)
    gone = site.delete_in_confluence("BETA", "page")
    # ALPHA pages were read in full; one new page was dead-lettered, so Confluence has one more than the index
    site.confluence.current[("ALPHA", "page")].add("page-rejected-by-elasticsearch")
    ledger = site.ledger_matching_confluence([("ALPHA", "page")])

    plan = site.plan(ledger=ledger, all_seen_indexed=False)

    assert plan.delete_ids == gone


def test_spaces_no_longer_synced_go_unguarded_when_listed_in_config(es: Elasticsearch, index: str) -> None:
    site = Site(es, index)
    gamma = {doc_id for (space, _), ids in site.docs.items() if space == "GAMMA" for doc_id in ids}
    assert len(gamma) > DeletionPolicy().min_count

    plan = site.plan(synced=["ALPHA", "BETA"], spaces_from_config=True)

    assert plan.refused == []
    deleted = set(plan.delete_ids)
    assert gamma < deleted and len(deleted) == len(gamma) + 1, "GAMMA's content and its space document go"
    assert plan.by_type["space"] == 1
    assert all(not doc_id.startswith("page-") or doc_id in gamma for doc_id in deleted)
    assert site.confluence.count_calls == [(["ALPHA", "BETA"], sorted(CONTENT_TYPES))]
    assert site.confluence.list_calls == []


def test_spaces_that_vanished_under_star_are_guarded(es: Elasticsearch, index: str) -> None:
    site = Site(es, index)
    gamma_total = sum(len(ids) for (space, _), ids in site.docs.items() if space == "GAMMA") + 1

    plan = site.plan(synced=["ALPHA", "BETA"], spaces_from_config=False)

    assert plan.delete_ids == []
    assert [(r.space_key, r.would_delete, r.indexed) for r in plan.refused] == [("GAMMA", gamma_total, gamma_total)]
    message = plan.refusal_message()
    assert "GAMMA" in message and f"{gamma_total} of {gamma_total}" in message and "--allow-mass-delete" in message

    allowed = site.plan(synced=["ALPHA", "BETA"], spaces_from_config=False,
                        policy=DeletionPolicy(allow_mass_delete=True))
    assert len(allowed.delete_ids) == gamma_total and allowed.refused == []


def test_small_vanished_space_is_within_the_guard(es: Elasticsearch, index: str) -> None:
    site = Site(es, index, sizes={"page": 3, "comment": 2})

    plan = site.plan(synced=["ALPHA", "BETA"], spaces_from_config=False)

    assert plan.refused == []
    assert len(plan.delete_ids) == 3 + 2 + 1


def test_guard_refuses_a_large_share_and_keeps_other_spaces_deletions(es: Elasticsearch, index: str) -> None:
    site = Site(es, index, sizes={"page": 60, "comment": 5})
    site.delete_in_confluence("ALPHA", "page", 30)  # 30 of 66 documents of ALPHA: above 20 and above 20 %
    gone_beta = site.delete_in_confluence("BETA", "comment")

    plan = site.plan()

    assert plan.delete_ids == gone_beta
    assert [(r.space_key, r.would_delete, r.indexed) for r in plan.refused] == [("ALPHA", 30, 66)]
    message = plan.refusal_message("--allow-mass-delete")
    assert "ALPHA: 30 of 66 documents" in message and "--allow-mass-delete" in message
    assert "SYNC_ALLOW_MASS_DELETE" in plan.refusal_message("SYNC_ALLOW_MASS_DELETE")


def test_guard_allows_a_large_share_with_allow_mass_delete(es: Elasticsearch, index: str) -> None:
    site = Site(es, index, sizes={"page": 60, "comment": 5})
    gone = site.delete_in_confluence("ALPHA", "page", 30)

    plan = site.plan(policy=DeletionPolicy(allow_mass_delete=True))

    assert sorted(plan.delete_ids) == sorted(gone) and plan.refused == []


@pytest.mark.parametrize(
    ("to_delete", "indexed", "allowed"),
    [
        (20, 20, True),  # min_count is always allowed, even the whole space
        (21, 105, True),  # exactly 20 %
        (21, 104, False),  # just over 20 % and over min_count
        (0, 0, True),
    ],
)
def test_policy_threshold(to_delete: int, indexed: int, allowed: bool) -> None:
    assert DeletionPolicy().allows(to_delete, indexed) is allowed
    assert DeletionPolicy(allow_mass_delete=True).allows(to_delete, indexed)


def test_a_failing_listing_propagates(es: Elasticsearch, index: str) -> None:
    site = Site(es, index)
    site.delete_in_confluence("BETA", "page")
    site.confluence.fail_listing = RuntimeError("listing truncated by the server")

    with pytest.raises(RuntimeError, match="listing truncated"):
        site.plan()
    assert site.confluence.list_calls == [("BETA", "page")]


def test_other_sites_documents_are_never_candidates(es: Elasticsearch, index: str) -> None:
    site = Site(es, index)
    for scope in list(site.confluence.current):
        site.confluence.current[scope] = set()  # this site's Confluence is empty now

    plan = site.plan(policy=DeletionPolicy(allow_mass_delete=True))

    indexed_for_site = {doc_id for ids in site.docs.values() for doc_id in ids}
    assert set(plan.delete_ids) == indexed_for_site


def test_a_listing_that_ends_early_without_saying_so_deletes_none_of_its_scope(es: Elasticsearch, index: str) -> None:
    """A server may end a listing early with no error and no next link; it then looks like deleted content. Where
    pages or blog posts would go, Confluence's count must vouch for the listing first."""
    site = Site(es, index)
    gone_beta = site.delete_in_confluence("BETA", "page")
    gone_gamma = site.delete_in_confluence("GAMMA", "blogpost")
    listing = site.confluence.iter_current_ids

    def short_for_beta_pages(space_key: str, doc_type: str) -> Iterator[str]:
        ids = list(listing(space_key, doc_type))
        yield from ids[:-2] if (space_key, doc_type) == ("BETA", "page") else ids

    site.confluence.iter_current_ids = short_for_beta_pages  # type: ignore[method-assign]
    plan = site.plan()

    assert plan.delete_ids == gone_gamma, "the short listing's scope keeps everything, the others go on"
    assert [(short.space_key, short.doc_type) for short in plan.short_listings] == [("BETA", "page")]
    assert (plan.short_listings[0].listed, plan.short_listings[0].counted) == (7, 9)
    assert gone_beta[0] not in plan.delete_ids


def test_allow_mass_delete_lets_a_lasting_short_listing_delete(es: Elasticsearch, index: str) -> None:
    """A gap between search's count and the listing that never closes would otherwise keep those documents for
    good, even through --full-refresh: the user's explicit override lets them go."""
    site = Site(es, index)
    gone = site.delete_in_confluence("BETA", "page", count=2)
    site.confluence.current[("BETA", "page")].add("counted-but-never-listed")  # search counts it, no listing shows it
    listing = site.confluence.iter_current_ids

    def without_the_counted_one(space_key: str, doc_type: str) -> Iterator[str]:
        yield from (doc_id for doc_id in listing(space_key, doc_type) if doc_id != "counted-but-never-listed")

    site.confluence.iter_current_ids = without_the_counted_one  # type: ignore[method-assign]
    assert site.plan().delete_ids == [], "by default the gap keeps them"

    plan = site.plan(policy=DeletionPolicy(allow_mass_delete=True))

    assert sorted(plan.delete_ids) == sorted(gone) and plan.short_listings == []


def test_a_full_read_that_ended_early_deletes_none_of_its_scope(es: Elasticsearch, index: str) -> None:
    site = Site(es, index)
    ledger = SyncLedger()
    for doc_type in ("page", "blogpost"):
        seen = sorted(site.confluence.current[("ALPHA", doc_type)])
        for doc_id in seen[:-1] if doc_type == "page" else seen:  # the page listing lost its last page of items
            ledger.saw("ALPHA", doc_type, doc_id)
        ledger.mark_fully_read("ALPHA", doc_type)

    plan = site.plan(ledger=ledger)

    assert plan.delete_ids == []
    assert [(short.space_key, short.doc_type, short.listed, short.counted) for short in plan.short_listings] == [
        ("ALPHA", "page", 9, 10)]


def test_a_scope_already_counted_on_its_own_is_not_counted_again_to_vouch_for_its_listing(
        es: Elasticsearch, index: str) -> None:
    spaces = ["S0", "S1", "S2", "S3"]
    site = Site(es, index, sizes={"page": 10}, spaces=spaces)
    gone = site.delete_in_confluence("S1", "page", count=2)
    site.confluence.current[("S0", "page")].add("page-created-since")  # a surplus: each space is counted on its own

    plan = site.plan(synced=spaces)

    assert sorted(plan.delete_ids) == sorted(gone)
    single = [call for call in site.confluence.count_calls if call == (["S1"], ["page"])]
    assert single == [(["S1"], ["page"])], site.confluence.count_calls


def test_a_space_that_vanishes_midway_through_its_listings_leaves_nothing_planned(es: Elasticsearch,
                                                                                 index: str) -> None:
    """Its types are listed one by one: when a later listing finds the space gone, what the earlier ones found of it
    (deletions, items to read next run) is dropped too; the other spaces are planned as usual."""
    from confluence_source.errors import SpaceVanishedError

    site = Site(es, index)
    gone = site.delete_in_confluence("ALPHA", "page")
    site.delete_in_confluence("BETA", "blogpost")
    site.confluence.current[("BETA", "page")].add("page-999999")  # in Confluence, not in the index
    listing = site.confluence.iter_current_ids

    def vanishing(space: str, doc_type: str) -> Iterable[str]:
        if (space, doc_type) == ("BETA", "attachment"):
            raise SpaceVanishedError("Space BETA disappeared before the deletion check")
        return listing(space, doc_type)

    site.confluence.iter_current_ids = vanishing  # type: ignore[method-assign]
    plan = site.plan(all_seen_indexed=False)  # no counts: every scope is listed, pages first

    assert {("BETA", "page"), ("BETA", "blogpost")} <= set(site.confluence.list_calls)
    assert plan.delete_ids == gone
    assert not [scope for scope in plan.listed_scopes if scope[0] == "BETA"]
    assert not [space for notes in (plan.unindexed, plan.unreadable) for items in notes.values()
                for space in items.values() if space == "BETA"]
