"""Sync state kept in Elasticsearch (watermarks per site and pipeline) and the index queries deletion planning uses,
against the real test node."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch, helpers

from confluence_source.sync_state import IndexedDocuments, SyncLedger, WatermarkStore, state_index_name
from destinations.es_indices import create_index_if_missing
from destinations.es_mapping import content_index_mappings, content_index_settings
from destinations.es_retry import RetryPolicy
from tests.es_helpers import content_index_definition, delete_indices, unique_index_name

SITE = "https://wiki.example.test"
OTHER_SITE = "https://other.example.test/confluence"


@pytest.fixture
def index(request: pytest.FixtureRequest, es: Elasticsearch) -> Iterator[str]:
    """A unique content index name per test (not created here); it and its state index are deleted afterwards."""
    name = unique_index_name(request, "test-sync-state")
    yield name
    delete_indices(es, name, state_index_name(name))


def test_load_on_a_missing_index_is_empty(es: Elasticsearch, index: str) -> None:
    state = WatermarkStore(es, index, SITE, "confluence_to_es").load()

    assert state.watermarks == {} and state.last_run == {} and state.updated_at is None
    assert not es.indices.exists(index=state_index_name(index)), "loading must not create the state index"


def test_save_and_load_round_trip(es: Elasticsearch, index: str) -> None:
    store = WatermarkStore(es, index, SITE, "confluence_to_es")
    watermarks = {"ENG": "2024-05-01T10:00:00+00:00", "space = \"OPS\" and type = page": "2024-05-02T11:30:00+00:00"}
    last_run = {"mode": "incremental", "documents": {"pages": 12}, "deleted": 1}

    store.save(watermarks, last_run, space_names={"ENG": "Engineering"})
    # a new store object on a new lookup, as the next run on another machine would do
    loaded = WatermarkStore(es, index, SITE, "confluence_to_es").load()

    assert loaded.watermarks == watermarks
    assert loaded.last_run == last_run
    assert loaded.space_names == {"ENG": "Engineering"}
    assert loaded.updated_at is not None and loaded.updated_at.endswith("+00:00")

    store.save({"ENG": "2024-06-01T00:00:00+00:00"}, {"mode": "full"})
    assert WatermarkStore(es, index, SITE, "confluence_to_es").load().watermarks == {
        "ENG": "2024-06-01T00:00:00+00:00"
    }, "saving replaces the document, it does not merge old scopes into it"


def test_each_site_and_pipeline_has_its_own_document(es: Elasticsearch, index: str) -> None:
    stores = {
        (site, pipeline): WatermarkStore(es, index, site, pipeline)
        for site in (SITE, OTHER_SITE)
        for pipeline in ("confluence_to_es", "nightly")
    }
    for number, ((site, pipeline), store) in enumerate(sorted(stores.items())):
        store.save({"SPACE": f"2024-01-0{number + 1}T00:00:00+00:00"}, {"site": site, "pipeline": pipeline})

    for number, ((site, pipeline), _) in enumerate(sorted(stores.items())):
        loaded = WatermarkStore(es, index, site, pipeline).load()
        assert loaded.watermarks == {"SPACE": f"2024-01-0{number + 1}T00:00:00+00:00"}
        assert loaded.last_run == {"site": site, "pipeline": pipeline}
    assert es.count(index=state_index_name(index))["count"] == 4
    # the content index itself holds no state
    assert not es.indices.exists(index=index)


def test_clear_forgets_one_pair_only(es: Elasticsearch, index: str) -> None:
    kept = WatermarkStore(es, index, OTHER_SITE, "confluence_to_es")
    cleared = WatermarkStore(es, index, SITE, "confluence_to_es")
    kept.save({"A": "2024-01-01T00:00:00+00:00"}, {})
    cleared.save({"B": "2024-01-02T00:00:00+00:00"}, {})

    cleared.clear()
    cleared.clear()  # clearing twice (nothing left) is fine

    assert cleared.load().watermarks == {}
    assert kept.load().watermarks == {"A": "2024-01-01T00:00:00+00:00"}


def test_other_pipelines_name_their_spaces_and_whether_rules_choose_their_content(es: Elasticsearch,
                                                                                     index: str) -> None:
    mark = "2024-01-01T00:00:00+00:00"
    WatermarkStore(es, index, SITE, "eng").save({"ENG": mark, "~jane.doe@example.com": mark, "~5b10ac8d82e05b22": mark},
                                               {}, space_names={"ENG": "Engineering"})
    WatermarkStore(es, index, SITE, "runbooks").save({'label="runbook"': mark, "space = OPS": mark}, {},
                                                     space_names={"OPS": "Operations"})
    WatermarkStore(es, index, OTHER_SITE, "elsewhere").save({"type=page": mark}, {})

    others = WatermarkStore(es, index, SITE, "main").other_pipelines()

    assert [(other.name, other.space_keys, other.selects_by_rules) for other in others] == [
        ("eng", ("ENG",), False), ("runbooks", ("OPS",), True)]


def test_clear_on_a_missing_index_is_fine(es: Elasticsearch, index: str) -> None:
    WatermarkStore(es, index, SITE, "confluence_to_es").clear()
    assert WatermarkStore(es, index, SITE, "confluence_to_es").load().watermarks == {}


def _content(doc_id: str, doc_type: str, space_key: str, site_url: str = SITE) -> dict[str, str]:
    return {"id": doc_id, "type": doc_type, "space_key": space_key, "site_url": site_url}


@pytest.fixture
def filled_index(es: Elasticsearch, index: str) -> str:
    create_index_if_missing(es, index, content_index_mappings(), content_index_settings(), RetryPolicy(max_retries=2))
    docs = [
        *(_content(f"page-{n}", "page", "ENG") for n in range(5)),
        *(_content(f"comment-{n}", "comment", "ENG") for n in range(3)),
        _content("space-1", "space", "ENG"),
        *(_content(f"page-{n}", "page", "OPS") for n in range(100, 102)),
        _content("attachment-att7", "attachment", "OPS"),
        *(_content(f"blogpost-{n}", "blogpost", "HR") for n in range(4)),
        # the same keys on another site: never counted or listed for SITE
        *(_content(f"page-{n}", "page", "ENG", OTHER_SITE) for n in range(900, 907)),
        _content("blogpost-999", "blogpost", "LEGAL", OTHER_SITE),
    ]
    # bulk without refresh: counts_by_space_and_type must see them anyway
    helpers.bulk(es, ({"_index": index, "_id": f"{d['site_url']}|{d['id']}", "_source": d} for d in docs))
    return index


def test_counts_by_space_and_type(es: Elasticsearch, filled_index: str) -> None:
    counts = IndexedDocuments(es, filled_index, SITE).counts_by_space_and_type()

    assert counts == {
        ("ENG", "page"): 5, ("ENG", "comment"): 3, ("ENG", "space"): 1,
        ("OPS", "page"): 2, ("OPS", "attachment"): 1,
        ("HR", "blogpost"): 4,
    }
    assert IndexedDocuments(es, filled_index, OTHER_SITE).counts_by_space_and_type() == {
        ("ENG", "page"): 7, ("LEGAL", "blogpost"): 1,
    }


def test_counts_compared_with_search_leave_out_archived_pages_and_name_the_scopes_to_list(
        es: Elasticsearch, index: str) -> None:
    """Search counts neither archived pages nor the comments and files on them: the pages are left out of the
    counts, the scopes of the comments and files are to be listed; a page below an archived one that is itself
    current is counted, with what hangs on it."""
    create_index_if_missing(es, index, content_index_mappings(), content_index_settings(), RetryPolicy(max_retries=2))
    docs = [
        {**_content("page-1", "page", "ENG"), "status": "archived"},
        {**_content("comment-2", "comment", "ENG"), "parent_id": "page-1"},
        {**_content("attachment-3", "attachment", "ENG"), "parent_id": "page-1"},
        {**_content("page-4", "page", "ENG"), "status": "current", "parent_id": "page-1", "ancestor_ids": ["page-1"]},
        {**_content("comment-5", "comment", "ENG"), "parent_id": "page-4", "ancestor_ids": ["page-1", "page-4"]},
        {**_content("page-6", "page", "ENG", OTHER_SITE), "status": "archived"},
        {**_content("comment-7", "comment", "ENG", OTHER_SITE), "parent_id": "page-6"},
    ]
    helpers.bulk(es, ({"_index": index, "_id": f"{d['site_url']}|{d['id']}", "_source": d} for d in docs))
    indexed = IndexedDocuments(es, index, SITE)
    assert indexed.search_comparable_counts() == ({("ENG", "page"): 1, ("ENG", "comment"): 2,
                                                   ("ENG", "attachment"): 1},
                                                  {("ENG", "comment"), ("ENG", "attachment")})
    assert indexed.counts_by_space_and_type() == {("ENG", "page"): 2, ("ENG", "comment"): 2,
                                                  ("ENG", "attachment"): 1}


def test_ids_filters(es: Elasticsearch, filled_index: str) -> None:
    indexed = IndexedDocuments(es, filled_index, SITE)
    es.indices.refresh(index=filled_index)

    def ids(**filters: object) -> set[tuple[str, str, str]]:
        return set(indexed.ids(**filters))  # type: ignore[arg-type]

    everything = ids()
    assert len(everything) == 16 and all(OTHER_SITE not in doc_id for doc_id, _, _ in everything)
    assert (f"{SITE}|attachment-att7", "OPS", "attachment") in everything
    assert {doc_id for doc_id, _, _ in ids(space_key="ENG", doc_types=["page"])} == {
        f"{SITE}|page-{n}" for n in range(5)
    }
    assert {t for _, _, t in ids(space_key="ENG", doc_types=["comment", "space"])} == {"comment", "space"}
    assert len(ids(space_key="ENG", doc_types=["comment", "space"])) == 4
    assert {space for _, space, _ in ids(exclude_space_keys={"ENG", "HR"})} == {"OPS"}
    assert len(ids(exclude_space_keys={"ENG", "HR"})) == 3
    assert ids(doc_types=["blogpost"]) == {(f"{SITE}|blogpost-{n}", "HR", "blogpost") for n in range(4)}
    assert ids(space_key="NOPE") == set()


def test_ids_stream_past_one_scan_page(es: Elasticsearch, index: str) -> None:
    """More documents than one scroll page (5000) are all listed."""
    create_index_if_missing(es, index, content_index_mappings(), content_index_settings(), RetryPolicy(max_retries=2))
    total = 5_300
    helpers.bulk(es, ({"_index": index, "_id": f"page-{n}", "_source": _content(f"page-{n}", "page", "BIG")}
                      for n in range(total)), refresh=True)

    listed = [doc_id for doc_id, _, _ in IndexedDocuments(es, index, SITE).ids(space_key="BIG")]

    assert len(listed) == total and len(set(listed)) == total


def test_missing_content_index_has_no_documents(es: Elasticsearch, index: str) -> None:
    indexed = IndexedDocuments(es, index, SITE)

    assert not indexed.exists()
    assert indexed.counts_by_space_and_type() == {}
    assert list(indexed.ids()) == []


def test_ledger_records_ids_and_full_reads_per_scope() -> None:
    ledger = SyncLedger()
    ledger.saw("ENG", "page", "page-1")
    ledger.saw("ENG", "page", "page-1")
    ledger.saw("ENG", "page", "page-2")
    ledger.saw("OPS", "comment", "comment-9")
    ledger.mark_fully_read("ENG", "page")

    assert ledger.ids("ENG", "page") == {"page-1", "page-2"}
    assert ledger.ids("ENG", "comment") == set()
    assert ledger.counts() == {("ENG", "page"): 2, ("OPS", "comment"): 1}
    assert ledger.is_fully_read("ENG", "page") and not ledger.is_fully_read("OPS", "comment")
    returned = ledger.ids("ENG", "page")
    returned.add("page-3")
    assert ledger.ids("ENG", "page") == {"page-1", "page-2"}, "callers get a copy"


def test_compact_ids_give_back_exactly_what_was_added():
    from confluence_source.sync_state import CompactIds

    ids = CompactIds()
    added = ["page-1", "page-1", "page-20", "attachment-att77", "attachment-0123", "blogpost-", "weird-id-x",
             "comment-9" * 1, "page-123456789012345678901234567890"]
    for doc_id in added:
        ids.add(doc_id)
    assert ids.as_set() == set(added)


@pytest.mark.parametrize("field_mapped", [True, False])
def test_attachments_without_text_are_found_whether_or_not_the_index_maps_the_field(
    es: Elasticsearch, index: str, field_mapped: bool
) -> None:
    mappings = content_index_mappings()
    if not field_mapped:  # an index whose mapping could not be extended
        del mappings["properties"]["content_extraction"]
    es.indices.create(index=index, **content_index_definition(mappings))
    documents = {
        "attachment-1": {"content_extraction": "download_failed"},
        "attachment-2": {"content_extraction": "extracted"},
        "attachment-3": {},  # indexed before attachments had their text
        "attachment-4": {"content_extraction": "disabled"},
        "attachment-5": {"content_extraction": "download_refused"},
    }
    helpers.bulk(es, [
        {"_index": index, "_id": doc_id, "_source": {"type": "attachment", "site_url": SITE, "space_key": "ENG",
                                                     "confluence_id": doc_id.split("-")[1], **extra}}
        for doc_id, extra in documents.items()
    ] + [{"_index": index, "_id": "attachment-9", "_source": {"type": "attachment", "site_url": OTHER_SITE,
                                                              "space_key": "ENG", "confluence_id": "9"}}],
        refresh=True)
    found = IndexedDocuments(es, index, SITE).attachments_without_text(["download_failed", "disabled"])
    assert sorted(found) == [("attachment-1", "1", "ENG"), ("attachment-3", "3", "ENG"), ("attachment-4", "4", "ENG")]


def test_the_index_says_whether_it_holds_any_attachment_text(es: Elasticsearch, index: str) -> None:
    from confluence_source.attachment_text import REUSABLE

    indexed = IndexedDocuments(es, index, SITE)
    assert not indexed.holds_attachment_texts(REUSABLE)  # no index yet
    es.indices.create(index=index, **content_index_definition())
    without = {"type": "attachment", "site_url": SITE, "space_key": "ENG", "content_extraction": "disabled"}
    elsewhere = {"type": "attachment", "site_url": OTHER_SITE, "space_key": "ENG", "body": "text of another site"}
    page = {"type": "page", "site_url": SITE, "space_key": "ENG", "body": "a page body"}
    helpers.bulk(es, [{"_index": index, "_id": doc_id, "_source": source} for doc_id, source in
                      (("attachment-1", without), ("attachment-2", elsewhere), ("page-3", page))], refresh=True)
    assert not indexed.holds_attachment_texts(REUSABLE)
    es.index(index=index, id="attachment-4", refresh=True,
             document={**without, "content_extraction": "extracted", "body": "minutes of the meeting"})
    assert indexed.holds_attachment_texts(REUSABLE)
    es.delete(index=index, id="attachment-4", refresh=True)
    es.index(index=index, id="attachment-5", refresh=True, document={**without, "content_extraction": "no_text"})
    assert indexed.holds_attachment_texts(REUSABLE), "a file found to have no text is reused too"


def test_labels_of_labelled_documents_and_which_ids_the_index_holds(es: Elasticsearch, index: str) -> None:
    """What the label check asks the index: the labels of this site's documents that carry some (sorted), and which
    listed ids it holds at all."""
    indexed = IndexedDocuments(es, index, SITE)
    assert indexed.labelled(["attachment"], None) == {} and indexed.held(["attachment-1"]) == {}  # no index yet
    es.indices.create(index=index, **content_index_definition())
    base = {"type": "attachment", "site_url": SITE, "space_key": "ENG"}
    documents = {
        "attachment-1": {**base, "labels": ["legal", "contract"]},
        "attachment-2": {**base, "labels": []},
        "attachment-3": base,
        "attachment-4": {**base, "space_key": "OPS", "labels": ["ops"]},
        "page-5": {**base, "type": "page", "labels": ["howto"]},
        "attachment-6": {**base, "site_url": OTHER_SITE, "labels": ["elsewhere"]},
    }
    helpers.bulk(es, [{"_index": index, "_id": doc_id, "_source": source} for doc_id, source in documents.items()],
                 refresh=True)
    assert indexed.labelled(["attachment"], None) == {"attachment-1": ("contract", "legal"), "attachment-4": ("ops",)}
    assert indexed.labelled(["attachment"], ["ENG"]) == {"attachment-1": ("contract", "legal")}
    assert indexed.held(["attachment-2", "attachment-3", "attachment-4", "attachment-6", "attachment-9"]) == {
        "attachment-2": "ENG", "attachment-3": "ENG", "attachment-4": "OPS"}  # attachment-6 is another site's


def test_which_ids_the_index_holds_is_asked_in_batches(es: Elasticsearch, index: str, monkeypatch) -> None:
    """However many ids the check asks about, each search stays under the index's result window."""
    from confluence_source import sync_state

    monkeypatch.setattr(sync_state, "HELD_LOOKUP_BATCH", 3)
    es.indices.create(index=index, **content_index_definition())
    helpers.bulk(es, [{"_index": index, "_id": f"attachment-{n}",
                       "_source": {"type": "attachment", "site_url": SITE, "space_key": f"S{n % 2}"}}
                      for n in range(0, 10, 2)], refresh=True)
    searches = []
    search = es.search
    monkeypatch.setattr(es, "search", lambda **kwargs: searches.append(kwargs["size"]) or search(**kwargs))
    held = IndexedDocuments(es, index, SITE).held([f"attachment-{n}" for n in range(10)])
    assert held == {f"attachment-{n}": "S0" for n in range(0, 10, 2)}
    assert searches == [3, 3, 3, 1]
