"""Cloud through Atlassian's API gateway (`api_gateway`): scoped API tokens and service accounts are refused at the
site URL and must call `{gateway}/ex/confluence/{cloudId}/wiki/...`. The simulator serves the gateway routes on its
own port and answers them only under the name `localhost` (`gateway_host`), and the site's routes only under
`127.0.0.1`: a request sent to the wrong one of the two is refused. The documents must keep naming the site."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
import requests_mock

from confluence_simulator.faults import FaultKind, FaultRule
from confluence_simulator.generator import DEFAULT_CLOUD_ID
from confluence_simulator.server import Simulator
from confluence_source import (ConfluenceAuthError, ConfluenceConfigError, ConfluenceConnectionError, build_settings,
                               open_reader)
from confluence_source.client import ConfluenceClient
from confluence_source.config import parse_api_gateway
from confluence_source.paginators import v2_next_url

from .conftest import COMPACT, expected_ids, run_pipeline, settings_for, start_simulator
from .test_full_sync import TABLES, assert_whole_site_read


@pytest.fixture(scope="module")
def cloud_site() -> Iterator[Simulator]:
    sim = start_simulator("cloud", dataset=COMPACT, gateway_host="localhost")
    yield sim
    sim.stop()


def gateway_settings(sim: Simulator, **overrides: Any) -> Any:
    return settings_for(sim, api_gateway=sim.gateway_origin("localhost"),
                        api_token=sim.credentials["scoped_api_token"], **overrides)


def test_a_scoped_token_syncs_the_site_through_the_gateway(cloud_site: Simulator, tmp_path: Any) -> None:
    cloud_site.stats_recorder.reset()
    run = run_pipeline(gateway_settings(cloud_site), tmp_path)
    assert_whole_site_read(run, cloud_site)
    site = cloud_site.base_url
    for row in run.by_id().values():
        assert row["site_url"] == site
        assert row["url"] is None or row["url"].startswith(site + "/wiki/"), row["url"]
    endpoints = cloud_site.stats()["endpoints"]
    assert endpoints["edge.tenant_info"]["requests"] == 1
    assert endpoints["v1.attachment.download"]["requests"] > 5  # files through the gateway's REST download
    assert "download" not in endpoints  # never the servlet links the listings give


def test_the_cloud_id_can_be_given_with_the_gateway(cloud_site: Simulator, tmp_path: Any) -> None:
    cloud_site.stats_recorder.reset()
    gateway = f"{cloud_site.gateway_origin('localhost')}/ex/confluence/{DEFAULT_CLOUD_ID}/wiki"
    settings = settings_for(cloud_site, api_gateway=gateway, api_token=cloud_site.credentials["scoped_api_token"],
                            spaces="ENG")
    assert settings.v2_root == f"{cloud_site.gateway_origin('localhost')}/ex/confluence/{DEFAULT_CLOUD_ID}/wiki/api/v2"
    run = run_pipeline(settings, tmp_path)
    assert run.ids("pages")
    assert "edge.tenant_info" not in cloud_site.stats()["endpoints"]


def test_a_scoped_token_at_the_site_url_points_at_api_gateway(cloud_site: Simulator) -> None:
    with pytest.raises(ConfluenceAuthError) as caught:
        open_reader(settings_for(cloud_site, api_token=cloud_site.credentials["scoped_api_token"]))
    assert "api_gateway" in str(caught.value)
    assert cloud_site.credentials["scoped_api_token"] not in str(caught.value)


def test_paging_through_the_gateway_keeps_its_prefix(tmp_path: Any) -> None:
    """Pages of 20: v2 cursors (`/wiki/api/v2/...`, relative to the gateway's prefix) and v1 search links
    (`/rest/api/...`, relative to `/wiki`) are followed on the gateway, and a failed page is retried there; an
    incremental run's searches page the same way."""
    sim = start_simulator("cloud", dataset=COMPACT, v2_max_limit=20, v2_clamp_limit=True, search_caps=(20, 20, 20),
                          gateway_host="localhost")
    try:
        sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, endpoint="v2.spaces.pages", nth=2, status=502))
        run = run_pipeline(gateway_settings(sim), tmp_path / "full")
        expected = expected_ids(sim)
        for doc_type, table in TABLES.items():
            assert run.ids(table) == expected[doc_type], doc_type
        endpoints = sim.stats()["endpoints"]
        assert endpoints["v2.spaces.pages"]["requests"] > 8 and endpoints["v1.content.search"]["requests"] > 2
        assert sim.stats()["faults"]
        watermarks = {key: "2000-01-01T00:00:00Z" for key in {row["space_key"] for row in run.rows["spaces"]}}
        again = run_pipeline(gateway_settings(sim), tmp_path / "incremental", watermarks=watermarks)
        assert again.ids("pages") == expected["page"]
    finally:
        sim.stop()


def test_gateway_setting_forms() -> None:
    assert parse_api_gateway(None, "cloud") == (None, None)
    assert parse_api_gateway(" https://API.atlassian.com/ ", "cloud") == ("https://api.atlassian.com", None)
    assert parse_api_gateway("https://api.atlassian.com/ex/confluence/abc-123/wiki/", "cloud") == (
        "https://api.atlassian.com", "abc-123")
    for bad in ("api.atlassian.com", "https://api.atlassian.com/wiki", "https://me:secret@api.atlassian.com",
                "https://api.atlassian.com/?x=1"):
        with pytest.raises(ConfluenceConfigError) as caught:
            parse_api_gateway(bad, "cloud")
        assert "api_gateway" in str(caught.value) and "secret" not in str(caught.value)
    with pytest.raises(ConfluenceConfigError, match="Cloud only"):
        parse_api_gateway("https://api.atlassian.com", "datacenter")
    assert parse_api_gateway("http://[::1]:8080", "cloud") == ("http://[::1]:8080", None)
    for site_address in ("https://example.atlassian.net", "https://wiki.example.com:8443/"):
        with pytest.raises(ConfluenceConfigError, match="confluence_url"):
            parse_api_gateway(site_address, "cloud", "https://wiki.example.com")


def test_v2_next_links_land_under_the_gateway_prefix() -> None:
    base = "https://api.atlassian.com/ex/confluence/abc"
    assert v2_next_url("https://api.atlassian.com/wiki/api/v2/pages?cursor=x", base) == (
        base + "/wiki/api/v2/pages?cursor=x")
    assert v2_next_url("https://evil.example/ex/confluence/abc/wiki/api/v2/pages?cursor=x", base) == (
        base + "/wiki/api/v2/pages?cursor=x")
    assert v2_next_url("https://x.atlassian.net/wiki/api/v2/pages?cursor=y", "https://x.atlassian.net") == (
        "https://x.atlassian.net/wiki/api/v2/pages?cursor=y")


def _gateway_client(**overrides: Any) -> ConfluenceClient:
    values: dict[str, Any] = dict(data_source="Confluence Cloud", confluence_url="https://example.atlassian.net",
                                  account_email="bot@example.com", api_token="scoped-4711",
                                  api_gateway="https://api.atlassian.com", retry_count=0)
    values.update(overrides)
    return ConfluenceClient(build_settings(**values))


def test_the_cloud_id_is_asked_without_credentials_and_a_site_without_one_is_named() -> None:
    with requests_mock.Mocker() as mock:
        mock.get("https://example.atlassian.net/_edge/tenant_info", json={"cloudId": "c-1"})
        client = _gateway_client()
        assert "Authorization" not in mock.last_request.headers
        assert client.config.v1_root == "https://api.atlassian.com/ex/confluence/c-1/wiki/rest/api"
    with requests_mock.Mocker() as mock:
        mock.get("https://example.atlassian.net/_edge/tenant_info", status_code=404, text="nope")
        with pytest.raises(ConfluenceConnectionError) as caught:
            _gateway_client()
        assert "confluence_url" in str(caught.value) and "api_gateway" in str(caught.value)


def test_a_missing_scope_is_named_as_such() -> None:
    with requests_mock.Mocker() as mock:
        mock.get("https://example.atlassian.net/_edge/tenant_info", json={"cloudId": "c-1"})
        client = _gateway_client()
        mock.get("https://api.atlassian.com/ex/confluence/c-1/wiki/api/v2/spaces", status_code=401,
                 json={"code": 401, "message": "Unauthorized; scope does not match"},
                 headers={"X-Failure-Category": "FAILURE_CLIENT_SCOPE_CHECK"})
        with pytest.raises(ConfluenceAuthError) as caught:
            client.get_json(client.v2("/spaces"), purpose="listing spaces")
    message = str(caught.value)
    assert "lacks a scope" in message and "listing spaces" in message and "scoped-4711" not in message
