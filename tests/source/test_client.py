"""The HTTP client in isolation (requests-mock): retries, backoff, Retry-After, NearLimit, error messages, paging."""

from __future__ import annotations

import logging
import re
import socket
import time
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
import requests_mock
from requests.structures import CaseInsensitiveDict

from confluence_source import (
    ConfluenceAuthError,
    ConfluenceConnectionError,
    ConfluenceNotFoundError,
    ConfluenceQueryError,
    ConfluenceRequestError,
    IncompleteListingError,
    build_settings,
)
from confluence_source.client import ConfluenceClient
from confluence_source.transport import retry_after_seconds

SITE = "https://example.atlassian.net"
TOKEN = "sekret-token-4711"
V2 = SITE + "/wiki/api/v2"
V1 = SITE + "/wiki/rest/api"


def make_client(**overrides: Any) -> ConfluenceClient:
    values: dict[str, Any] = dict(
        data_source="Confluence Cloud", confluence_url=SITE, account_email="bot@example.com", api_token=TOKEN,
        backoff_seconds=0.01, max_retry_delay=2.0, retry_count=3,
    )
    values.update(overrides)
    return ConfluenceClient(build_settings(**values))


def ok(body: Any, **headers: str) -> dict[str, Any]:
    return {"json": body, "status_code": 200, "headers": headers}


def test_server_errors_are_retried_until_success() -> None:
    client = make_client()
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/spaces", [{"status_code": 503}, {"status_code": 502}, ok({"results": []})])
        assert client.get_json(V2 + "/spaces", purpose="test") == {"results": []}
        assert mock.call_count == 3
    assert client.stats.as_dict()["retries"] == 2
    assert client.stats.as_dict()["by_status"] == {200: 1, 502: 1, 503: 1}


def test_backoff_is_exponential_with_jitter() -> None:
    client = make_client(backoff_seconds=0.05, retry_count=3)
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/spaces", [{"status_code": 500}] * 3 + [ok({})])
        client.get_json(V2 + "/spaces", purpose="test")
    waited = client.stats.as_dict()["seconds_waiting"]
    nominal = 0.05 + 0.1 + 0.2
    assert 0.7 * nominal <= waited <= 1.3 * nominal


def test_retries_run_out_with_a_message_naming_retry_count() -> None:
    client = make_client(retry_count=2)
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/spaces", status_code=500)
        with pytest.raises(ConfluenceRequestError, match="sources.confluence.retry_count") as error:
            client.get_json(V2 + "/spaces", purpose="listing spaces")
        assert mock.call_count == 3
    assert error.value.status == 500


def test_retry_after_is_honoured() -> None:
    client = make_client(backoff_seconds=0.001)
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/spaces", [{"status_code": 429, "headers": {"Retry-After": "1"}}, ok({})])
        started = time.monotonic()
        client.get_json(V2 + "/spaces", purpose="test")
        assert time.monotonic() - started >= 0.95
    assert client.stats.as_dict()["throttled"] == 1


def test_absurd_retry_after_is_clamped(caplog: pytest.LogCaptureFixture) -> None:
    client = make_client(max_retry_delay=0.3)
    with requests_mock.Mocker() as mock, caplog.at_level("WARNING"):
        mock.get(V2 + "/spaces", [{"status_code": 429, "headers": {"Retry-After": "9223372036854775807"}}, ok({})])
        started = time.monotonic()
        client.get_json(V2 + "/spaces", purpose="test")
        assert 0.25 <= time.monotonic() - started < 2.0
    assert "waiting the maximum of 0 s (sources.confluence.max_retry_delay) instead" in caplog.text


def test_retry_after_forms() -> None:
    def answer(status: int, **headers: str) -> tuple[int, CaseInsensitiveDict[str]]:
        return status, CaseInsensitiveDict(headers)

    soon = datetime.now(timezone.utc) + timedelta(seconds=30)
    assert retry_after_seconds(*answer(503, **{"Retry-After": "7"})) == 7
    assert 25 <= (retry_after_seconds(*answer(429, **{"Retry-After": format_datetime(soon, usegmt=True)})) or 0) <= 31
    reset = (datetime.now(timezone.utc) + timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert 15 <= (retry_after_seconds(*answer(429, **{"X-RateLimit-Reset": reset})) or 0) <= 21
    assert retry_after_seconds(*answer(503)) is None
    assert retry_after_seconds(*answer(429, **{"Retry-After": "soon"})) is None


def test_other_client_errors_are_not_retried() -> None:
    client = make_client()
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/pages/1", status_code=404, json={"errors": [{"status": 404, "title": "Not Found"}]})
        mock.get(V2 + "/spaces", status_code=400, json={"errors": [{"title": "Bad limit"}]})
        mock.get(V1 + "/content/search", status_code=400,
                 json={"statusCode": 400, "message": "Could not parse cql : spaec = X"})
        with pytest.raises(ConfluenceNotFoundError):
            client.get_json(V2 + "/pages/1", purpose="reading a page")
        with pytest.raises(ConfluenceRequestError, match="Bad limit"):
            client.get_json(V2 + "/spaces", purpose="listing spaces")
        with pytest.raises(ConfluenceQueryError, match="Could not parse cql"):
            client.get_json(V1 + "/content/search", {"cql": "spaec = X"}, purpose="searching")
        assert mock.call_count == 3


def test_rejected_credentials_name_the_settings_and_never_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client()
    with requests_mock.Mocker() as mock:
        mock.get(V1 + "/user/current", status_code=401, json={"message": "Unauthorized"})
        with pytest.raises(ConfluenceAuthError) as error:
            client.get_json(V1 + "/user/current", purpose="checking the credentials")
        assert mock.call_count == 1
        assert mock.last_request.headers["Authorization"].startswith("Basic ")
    message = str(error.value)
    assert message == (
        "Confluence rejected the credentials (check sources.confluence.account_email and "
        "sources.confluence.api_token); sources.confluence.data_source says this is Confluence Cloud, which must be "
        "what the site is; a scoped API token (a service account's too) works only through Atlassian's API gateway: "
        "set sources.confluence.api_gateway = 'https://api.atlassian.com'"
    )
    assert TOKEN not in message and TOKEN not in caplog.text


def test_server_credentials_rejected_by_a_cloud_site_point_at_data_source() -> None:
    client = make_client(data_source="Confluence Server", confluence_url=SITE + "/wiki", username="bob",
                         password=TOKEN, account_email=None, api_token=None)
    with requests_mock.Mocker() as mock:
        mock.get(V1 + "/user/current", status_code=401)
        with pytest.raises(ConfluenceAuthError) as error:
            client.get_json(V1 + "/user/current", purpose="checking the credentials")
    assert str(error.value) == (
        "Confluence rejected the credentials (check sources.confluence.username and sources.confluence.password); "
        "example.atlassian.net is a Confluence Cloud site: set sources.confluence.data_source = 'Confluence Cloud' "
        "with sources.confluence.account_email and sources.confluence.api_token"
    )


def test_forbidden_before_any_success_is_a_credentials_problem_later_it_is_not() -> None:
    client = make_client()
    with requests_mock.Mocker() as mock:
        mock.get(V1 + "/user/current", status_code=403)
        with pytest.raises(ConfluenceAuthError):
            client.get_json(V1 + "/user/current", purpose="checking the credentials")
        mock.get(V2 + "/spaces", json={"results": []})
        client.get_json(V2 + "/spaces", purpose="listing spaces")
        mock.get(V2 + "/pages/5", status_code=403)
        with pytest.raises(ConfluenceRequestError, match="HTTP 403"):
            client.get_json(V2 + "/pages/5", purpose="reading a page")


def test_cut_off_json_bodies_are_retried() -> None:
    client = make_client()
    with requests_mock.Mocker() as mock:
        mock.get(
            V2 + "/spaces",
            [
                {"status_code": 200, "text": '{"results": [{"id": "1"',
                 "headers": {"Content-Type": "application/json"}},
                ok({"results": [{"id": "1"}]}),
            ],
        )
        assert client.get_json(V2 + "/spaces", purpose="test") == {"results": [{"id": "1"}]}
        assert mock.call_count == 2


def test_dropped_connections_are_retried() -> None:
    client = make_client()
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/spaces", [{"exc": requests.exceptions.ConnectionError("reset")}, ok({"results": []})])
        client.get_json(V2 + "/spaces", purpose="test")
        assert mock.call_count == 2
    assert client.stats.as_dict()["failed_connections"] == 1


def test_a_plain_http_url_whose_connections_are_dropped_suggests_https() -> None:
    plain = "http://wiki.example.com:8443/confluence"
    client = make_client(data_source="Confluence Server", confluence_url=plain, username="bob", password=TOKEN,
                         account_email=None, api_token=None, retry_count=0)
    with requests_mock.Mocker() as mock:
        mock.get(plain + "/rest/api/user/current",
                 exc=requests.exceptions.ConnectionError("('Connection aborted.', RemoteDisconnected())"))
        with pytest.raises(ConfluenceConnectionError) as error:
            client.get_json(plain + "/rest/api/user/current", purpose="checking the credentials")
    assert str(error.value) == (
        f"Could not connect to Confluence at {plain} (connection dropped by the server); check "
        "sources.confluence.confluence_url (an HTTPS port drops plain-HTTP requests like this: try https://)")


def test_reads_sent_as_post_are_retried_too() -> None:
    client = make_client()
    with requests_mock.Mocker() as mock:
        mock.post(V2 + "/users-bulk", [{"status_code": 503}, ok({"results": []})])
        assert client.post_json(V2 + "/users-bulk", {"accountIds": ["a"]}, purpose="users") == {"results": []}
        assert mock.last_request.json() == {"accountIds": ["a"]}


def test_near_limit_slows_requests_down() -> None:
    client = make_client()
    client._pacer._interval = 0.2  # noqa: SLF001 - shorten the production spacing for the test
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/a", json={}, headers={"X-RateLimit-NearLimit": "true"})
        mock.get(V2 + "/b", json={})
        client.get_json(V2 + "/a", purpose="test")
        started = time.monotonic()
        for _ in range(3):
            client.get_json(V2 + "/b", purpose="test")
        assert time.monotonic() - started >= 0.35
    fresh = make_client()
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/b", json={})
        started = time.monotonic()
        for _ in range(3):
            fresh.get_json(V2 + "/b", purpose="test")
        assert time.monotonic() - started < 0.3


def test_unreachable_site_names_the_url_setting() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(confluence_url=f"http://127.0.0.1:{port}", retry_count=1)
    with pytest.raises(ConfluenceConnectionError, match=r"connection refused.*sources\.confluence\.confluence_url"):
        client.get_json(client.v1("/user/current"), purpose="checking the credentials")


def test_a_site_that_goes_away_mid_run_is_a_failed_run_not_a_setting_to_fix() -> None:
    """The same refused connection names `confluence_url` before anything got through, and afterwards says the site
    stopped answering: exit 1, not 2 (see `pipelines.confluence_to_es.exit_code_of`)."""
    from pipelines.confluence_to_es import EXIT_FAILED, exit_code_of

    client = make_client(retry_count=1)
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/spaces", [ok({"results": []})] + [{"exc": requests.exceptions.ConnectionError("refused")}] * 3)
        client.get_json(V2 + "/spaces", purpose="listing spaces")
        with pytest.raises(ConfluenceConnectionError, match="stopped answering while listing spaces") as raised:
            client.get_json(V2 + "/spaces", purpose="listing spaces")
    # not a ConfluenceRequestError, which some readers let pass (a name lookup would go on without the names)
    assert not isinstance(raised.value, ConfluenceRequestError)
    assert exit_code_of(raised.value) == EXIT_FAILED


def test_a_site_that_stops_answering_in_time_mid_run_is_a_failed_run_naming_the_timeout() -> None:
    from pipelines.confluence_to_es import EXIT_FAILED, exit_code_of

    client = make_client(retry_count=1)
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/spaces", [ok({"results": []})] + [{"exc": requests.exceptions.ReadTimeout("slow")}] * 3)
        client.get_json(V2 + "/spaces", purpose="listing spaces")
        with pytest.raises(ConfluenceConnectionError) as raised:
            client.get_json(V2 + "/spaces", purpose="listing spaces")
    assert re.search(r"did not answer within .* while listing spaces, also after 1 retries.*"
                     r"sources\.confluence\.request_timeout", str(raised.value)), raised.value
    assert "confluence_url" not in str(raised.value)
    assert exit_code_of(raised.value) == EXIT_FAILED


def test_a_refusal_after_a_redirect_to_another_host_is_not_blamed_on_the_credentials() -> None:
    """requests does not send the credentials to the host a redirect leads to; its 401 says nothing about them."""
    client = make_client(retry_count=0)
    with requests_mock.Mocker() as mock:
        mock.get(V1 + "/user/current", status_code=302, headers={"Location": "https://login.example.org/sso?x=1"})
        mock.get("https://login.example.org/sso?x=1", status_code=401, json={"message": "log in"})
        with pytest.raises(ConfluenceConnectionError) as raised:
            client.get_json(V1 + "/user/current", purpose="checking the credentials")
        assert "Authorization" not in mock.request_history[-1].headers
    message = str(raised.value)
    assert "redirected a request to https://login.example.org" in message and "confluence_url" in message, message
    assert "rejected the credentials" not in message


def test_non_json_answer_points_at_the_url() -> None:
    client = make_client()
    with requests_mock.Mocker() as mock:
        mock.get(V1 + "/user/current", text="<html>login</html>", headers={"Content-Type": "text/html"})
        with pytest.raises(ConfluenceConnectionError, match="text/html instead of JSON.*confluence_url"):
            client.get_json(V1 + "/user/current", purpose="checking the credentials")


def test_v2_pages_follow_the_cursor_links() -> None:
    client = make_client()
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/spaces/1/pages?limit=2", complete_qs=False, json={
            "results": [{"id": "1"}, {"id": "2"}], "_links": {"next": "/wiki/api/v2/spaces/1/pages?cursor=abc&limit=2"},
        })
        mock.get(V2 + "/spaces/1/pages?cursor=abc&limit=2", json={"results": [{"id": "3"}], "_links": {}})
        ids = [item["id"] for page in client.pages(V2 + "/spaces/1/pages", {"limit": 2}, purpose="t", api="v2")
               for item in page.items]
    assert ids == ["1", "2", "3"]


def test_v1_pages_advance_by_what_was_returned() -> None:
    """The server capped `limit` at 2 and its next link says start=5 (wrong): the client asks for start=2."""
    client = make_client(data_source="datacenter", confluence_url="https://wiki.example.com/confluence",
                         username="u", password="p")
    base = "https://wiki.example.com/confluence"
    with requests_mock.Mocker() as mock:
        first = mock.get(base + "/rest/api/content/search?cql=type%3Dpage&limit=100", complete_qs=True, json={
            "results": [{"id": "1"}, {"id": "2"}], "start": 0, "limit": 2, "size": 2, "totalSize": 3,
            "_links": {"base": "http://internal-host:8090/confluence", "context": "/confluence",
                       "next": "/confluence/rest/api/content/search?cql=type%3Dpage&limit=2&start=5"},
        })
        second = mock.get(base + "/rest/api/content/search?cql=type%3Dpage&limit=2&start=2", complete_qs=True, json={
            "results": [{"id": "3"}], "start": 2, "limit": 2, "size": 1,
            "_links": {"base": base, "context": "/confluence"},
        })
        pages = list(client.pages(base + "/rest/api/content/search", {"cql": "type=page", "limit": 100}, purpose="t"))
        assert first.called and second.called
    assert [item["id"] for page in pages for item in page.items] == ["1", "2", "3"]
    assert pages[0].total == 3


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_a_next_link_to_another_host_or_to_plain_http_is_followed_on_the_site(api: str) -> None:
    """The credentials go with every page: an absolute `next` (the server's own idea of its address, or a hostile
    one) must not take them to another host, or over plain HTTP."""
    client = make_client()
    root = V1 + "/content/search" if api == "v1" else V2 + "/pages"
    elsewhere = root.replace("https://example.atlassian.net", "http://collector.example.org")
    downgraded = root.replace("https://", "http://")
    with requests_mock.Mocker() as mock:
        mock.get(root + "?limit=1", complete_qs=True, json={
            "results": [{"id": "1"}], "size": 1, "_links": {"next": elsewhere + "?limit=1&cursor=b"}})
        mock.get(root + "?limit=1&cursor=b", complete_qs=True, json={
            "results": [{"id": "2"}], "size": 1, "_links": {"next": downgraded + "?limit=1&cursor=c"}})
        mock.get(root + "?limit=1&cursor=c", complete_qs=True, json={"results": [{"id": "3"}], "size": 1,
                                                                     "_links": {}})
        pages = list(client.pages(root, {"limit": 1}, purpose="t", api=api))
        hosts = {(request.scheme, request.netloc) for request in mock.request_history}
    assert [item["id"] for page in pages for item in page.items] == ["1", "2", "3"]
    assert hosts == {("https", "example.atlassian.net")}


def test_an_empty_page_that_links_onwards_is_followed() -> None:
    client = make_client()
    with requests_mock.Mocker() as mock:
        mock.get(V1 + "/content/search", [
            ok({"results": [{"id": "1"}], "size": 1, "_links": {"next": "/rest/api/content/search?cursor=x"}}),
            ok({"results": [], "size": 0, "_links": {"next": "/rest/api/content/search?cursor=x"}}),
            ok({"results": [{"id": "2"}], "size": 1, "_links": {}}),
        ])
        items = [item for page in client.pages(V1 + "/content/search", {"cql": "x"}, purpose="t")
                 for item in page.items]
        assert mock.request_history[1].url == V1 + "/content/search?cursor=x"
    assert items == [{"id": "1"}, {"id": "2"}]


def test_an_offset_listing_ends_at_the_overshoot_past_its_total() -> None:
    client = make_client(data_source="dc", confluence_url="https://w.example.com", username="u", password="p")
    api = "https://w.example.com/rest/api/content/search"
    with requests_mock.Mocker() as mock:
        mock.get(api, [
            ok({"results": [{"id": "1"}], "start": 0, "size": 1, "totalCount": 1,
                "_links": {"next": "/rest/api/content/search?cql=x&start=1"}}),
            ok({"results": [], "start": 1, "size": 0, "totalCount": 1,
                "_links": {"next": "/rest/api/content/search?cql=x&start=1"}}),
        ])
        items = [item for page in client.pages(api, {"cql": "x"}, purpose="t") for item in page.items]
        assert mock.call_count == 2
    assert items == [{"id": "1"}]


def test_endless_empty_pages_short_of_the_total_fail_loudly() -> None:
    client = make_client()
    with requests_mock.Mocker() as mock:
        mock.get(V1 + "/content/search", [
            ok({"results": [{"id": "1"}], "size": 1, "totalSize": 5,
                "_links": {"next": "/rest/api/content/search?cursor=x"}}),
        ] + [ok({"results": [], "size": 0, "_links": {"next": "/rest/api/content/search?cursor=x"}})] * 10)
        with pytest.raises(IncompleteListingError, match="1 of 5"):
            list(client.pages(V1 + "/content/search", {"cql": "x"}, purpose="t"))
        mock.get(V2 + "/attachments", json={"results": [], "_links": {"next": "/wiki/api/v2/attachments?cursor=z"}})
        with pytest.raises(IncompleteListingError):
            list(client.pages(V2 + "/attachments", {}, purpose="t", api="v2"))


def test_every_request_has_a_timeout() -> None:
    client = make_client(request_timeout=7)
    seen: list[Any] = []
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/spaces", json={"results": []})
        original = requests_mock.adapter.Adapter.send

        def spy(self: Any, request: Any, **kwargs: Any) -> Any:
            seen.append(kwargs.get("timeout"))
            return original(self, request, **kwargs)

        mock._adapter.send = spy.__get__(mock._adapter)  # noqa: SLF001 - observe what requests passes down
        client.get_json(V2 + "/spaces", purpose="test")
        list(client.pages(V2 + "/spaces", {}, purpose="t", api="v2"))
    assert seen == [7, 7]


_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def test_without_a_proxy_the_environment_is_read_once_and_its_ca_bundle_kept(monkeypatch, tmp_path) -> None:
    from confluence_source.transport import environment_settings

    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    bundle = tmp_path / "corporate-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert environment_settings(True) == (str(bundle), False)
    assert environment_settings(False) == (False, False)  # ssl_enabled = false stays off
    assert environment_settings("/etc/private-ca.pem") == ("/etc/private-ca.pem", False)  # ssl_ca wins
    client = make_client()
    assert client._http.session.trust_env is False and client._http.session.verify == str(bundle)
    assert client._files._pool_options["ca_certs"] == str(bundle)  # noqa: SLF001 - downloads verify alike


def test_with_a_proxy_requests_keeps_reading_the_environment_for_every_host(monkeypatch) -> None:
    from confluence_source.transport import environment_settings

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.test:3128")
    monkeypatch.setenv("NO_PROXY", ".atlassian.net")
    assert environment_settings(True)[1] is True
    client = make_client()
    # the proxy is then picked per host and redirect (Cloud's media service included), honouring NO_PROXY
    assert client._files._trust_env is True and client._http.session.trust_env is True  # noqa: SLF001


def test_empty_pages_whose_cursor_moves_on_are_followed_to_the_items_behind_them() -> None:
    """Cloud's search pages past results the account may not see: empty pages with a new cursor each are not an end."""
    client = make_client()
    with requests_mock.Mocker() as mock:
        mock.get(V1 + "/content/search", [
            ok({"results": [{"id": "1"}], "size": 1, "_links": {"next": "/rest/api/content/search?cursor=a"}}),
        ] + [ok({"results": [], "size": 0, "_links": {"next": f"/rest/api/content/search?cursor=e{n}"}})
             for n in range(12)] + [ok({"results": [{"id": "2"}], "size": 1, "_links": {}})])
        items = [item for page in client.pages(V1 + "/content/search", {"cql": "x"}, purpose="t")
                 for item in page.items]
    assert items == [{"id": "1"}, {"id": "2"}]


def test_the_same_page_answered_empty_again_and_again_without_a_total_fails() -> None:
    """Data Center's scan and Cloud's search report no total: a page that stays empty while its link asks for it
    again may be hiding content, which would then look deleted (or an edit would never be read)."""
    client = make_client()
    with requests_mock.Mocker() as mock:
        mock.get(V1 + "/content/search", [
            ok({"results": [{"id": "1"}], "size": 1, "_links": {"next": "/rest/api/content/search?cursor=a"}}),
        ] + [ok({"results": [], "size": 0, "_links": {"next": "/rest/api/content/search?cursor=a"}})] * 10)
        with pytest.raises(IncompleteListingError, match="empty answers to the same page.*after 1 items"):
            list(client.pages(V1 + "/content/search", {"cql": "x"}, purpose="t"))


def test_without_a_total_only_a_child_listing_ends_at_a_repeated_empty_offset() -> None:
    """Data Center's child listings overshoot their end (CONFSERVER-95396); a search doing the same is not trusted."""
    client = make_client(data_source="dc", confluence_url="https://w.example.com", username="u", password="p")
    for path, ends in (("/rest/api/content/7/child/attachment", True), ("/rest/api/content/search", False)):
        api = "https://w.example.com" + path
        with requests_mock.Mocker() as mock:
            mock.get(api, [
                ok({"results": [{"id": "1"}], "start": 0, "size": 1, "_links": {"next": f"{path}?start=1"}}),
            ] + [ok({"results": [], "start": 1, "size": 0, "_links": {"next": f"{path}?start=1"}})] * 10)
            if ends:
                assert [item for page in client.pages(api, {}, purpose="t") for item in page.items] == [{"id": "1"}]
            else:
                with pytest.raises(IncompleteListingError):
                    list(client.pages(api, {}, purpose="t"))


def test_v2_empty_pages_whose_cursor_moves_on_are_followed() -> None:
    client = make_client()
    with requests_mock.Mocker() as mock:
        mock.get(V2 + "/pages", [
            ok({"results": [], "_links": {"next": f"/wiki/api/v2/pages?cursor=e{n}"}}) for n in range(8)
        ] + [ok({"results": [{"id": "9"}], "_links": {}})])
        items = [item for page in client.pages(V2 + "/pages", {}, purpose="t", api="v2") for item in page.items]
    assert items == [{"id": "9"}]


@pytest.mark.parametrize("next_link, context, expected", [
    ("http://internal:8090/confluence/rest/api/content/search?start=2", "/confluence",
     "https://proxy.example.com/wiki/rest/api/content/search?start=2"),
    ("http://internal:8090/rest/api/content/search?start=2", "",
     "https://proxy.example.com/wiki/rest/api/content/search?start=2"),
    ("http://proxy.example.com/wiki/rest/api/content/search?start=2", "",
     "https://proxy.example.com/wiki/rest/api/content/search?start=2"),
    ("/rest/api/content/search?start=2", "/wiki", "https://proxy.example.com/wiki/rest/api/content/search?start=2"),
    ("/confluence/rest/api/content?start=25", "/confluence",
     "https://proxy.example.com/wiki/rest/api/content?start=25"),
    ("/wiki/rest/api/content?start=25", "/wiki", "https://proxy.example.com/wiki/rest/api/content?start=25"),
], ids=["server-address-with-its-context", "server-address-at-its-root", "downgraded-to-http", "relative",
        "relative-with-the-servers-context", "relative-with-our-context"])
def test_v1_next_links_land_on_the_configured_site(next_link: str, context: str, expected: str) -> None:
    """Behind a proxy a Data Center names itself by its own address and context path."""
    from confluence_source.paginators import absolute_next_url

    assert absolute_next_url(next_link, "https://proxy.example.com/wiki", context) == expected


def test_files_are_fetched_where_each_flavour_serves_them_to_api_clients() -> None:
    """Cloud refuses API tokens on the download servlet its links name: the bytes of the document's version come
    from the REST download endpoint, the container taken from `parent_id` or else from the servlet link. Data Center
    serves the servlet link itself."""
    servlet = SITE + "/wiki/download/attachments/42/Q3%20plan.pdf?version=3&api=v2"
    cloud = make_client()
    document = {"confluence_id": "att77", "parent_id": "blogpost-42", "version": 3, "download_url": servlet}
    assert cloud.file_link(document) == V1 + "/content/42/child/attachment/att77/download?version=3"
    assert cloud.file_link({"confluence_id": "att77", "download_url": servlet}) == (
        V1 + "/content/42/child/attachment/att77/download")
    assert cloud.file_link({"confluence_id": "att77", "download_url": None}) is None
    assert cloud.file_link({"confluence_id": "att77", "download_url": SITE + "/wiki/x.pdf"}) is None
    archived = dict(document, status="archived")
    assert cloud.file_link(archived) == V1 + "/content/42/child/attachment/att77/download?version=3&status=archived"
    data_center = make_client(data_source="Confluence Data Center", confluence_url="https://wiki.example.com",
                              username="bot", password="pw", account_email=None, api_token=None)
    dc_servlet = "https://wiki.example.com/download/attachments/42/a.pdf?version=3"
    assert data_center.file_link(dict(document, download_url=dc_servlet)) == dc_servlet
