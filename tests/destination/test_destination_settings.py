"""Settings, serialization and action planning of the Elasticsearch destination (no node needed)."""

from __future__ import annotations

import base64
import inspect
import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import trustme
from destination_samples import PAGES_TABLE, tombstone
from dlt.common.destination.exceptions import (
    DestinationTerminalException,
    DestinationTransientException,
)
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    BadRequestError,
)

from destinations import elastic
from destinations.es_client import build_client
from destinations.es_config import (
    ElasticsearchDestinationConfiguration,
    build_settings,
    resolve_settings,
)
from destinations.es_documents import TableKeys, plan_batch
from destinations.es_errors import (
    ElasticsearchUnavailableError,
    ElasticsearchConfigurationError,
    is_retryable,
    redact_url,
    translate_client_error,
)
from destinations.es_retry import RetryPolicy
from destinations.es_serializer import DocumentSerializer


def test_defaults_match_the_contract() -> None:
    settings = build_settings()
    assert settings.connection.hosts == ("http://127.0.0.1:9200",)
    assert settings.index == "search-confluence"
    assert settings.dead_letter_index == "search-confluence-errors"
    assert settings.connection.verify_certs is True
    assert settings.language == "english"


def test_sink_parameters_are_exactly_the_spec_fields() -> None:
    """The sink signature and the spec must not drift apart, or a setting would silently be ignored."""
    parameters = list(inspect.signature(elastic.elasticsearch_destination).parameters)
    spec_fields = [name for name in ElasticsearchDestinationConfiguration.__annotations__ if name.startswith("es_")]
    assert parameters[2:] == spec_fields


def test_comma_separated_hosts_are_split() -> None:
    settings = build_settings(es_hosts=" https://a.example:9200, https://b.example:9243/ ")
    assert settings.connection.hosts == ("https://a.example:9200", "https://b.example:9243")


@pytest.mark.parametrize("hosts", ["localhost:9200", "ftp://x", "http://", "http://host:0"])
def test_bad_host_names_es_hosts(hosts: str) -> None:
    with pytest.raises(ElasticsearchConfigurationError) as raised:
        build_settings(es_hosts=hosts)
    message = str(raised.value)
    assert message.endswith("(set destination.elasticsearch.es_hosts)")
    assert "\n" not in message
    assert isinstance(raised.value, DestinationTerminalException)
    if "://" not in hosts:
        assert message.startswith("An Elasticsearch URL lacks its scheme: write it with http:// or https://")


def test_credentials_in_a_url_never_reach_messages() -> None:
    settings = build_settings(es_hosts="https://elastic:s3cr3t-pw@es.example:9200")
    assert settings.connection.describe() == "https://es.example:9200"
    assert "s3cr3t" not in repr(settings)
    with pytest.raises(ElasticsearchConfigurationError) as raised:
        build_settings(es_hosts="htps://elastic:s3cr3t-pw@es.example:9200")
    assert "s3cr3t" not in str(raised.value)
    assert redact_url("http://u:p@[::1]:9200/x") == "http://[::1]:9200/x"
    # a port typo is the URL check's to report, without the password
    with pytest.raises(ElasticsearchConfigurationError) as raised:
        build_settings(es_hosts="http://elastic:s3cr3t-pw@es.example:92OO")
    assert "s3cr3t" not in str(raised.value) and "destination.elasticsearch.es_hosts" in str(raised.value)
    assert redact_url("http://elastic:s3cr3t-pw@es.example:92OO") == "http://es.example:92OO"
    # unescaped characters that end a URL parser's host part early
    for password in ("s3cr3t#pw", "s3cr3t?pw", "s3cr3t/pw"):
        url = f"https://elastic:{password}@es.example:9200"
        assert redact_url(url) == "https://es.example:9200"
        with pytest.raises(ElasticsearchConfigurationError) as raised:
            build_settings(es_hosts=url)
        assert "s3cr3t" not in str(raised.value), raised.value


def test_an_unreachable_elastic_cloud_deployment_names_es_cloud_id_not_es_hosts() -> None:
    from elastic_transport import ConnectionError as TransportConnectionError

    cloud_id = "deployment:" + base64.b64encode(b"us-east-1.aws.found.io$abc123$def456").decode()
    settings = build_settings(es_cloud_id=cloud_id, es_api_key="key-VALUE-123")
    with pytest.raises(ElasticsearchUnavailableError) as raised:
        with settings.connection.explained_errors(settings.index):
            raise TransportConnectionError("Connection refused")
    assert "destination.elasticsearch.es_cloud_id" in str(raised.value)
    assert "es_hosts" not in str(raised.value)


def test_secrets_are_not_in_the_settings_repr() -> None:
    settings = build_settings(es_api_key="key-VALUE-123", es_hosts="https://es.example:9200")
    assert "key-VALUE-123" not in repr(settings)
    settings = build_settings(es_username="bob", es_password="pw-VALUE-456")
    assert "pw-VALUE-456" not in repr(settings) and "bob" not in repr(settings)


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"es_username": "bob"}, "es_username"),
        ({"es_password": "pw"}, "es_username"),
        ({"es_api_key": "k", "es_username": "bob", "es_password": "pw"}, "es_api_key"),
        ({"es_index": "Search-Confluence"}, "es_index"),
        ({"es_index": "_hidden"}, "es_index"),
        ({"es_index": "with space"}, "es_index"),
        ({"es_request_timeout": 0}, "es_request_timeout"),
        ({"es_request_timeout": float("nan")}, "es_request_timeout"),
        ({"es_request_timeout": float("inf")}, "es_request_timeout"),
        ({"es_ca_certs": "/nonexistent/ca.pem"}, "es_ca_certs"),
        ({"es_max_retries": -1}, "es_max_retries"),
        ({"es_language": "klingon"}, "es_language"),
        ({"es_language": "stemmed_english"}, "es_language"),
    ],
)
def test_each_bad_setting_names_itself(kwargs: dict[str, object], setting: str) -> None:
    with pytest.raises(ElasticsearchConfigurationError) as raised:
        build_settings(**kwargs)  # type: ignore[arg-type]
    assert f"destination.elasticsearch.{setting}" in str(raised.value)


def test_settings_resolve_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_HOSTS", "https://one.example:9200,https://two.example:9200")
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_API_KEY", "env-api-key")
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_VERIFY_CERTS", "false")
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_INDEX", "from-env")
    # The source's bare keys must not leak into the destination.
    monkeypatch.setenv("API_KEY", "source-key")
    monkeypatch.setenv("PASSWORD", "source-password")
    settings = resolve_settings(es_request_timeout=5)
    assert settings.connection.hosts == ("https://one.example:9200", "https://two.example:9200")
    assert settings.connection.api_key == "env-api-key"
    assert settings.connection.password is None
    assert settings.connection.verify_certs is False
    assert settings.connection.request_timeout == 5
    assert settings.index == "from-env"
    assert settings.language == "english"


@pytest.mark.parametrize(("value", "language"), [("German", "german"), (" thai ", "thai"), ("none", "none"),
                                                 ("", "english")])
def test_es_language_is_one_of_the_built_in_analyzers_or_none(
    monkeypatch: pytest.MonkeyPatch, value: str, language: str
) -> None:
    """An empty value (an unset repository variable in the scheduled workflow) means the default."""
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_LANGUAGE", value)
    assert resolve_settings().language == language


@pytest.mark.parametrize(("value", "pipeline"), [("", None), ("  ", None), (" confluence-embeddings ",
                                                                             "confluence-embeddings")])
def test_es_pipeline_is_optional_and_trimmed(monkeypatch: pytest.MonkeyPatch, value: str, pipeline: str | None) -> None:
    monkeypatch.setenv("DESTINATION__ELASTICSEARCH__ES_PIPELINE", value)
    assert resolve_settings().pipeline == pipeline


@pytest.mark.parametrize("value", ["embeddings-*", "first,second"])
def test_es_pipeline_names_one_pipeline(value: str) -> None:
    with pytest.raises(ElasticsearchConfigurationError, match="must name a single pipeline.*es_pipeline"):
        build_settings(es_pipeline=value)


def test_an_unknown_es_language_lists_the_ones_there_are() -> None:
    with pytest.raises(ElasticsearchConfigurationError) as raised:
        build_settings(es_language="Klingon")
    assert "'Klingon'" in str(raised.value) and "german" in str(raised.value) and "none" in str(raised.value)


def test_ca_certificate_as_pem_text_or_path(tmp_path: Path) -> None:
    authority = trustme.CA()
    pem = authority.cert_pem.bytes().decode()
    from_text = build_settings(es_hosts="https://es.example:9200", es_ca_certs=pem)
    assert from_text.connection.ca_certs_is_pem
    build_client(from_text.connection).close()
    on_one_line = build_settings(es_hosts="https://es.example:9200", es_ca_certs=pem.strip().replace("\n", "\\n"))
    build_client(on_one_line.connection).close()  # as pasted into one line of a variable: "\n" as two characters

    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(pem)
    from_path = build_settings(es_hosts="https://es.example:9200", es_ca_certs=str(ca_file))
    assert from_path.connection.ca_certs == str(ca_file)
    build_client(from_path.connection).close()

    broken = build_settings(es_hosts="https://es.example:9200", es_ca_certs="-----BEGIN CERTIFICATE-----\nnope\n")
    with pytest.raises(ElasticsearchConfigurationError, match=r"es_ca_certs\)$"):
        build_client(broken.connection)


def test_serializer_handles_dlt_value_types() -> None:
    document = {
        "updated_at": datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
        "offset_time": datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=2))),
        "day": date(2024, 5, 1),
        "at": time(8, 15),
        "whole": Decimal("42"),
        "fraction": Decimal("1.25"),
        "raw": b"\x00\x01",
    }
    decoded = json.loads(DocumentSerializer().dumps(document))
    assert decoded == {
        "updated_at": "2024-05-01T12:30:00+00:00",
        "offset_time": "2024-05-01T12:30:00+02:00",
        "day": "2024-05-01",
        "at": "08:15:00",
        "whole": 42,
        "fraction": 1.25,
        "raw": "AAE=",
    }


def test_plan_turns_rows_into_index_and_delete_actions() -> None:
    keys = TableKeys.from_table(PAGES_TABLE)
    rows = [
        {"id": "page-1", "title": "A", "deleted": False},
        tombstone("page-2"),
        {"title": "no id"},
        {"id": "page-3", "title": "x" * 5000},
        {"id": "page-4", "value": Decimal("NaN")},
    ]
    planned = plan_batch(rows, keys, max_document_bytes=2048)
    assert [(a.operation, a.doc_id) for a in planned.actions] == [("index", "page-1"), ("delete", "page-2")]
    assert json.loads(planned.actions[0].body or b"") == {"id": "page-1", "title": "A"}
    assert [(r.doc_id, r.error_type) for r in planned.rejected] == [
        ("<row 2 without id>", "missing_primary_key"),
        ("page-3", "document_too_large"),
        ("page-4", "serialization_error"),
    ]


def test_non_bool_hard_delete_column_deletes_when_set() -> None:
    columns = {"id": {"primary_key": True}, "deleted_at": {"hard_delete": True, "data_type": "timestamp"}}
    table = {"name": "t", "columns": columns}
    keys = TableKeys.from_table(table)
    assert keys.is_delete({"id": "1", "deleted_at": "2024-01-01"})
    assert not keys.is_delete({"id": "1"})


def test_table_without_any_key_is_a_terminal_error() -> None:
    with pytest.raises(ElasticsearchConfigurationError, match="no primary key"):
        TableKeys.from_table({"name": "t", "columns": {"title": {"data_type": "text"}}})


def test_backoff_grows_and_is_capped_with_jitter() -> None:
    policy = RetryPolicy(max_retries=10, initial_delay=0.5, max_delay=8.0)
    for retry in range(1, 11):
        ceiling = min(8.0, 0.5 * 2 ** (retry - 1))
        delays = {policy.delay(retry) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jitter


def _api_error(error_class: type[ApiError], status: int, body: dict[str, object]) -> ApiError:
    meta = ApiResponseMeta(
        status=status, http_version="1.1", headers=HttpHeaders(), duration=0.01,
        node=NodeConfig("https", "es.example", 9200),
    )
    return error_class(message=str(status), meta=meta, body=body)


def _error_body(error_type: str, reason: str) -> dict[str, object]:
    return {"error": {"type": error_type, "reason": reason}}


@pytest.mark.parametrize(
    ("error", "terminal", "names"),
    [
        (_api_error(AuthenticationException, 401, _error_body("security_exception", "user [bob]")), True, "es_api_key"),
        (_api_error(AuthorizationException, 403, _error_body("security_exception", "user [bob] has roles [x]")),
         True, "es_index"),
        (_api_error(ApiError, 503, _error_body("unavailable_shards_exception", "primary not active")), False, None),
        (_api_error(BadRequestError, 400, _error_body("invalid_index_name_exception", "must be lowercase")),
         True, "es_index"),
    ],
)
def test_client_errors_become_terminal_or_transient_one_liners(
    error: ApiError, terminal: bool, names: str | None
) -> None:
    translated = translate_client_error(error, "https://es.example:9200", "search-confluence")
    assert translated is not None
    assert isinstance(translated, DestinationTerminalException) is terminal
    assert isinstance(translated, DestinationTransientException) is not terminal
    message = str(translated)
    assert "\n" not in message and "bob" not in message
    if names:
        assert f"destination.elasticsearch.{names}" in message
    assert is_retryable(error) is not terminal
    from pipelines.confluence_to_es import EXIT_CONFIG, EXIT_FAILED, exit_code_of

    assert exit_code_of(translated) == (EXIT_CONFIG if names else EXIT_FAILED)  # exit 2 names what to fix


def test_a_403_for_a_blocked_index_names_the_block_not_the_privileges() -> None:
    blocked = _api_error(AuthorizationException, 403, _error_body(
        "cluster_block_exception", "index [search-confluence] blocked by: [FORBIDDEN/8/index write (api)];"))
    message = str(translate_client_error(blocked, "https://es.example:9200", "search-confluence"))
    assert "the index is blocked (index [search-confluence] blocked by: [FORBIDDEN/8/index write (api)])" in message
    assert "privileges" not in message and "destination.elasticsearch.es_index" in message
    # without an index to name, the same refusal is told as a denial of the request
    assert "denied this request" in str(translate_client_error(blocked, "https://es.example:9200"))


@pytest.mark.parametrize(("reason", "cluster_read_only"), [
    ("blocked by: [FORBIDDEN/6/cluster read-only (api)];", True),
    ("blocked by: [FORBIDDEN/13/cluster read-only / allow delete (api)];", True),
    ("blocked by: [FORBIDDEN/6/cluster read-only (api), FORBIDDEN/10/cluster create-index blocked (api)];", True),
    # stops only the creation of an index: not the whole cluster's writes
    ("blocked by: [FORBIDDEN/10/cluster create-index blocked (api)];", False),
    ("index [search-confluence] blocked by: [FORBIDDEN/12/index read-only / allow delete (api)];", False),
])
def test_a_read_only_cluster_is_told_from_a_blocked_index(reason: str, cluster_read_only: bool) -> None:
    blocked = _api_error(AuthorizationException, 403, _error_body("cluster_block_exception", reason))
    message = str(translate_client_error(blocked, "https://cloud.example", "search-confluence", "es_cloud_id"))
    assert ("the whole cluster is read-only" in message) is cluster_read_only, message
    # only another cluster helps with a read-only one: the setting that says where it is, es_cloud_id here
    expected = "destination.elasticsearch.es_cloud_id" if cluster_read_only else "destination.elasticsearch.es_index"
    assert expected in message and "es_hosts" not in message


def test_a_401_from_a_server_that_does_not_say_it_is_elasticsearch_points_at_the_address_too() -> None:
    from_node = _api_error(AuthenticationException, 401, _error_body("security_exception", "missing credentials"))
    from_node.meta.headers["X-Elastic-Product"] = "Elasticsearch"
    assert str(translate_client_error(from_node, "https://es.example:9200")).startswith(
        "Elasticsearch at https://es.example:9200 rejected the credentials (HTTP 401)")
    from_elsewhere = _api_error(AuthenticationException, 401, {"message": "Unauthorized"})
    message = str(translate_client_error(from_elsewhere, "https://wiki.example"))
    assert "without saying it is Elasticsearch" in message
    assert "destination.elasticsearch.es_hosts" in message and "destination.elasticsearch.es_api_key" in message


def test_a_refused_request_about_no_index_names_the_address() -> None:
    refused = _api_error(ApiError, 405, _error_body("method_not_allowed", "Incorrect HTTP method"))
    message = str(translate_client_error(refused, "http://es.example:9200/some/path"))
    assert "index 'None'" not in message and "destination.elasticsearch.es_hosts" in message
    assert "es_index" not in message
