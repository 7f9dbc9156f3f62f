"""The destination inside real dlt pipelines, and the dlt CLI reading them from another process."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed
from elasticsearch import Elasticsearch
from tiny_pipeline import tiny_source

from destinations.elastic import (
    check_connection,
    elasticsearch_destination,
    find_destination_error,
    load_statistics,
)
from destinations.es_errors import ElasticsearchConfigurationError
from tests.es_helpers import content_index_definition

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_PIPELINE = Path(__file__).resolve().parent / "tiny_pipeline.py"
DLT_CLI = Path(sys.executable).parent / "dlt"
SECRET_CANARY = "canary-SECRET-9f3e"


def _ids(es: Elasticsearch, index: str) -> set[str]:
    es.indices.refresh(index=index)
    hits = es.search(index=index, size=1000, query={"match_all": {}}, source=False)["hits"]["hits"]
    return {hit["_id"] for hit in hits}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _subprocess_env(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESTINATION__", "LOAD__"))}
    env.update({"DLT_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO_ROOT), "RUNTIME__DLTHUB_TELEMETRY": "false"})
    env.update({f"DESTINATION__ELASTICSEARCH__{name.upper()}": value for name, value in settings.items()})
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def pipeline_name() -> str:
    return f"dest_test_{uuid.uuid4().hex[:10]}"


def test_pipeline_writes_updates_and_deletes_and_the_cli_reads_it(
    es: Elasticsearch, es_url: str, index_name: str, pipeline_name: str, tmp_path: Path
) -> None:
    pipeline = dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=elasticsearch_destination(es_hosts=es_url, es_index=index_name),
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    first = pipeline.run(tiny_source(count=30))
    assert _ids(es, index_name) == {f"page-{n}" for n in range(30)} | {"space-1"}
    assert load_statistics(first.loads_ids).indexed == 31

    second = pipeline.run(tiny_source(count=30, delete_ids=["page-4", "page-17"]))
    assert _ids(es, index_name) == {f"page-{n}" for n in range(30)} - {"page-4", "page-17"} | {"space-1"}
    assert load_statistics(second.loads_ids).deleted == 2
    page = es.get(index=index_name, id="page-5")["_source"]
    assert page["updated_at"].endswith("+00:00") and page["id"] == "page-5"

    env = _subprocess_env(tmp_path)
    outputs: dict[str, str] = {}
    for command in ("info", "trace", "load-package", "failed-jobs"):
        result = _run([str(DLT_CLI), "pipeline", pipeline_name, command], env)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        outputs[command] = result.stdout
    assert "destination_type: destinations.elastic." in outputs["info"]
    assert "destination_name: elasticsearch" in outputs["info"]
    assert f"used {es_url} index {index_name} location" in outputs["trace"]
    assert "Custom destination callable not provided" not in "".join(outputs.values())
    assert "is in LOADED state" in outputs["load-package"]
    assert "No failed jobs found" in outputs["failed-jobs"]


def test_terminal_failure_aborts_the_package_and_the_next_run_loads_everything(
    es: Elasticsearch,
    es_url: str,
    index_name: str,
    pipeline_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What .dlt/config.toml sets: a terminal error must not leave a package that blocks later runs."""
    monkeypatch.setenv("LOAD__RAISE_ON_FAILED_JOBS", "true")
    monkeypatch.setenv("LOAD__AUTO_ABORT_ON_TERMINAL_ERROR", "true")
    pipeline = dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=elasticsearch_destination(es_hosts=es_url, es_index=index_name),
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    es.indices.create(index=index_name)  # it must exist to be write-blocked
    es.indices.put_settings(index=index_name, settings={"index.blocks.write": True})
    try:
        with pytest.raises(PipelineStepFailed) as failed:
            pipeline.run(tiny_source(count=12))
    finally:
        es.indices.put_settings(index=index_name, settings={"index.blocks.write": None})
    ours = find_destination_error(failed.value)
    assert isinstance(ours, ElasticsearchConfigurationError)
    assert "the index is blocked" in str(ours)
    assert not pipeline.has_pending_data  # nothing left to block the next run

    pipeline.run(tiny_source(count=12))
    # The incremental cursor was rewound with the aborted package, so the same pages came again.
    assert _ids(es, index_name) == {f"page-{n}" for n in range(12)} | {"space-1"}


@pytest.mark.parametrize("preflight", [True, False], ids=["preflight", "sink"])
def test_elasticsearch_down_gives_one_clear_line_and_a_non_zero_exit(
    preflight: bool, pipeline_name: str, tmp_path: Path
) -> None:
    port = _free_port()
    env = _subprocess_env(
        tmp_path, es_hosts=f"http://elastic:{SECRET_CANARY}@127.0.0.1:{port}", es_max_retries="0"
    )
    env["DESTINATION__ELASTICSEARCH__ES_API_KEY"] = SECRET_CANARY
    env["DESTINATION__ELASTICSEARCH__ES_USERNAME"] = ""
    env["LOAD__RAISE_ON_MAX_RETRIES"] = "1"  # the sink already retried; give up at dlt's first retry
    args = [sys.executable, str(TINY_PIPELINE), "--pipeline-name", pipeline_name,
            "--pipelines-dir", str(tmp_path / "pipelines")]
    result = _run(args + ([] if preflight else ["--no-preflight"]), env)

    assert result.returncode == 2, result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == (
        f"error: Cannot reach Elasticsearch at http://127.0.0.1:{port} (set destination.elasticsearch.es_hosts)"
    )
    assert SECRET_CANARY not in result.stdout + result.stderr


def test_preflight_creates_the_index_and_reports_the_cluster(
    es: Elasticsearch, es_url: str, index_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_HOSTS", es_url)
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_INDEX", index_name)
    report = check_connection()
    assert report.index_created and report.version and report.version.startswith(("8.", "9."))
    assert check_connection().index_created is False
    mapping: dict[str, Any] = es.indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert mapping["dynamic"] in (False, "false")


@pytest.mark.parametrize("language", ["german", "none"])
def test_the_sink_and_the_preflight_create_the_index_for_es_language(
    es: Elasticsearch, es_url: str, index_name: str, pipeline_name: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    """The sink creates a missing index itself (after the preflight, someone may delete it) with the same mapping."""
    pipeline = dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=elasticsearch_destination(es_hosts=es_url, es_index=index_name, es_language=language),
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    pipeline.run(tiny_source(count=3))
    sink_made = es.indices.get_mapping(index=index_name)[index_name]["mappings"]["properties"]
    es.indices.delete(index=index_name)
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_HOSTS", es_url)
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_INDEX", index_name)
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_LANGUAGE", language.upper())
    assert check_connection().index_created
    preflight_made = es.indices.get_mapping(index=index_name)[index_name]["mappings"]["properties"]
    assert sink_made["body"] == preflight_made["body"]
    if language == "none":
        assert "fields" not in sink_made["body"] and "language" not in sink_made["title"]["fields"]
    else:
        assert sink_made["body"]["fields"]["language"] == {"type": "text", "analyzer": "german"}
        assert preflight_made["title"]["fields"]["language"] == {"type": "text", "analyzer": "german"}


def test_a_run_into_an_index_made_for_another_language_warns_once_and_loads(
    es: Elasticsearch, es_url: str, index_name: str, pipeline_name: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The preflight and the sink's first batch both check the index: one warning, and the sink's check (made while
    it holds the lock of its checked indices) goes through."""
    from destinations.es_indices import create_index_if_missing
    from destinations.es_mapping import content_index_mappings, content_index_settings
    from destinations.es_retry import RetryPolicy

    create_index_if_missing(es, index_name, content_index_mappings("german"), content_index_settings(),
                            RetryPolicy(max_retries=1))
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_HOSTS", es_url)
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_INDEX", index_name)
    pipeline = dlt.pipeline(pipeline_name=pipeline_name, destination=elasticsearch_destination(),
                            pipelines_dir=str(tmp_path / "pipelines"))
    with caplog.at_level(logging.WARNING, logger="destinations.es_indices"):
        with Elasticsearch(es_url) as own_client:  # the pipeline's own client, not the sink's
            check_connection(client=own_client)
        pipeline.run(tiny_source(count=3))
    notes = [record.getMessage() for record in caplog.records if "keeps the analyzers" in record.getMessage()]
    assert len(notes) == 1 and "body.language german (not english)" in notes[0]
    assert _ids(es, index_name) == {"page-0", "page-1", "page-2", "space-1"}


def test_preflight_adds_new_contract_fields_to_an_existing_index_and_leaves_the_others(
    es: Elasticsearch, es_url: str, index_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from destinations.es_mapping import content_index_mappings

    older = content_index_mappings()
    del older["properties"]["content_extraction"]  # an index made before attachments reported their text
    del older["properties"]["labels"]["fields"]  # or before labels were searchable by word
    older["properties"]["comment"] = {"type": "keyword"}  # and fields someone mapped their own way
    older["properties"]["file_name"] = {"type": "keyword"}
    es.indices.create(index=index_name, **content_index_definition(older))
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_HOSTS", es_url)
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_INDEX", index_name)
    assert check_connection().index_created is False
    properties = es.indices.get_mapping(index=index_name)[index_name]["mappings"]["properties"]
    assert properties["content_extraction"] == {"type": "keyword", "ignore_above": 8191}
    assert properties["labels"] == content_index_mappings()["properties"]["labels"]
    assert properties["comment"] == {"type": "keyword"}
    assert properties["file_name"] == {"type": "keyword"}
    es.index(index=index_name, id="page-1", document={"labels": ["architecture-diagram"]}, refresh=True)
    assert es.count(index=index_name, query={"match": {"labels.text": "Diagram"}})["count"] == 1


def test_preflight_refuses_an_index_mapped_for_other_values(
    es: Elasticsearch, es_url: str, index_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone else's index named by mistake: every document would go to the dead-letter index."""
    es.indices.create(index=index_name, mappings={"properties": {"title": {"type": "long"}, "labels": {
        "properties": {"name": {"type": "keyword"}}}, "body": {"type": "keyword"}, "version": {"type": "long"}}})
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_HOSTS", es_url)
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_INDEX", index_name)
    with pytest.raises(ElasticsearchConfigurationError) as error:
        check_connection()
    assert str(error.value) == (
        f"Index {index_name} maps title as long, labels as object, which cannot hold this connector's values: name "
        "an index of its own (it is created with the right mapping) (set destination.elasticsearch.es_index)")
    mapped = es.indices.get_mapping(index=index_name)[index_name]["mappings"]["properties"]
    assert sorted(mapped) == ["body", "labels", "title", "version"], "someone else's index is left as it was"


def test_preflight_takes_fields_that_accept_any_value_and_checks_only_an_aliases_write_index(
    es: Elasticsearch, es_url: str, index_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from destinations.es_mapping import content_index_mappings

    alias, old, current = f"{index_name}-alias", f"{index_name}-old", index_name
    es.indices.create(index=old, mappings={"properties": {"labels": {"properties": {"name": {"type": "keyword"}}}}},
                      aliases={alias: {}})
    lenient = content_index_mappings()
    lenient["properties"]["labels"] = {"type": "object", "enabled": False}
    lenient["properties"]["version"] = {"type": "long", "ignore_malformed": True}
    es.indices.create(index=current, **content_index_definition(lenient), aliases={alias: {"is_write_index": True}})
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_HOSTS", es_url)
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_INDEX", alias)
    try:
        assert check_connection().index_created is False
    finally:
        es.indices.delete(index=old)


def test_preflight_refuses_an_alias_without_a_write_index_and_takes_one_with(
    es: Elasticsearch, es_url: str, index_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from destinations.es_mapping import content_index_mappings

    alias, members = f"{index_name}-alias", [index_name, f"{index_name}-2"]
    for member in members:
        es.indices.create(index=member, **content_index_definition(), aliases={alias: {}})
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_HOSTS", es_url)
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_INDEX", alias)
    try:
        with pytest.raises(ElasticsearchConfigurationError, match="none of them is its write index.*es_index"):
            check_connection()
        es.indices.put_alias(index=members[1], name=alias, is_write_index=True)
        assert check_connection().index_created is False
    finally:
        es.indices.delete(index=members[1])


@pytest.mark.parametrize("verify_certs", ["true", "false"])
def test_an_https_url_for_a_plain_http_node_says_so(
    es_url: str, index_name: str, monkeypatch: pytest.MonkeyPatch, verify_certs: str
) -> None:
    """Trusting another CA or turning verification off cannot help a node that does not speak TLS."""
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_HOSTS", es_url.replace("http://", "https://", 1))
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_INDEX", index_name)
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_VERIFY_CERTS", verify_certs)
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_MAX_RETRIES", "0")
    with pytest.raises(ElasticsearchConfigurationError) as error:
        check_connection()
    message = str(error.value)
    assert "answered in plain HTTP, not TLS" in message and "destination.elasticsearch.es_hosts" in message
    assert "es_verify_certs" not in message


def test_a_plain_http_url_for_a_node_that_drops_it_suggests_https(
    index_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TLS port closes a plain-HTTP connection without an answer: "cannot reach" alone would send the user
    looking at the network."""
    import threading

    from destinations.es_errors import ElasticsearchUnavailableError

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def drop_every_connection() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.recv(1024)
            connection.close()

    threading.Thread(target=drop_every_connection, daemon=True).start()
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_HOSTS", f"http://127.0.0.1:{listener.getsockname()[1]}")
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_INDEX", index_name)
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_MAX_RETRIES", "0")
    try:
        with pytest.raises(ElasticsearchUnavailableError, match="drops plain-HTTP requests like this: try https://"):
            check_connection()
    finally:
        listener.close()


def test_counting_rejected_documents_waits_out_a_moment_without_the_cluster(
    es: Elasticsearch, es_url: str, index_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked after the load: a connection lost for a moment must not fail a run whose documents are all in."""
    from elasticsearch import ConnectionError as EsConnectionError

    from destinations import elastic
    from destinations.es_client import shared_client
    from destinations.es_config import dead_letter_index_name

    settings = elastic.resolve_settings(es_hosts=es_url, es_index=index_name, es_max_retries=2)
    es.indices.create(index=dead_letter_index_name(index_name))
    client = shared_client(settings.connection)
    original_count = client.count
    attempts = []

    def flaky_count(**kwargs: Any) -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise EsConnectionError("connection reset by peer")
        return original_count(**kwargs)

    monkeypatch.setattr(client, "count", flaky_count)
    assert elastic.rejected_document_count("1795838198.87", settings) == 0
    assert len(attempts) == 2


def test_new_sub_fields_reach_every_index_behind_an_alias_that_allows_it(es: Elasticsearch, index_name: str) -> None:
    """One concrete index whose mapping may not change (here a read-only block) must not keep the others as they
    were."""
    from destinations.es_indices import add_missing_fields
    from destinations.es_mapping import content_index_mappings, content_index_settings

    older = content_index_mappings()
    del older["properties"]["labels"]["fields"]
    locked, open_index, alias = index_name, f"{index_name}-open", f"{index_name}-alias"
    for name in (locked, open_index):
        es.indices.create(index=name, **content_index_definition(older), aliases={alias: {}})
    es.indices.put_settings(index=locked, settings={"index.blocks.read_only": True})
    try:
        assert add_missing_fields(es, alias, content_index_mappings(), content_index_settings()) == ["labels.text"]
        labels = es.indices.get_mapping(index=open_index)[open_index]["mappings"]["properties"]["labels"]
        assert labels["fields"]["text"] == {"type": "text"}
    finally:
        es.indices.put_settings(index=locked, settings={"index.blocks.read_only": False})
        es.indices.delete(index=open_index)
