"""Deletions under advanced rules, planned against a real Elasticsearch index with the Confluence side replaced by
recording fakes (the index and site set-up are those of `test_deletions`): a run that read every rule in full
compares the index with what the rules matched; what search does not match again at the end of the run is noted,
and goes once a search at least an hour later still does not match it; a space's document goes with the last of its
content; the mass-delete guard, also over the whole site, and other pipelines' spaces apply."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from elasticsearch import Elasticsearch

from confluence_source.deletions import (CONTENT_TYPES, UNMATCHED_SETTLE, DeletionPolicy, RuleDeletionPlan,
                                         plan_rule_deletions)
from confluence_source.sync_state import SyncLedger

from .test_deletions import OTHER_SITE, Site, index  # noqa: F401  (`index` is a fixture)

RULES = ('label = "runbook"', 'space = "BETA" and type = page')
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
SETTLED = (NOW - UNMATCHED_SETTLE - timedelta(minutes=1)).isoformat()
FRESH = (NOW - UNMATCHED_SETTLE + timedelta(minutes=5)).isoformat()


class RuleSearch:
    """Search as the end of a run sees it: what it matches when asked again by id, the spaces a rule matches itself;
    and every question asked."""

    def __init__(self, matched_now: Iterable[str] = (), spaces: Iterable[str] = ()) -> None:
        self.matched_now = set(matched_now)
        self.spaces = set(spaces)
        self.asked: list[tuple[str, list[str]]] = []
        self.space_questions = 0

    def still_matched(self, doc_type: str, document_ids: list[str]) -> set[str]:
        self.asked.append((doc_type, sorted(document_ids)))
        return self.matched_now.intersection(document_ids)

    def spaces_matched(self) -> set[str]:
        self.space_questions += 1
        return set(self.spaces)


def ledger_of_full_read(site: Site, left_out: Iterable[str] = (), rules: Iterable[str] = RULES,
                        partial: tuple[str, str] | None = None) -> SyncLedger:
    """A ledger as a run that read every rule in full leaves it: every indexed document of the site (content and
    spaces, attributed to the first rule) except `left_out`; `partial` (rule, type) is left not fully read."""
    ledger = SyncLedger()
    rules = list(rules)
    skipped = set(left_out)
    for (space, doc_type), ids in site.docs.items():
        for doc_id in ids:
            if doc_id not in skipped:
                ledger.saw(rules[0], doc_type, doc_id)
    for doc_id, _, doc_type in site.indexed.ids(doc_types=["space"]):
        if doc_id not in skipped:
            ledger.saw(rules[0], doc_type, doc_id)
    for rule in rules:
        for doc_type in CONTENT_TYPES:
            if (rule, doc_type) != partial:
                ledger.mark_fully_read(rule, doc_type)
    return ledger


def plan(site: Site, ledger: SyncLedger, search: RuleSearch, policy: DeletionPolicy | None = None,
         noted: dict[str, dict[str, str]] | None = None, spaces_of_others: Iterable[str] = ()) -> RuleDeletionPlan:
    return plan_rule_deletions(site.indexed, rules=RULES, ledger=ledger, still_matched=search.still_matched,
                               spaces_matched=search.spaces_matched,
                               policy=policy or DeletionPolicy(), now=NOW, noted=noted,
                               spaces_of_others=set(spaces_of_others))


def space_doc(site: Site, space_key: str) -> str:
    return next(doc_id for doc_id, key, _ in site.indexed.ids(doc_types=["space"]) if key == space_key)


def note(since: str, space: str) -> dict[str, str]:
    return {"since": since, "space": space}


def test_between_full_reads_only_settled_notes_are_looked_at_again(es: Elasticsearch, index: str) -> None:
    site = Site(es, index)
    fresh = site.docs[("ALPHA", "page")][0]
    partial = ledger_of_full_read(site, [fresh], partial=(RULES[1], "comment"))  # an incremental run
    scans = len(site.indexed.id_scans)
    search = RuleSearch()

    nothing = plan(site, partial, search)
    waiting = plan(site, partial, search, noted={fresh: note(FRESH, "ALPHA")})

    assert nothing.delete_ids == [] and nothing.unmatched == {}
    assert waiting.delete_ids == [] and waiting.unmatched == {fresh: note(FRESH, "ALPHA")}
    assert waiting.held_spaces == {"ALPHA"}
    assert search.asked == [] and len(site.indexed.id_scans) == scans


def test_a_full_read_notes_what_search_does_not_match_again_and_deletes_nothing_yet(es: Elasticsearch,
                                                                                     index: str) -> None:
    site = Site(es, index)
    trashed = site.docs[("ALPHA", "page")][:2]
    caught_up = site.docs[("BETA", "comment")][0]  # changed during the read: search had not indexed it again yet
    unlabelled = site.docs[("GAMMA", "attachment")][0]
    search = RuleSearch(matched_now=[caught_up])

    result = plan(site, ledger_of_full_read(site, [*trashed, caught_up, unlabelled]), search)

    assert result.delete_ids == [] and result.refused == []
    assert result.unmatched == {**{doc_id: note(NOW.isoformat(), "ALPHA") for doc_id in trashed},
                                unlabelled: note(NOW.isoformat(), "GAMMA")}
    assert result.held_spaces == {"ALPHA", "BETA", "GAMMA"}
    # search asked once per type that has candidates, about those candidates only; no space emptied
    assert sorted(search.asked) == [("attachment", [unlabelled]), ("comment", [caught_up]), ("page", sorted(trashed))]
    assert search.space_questions == 0


def test_a_noted_document_goes_once_a_search_an_hour_later_still_does_not_match_it(es: Elasticsearch,
                                                                                   index: str) -> None:
    site = Site(es, index)
    unlabelled, matched_again, read_by_id, fresh, moved, removed = site.docs[("ALPHA", "page")][:6]
    noted = {doc_id: note(SETTLED, "ALPHA") for doc_id in (unlabelled, matched_again, read_by_id, moved, removed)}
    noted[fresh] = note(FRESH, "ALPHA")
    # since noted: `moved` was written into GAMMA by the pipeline that syncs it, `removed` deleted from the index
    es.update(index=index, id=moved, doc={"space_key": "GAMMA"}, refresh=True)
    es.delete(index=index, id=removed, refresh=True)
    # an incremental run, which read `read_by_id` again by id (a file's text, say): that follows no rule
    ledger = ledger_of_full_read(site, [unlabelled, matched_again, fresh, moved, removed], partial=(RULES[0], "page"))
    search = RuleSearch(matched_now=[matched_again])

    result = plan(site, ledger, search, noted=noted, spaces_of_others=["GAMMA"])

    assert sorted(result.delete_ids) == sorted([unlabelled, read_by_id]) and result.refused == []
    assert result.unmatched == {fresh: note(FRESH, "ALPHA")}
    assert search.asked == [("page", sorted([unlabelled, matched_again, read_by_id]))]

    again = plan(site, ledger_of_full_read(site, [unlabelled, fresh]), RuleSearch(), noted=noted)  # a full read
    assert again.delete_ids == [unlabelled] and again.unmatched == {fresh: note(FRESH, "ALPHA")}


def test_a_note_that_lost_its_date_counts_as_made_now(es: Elasticsearch, index: str) -> None:
    site = Site(es, index)
    undated, unreadable = site.docs[("ALPHA", "page")][:2]
    noted = {undated: {"space": "ALPHA"}, unreadable: note("last tuesday", "ALPHA")}

    result = plan(site, ledger_of_full_read(site, [undated, unreadable]), RuleSearch(), noted=noted)

    assert result.delete_ids == []
    assert result.unmatched == {undated: note(NOW.isoformat(), "ALPHA"), unreadable: note(NOW.isoformat(), "ALPHA")}


def test_many_documents_unmatched_at_once_look_like_failing_search_and_stay_noted(es: Elasticsearch,
                                                                                 index: str) -> None:
    site = Site(es, index)
    everything = [doc_id for ids in site.docs.values() for doc_id in ids]
    noted = {doc_id: note(SETTLED, space) for (space, _), ids in site.docs.items() for doc_id in ids}
    ledger = ledger_of_full_read(site, everything)  # search matched nothing, an hour ago and now

    result = plan(site, ledger, RuleSearch(), noted=noted)
    assert result.delete_ids == []
    assert result.unmatched == {doc_id: {**kept, "kept_by_guard": "yes"} for doc_id, kept in noted.items()}
    assert [refused.would_delete for refused in result.refused] == [len(everything)]
    assert "--allow-mass-delete" in result.refusal_message()

    # the runs that follow do not search for them again (hundreds of searches on a large site), until one may delete
    incremental = ledger_of_full_read(site, everything, partial=(RULES[0], "page"))
    search = RuleSearch()
    waiting = plan(site, incremental, search, noted=result.unmatched)
    assert waiting.delete_ids == [] and waiting.unmatched == result.unmatched and search.asked == []
    allowed = plan(site, incremental, search, noted=result.unmatched, policy=DeletionPolicy(allow_mass_delete=True))
    assert set(allowed.delete_ids) == set(everything) and allowed.unmatched == {}


def test_even_a_small_index_keeps_its_content_when_no_rule_matches_any_of_it(es: Elasticsearch, index: str) -> None:
    site = Site(es, index, sizes={"page": 2, "comment": 1}, spaces=("ALPHA",))
    everything = [doc_id for ids in site.docs.values() for doc_id in ids]
    noted = {doc_id: note(SETTLED, "ALPHA") for doc_id in everything}
    one_page = {everything[0]: noted[everything[0]]}
    ledger = ledger_of_full_read(site, everything)
    assert len(everything) < DeletionPolicy().min_count

    assert plan(site, ledger, RuleSearch(), noted=noted).delete_ids == []
    assert plan(site, ledger, RuleSearch(), noted=one_page).delete_ids == [everything[0]]


def test_a_space_document_goes_with_the_last_of_its_content_unless_a_rule_matches_the_space(
        es: Elasticsearch, index: str) -> None:
    site = Site(es, index, sizes={"page": 4, "comment": 2})
    alpha = [doc_id for (space, _), ids in site.docs.items() if space == "ALPHA" for doc_id in ids]
    beta = [doc_id for (space, _), ids in site.docs.items() if space == "BETA" for doc_id in ids]
    gamma_pages = site.docs[("GAMMA", "page")][:2]
    left_out = [*alpha, space_doc(site, "ALPHA"), *beta, space_doc(site, "BETA"), *gamma_pages,
                space_doc(site, "GAMMA")]  # GAMMA's space document left out, yet GAMMA keeps content
    search = RuleSearch(spaces=["BETA"])  # `type = space` matches BETA itself
    noted = {doc_id: note(SETTLED, space) for space, ids in (("ALPHA", alpha), ("BETA", beta), ("GAMMA", gamma_pages))
             for doc_id in [*ids, space_doc(site, space)]}

    result = plan(site, ledger_of_full_read(site, left_out), search, policy=DeletionPolicy(allow_mass_delete=True),
                  noted=noted)

    assert sorted(result.delete_ids) == sorted([*alpha, space_doc(site, "ALPHA"), *beta, *gamma_pages])
    assert result.by_type["space"] == 1
    assert search.space_questions == 1


def test_space_documents_never_all_go_at_once(es: Elasticsearch, index: str) -> None:
    """Spaces a `type = space` rule matched, holding no content: search answering nothing would leave them all out."""
    site = Site(es, index, sizes={"page": 1})
    for ids in site.docs.values():
        for doc_id in ids:
            es.delete(index=index, id=doc_id, refresh=True)
    spaces = [space_doc(site, key) for key in ("ALPHA", "BETA", "GAMMA")]
    ledger = ledger_of_full_read(site, spaces)

    every_one = plan(site, ledger, RuleSearch(), noted={doc_id: note(SETTLED, "") for doc_id in spaces})
    one = plan(site, ledger, RuleSearch(), noted={spaces[0]: note(SETTLED, "ALPHA")})

    assert every_one.delete_ids == [] and set(every_one.unmatched) == set(spaces)  # kept, and still noted
    assert [refused.would_delete for refused in every_one.refused] == [3]  # a refusal: the run exits 3
    assert one.delete_ids == [spaces[0]] and not one.refused


def test_the_mass_delete_guard_holds_back_a_space_losing_a_large_share(es: Elasticsearch, index: str) -> None:
    site = Site(es, index, sizes={"page": 60, "comment": 5})
    alpha_pages = site.docs[("ALPHA", "page")][:30]  # most of a space trashed
    beta_comment = site.docs[("BETA", "comment")][:1]
    ledger = ledger_of_full_read(site, [*alpha_pages, *beta_comment])
    search = RuleSearch()
    noted = {doc_id: note(SETTLED, "ALPHA") for doc_id in alpha_pages} | {beta_comment[0]: note(SETTLED, "BETA")}

    result = plan(site, ledger, search, noted=noted)
    assert result.delete_ids == beta_comment
    assert [(refused.space_key, refused.would_delete, refused.indexed) for refused in result.refused] == [
        ("ALPHA", 30, 66)]
    assert "ALPHA" in result.held_spaces
    # still noted, with their date
    assert result.unmatched == {doc_id: {**noted[doc_id], "kept_by_guard": "yes"} for doc_id in alpha_pages}

    allowed = plan(site, ledger, search, policy=DeletionPolicy(allow_mass_delete=True), noted=noted)
    assert sorted(allowed.delete_ids) == sorted([*alpha_pages, *beta_comment])


def test_spaces_the_settings_just_left_out_go_past_the_guards(es: Elasticsearch, index: str) -> None:
    """`index_archived` turned off: the documents of archived spaces go like those of a space taken out of `spaces`."""
    site = Site(es, index, sizes={"page": 60, "comment": 5})
    gamma = [doc_id for (space, _), ids in site.docs.items() if space == "GAMMA" for doc_id in ids]
    noted = {doc_id: note(SETTLED, "GAMMA") for doc_id in gamma}
    ledger = ledger_of_full_read(site, gamma)

    assert plan(site, ledger, RuleSearch(), noted=noted).delete_ids == []
    # the run after the setting changed notes them, saying why; the run an hour later lets them go past the guards
    first = plan_rule_deletions(site.indexed, rules=RULES, ledger=ledger, still_matched=RuleSearch().still_matched,
                                spaces_matched=RuleSearch().spaces_matched, policy=DeletionPolicy(), now=NOW,
                                unguarded_spaces={"GAMMA"})
    assert first.delete_ids == [] and set(first.unmatched) == set(gamma)
    assert {kept["unguarded"] for kept in first.unmatched.values()} == {"settings"}
    settled = {doc_id: {**kept, "since": SETTLED} for doc_id, kept in first.unmatched.items()}
    later = plan(site, ledger_of_full_read(site, gamma, partial=(RULES[0], "page")), RuleSearch(), noted=settled)
    assert sorted(later.delete_ids) == sorted(gamma) and later.refused == [] and later.unmatched == {}


def test_spaces_another_pipeline_syncs_into_the_index_are_left_to_it(es: Elasticsearch, index: str) -> None:
    site = Site(es, index)
    gamma = [doc_id for (space, _), ids in site.docs.items() if space == "GAMMA" for doc_id in ids]
    alpha_page = site.docs[("ALPHA", "page")][0]
    gamma_page = site.docs[("GAMMA", "page")][0]
    search = RuleSearch()

    result = plan(site, ledger_of_full_read(site, [*gamma, space_doc(site, "GAMMA"), alpha_page]), search,
                  noted={gamma_page: note(SETTLED, "GAMMA"), alpha_page: note(SETTLED, "ALPHA")},
                  spaces_of_others=["GAMMA"])

    assert result.delete_ids == [alpha_page] and result.refused == [] and result.unmatched == {}
