"""The sink's batch writer against a real Elasticsearch node."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Callable

import pytest
from destination_samples import PAGES_TABLE, page_documents, tombstone
from elasticsearch import BadRequestError, Elasticsearch

from destinations.elastic import write_batch
from destinations.es_bulk import BulkWriter
from destinations.es_client import build_client
from destinations.es_config import ElasticsearchSettings, build_settings
from destinations.es_documents import TableKeys, plan_batch
from destinations.es_errors import (
    ElasticsearchConfigurationError,
    ElasticsearchUnavailableError,
)
from destinations.es_retry import RetryPolicy
from destinations.es_stats import statistics_for

UNREACHABLE_MESSAGE = "Cannot reach Elasticsearch at http://127.0.0.1:9 (set destination.elasticsearch.es_hosts)"


def _all_sources(es: Elasticsearch, index: str) -> dict[str, dict[str, Any]]:
    es.indices.refresh(index=index)
    hits = es.search(index=index, size=10_000, query={"match_all": {}})["hits"]["hits"]
    return {hit["_id"]: hit["_source"] for hit in hits}


def test_same_batch_written_twice_changes_nothing(
    es: Elasticsearch, settings: ElasticsearchSettings, index_name: str
) -> None:
    batch = page_documents(1200)
    first = write_batch(batch, PAGES_TABLE, settings, load_id="load-1")
    after_first = _all_sources(es, index_name)
    second = write_batch(batch, PAGES_TABLE, settings, load_id="load-1")
    after_second = _all_sources(es, index_name)

    assert first.outcome.indexed == second.outcome.indexed == 1200
    assert len(after_first) == 1200
    assert after_second == after_first
    assert after_first["page-7"]["id"] == "page-7"  # the key stays in the document
    assert "deleted" not in after_first["page-7"]  # the delete flag is not content


def test_deletes_remove_exactly_the_flagged_ids(
    es: Elasticsearch, settings: ElasticsearchSettings, index_name: str
) -> None:
    write_batch(page_documents(20), PAGES_TABLE, settings, load_id="load-a")
    flagged = ["page-3", "page-11", "page-19"]
    mixed = [tombstone(doc_id) for doc_id in flagged]
    mixed += [tombstone("page-does-not-exist")]  # 404 on delete is fine
    mixed += page_documents(2, start=20)  # index and delete in one batch
    result = write_batch(mixed, PAGES_TABLE, settings, load_id="load-b")

    remaining = set(_all_sources(es, index_name))
    expected = {f"page-{n}" for n in range(22)} - set(flagged)
    assert remaining == expected
    assert result.outcome.deleted == 3
    assert result.outcome.already_absent == 1
    assert result.outcome.indexed == 2
    assert result.rejected == ()


def test_created_index_has_the_contract_mapping(
    es: Elasticsearch, settings: ElasticsearchSettings, index_name: str
) -> None:
    write_batch(page_documents(1), PAGES_TABLE, settings)
    properties = es.indices.get_mapping(index=index_name)[index_name]["mappings"]["properties"]

    def kind(field: str) -> str:
        return str(properties[field]["type"])

    for field in ("title", "space_name", "author_name", "ancestor_titles", "parent_title", "file_name"):
        assert kind(field) == "text", field
        assert properties[field]["fields"]["keyword"]["type"] == "keyword", field
    for field in ("title", "file_name"):  # `simple` stands in on a node without the analysis-common module
        assert properties[field]["fields"]["words"]["analyzer"] in ("name_parts", "simple"), field
        assert properties[field]["fields"]["words"]["search_analyzer"] == "default", field
    assert properties["labels"]["fields"]["text"] == {"type": "text"}
    for field in ("body", "breadcrumb", "description", "comment", "inline_selection"):
        assert kind(field) == "text", field
    for field in ("title", "body", "description", "comment"):  # es_language, English by default
        assert properties[field]["fields"]["language"] == {"type": "text", "analyzer": "english"}, field
    for field in ("breadcrumb", "inline_selection"):
        assert "fields" not in properties[field]
    assert properties["body"]["index_options"] == "offsets"
    for field in ("id", "type", "confluence_id", "url", "space_key", "status", "author_id", "labels",
                  "site_url", "ancestor_ids", "parent_id", "comment_location", "parent_comment_id",
                  "resolution_status", "media_type", "download_url", "space_type", "parent_type"):
        assert kind(field) == "keyword", field
    assert kind("created_at") == kind("updated_at") == "date"
    assert kind("version") == "integer"
    assert kind("file_size") == "long"
    assert properties["body_markdown"] == {"type": "text", "index": False}

    # body_markdown is returned with hits but cannot be searched.
    es.indices.refresh(index=index_name)
    hit = es.search(index=index_name, query={"match_all": {}})["hits"]["hits"][0]
    assert hit["_source"]["body_markdown"].startswith("# Heading")
    with pytest.raises(BadRequestError, match="not indexed"):
        es.count(index=index_name, query={"match": {"body_markdown": "Heading"}})
    assert es.count(index=index_name, query={"term": {"title.keyword": hit["_source"]["title"]}})["count"] == 1


def test_search_finds_words_of_file_names_and_highlights_a_very_long_body(
    es: Elasticsearch, settings: ElasticsearchSettings, index_name: str
) -> None:
    """What a search front end asks: a word of a file name, and snippets from a page longer than the 1,000,000
    characters Elasticsearch re-analyses for highlighting."""
    logo, giant = page_documents(2)
    logo.update(id="attachment-1", type="attachment", title="company_logo.png", file_name="company_logo.png")
    giant["body"] = "lorem ipsum " * 100_000 + "the zebracorn chapter " + "dolor sit " * 10_000
    write_batch([logo, giant], PAGES_TABLE, settings)
    es.indices.refresh(index=index_name)

    for word in ("logo", "company", "png"):
        found = es.search(index=index_name, query={"multi_match": {
            "query": word, "fields": ["title", "title.words", "file_name", "file_name.words"]}})
        assert [hit["_id"] for hit in found["hits"]["hits"]] == ["attachment-1"], word
    highlighted = es.search(index=index_name, query={"match": {"body": "zebracorn"}},
                            highlight={"fields": {"body": {}}})
    assert [hit["_id"] for hit in highlighted["hits"]["hits"]] == [giant["id"]]
    assert "<em>zebracorn</em>" in highlighted["hits"]["hits"][0]["highlight"]["body"][0]


def test_rejected_document_is_dead_lettered_while_batch_mates_land(
    es: Elasticsearch, settings: ElasticsearchSettings, index_name: str
) -> None:
    batch = page_documents(6)
    batch[2]["version"] = "not-a-number"  # contradicts `version: integer`
    batch[4]["created_at"] = "last tuesday"  # contradicts `created_at: date`
    result = write_batch(batch, PAGES_TABLE, settings, load_id="load-dead-letter")

    assert set(_all_sources(es, index_name)) == {"page-0", "page-1", "page-3", "page-5"}
    assert sorted(r.doc_id for r in result.rejected) == ["page-2", "page-4"]
    assert statistics_for("load-dead-letter").rejected == 2

    entries = _all_sources(es, settings.dead_letter_index)
    assert set(entries) == {"load-dead-letter:page-2", "load-dead-letter:page-4"}
    entry = entries["load-dead-letter:page-2"]
    assert entry["id"] == "page-2"
    assert entry["index"] == index_name
    assert entry["table"] == "pages"
    assert entry["status"] == 400
    assert entry["error_type"] in ("document_parsing_exception", "mapper_parsing_exception")
    assert "version" in entry["reason"]
    assert entry["load_id"] == "load-dead-letter"
    assert datetime.fromisoformat(entry["failed_at"]) <= datetime.now(UTC)
    assert '"not-a-number"' in entry["document"]


def test_oversized_document_is_indexed_with_its_text_cut_short(
    es: Elasticsearch, es_url: str, index_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Still found by its title, metadata and the start of its text: the Markdown copy goes first, then the body."""
    settings = build_settings(es_hosts=es_url, es_index=index_name, es_max_document_bytes=16 * 1024)
    big = page_documents(1, start=3, body_kb=40)[0]
    bigger_markdown = {**page_documents(1, start=4, body_kb=9)[0], "body_markdown": "m" * 40_000}
    with caplog.at_level("WARNING"):
        result = write_batch(page_documents(3, body_kb=2) + [big, bigger_markdown], PAGES_TABLE, settings,
                             load_id="load-big")

    assert result.rejected == ()
    sources = _all_sources(es, index_name)
    assert set(sources) == {"page-0", "page-1", "page-2", "page-3", "page-4"}
    cut = sources["page-3"]
    assert cut["truncated"] == ["body_markdown", "body"] and cut["title"] == big["title"]
    assert cut["body_markdown"] == "" and big["body"].startswith(cut["body"]) and len(cut["body"]) > 10_000
    assert sources["page-4"]["truncated"] == ["body_markdown"] and sources["page-4"]["body"] == bigger_markdown["body"]
    assert "truncated" not in sources["page-0"]
    assert len(json.dumps(cut).encode()) <= 16 * 1024
    assert "Document page-3 is more than es_max_document_bytes (16384) of JSON" in caplog.text


def test_a_document_too_large_without_its_text_is_dead_lettered_without_being_sent(
    es: Elasticsearch, es_url: str, index_name: str
) -> None:
    settings = build_settings(es_hosts=es_url, es_index=index_name, es_max_document_bytes=16 * 1024)
    batch = page_documents(1) + [{**page_documents(1, start=3)[0], "ancestor_titles": ["x" * 40_000]}]
    result = write_batch(batch, PAGES_TABLE, settings, load_id="load-big")

    assert set(_all_sources(es, index_name)) == {"page-0"}
    assert [(r.doc_id, r.error_type, r.status) for r in result.rejected] == [("page-3", "document_too_large", 0)]
    entry = _all_sources(es, settings.dead_letter_index)["load-big:page-3"]
    assert entry["document_truncated"] is True


def test_python_values_are_stored_as_elasticsearch_types(
    es: Elasticsearch, settings: ElasticsearchSettings, index_name: str
) -> None:
    row = {
        "id": "page-typed",
        "title": "Typed",
        "created_at": datetime(2024, 2, 29, 23, 30, tzinfo=UTC),
        "updated_at": date(2024, 3, 1),
        "version": Decimal("7"),
        "file_size": Decimal("12345678901"),
    }
    assert write_batch([row], PAGES_TABLE, settings).rejected == ()
    source = _all_sources(es, index_name)["page-typed"]
    assert source["created_at"] == "2024-02-29T23:30:00+00:00"
    assert source["updated_at"] == "2024-03-01"
    assert source["version"] == 7 and source["file_size"] == 12345678901
    window = {"gte": "2024-02-29T23:00:00Z", "lt": "2024-03-01"}
    in_range = es.count(index=index_name, query={"range": {"created_at": window}})
    assert in_range["count"] == 1


def test_busy_cluster_is_retried_with_backoff_until_it_accepts(
    es: Elasticsearch, settings: ElasticsearchSettings, index_name: str, fast_retries: RetryPolicy
) -> None:
    """A flood-stage block answers every item with 429, as an overloaded cluster would."""
    write_batch(page_documents(1), PAGES_TABLE, settings)
    es.indices.put_settings(index=index_name, settings={"index.blocks.read_only_allow_delete": True})
    lift = threading.Timer(
        1.5, lambda: es.indices.put_settings(index=index_name, settings={"index.blocks.read_only_allow_delete": None})
    )
    lift.start()
    try:
        started = time.monotonic()
        result = write_batch(page_documents(50, start=1), PAGES_TABLE, settings, policy=fast_retries)
        elapsed = time.monotonic() - started
    finally:
        lift.join()
    assert result.outcome.retries >= 2
    assert result.outcome.indexed == 50
    assert elapsed >= 1.4
    assert len(_all_sources(es, index_name)) == 51


def test_cluster_that_stays_busy_raises_a_transient_error(
    es: Elasticsearch, settings: ElasticsearchSettings, index_name: str
) -> None:
    write_batch(page_documents(1), PAGES_TABLE, settings)
    es.indices.put_settings(index=index_name, settings={"index.blocks.read_only_allow_delete": True})
    try:
        refusing = r"kept refusing 5 document\(s\) after 2 retries"
        with pytest.raises(ElasticsearchUnavailableError, match=refusing) as error:
            write_batch(page_documents(5), PAGES_TABLE, settings, policy=RetryPolicy(2, 0.05, 0.1))
    finally:
        es.indices.put_settings(index=index_name, settings={"index.blocks.read_only_allow_delete": None})
    from pipelines.confluence_to_es import EXIT_FAILED, exit_code_of

    assert exit_code_of(error.value) == EXIT_FAILED  # the run failed; no setting is wrong


def test_a_stop_ends_the_wait_before_the_next_retry(
    es: Elasticsearch, settings: ElasticsearchSettings, index_name: str, stop_noted_after: Callable[[float], None]
) -> None:
    from dlt.common.exceptions import SignalReceivedException

    write_batch(page_documents(1), PAGES_TABLE, settings)
    es.indices.put_settings(index=index_name, settings={"index.blocks.read_only_allow_delete": True})
    stop_noted_after(0.5)
    started = time.monotonic()
    try:
        with pytest.raises(SignalReceivedException):
            write_batch(page_documents(5), PAGES_TABLE, settings, policy=RetryPolicy(3, 60.0, 60.0))
    finally:
        es.indices.put_settings(index=index_name, settings={"index.blocks.read_only_allow_delete": None})
    assert time.monotonic() - started < 30  # not after the 30 s or more the policy waits


def test_a_write_block_raises_a_terminal_error_naming_the_block_not_the_credentials(
    es: Elasticsearch, settings: ElasticsearchSettings, index_name: str
) -> None:
    write_batch(page_documents(1), PAGES_TABLE, settings)
    es.indices.put_settings(index=index_name, settings={"index.blocks.write": True})
    try:
        with pytest.raises(ElasticsearchConfigurationError) as raised:
            write_batch(page_documents(3), PAGES_TABLE, settings)
    finally:
        es.indices.put_settings(index=index_name, settings={"index.blocks.write": None})
    message = str(raised.value)
    assert "the index is blocked (index [" in message and "index write (api)" in message and "\n" not in message
    assert message.endswith("(set destination.elasticsearch.es_index)") and "es_api_key" not in message


def test_unreachable_cluster_gives_a_one_line_error_naming_es_hosts(index_name: str) -> None:
    settings = build_settings(es_hosts="http://127.0.0.1:9", es_index=index_name, es_max_retries=1)
    with pytest.raises(ElasticsearchUnavailableError) as raised:
        write_batch(page_documents(1), PAGES_TABLE, settings, policy=RetryPolicy(1, 0.05, 0.1))
    assert str(raised.value) == UNREACHABLE_MESSAGE


def test_parallel_sink_threads_share_one_client_and_create_the_index_once(
    es: Elasticsearch, settings: ElasticsearchSettings, index_name: str
) -> None:
    errors: list[BaseException] = []

    def write(start: int) -> None:
        try:
            write_batch(page_documents(300, start=start), PAGES_TABLE, settings)
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n * 300,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(_all_sources(es, index_name)) == 1200


def test_outage_in_the_middle_of_a_bulk_write_names_es_hosts() -> None:
    """The index was already checked, then the node went away: the bulk path reports it the same way."""
    settings = build_settings(es_hosts="http://127.0.0.1:9")
    client = build_client(settings.connection)
    writer = BulkWriter(
        client=client, index="any-index", where=settings.connection.describe(), policy=RetryPolicy(2, 0.01, 0.02)
    )
    actions = plan_batch(page_documents(3), TableKeys.from_table(PAGES_TABLE), 10**6).actions
    try:
        with pytest.raises(ElasticsearchUnavailableError) as raised:
            writer.write(actions)
    finally:
        client.close()
    assert str(raised.value) == UNREACHABLE_MESSAGE


@pytest.fixture
def ingest_pipeline(es: Elasticsearch, index_name: str) -> Any:
    """An ingest pipeline of the node, deleted afterwards. It has no processors (the local node ships none): the
    node's ingest statistics still count what went through it."""
    name = f"{index_name}-pipeline"
    es.ingest.put_pipeline(id=name, description="documents of a test", processors=[])
    yield name
    es.options(ignore_status=404).ingest.delete_pipeline(id=name)


def _bytes_through(es: Elasticsearch, pipeline: str) -> int:
    nodes = es.nodes.stats(metric="ingest")["nodes"].values()
    return sum(int(((node["ingest"].get("pipelines") or {}).get(pipeline) or {}).get(
        "ingested_as_first_pipeline_in_bytes", 0)) for node in nodes)


def test_documents_go_through_the_ingest_pipeline_es_pipeline_names(
    es: Elasticsearch, es_url: str, index_name: str, ingest_pipeline: str
) -> None:
    write_batch(page_documents(2), PAGES_TABLE, build_settings(es_hosts=es_url, es_index=index_name))
    assert _bytes_through(es, ingest_pipeline) == 0  # not named: not used
    settings = build_settings(es_hosts=es_url, es_index=index_name, es_pipeline=f" {ingest_pipeline} ")
    result = write_batch(page_documents(3, start=2) + [tombstone("page-0")], PAGES_TABLE, settings)
    assert (result.outcome.indexed, result.outcome.deleted, result.rejected) == (3, 1, ())
    assert _bytes_through(es, ingest_pipeline) > 3 * 4000  # the three bodies of about 4 kB each
    es.indices.refresh(index=index_name)
    assert es.count(index=index_name)["count"] == 4


def test_a_pipeline_that_does_not_exist_is_a_setting_to_fix_before_the_run_and_during_it(
    es: Elasticsearch, es_url: str, index_name: str
) -> None:
    from destinations.elastic import check_connection

    settings = build_settings(es_hosts=es_url, es_index=index_name, es_pipeline="no-such-pipeline")
    with pytest.raises(ElasticsearchConfigurationError) as before:
        with build_client(settings.connection) as client:
            check_connection(client, settings, create_index=False)
    with pytest.raises(ElasticsearchConfigurationError) as during:  # deleted after the preflight
        write_batch(page_documents(3), PAGES_TABLE, settings)
    for raised in (before, during):
        message = str(raised.value)
        assert "has no ingest pipeline 'no-such-pipeline'" in message and "\n" not in message
        assert message.endswith("(set destination.elasticsearch.es_pipeline)"), message
    assert not es.indices.exists(index=f"{index_name}-errors")  # nothing sent to the dead-letter index


class _AnsweringWriter(BulkWriter):
    """A writer whose bulk requests get the answers Elasticsearch gives when an ingest pipeline fails (the local node
    has no processors to fail with): one per action, taken from `answers` in turn."""

    def __init__(self, answers: list[dict[str, Any]], **options: Any) -> None:
        super().__init__(**options)
        self.answers = answers
        self.requests = 0

    def _send(self, actions, chunk_bytes):  # type: ignore[no-untyped-def]
        self.requests += 1
        for action, answer in zip(actions, self.answers[: len(actions)]):
            yield answer.get("status", 200) < 300, {action.operation: {"_id": action.doc_id, **answer}}


def test_a_document_an_ingest_processor_fails_on_is_set_aside_not_retried(es: Elasticsearch, index_name: str) -> None:
    from destinations.es_documents import BulkAction

    failed = {"status": 500, "error": {"type": "fail_processor_exception", "reason": "no body to embed",
                                        "header": {"processor_type": "fail"}}}
    writer = _AnsweringWriter([{"status": 201}, failed], client=es, index=index_name, where="the test node",
                              policy=RetryPolicy(max_retries=3, initial_delay=0.01), pipeline="embeddings")
    outcome = writer.write([BulkAction("index", "page-1", b"{}"), BulkAction("index", "page-2", b"{}")])
    assert writer.requests == 1 and outcome.indexed == 1 and outcome.retries == 0
    assert [(entry.doc_id, entry.status, entry.error_type) for entry in outcome.rejected] == [
        ("page-2", 500, "fail_processor_exception")]


@pytest.mark.parametrize(("status", "error_type"), [(429, "status_exception"), (500, "inference_exception")])
def test_a_service_behind_an_ingest_processor_that_fails_is_retried_not_blamed_on_the_document(
    es: Elasticsearch, index_name: str, status: int, error_type: str
) -> None:
    from destinations.es_documents import BulkAction

    busy = {"status": status, "error": {"type": error_type, "reason": "inference service unavailable",
                                         "header": {"processor_type": "inference"}}}
    writer = _AnsweringWriter([busy], client=es, index=index_name, where="the test node",
                              policy=RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.02),
                              pipeline="embeddings")
    with pytest.raises(ElasticsearchUnavailableError):
        writer.write([BulkAction("index", "page-1", b"{}")])
    assert writer.requests == 3  # the first request and two retries


def test_a_missing_pipeline_the_index_names_itself_points_at_the_index_not_es_pipeline(
    es: Elasticsearch, index_name: str
) -> None:
    from destinations.es_documents import BulkAction

    missing = {"status": 400, "error": {"type": "illegal_argument_exception",
                                         "reason": "pipeline with id [index-default] does not exist"}}
    writer = _AnsweringWriter([missing], client=es, index=index_name, where="the test node",
                              policy=RetryPolicy(max_retries=0), pipeline="embeddings")
    with pytest.raises(ElasticsearchConfigurationError) as raised:
        writer.write([BulkAction("index", "page-1", b"{}")])
    message = str(raised.value)
    assert "names the ingest pipeline 'index-default'" in message and message.endswith(
        "(set destination.elasticsearch.es_index)")


def test_an_index_whose_default_pipeline_is_missing_stops_the_load_naming_the_index(
    es: Elasticsearch, settings: ElasticsearchSettings, index_name: str
) -> None:
    write_batch(page_documents(1), PAGES_TABLE, settings)
    es.indices.put_settings(index=index_name, settings={"index.default_pipeline": "deleted-by-someone"})
    with pytest.raises(ElasticsearchConfigurationError) as raised:
        write_batch(page_documents(2, start=1), PAGES_TABLE, settings)
    assert "names the ingest pipeline 'deleted-by-someone'" in str(raised.value)
