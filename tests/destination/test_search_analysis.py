"""What people type finds what they mean: accent folding, words of file names, labels by word, and the sample
search across fields; and an index created by an earlier version keeps working beside the new analysis."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from destinations.es_indices import add_missing_fields, create_index_if_missing
from destinations.es_mapping import content_index_mappings, content_index_settings
from destinations.es_retry import RetryPolicy
from destinations.es_write_target import check_write_target
from pipelines.report import print_sample_search, sample_search_query

_K: dict[str, Any] = {"type": "keyword", "ignore_above": 8191}
_TEXT_K: dict[str, Any] = {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 1024}}}
_NAME_OLD: dict[str, Any] = {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 1024},
                                                          "words": {"type": "text", "analyzer": "simple"}}}
#: The mapping as the version before accent folding created it (copied, so later changes do not alter it).
OLD_MAPPINGS: dict[str, Any] = {"dynamic": False, "properties": {
    "id": _K, "type": _K, "confluence_id": _K, "title": _NAME_OLD, "url": _K, "space_key": _K, "space_name": _TEXT_K,
    "created_at": {"type": "date"}, "updated_at": {"type": "date"}, "version": {"type": "integer"}, "status": _K,
    "author_name": _TEXT_K, "author_id": _K, "labels": _K, "site_url": _K,
    "body": {"type": "text", "index_options": "offsets"}, "body_markdown": {"type": "text", "index": False},
    "truncated": _K, "ancestor_ids": _K, "ancestor_titles": _TEXT_K, "breadcrumb": {"type": "text"}, "parent_id": _K,
    "comment_location": _K, "parent_type": _K, "parent_title": _TEXT_K, "parent_url": _K, "parent_comment_id": _K,
    "resolution_status": _K, "inline_selection": {"type": "text"}, "file_name": _NAME_OLD, "media_type": _K,
    "file_size": {"type": "long"}, "download_url": _K, "comment": {"type": "text"}, "content_extraction": _K,
    "content_extractor": _K, "description": {"type": "text"}, "space_type": _K,
}}

DOCUMENTS: dict[str, dict[str, Any]] = {
    "page-1": {"type": "page", "title": "Überblick der Architektur", "body": "Ein Café und ein résumé"},
    "page-2": {"type": "page", "title": "Uberblick ohne Umlaut", "body": "a plain cafe and a resume"},
    "page-3": {"type": "page", "title": "Q2 2022 Analytics OKRs", "body": "goals", "labels": ["analytics"]},
    "page-4": {"type": "page", "title": "Q3 OKRs", "body": "goals", "labels": ["okrs"]},
    "page-5": {"type": "page", "title": "Cluster upgrade", "body": "steps", "labels": ["kubernetes", "release-notes"]},
    "attachment-6": {"type": "attachment", "title": "quarterly_report_2024.txt",
                     "file_name": "quarterly_report_2024.txt", "comment": "numbers of the year"},
    "attachment-7": {"type": "attachment", "title": "DeploymentChecklist.txt", "file_name": "DeploymentChecklist.txt"},
    "attachment-8": {"type": "attachment", "title": "final.v3.pdf", "file_name": "final.v3.pdf"},
}

POLICY = RetryPolicy(max_retries=2)


def _fill(es: Elasticsearch, index: str) -> None:
    for doc_id, document in DOCUMENTS.items():
        es.index(index=index, id=doc_id, document={"id": doc_id, **document})
    es.indices.refresh(index=index)


def _new_index(es: Elasticsearch, index: str) -> str:
    assert create_index_if_missing(es, index, content_index_mappings(), content_index_settings(), POLICY)
    _fill(es, index)
    return index


def _found(es: Elasticsearch, index: str, query: dict[str, Any]) -> list[str]:
    """Ids of the hits, best first."""
    return [hit["_id"] for hit in es.search(index=index, query=query, size=20)["hits"]["hits"]]


def _match(field: str, text: str) -> dict[str, Any]:
    return {"match": {field: {"query": text, "operator": "and"}}}


def test_accents_are_folded_both_ways_and_the_exact_spelling_ranks_first(
    es: Elasticsearch, index_name: str
) -> None:
    index = _new_index(es, index_name)
    assert set(_found(es, index, _match("title", "Uberblick"))) == {"page-1", "page-2"}
    assert _found(es, index, _match("title", "Überblick"))[0] == "page-1"
    assert set(_found(es, index, _match("title", "Überblick"))) == {"page-1", "page-2"}
    for plain, accented in (("resume", "résumé"), ("cafe", "Café")):
        assert set(_found(es, index, _match("body", plain))) == {"page-1", "page-2"}
        assert _found(es, index, _match("body", accented))[0] == "page-1"


def test_names_are_split_at_case_changes_digits_underscores_and_dots(
    es: Elasticsearch, index_name: str
) -> None:
    index = _new_index(es, index_name)
    assert _found(es, index, _match("file_name.words", "2024")) == ["attachment-6"]
    assert _found(es, index, _match("file_name.words", "report")) == ["attachment-6"]
    assert _found(es, index, _match("file_name.words", "checklist")) == ["attachment-7"]
    assert _found(es, index, _match("file_name.words", "deployment checklist")) == ["attachment-7"]
    assert _found(es, index, _match("file_name.words", "v3")) == ["attachment-8"]
    assert _found(es, index, _match("title.words", "Q3 OKRs")) == ["page-4"]
    assert _found(es, index, _match("title.words", "Q2 OKRs")) == ["page-3"]
    assert _found(es, index, sample_search_query("2024")) == ["attachment-6"]
    assert _found(es, index, sample_search_query("checklist")) == ["attachment-7"]


def test_labels_are_found_by_word_and_the_sample_search_finds_across_fields(es: Elasticsearch, index_name: str) -> None:
    index = _new_index(es, index_name)
    assert _found(es, index, _match("labels.text", "Kubernetes")) == ["page-5"]
    assert _found(es, index, _match("labels.text", "release notes")) == ["page-5"]
    assert _found(es, index, {"term": {"labels": "release-notes"}}) == ["page-5"], "the keyword stays exact"
    assert "page-3" not in _found(es, index, _match("title.words", "Q3 OKRs")), "q3 is not any q"
    assert _found(es, index, sample_search_query("Q3 OKRs")) == ["page-4"]
    assert _found(es, index, sample_search_query("report")) == ["attachment-6"]
    assert _found(es, index, sample_search_query("upgrade Kubernetes")) == ["page-5"], "a title word and a label"
    assert _found(es, index, sample_search_query("quarterly year")) == ["attachment-6"], "a file name and a comment"


def test_an_index_of_the_old_mapping_gets_labels_text_and_keeps_working(
    es: Elasticsearch, index_name: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    es.indices.create(index=index_name, mappings=OLD_MAPPINGS, settings={"number_of_shards": 1})
    check_write_target(es, index_name, content_index_mappings())  # the preflight takes it
    with caplog.at_level(logging.INFO, logger="destinations.es_indices"):
        assert create_index_if_missing(es, index_name, content_index_mappings(), content_index_settings(),
                                       POLICY) is False
    properties = es.indices.get_mapping(index=index_name)[index_name]["mappings"]["properties"]
    assert properties["labels"] == {**_K, "fields": {"text": {"type": "text"}}}
    assert properties["title"] == _NAME_OLD, "what the index maps already is left as it is"
    advice = [record.getMessage() for record in caplog.records if "without the analyzer(s) name_parts" in
              record.getMessage()]
    assert len(advice) == 1 and "--full-refresh into a new es_index" in advice[0] and "not added" not in advice[0]
    _fill(es, index_name)
    assert _found(es, index_name, _match("labels.text", "Kubernetes")) == ["page-5"]
    assert _found(es, index_name, sample_search_query("upgrade Kubernetes")) == ["page-5"]
    assert _found(es, index_name, sample_search_query("report")) == ["attachment-6"]
    print_sample_search(es, index_name, "cluster upgrade")
    assert "Sample search for 'cluster upgrade': 1 matching documents" in capsys.readouterr().out


def test_a_sub_field_whose_analyzer_the_index_lacks_is_left_out_and_the_rest_added(
    es: Elasticsearch, index_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An index from before names had words: `title.words` needs `name_parts`, which only a new index defines."""
    older = {**OLD_MAPPINGS, "properties": {**OLD_MAPPINGS["properties"], "title": _TEXT_K}}
    es.indices.create(index=index_name, mappings=older)
    with caplog.at_level(logging.INFO, logger="destinations.es_indices"):
        added = add_missing_fields(es, index_name, content_index_mappings(), content_index_settings())
    assert added == ["labels.text"]
    assert "words" not in es.indices.get_mapping(index=index_name)[index_name]["mappings"]["properties"]["title"][
        "fields"]
    assert any("not added: title.words" in record.getMessage() for record in caplog.records)
