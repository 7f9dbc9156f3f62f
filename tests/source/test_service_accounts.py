"""Service accounts with OAuth 2.0 client credentials (`oauth_client_id`, `oauth_client_secret`): an access token
is asked of the token endpoint (Cloud: Atlassian's, with the API requests going through the gateway; Data Center:
the site's `/rest/oauth2/latest/token`), sent as a Bearer token on API requests and file downloads, and asked again
before it expires. The simulator issues short-lived tokens and refuses expired ones with 401."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import quote

import pytest
import requests

from confluence_simulator.faults import FaultKind, FaultRule
from confluence_simulator.server import Simulator
from confluence_source import (ConfluenceAuthError, ConfluenceConfigError, ConfluenceConnectionError, build_settings,
                               open_reader)
from confluence_source.client import ConfluenceClient
from confluence_source.errors import ConfluenceTokenError, ConfluenceWentAwayError
from confluence_source.oauth import ServiceAccountAuth

from pipelines.confluence_to_es import exit_code_of

from .conftest import COMPACT, run_pipeline, settings_for, start_simulator
from .test_full_sync import assert_whole_site_read

def oauth_settings(sim: Simulator, **overrides: Any) -> Any:
    """The default user's client credentials; Cloud through the simulator's gateway and token endpoint, Data Center
    with the token endpoint and scope the settings derive from the site URL."""
    credentials = sim.credentials
    values: dict[str, Any] = {"oauth_client_id": credentials["oauth_client_id"],
                              "oauth_client_secret": credentials["oauth_client_secret"]}
    if sim.config.flavour == "cloud":
        values.update(account_email=None, api_token=None, api_gateway=sim.gateway_origin("localhost"),
                      oauth_token_url=f"{sim.origin}/oauth/token")
    else:
        values.update(username=None, password=None)
    values.update(overrides)
    return settings_for(sim, **values)


@pytest.fixture(params=["cloud", "datacenter"])
def site(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    sim = start_simulator(request.param, dataset=COMPACT, gateway_host="localhost" if request.param == "cloud"
                          else None)
    yield sim
    sim.stop()


@contextmanager
def signed_in(flavour: str = "datacenter", token_seconds: int = 3600,
              **overrides: Any) -> Iterator[tuple[Simulator, ConfluenceClient]]:
    """A site, and a client that has made its first request (its first token)."""
    sim = start_simulator(flavour, dataset=COMPACT, oauth_token_seconds=token_seconds,
                          gateway_host="localhost" if flavour == "cloud" else None)
    try:
        client = ConfluenceClient(oauth_settings(sim, **overrides))
        list_spaces(client)
        yield sim, client
    finally:
        sim.stop()


def list_spaces(client: ConfluenceClient) -> Any:
    url = client.v2("/spaces") if client.config.is_cloud else client.v1("/space")
    return client.get_json(url, purpose="listing spaces")["results"]


def file_url(sim: Simulator, client: ConfluenceClient) -> str:
    """Where the client fetches an attachment's bytes (Cloud: the REST download endpoint, through the gateway)."""
    attachment = next(item for item in sim.site.content.values() if item.type == "attachment")
    if client.config.is_cloud:
        return client.v1(f"/content/{attachment.parent_id}/child/attachment/att{attachment.id}/download")
    return f"{sim.base_url}/download/attachments/{attachment.parent_id}/{quote(attachment.title)}"


def download(sim: Simulator, client: ConfluenceClient) -> bytearray:
    return client.download(file_url(sim, client), max_bytes=10_000_000, purpose="downloading a file")


def test_a_service_account_syncs_the_whole_site(site: Simulator, tmp_path: Any) -> None:
    run = run_pipeline(oauth_settings(site), tmp_path)
    assert_whole_site_read(run, site)
    assert site.tokens.issued == 1  # one token for every thread of the run
    assert all(row["site_url"] == site.base_url for row in run.by_id().values())


def test_each_flavour_asks_its_own_token_endpoint(site: Simulator) -> None:
    if site.config.flavour == "cloud":
        settings = oauth_settings(site, oauth_token_url=None, api_gateway=None)
        assert settings.auth.token_url == "https://auth.atlassian.com/oauth/token"
        assert settings.api_gateway == "https://api.atlassian.com"  # Atlassian takes the tokens only there
        assert settings.auth.scope is None
        return
    settings = oauth_settings(site)
    assert settings.auth.token_url == f"{site.base_url}/rest/oauth2/latest/token"
    assert settings.auth.scope == "READ"
    assert site.credentials["oauth_client_secret"] not in repr(settings)


def test_an_expired_token_is_renewed_for_requests_and_downloads() -> None:
    with signed_in(token_seconds=1) as (sim, client):
        assert download(sim, client)
        time.sleep(1.05)  # past the token's lifetime
        assert list_spaces(client) and download(sim, client)
        assert sim.tokens.issued == 2


def test_threads_waiting_for_an_expired_token_share_one_new_token() -> None:
    with signed_in(token_seconds=1) as (sim, client):
        time.sleep(1.05)
        start = threading.Barrier(8)

        def ask() -> None:
            start.wait()
            list_spaces(client)

        with ThreadPoolExecutor(8) as pool:
            for done in [pool.submit(ask) for _ in range(8)]:
                done.result()
        assert sim.tokens.issued == 2


def test_a_token_due_for_renewal_is_renewed_by_one_thread_while_the_others_go_on() -> None:
    """In the last stretch of a token's life one thread asks for the next; the others do not wait for that answer
    (a slow token endpoint would hold up every request), they send the current, still valid token."""
    sim = start_simulator("datacenter", dataset=COMPACT, oauth_token_seconds=3600)
    try:
        auth = ServiceAccountAuth(access_token_url=f"{sim.base_url}/rest/oauth2/latest/token",
                                  client_id=sim.credentials["oauth_client_id"],
                                  client_secret=sim.credentials["oauth_client_secret"], session=requests.Session())
        first = auth.token()
        auth._renew_at = time.monotonic() - 1  # due for renewal, still valid for an hour
        held, release = threading.Event(), threading.Event()

        def renewing() -> None:  # another thread, at the token endpoint meanwhile
            with auth._lock:
                held.set()
                release.wait(10)

        other = threading.Thread(target=renewing)
        other.start()
        try:
            held.wait(5)
            with ThreadPoolExecutor(1) as pool:
                assert pool.submit(auth.token).result(timeout=5) == first and sim.tokens.issued == 1
        finally:
            release.set()
            other.join()
        assert auth.token() != first and sim.tokens.issued == 2  # the renewal, once no one else is at it
        assert sim.credentials["oauth_client_secret"] not in repr(auth) and auth.token() not in repr(auth)
    finally:
        sim.stop()


def test_a_request_retried_after_its_token_expired_carries_a_new_one() -> None:
    with signed_in(token_seconds=1) as (sim, client):
        sim.faults.add(FaultRule(kind=FaultKind.RATE_LIMIT, endpoint="v1.space.list", nth=1, retry_after=2))
        assert list_spaces(client)  # retried 2 s later
        assert sim.stats()["faults"] and sim.tokens.issued == 2
        assert "401" not in sim.stats()["by_status"]  # the retry carried the new token, never the expired one


def test_a_revoked_token_is_replaced_once_for_requests_and_downloads() -> None:
    with signed_in() as (sim, client):
        sim.tokens.revoke_all()
        assert list_spaces(client)
        sim.tokens.revoke_all()
        assert download(sim, client)
        sim.tokens.revoke_all()
        pages = client.pages(client.v1("/content"), {"type": "page", "limit": 5}, purpose="listing pages")
        assert next(pages).items  # a paginated listing (dlt's paginator raises on a 401) renews too
        assert sim.tokens.issued == 4


def test_a_token_refused_again_fails_the_run_naming_the_credential() -> None:
    with signed_in() as (sim, client):
        sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, endpoint="v1.space.list", count=2, status=401))
        with pytest.raises(ConfluenceAuthError) as caught:
            list_spaces(client)
        message = str(caught.value)
        assert "access token" in message and "oauth_client_secret" in message and "data_source" not in message
        assert sim.tokens.issued == 2  # replaced once, not in a loop


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_a_token_endpoint_failing_mid_run_is_a_failed_run_not_a_setting(flavour: str) -> None:
    """After the first token, a token endpoint that answers 503 or drops the connection fails the run (exit 1);
    for a Cloud download it is named as the token endpoint, not as Atlassian's file service."""
    with signed_in(flavour, token_seconds=1, retry_count=1) as (sim, client):
        time.sleep(1.05)
        sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, endpoint="oauth.token", count=2, status=503))
        with pytest.raises(ConfluenceTokenError) as failed:
            list_spaces(client)
        assert "token endpoint" in str(failed.value) and "503" in str(failed.value)
        assert not failed.value.names_a_setting and exit_code_of(failed.value) == 1
        sim.faults.add(FaultRule(kind=FaultKind.DROP_CONNECTION, endpoint="oauth.token", count=2))
        with pytest.raises(ConfluenceWentAwayError) as gone:
            download(sim, client)
        assert "token endpoint" in str(gone.value) and "file service" not in str(gone.value)


def test_a_token_endpoint_that_stopped_answering_is_asked_retry_count_more_times_not_more() -> None:
    """The token session retries the exchange; the request waiting for the token is not retried on top of that
    (which would multiply the attempts), and threads that waited for the failed exchange fail with it."""
    with signed_in(token_seconds=1, retry_count=2) as (sim, client):
        time.sleep(1.05)
        sim.faults.add(FaultRule(kind=FaultKind.DROP_CONNECTION, endpoint="oauth.token"))
        start = threading.Barrier(4)

        def ask() -> BaseException | None:
            start.wait()
            try:
                list_spaces(client)
            except ConfluenceWentAwayError as error:
                return error
            return None

        with ThreadPoolExecutor(4) as pool:
            failures = [done.result() for done in [pool.submit(ask) for _ in range(4)]]
        assert all(isinstance(failure, ConfluenceWentAwayError) for failure in failures), failures
        assert all("token endpoint" in str(failure) for failure in failures)
        assert sim.stats()["faults"]["drop_connection"] == 3  # one exchange: the first try and 2 retries


def test_a_retried_request_whose_new_token_fails_is_not_retried_again() -> None:
    """A request retried after its token expired needs a new one; when the token endpoint does not answer, its own
    session has already retried, and the request fails instead of asking again with every retry of its own."""
    with signed_in(token_seconds=1, retry_count=2) as (sim, client):
        sim.faults.add(FaultRule(kind=FaultKind.RATE_LIMIT, endpoint="v1.space.list", nth=1, retry_after=2))
        sim.faults.add(FaultRule(kind=FaultKind.DROP_CONNECTION, endpoint="oauth.token"))
        with pytest.raises(ConfluenceWentAwayError, match="token endpoint"):
            list_spaces(client)  # the 429's wait outlasts the token
        assert sim.stats()["faults"]["drop_connection"] == 3


def test_a_failed_token_request_is_retried(caplog: pytest.LogCaptureFixture) -> None:
    sim = start_simulator("datacenter", dataset=COMPACT)
    try:
        sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, endpoint="oauth.token", nth=1, status=503))
        reader = open_reader(oauth_settings(sim))
        assert reader.state.selected and sim.tokens.issued == 1
        retries = [record.getMessage() for record in caplog.records if "retry 1 of" in record.getMessage()]
        assert retries and all(message.startswith("OAuth token request failed (HTTP 503)") for message in retries)
        assert reader.client.stats.as_dict()["retries"] == 0  # not counted as a Confluence request
    finally:
        sim.stop()


def test_refused_client_credentials_name_the_settings(site: Simulator) -> None:
    with pytest.raises(ConfluenceTokenError) as caught:
        open_reader(oauth_settings(site, oauth_client_secret="wrong-secret-4711"))
    message = str(caught.value)
    assert "oauth_client_id" in message and "oauth_client_secret" in message and "invalid_client" in message
    assert "wrong-secret-4711" not in message and exit_code_of(caught.value) == 2


def test_a_scope_data_center_does_not_know_names_oauth_scope() -> None:
    sim = start_simulator("datacenter", dataset=COMPACT)
    try:
        with pytest.raises(ConfluenceTokenError, match="oauth_scope"):
            open_reader(oauth_settings(sim, oauth_scope="READ everything"))
    finally:
        sim.stop()


def test_an_unreachable_token_endpoint_names_oauth_token_url() -> None:
    sim = start_simulator("datacenter", dataset=COMPACT)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    try:
        with pytest.raises(ConfluenceConnectionError) as caught:
            open_reader(oauth_settings(sim, oauth_token_url=f"http://127.0.0.1:{port}/token", retry_count=0))
        assert "oauth_token_url" in str(caught.value) and f"127.0.0.1:{port}" in str(caught.value)
    finally:
        sim.stop()


def test_a_cloud_token_is_refused_at_the_site_url() -> None:
    """Atlassian takes OAuth access tokens only through the gateway: one sent to the site is refused."""
    sim = start_simulator("cloud", dataset=COMPACT)
    try:
        token_request = {"grant_type": "client_credentials", "client_id": sim.credentials["oauth_client_id"],
                         "client_secret": sim.credentials["oauth_client_secret"]}
        token = requests.post(f"{sim.origin}/oauth/token", data=token_request, timeout=10).json()["access_token"]
        at_site = requests.get(f"{sim.origin}/wiki/api/v2/spaces", headers={"Authorization": f"Bearer {token}"},
                               timeout=10)
        assert at_site.status_code == 401
    finally:
        sim.stop()


@pytest.mark.parametrize("values, named", [
    ({"oauth_client_id": "id-1"}, "oauth_client_secret"),
    ({"oauth_client_secret": "s3cr3t-1"}, "oauth_client_id"),
    ({"oauth_token_url": "https://auth.example.com/token"}, "oauth_client_id"),
    ({"oauth_scope": "READ"}, "oauth_client_id"),
    ({"oauth_client_id": "id-1", "oauth_client_secret": "s3cr3t-1", "password": "pw-2", "username": "u"},
     "username"),
    ({"oauth_client_id": "id-1", "oauth_client_secret": "s3cr3t-1", "oauth_token_url": "ftp://x/token"},
     "oauth_token_url"),
    ({"oauth_client_id": "id-1", "oauth_client_secret": "s3cr3t-1",
      "oauth_token_url": "https://me:s3cr3t-1@auth.example.com/token"}, "oauth_token_url"),
    ({"oauth_client_id": "id-1", "oauth_client_secret": "s3cr3t-1", "oauth_token_url": "http://auth.example.com/t"},
     "oauth_token_url"),  # the secret in clear text to another host
])
def test_incomplete_or_mixed_client_credentials_are_refused(values: dict[str, str], named: str) -> None:
    with pytest.raises(ConfluenceConfigError) as caught:
        build_settings(data_source="Confluence Data Center", confluence_url="https://wiki.example.com", **values)
    assert named in str(caught.value) and "s3cr3t-1" not in str(caught.value)
