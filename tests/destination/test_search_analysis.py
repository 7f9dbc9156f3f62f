"""What people type finds what they mean: accent folding, words of file names, labels by word, other forms of a word
in the site's language (es_language), and the sample search across fields; and an index created by an earlier
version keeps working beside the new analysis."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from elasticsearch import ConnectionError, Elasticsearch

from destinations.es_indices import _warn_documents_lack, add_missing_fields, create_index_if_missing
from destinations.es_mapping import LANGUAGE_ANALYZERS, content_index_mappings, content_index_settings
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
    assert _found(es, index, sample_search_query("upgrades Kubernetes")) == ["page-5"], "another form and a label"
    assert _found(es, index, sample_search_query("upgrade & Kubernetes")) == ["page-5"], "a lone & is no word"
    assert _found(es, index, sample_search_query("Q3 - OKRs")) == ["page-4"]
    assert _found(es, index, sample_search_query("quarterly year")) == ["attachment-6"], "a file name and a comment"


def test_an_index_of_the_old_mapping_gets_labels_text_and_the_language_fields_and_keeps_working(
    es: Elasticsearch, index_name: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    es.indices.create(index=index_name, mappings=OLD_MAPPINGS, settings={"number_of_shards": 1})
    check_write_target(es, index_name, content_index_mappings())  # the preflight takes it
    with caplog.at_level(logging.INFO, logger="destinations.es_indices"):
        assert create_index_if_missing(es, index_name, content_index_mappings(), content_index_settings(),
                                       POLICY) is False
    properties = es.indices.get_mapping(index=index_name)[index_name]["mappings"]["properties"]
    assert properties["labels"] == {**_K, "fields": {"text": {"type": "text"}}}
    english = {"type": "text", "analyzer": "english"}
    assert properties["title"] == {**_NAME_OLD, "fields": {**_NAME_OLD["fields"], "language": english}}, (
        "what the index maps already is left as it is")
    assert properties["body"]["fields"] == {"language": english}
    advice = [record.getMessage() for record in caplog.records if "without the analyzer(s) name_parts" in
              record.getMessage()]
    assert len(advice) == 1 and "--full-refresh into a new es_index" in advice[0] and "not added" not in advice[0]
    assert not [record for record in caplog.records if "keeps the analyzers" in record.getMessage()], (
        "title.words of an index without name_parts is said once, by the line above")
    _fill(es, index_name)
    assert _found(es, index_name, _match("labels.text", "Kubernetes")) == ["page-5"]
    assert _found(es, index_name, sample_search_query("upgrade Kubernetes")) == ["page-5"]
    assert _found(es, index_name, sample_search_query("report")) == ["attachment-6"]
    assert _found(es, index_name, sample_search_query("upgrades")) == ["page-5"], "a built-in analyzer needs no setting"
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
    assert added == ["body.language", "comment.language", "description.language", "labels.text", "title.language"]
    assert "words" not in es.indices.get_mapping(index=index_name)[index_name]["mappings"]["properties"]["title"][
        "fields"]
    assert any("not added: title.words" in record.getMessage() for record in caplog.records)


WORD_FORMS: dict[str, dict[str, Any]] = {
    "page-1": {"type": "page", "title": "Quarterly reports", "body": "Running the numbers", "labels": ["finance"]},
    "page-2": {"type": "page", "title": "The report of the quarter", "body": "We ran the numbers"},
    "page-3": {"type": "page", "title": "Reportage notes", "body": "nothing else"},
    "comment-4": {"type": "comment", "title": "Re: Quarterly reports", "body": "Which reports run late?"},
    "space-5": {"type": "space", "title": "Finance", "description": "Budgets and forecasts of the teams"},
    "page-6": {"type": "page", "title": "VPN working fine", "body": "no action"},
    "page-7": {"type": "page", "title": "VPN not working", "body": "tunnel drops"},
    "attachment-8": {"type": "attachment", "title": "budget_2024.xlsx", "file_name": "budget_2024.xlsx",
                     "comment": "planning reports"},
}


def _index_with(es: Elasticsearch, index: str, documents: dict[str, dict[str, Any]], language: str) -> None:
    assert create_index_if_missing(es, index, content_index_mappings(language), content_index_settings(), POLICY)
    for doc_id, document in documents.items():
        es.index(index=index, id=doc_id, document={"id": doc_id, **document})
    es.indices.refresh(index=index)


def test_other_forms_of_a_word_are_found_and_the_words_as_typed_rank_first(es: Elasticsearch, index_name: str) -> None:
    _index_with(es, index_name, WORD_FORMS, "english")
    found = _found(es, index_name, sample_search_query("reports"))
    assert set(found) == {"page-1", "page-2", "comment-4", "attachment-8"}, "report and reports, not reportage"
    scores = {hit["_id"]: hit["_score"] for hit in es.search(index=index_name, query=sample_search_query("reports"),
                                                             size=20)["hits"]["hits"]}
    assert scores["page-1"] > scores["page-2"], "a title with the word as typed scores above one with another form"
    assert set(_found(es, index_name, sample_search_query("report"))) == {"page-1", "page-2", "comment-4",
                                                                          "attachment-8"}
    assert _found(es, index_name, sample_search_query("budget forecast")) == ["space-5"], "space descriptions"
    assert _found(es, index_name, sample_search_query("run reports late")) == ["comment-4"], "every word, any form"
    assert _found(es, index_name, sample_search_query("report budget")) == ["attachment-8"], (
        "another form of a word in a comment, and a word of a file name")
    assert _found(es, index_name, sample_search_query("VPN not working")) == ["page-7"], "a stop word as typed"
    # every word must still be found: a word in no form anywhere matches nothing
    assert _found(es, index_name, sample_search_query("reports tunnel")) == []


def test_es_language_none_leaves_the_language_fields_out_and_the_words_as_typed_work(
    es: Elasticsearch, index_name: str
) -> None:
    mappings = content_index_mappings("none")
    assert not any("language" in (spec.get("fields") or {}) for spec in mappings["properties"].values())
    _index_with(es, index_name, WORD_FORMS, "none")
    assert set(_found(es, index_name, sample_search_query("reports"))) == {"page-1", "comment-4", "attachment-8"}
    assert _found(es, index_name, sample_search_query("planning report")) == []


@pytest.mark.parametrize(("language", "document", "query"), [
    ("german", "Die Häuser der Stadt", "Haus"),
    ("french", "Les chevaux du village", "cheval"),
    ("russian", "Отчеты за квартал", "отчет"),
    ("thai", "ภาษาไทยง่ายนิดเดียว", "ง่าย"),  # written without spaces: split into words
    ("cjk", "회의록을 작성했다", "회의록"),  # a Korean word with its particle: found by its bigrams
])
def test_each_language_finds_what_its_analyzer_matches(
    es: Elasticsearch, index_name: str, language: str, document: str, query: str
) -> None:
    _index_with(es, index_name, {"page-1": {"type": "page", "title": "t", "body": document}}, language)
    assert _found(es, index_name, _match("body", query)) == [], "the body as typed does not have it"
    assert _found(es, index_name, sample_search_query(query)) == ["page-1"]


def test_an_index_created_for_another_language_keeps_its_analyzer_and_says_so(
    es: Elasticsearch, index_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    _index_with(es, index_name, WORD_FORMS, "english")
    with caplog.at_level(logging.INFO, logger="destinations.es_indices"):
        assert create_index_if_missing(es, index_name, content_index_mappings("german"), content_index_settings(),
                                       POLICY) is False
    body = es.indices.get_mapping(index=index_name)[index_name]["mappings"]["properties"]["body"]
    assert body["fields"]["language"] == {"type": "text", "analyzer": "english"}
    advice = [record for record in caplog.records if "keeps the analyzers" in record.getMessage()]
    assert len(advice) == 1 and "body.language english (not german)" in advice[0].getMessage()
    assert "--full-refresh into a new es_index" in advice[0].getMessage()
    assert advice[0].levelno == logging.WARNING, "shown at the default log level: the setting is not in force"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="destinations.es_indices"):  # the sink checks after the preflight
        add_missing_fields(es, index_name, content_index_mappings("german"), content_index_settings())
    assert not [record for record in caplog.records if "keeps the analyzers" in record.getMessage()], "said once"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="destinations.es_indices"):
        add_missing_fields(es, index_name, content_index_mappings("none"), content_index_settings())
    advice = [record.getMessage() for record in caplog.records if "keeps the analyzers" in record.getMessage()]
    assert len(advice) == 1 and "body.language english (not none)" in advice[0], "none does not take them away"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="destinations.es_indices"):
        add_missing_fields(es, index_name, content_index_mappings("english"), content_index_settings())
    assert not [record for record in caplog.records if "keeps the analyzers" in record.getMessage()]


def test_documents_indexed_before_the_language_fields_are_said_to_need_a_full_refresh(
    es: Elasticsearch, index_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Until a document is written again it is not in a sub-field added after it was: a search of the sub-field
    misses it, and the run that adds the sub-field says how to mend that."""
    _index_with(es, index_name, WORD_FORMS, "none")
    with caplog.at_level(logging.INFO, logger="destinations.es_indices"):
        assert create_index_if_missing(es, index_name, content_index_mappings(), content_index_settings(),
                                       POLICY) is False
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and f"The {len(WORD_FORMS)} document(s) already in {index_name}" in warnings[0]
    assert "body.language" in warnings[0] and "--full-refresh" in warnings[0]
    assert "page-2" not in _found(es, index_name, sample_search_query("reports"))
    es.index(index=index_name, id="page-2", document={"id": "page-2", **WORD_FORMS["page-2"]}, refresh=True)
    assert "page-2" in _found(es, index_name, sample_search_query("reports")), "found once written again"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="destinations.es_indices"):
        add_missing_fields(es, index_name, content_index_mappings(), content_index_settings())
    assert not [record for record in caplog.records if record.levelno == logging.WARNING], "said once, when added"


#: A stop word of each language's analyzer, which the standard analyzer keeps; Thai is tested by its word splitting.
STOP_WORDS = {"english": "the", "german": "und", "french": "et", "spanish": "el", "italian": "il",
              "portuguese": "que", "dutch": "van", "swedish": "och", "norwegian": "og", "danish": "og",
              "finnish": "ja", "russian": "и", "cjk": "the"}


def test_every_es_language_is_an_analyzer_of_the_node(es: Elasticsearch) -> None:
    """The setting's list and the analyzers Elasticsearch (here the local node) has by name agree, each the
    language's own (its stop words), not a stand-in."""
    assert set(STOP_WORDS) | {"thai"} == set(LANGUAGE_ANALYZERS)
    for language, stop_word in STOP_WORDS.items():
        tokens = [token["token"] for token in
                  es.indices.analyze(analyzer=language, text=f"{stop_word} wiki")["tokens"]]
        assert tokens and stop_word not in tokens, language


def test_the_documents_warning_is_given_when_they_cannot_be_counted(caplog: pytest.LogCaptureFixture) -> None:
    """No later run sees the added fields missing: a count that fails must not swallow the only warning."""

    class Unreachable:
        def count(self, index: str) -> dict[str, int]:
            raise ConnectionError("connection refused")

    with caplog.at_level(logging.WARNING, logger="destinations.es_indices"):
        _warn_documents_lack(Unreachable(), "search-confluence", ["body.language"])  # type: ignore[arg-type]
    assert [record.getMessage()[:45] for record in caplog.records] == [
        "Any document(s) already in search-confluence "]
