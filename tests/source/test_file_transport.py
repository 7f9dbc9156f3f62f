"""Attachment downloads over urllib3: the same rules as requests would apply (proxies from the environment,
credentials only on the site, retries and pacing), checked against the simulator and a real forwarding proxy."""

from __future__ import annotations

import base64
import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator
from urllib.parse import urlsplit

import pytest
import requests
from urllib3 import exceptions as urllib3_errors

from confluence_simulator.faults import FaultKind, FaultRule
from confluence_simulator.server import Simulator
from confluence_source.client import ConfluenceClient
from confluence_source.config import build_settings
from confluence_source.file_transport import body_error, requests_error

from .conftest import settings_for

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                    "no_proxy")


def a_file_link(client: ConfluenceClient) -> str:
    """Where the connector fetches one attachment of the simulated site (on Cloud the REST download endpoint, its
    container taken from the servlet link the listing gives)."""
    if client.config.is_cloud:
        body = client.get_json(client.v2("/attachments"), {"limit": 5}, purpose="listing attachments")
        first = body["results"][0]
        link, file_id = first["downloadLink"], first["id"]
    else:
        body = client.get_json(client.v1("/content/search"), {"cql": "type = attachment", "limit": 5},
                               purpose="listing attachments")
        link, file_id = body["results"][0]["_links"]["download"], body["results"][0]["id"]
    url = client.file_link({"download_url": client.web_url(link), "confluence_id": file_id})
    assert url
    if client.config.is_cloud:
        assert "/wiki/rest/api/content/" in url and url.endswith(f"/child/attachment/{file_id}/download")
    return url


class QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def without_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    """`handler` answering on a loopback port, in a background thread; the server and its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def stop(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


class ForwardingProxy:
    """A plain HTTP forward proxy on loopback that records what it was asked (absolute-form request lines)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []  # (URL asked for, Proxy-Authorization)
        proxy = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                proxy.seen.append((self.path, self.headers.get("Proxy-Authorization")))
                target = urlsplit(self.path)
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
                headers = {name: value for name, value in self.headers.items()
                           if name.lower() not in ("proxy-authorization", "proxy-connection", "connection")}
                upstream.request("GET", target.path + (f"?{target.query}" if target.query else ""), headers=headers)
                answer = upstream.getresponse()
                body = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                upstream.close()

        self.server, self.url = serve(Handler)


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ForwardingProxy]:
    without_proxy_variables(monkeypatch)
    running = ForwardingProxy()
    yield running
    stop(running.server)


def test_downloads_go_through_the_proxy_the_environment_names(small_sim: Simulator, proxy: ForwardingProxy,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    direct = ConfluenceClient(settings_for(small_sim))
    link = a_file_link(direct)
    expected = direct.download(link, max_bytes=10_000_000, purpose="downloading directly")

    user, password = "relay", "s3cret"
    monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("http://", f"http://{user}:{password}@"))
    proxied = ConfluenceClient(settings_for(small_sim))
    assert proxied.download(link, max_bytes=10_000_000, purpose="downloading through the proxy") == expected
    asked = [url for url, _ in proxy.seen]
    assert asked and asked[0] == link  # Cloud's redirect to its media service goes through the proxy as well
    assert len(asked) == (2 if small_sim.config.flavour == "cloud" else 1)
    expected_auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    assert {auth for _, auth in proxy.seen} == {expected_auth}


def test_no_proxy_keeps_downloads_direct(small_sim: Simulator, proxy: ForwardingProxy,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client = ConfluenceClient(settings_for(small_sim))
    assert client.download(a_file_link(client), max_bytes=10_000_000, purpose="downloading")
    assert proxy.seen == []


def test_throttled_downloads_wait_as_asked_and_are_counted(fresh_sim: Simulator) -> None:
    client = ConfluenceClient(settings_for(fresh_sim, retry_count=3))
    link = a_file_link(client)
    fresh_sim.faults.add(FaultRule(kind=FaultKind.RATE_LIMIT, endpoint=fresh_sim.file_endpoint, count=2,
                                   retry_after=1))
    assert client.download(link, max_bytes=10_000_000, purpose="downloading")
    stats = client.file_stats.as_dict()
    assert stats["throttled"] == 2 and stats["retries"] == 2
    assert stats["seconds_waiting"] >= 2  # Retry-After: 1, twice, not the 0.01 s backoff


def test_a_stop_ends_a_long_wait_before_a_download_is_tried_again(
        fresh_sim: Simulator, stop_noted_after: Callable[[float], None]) -> None:
    from dlt.common.exceptions import SignalReceivedException

    client = ConfluenceClient(settings_for(fresh_sim, retry_count=3, max_retry_delay=120))
    link = a_file_link(client)
    fresh_sim.faults.add(FaultRule(kind=FaultKind.RATE_LIMIT, endpoint=fresh_sim.file_endpoint, retry_after=60))
    stop_noted_after(0.5)
    started = time.monotonic()
    with pytest.raises(SignalReceivedException):
        client.download(link, max_bytes=10_000_000, purpose="downloading")
    assert time.monotonic() - started < 30  # not after the minute the site asked for


def test_a_download_that_keeps_failing_names_the_status_and_retries_no_more(fresh_sim: Simulator) -> None:
    client = ConfluenceClient(settings_for(fresh_sim, retry_count=2))
    link = a_file_link(client)
    fresh_sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, endpoint=fresh_sim.file_endpoint))
    with pytest.raises(Exception, match="HTTP 500") as error:
        client.download(link, max_bytes=10_000_000, purpose="downloading a file")
    assert error.value.status == 500  # type: ignore[attr-defined]
    assert client.file_stats.as_dict()["requests"] == 3


def test_urllib3_failures_become_what_requests_would_raise() -> None:
    url = "https://confluence.example.test/download/attachments/1/a.pdf"
    refused = urllib3_errors.NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    assert type(requests_error(refused, url)) is requests.ConnectionError  # not a timeout, though a subclass of one
    slow = urllib3_errors.ConnectTimeoutError("slow")
    assert isinstance(requests_error(slow, url), requests.exceptions.ConnectTimeout)
    read_timeout = urllib3_errors.ReadTimeoutError(None, url, "timed out")  # type: ignore[arg-type]
    assert isinstance(requests_error(read_timeout, url), requests.exceptions.ReadTimeout)
    assert isinstance(requests_error(urllib3_errors.SSLError("bad cert"), url), requests.exceptions.SSLError)
    assert isinstance(requests_error(urllib3_errors.ProtocolError("aborted"), url), requests.ConnectionError)
    assert requests_error(refused, url).request.url == url  # where it failed: the site or the media service
    cut_off = urllib3_errors.ProtocolError("cut off")
    assert isinstance(body_error(cut_off, url), requests.exceptions.ChunkedEncodingError)
    assert isinstance(body_error(urllib3_errors.DecodeError("gzip"), url), requests.exceptions.ContentDecodingError)


class RecordingSite:
    """A loopback server standing in for a site where the simulator cannot: it records every request's headers,
    sets a session cookie, redirects `/moved/...` to the raw UTF-8 `Location` of a file, and answers JSON elsewhere."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        site = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                site.requests.append((self.path, dict(self.headers.items())))
                if self.path.startswith("/moved/"):
                    self.send_response(302)
                    self.send_header("Location", "/download/attachments/1/Résumé v2.txt".encode().decode("latin1"))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b"file text" if self.path.startswith("/download/") else b'{"results": []}'
                self.send_response(200)
                self.send_header("Content-Type", "text/plain" if self.path.startswith("/download/") else
                                 "application/json")
                self.send_header("Set-Cookie", "JSESSIONID=session-1; Path=/")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server, self.url = serve(Handler)


@pytest.fixture
def recording_site(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingSite]:
    without_proxy_variables(monkeypatch)
    site = RecordingSite()
    yield site
    stop(site.server)


def test_downloads_send_what_api_requests_send(recording_site: RecordingSite) -> None:
    password = "pä€ss"  # not Latin-1: the credentials must be encoded as the API requests encode them (UTF-8)
    client = ConfluenceClient(build_settings(confluence_url=recording_site.url, data_source="Confluence Data Center",
                                             username="reader", password=password))
    client.get_json(client.v1("/space"), purpose="listing spaces")
    for _ in range(2):
        assert client.download(f"{recording_site.url}/download/attachments/1/notes.txt", max_bytes=1000,
                               purpose="downloading notes.txt") == b"file text"
    (_, api), (_, first), (_, second) = recording_site.requests
    assert base64.b64decode(first["Authorization"].split()[1]).decode() == f"reader:{password}"
    assert first["Authorization"] == api["Authorization"]
    assert first["User-Agent"] == api["User-Agent"] and first["Accept-Encoding"] == api["Accept-Encoding"]
    assert "Cookie" not in first and second["Cookie"] == "JSESSIONID=session-1"  # the site's session is kept


def test_a_redirect_to_a_raw_utf8_location_is_read_as_requests_reads_it(recording_site: RecordingSite) -> None:
    client = ConfluenceClient(build_settings(confluence_url=recording_site.url, data_source="Confluence Data Center",
                                             username="reader", password="secret"))
    assert client.download(f"{recording_site.url}/moved/1", max_bytes=1000, purpose="downloading") == b"file text"
    assert recording_site.requests[-1][0] == "/download/attachments/1/R%C3%A9sum%C3%A9%20v2.txt"
