"""The local Elasticsearch launcher against real JVMs: reuse, version, a real round trip, stop, failures."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from elasticsearch import BadRequestError, Elasticsearch, helpers

from es_local import EsLocalError, NodeOptions, PortState, elasticsearch_version, ensure_running, status, stop


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def index_name(es: Elasticsearch) -> Iterator[str]:
    name = f"es-local-test-{uuid.uuid4().hex[:8]}"
    yield name
    es.options(ignore_status=404).indices.delete(index=name)


def test_node_reports_the_version_the_launcher_is_built_with(es: Elasticsearch) -> None:
    if os.environ.get("ES_URL"):
        pytest.skip("ES_URL points at a node that es_local did not build")
    info = es.info()
    assert info["version"]["number"] == elasticsearch_version()
    assert es.ping()
    assert es.cluster.health()["status"] in ("yellow", "green")


def test_round_trip_with_the_contract_field_types(es: Elasticsearch, index_name: str) -> None:
    es.indices.create(
        index=index_name,
        settings={"number_of_shards": 1, "number_of_replicas": 0},
        mappings={
            "properties": {
                "title": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
                "type": {"type": "keyword"},
                "updated_at": {"type": "date"},
                "file_size": {"type": "long"},
                "version": {"type": "integer"},
                "body_markdown": {"type": "text", "index": False, "store": True},
            }
        },
    )
    documents = [
        {
            "_index": index_name,
            "_id": f"page-{number}",
            "_source": {
                "title": f"Release notes {number}" if number % 2 else f"Meeting minutes {number}",
                "type": "page" if number % 2 else "blogpost",
                "updated_at": f"2024-03-{number:02d}T09:30:00+01:00",
                "file_size": number * 1_000_000_000,
                "version": number,
                "body_markdown": f"# Heading {number}",
            },
        }
        for number in range(1, 21)
    ]
    indexed, errors = helpers.bulk(es, documents)
    assert (indexed, errors) == (20, [])
    es.indices.refresh(index=index_name)

    matched = es.search(index=index_name, query={"match": {"title": "release"}}, size=20)
    assert sorted(hit["_id"] for hit in matched["hits"]["hits"]) == sorted(f"page-{n}" for n in range(1, 21, 2))

    exact = es.search(index=index_name, query={"term": {"title.keyword": "Meeting minutes 4"}})
    assert [hit["_id"] for hit in exact["hits"]["hits"]] == ["page-4"]
    assert exact["hits"]["hits"][0]["_source"]["file_size"] == 4_000_000_000

    aggregated = es.search(
        index=index_name,
        size=0,
        query={"range": {"updated_at": {"gte": "2024-03-10T00:00:00+01:00"}}},
        aggs={"types": {"terms": {"field": "type"}}, "newest": {"max": {"field": "version"}}},
    )
    assert aggregated["hits"]["total"]["value"] == 11
    assert {b["key"]: b["doc_count"] for b in aggregated["aggregations"]["types"]["buckets"]} == {
        "page": 5,
        "blogpost": 6,
    }
    assert aggregated["aggregations"]["newest"]["value"] == 20

    deleted, errors = helpers.bulk(es, [{"_op_type": "delete", "_index": index_name, "_id": "page-1"}])
    assert (deleted, errors) == (1, [])
    es.indices.refresh(index=index_name)
    assert es.count(index=index_name)["count"] == 19


def _tokens(es: Elasticsearch, text: str, *filters: object) -> list[str]:
    answer = es.indices.analyze(tokenizer="standard", filter=list(filters), text=text)
    return [token["token"] for token in answer["tokens"]]


def test_the_token_filters_of_analysis_common_the_mapping_uses_behave_as_elasticsearchs(es: Elasticsearch) -> None:
    """The three filters the node builds itself, with Elasticsearch's documented defaults: folding keeps only the
    folded form unless asked; word_delimiter_graph splits at case changes, letters/digits and delimiters, drops the
    English possessive and keeps no original unless asked."""
    assert _tokens(es, "Überblick café", "lowercase", "asciifolding") == ["uberblick", "cafe"]
    assert _tokens(es, "Überblick", "lowercase", {"type": "asciifolding", "preserve_original": True}) == [
        "uberblick", "überblick"]
    assert _tokens(es, "DeploymentChecklist's v3", "word_delimiter_graph") == ["Deployment", "Checklist", "v", "3"]
    assert _tokens(es, "report_2024.txt", {"type": "word_delimiter_graph", "preserve_original": True},
                   "flatten_graph") == ["report_2024", "report", "2024", "txt"]


def test_a_token_filter_parameter_the_node_does_not_implement_is_refused(es: Elasticsearch) -> None:
    """Refused rather than ignored: a mapping that would analyse text differently on a real cluster must not pass."""
    with pytest.raises(BadRequestError, match="does not implement \\[protected_words\\]"):
        _tokens(es, "a-b", {"type": "word_delimiter_graph", "protected_words": ["a-b"]})


def test_the_built_in_language_analyzers_behave_as_elasticsearchs(es: Elasticsearch) -> None:
    """Usable by name without index settings, as on any cluster: stemming and stop words, the English possessive,
    German umlauts, Thai split into words and CJK bigrams."""

    def analyzed(analyzer: str, text: str) -> list[str]:
        return [token["token"] for token in es.indices.analyze(analyzer=analyzer, text=text)["tokens"]]

    assert analyzed("english", "The reports of John's running") == ["report", "john", "run"]
    assert analyzed("german", "Die Häuser") == ["haus"]
    assert analyzed("thai", "ภาษาไทยง่ายนิดเดียว") == ["ภาษา", "ไทย", "ง่าย", "นิดเดียว"]
    assert analyzed("cjk", "회의록을") == ["회의", "의록", "록을"]


def test_a_language_analyzer_parameter_the_node_does_not_implement_is_refused(
    es: Elasticsearch, index_name: str
) -> None:
    with pytest.raises(BadRequestError, match="\\[english\\] analyzer does not implement \\[stopwords\\]"):
        es.indices.create(index=index_name, settings={
            "analysis": {"analyzer": {"mine": {"type": "english", "stopwords": "_none_"}}}})


def test_start_is_idempotent_and_stop_frees_the_port(tmp_path: Path) -> None:
    options = NodeOptions(port=free_port(), heap="512m", data_dir=tmp_path / "node")
    first = ensure_running(options)
    try:
        assert first.started and first.pid is not None
        assert first.version == elasticsearch_version()

        second = ensure_running(options)
        assert not second.started
        assert second.pid == first.pid

        current = status(options)
        assert current.state is PortState.READY and current.pid == first.pid
    finally:
        assert stop(options)
    assert status(options).state is PortState.NOTHING
    assert not (options.home / "node.pid").exists()
    assert stop(options) is False


def test_a_startup_failure_reports_the_node_log(tmp_path: Path) -> None:
    options = NodeOptions(
        port=free_port(), heap="256m", data_dir=tmp_path / "node", extra_settings={"no.such.setting": "x"}
    )
    with pytest.raises(EsLocalError, match=r"(?s)during startup.*unknown setting \[no\.such\.setting\]"):
        ensure_running(options)
    assert status(options).state is PortState.NOTHING


class _NotElasticsearch(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status": "green"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def test_a_port_taken_by_another_server_is_refused(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotElasticsearch)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        options = NodeOptions(port=server.server_address[1], data_dir=tmp_path / "node")
        with pytest.raises(EsLocalError, match=r"is taken by a server that is not a usable Elasticsearch"):
            ensure_running(options)
    finally:
        server.shutdown()
        server.server_close()
    assert not (tmp_path / "node" / "node.pid").exists()


def test_bad_options_name_the_flag_to_fix() -> None:
    with pytest.raises(EsLocalError, match="--heap"):
        NodeOptions(heap="lots")
    with pytest.raises(EsLocalError, match="--port"):
        NodeOptions(port=70000)
