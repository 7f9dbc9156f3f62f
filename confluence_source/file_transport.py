"""Attachment downloads over urllib3 itself, under the same rules as the API requests.

Why not through `requests` like the API calls: a full sync downloads one file per attachment (two requests each on
Cloud, whose download links redirect to its media service), and requests' session layers (preparing, merging
settings, cookies, hooks, redirect resolution, the response wrapper) cost about half of each download's CPU time.
With dozens of download threads sharing one interpreter lock, that was the longest stage of a full sync; going to
urllib3 directly halves it. What requests would have done is kept:

* the transport's retry policy: 429/5xx answers and dropped or timed-out connections are retried `retry_count`
  times with the same jittered backoff, `Retry-After` and shared pacer (a throttled site pauses API calls and
  downloads alike); certificate failures are not retried; every attempt is counted in the file `RequestStats`;
* proxies from the environment (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY), chosen per host, so also for Cloud's media
  service, with requests' own helpers; TLS verification as `ssl_enabled` / `ssl_ca` say (certifi by default);
* redirects are followed as requests follows them (its limit, its reading of the `Location` header), and the
  credentials go only where requests would send them (`should_strip_auth`): to the configured site, never to the
  host a redirect leads to; cookies the site sets are sent back (a Data Center session is not opened again for
  every file), and the requests carry the API session's headers (User-Agent, compression);
* failures come out as the `requests` exceptions requests would raise, so the client explains them the same way.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urljoin

import certifi
import orjson
import requests
import urllib3
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar, get_cookie_header
from requests.models import DEFAULT_REDIRECT_LIMIT
from requests.sessions import SessionRedirectMixin
from requests.utils import (
    get_auth_from_url,
    get_environ_proxies,
    prepend_scheme_if_needed,
    requote_uri,
    select_proxy,
)
from urllib3 import exceptions as urllib3_errors

from .errors import FileTooLargeError
from .transport import (
    RETRY_STATUSES,
    BackoffWithJitter,
    RequestPacer,
    RequestStats,
    is_retryable_exception,
    log_retry,
    wait_unless_stopped,
)

#: Redirects followed per download (Cloud needs one: site -> media service); requests' limit.
MAX_REDIRECTS = DEFAULT_REDIRECT_LIMIT
#: An answer that is not used (a redirect, a retried error) is read to its end, to keep its connection, only when it
#: says it is at most this long; else the connection is closed.
DRAINED_BODY_BYTES = 64 * 1024
#: Bytes of an error answer read for its message.
ERROR_BODY_BYTES = 64 * 1024
_CHUNK_BYTES = 256 * 1024
_REDIRECT_RULES = SessionRedirectMixin()  # requests' rule for when credentials must not follow a redirect


@dataclass
class FileAnswer:
    """An answer to a download, its body not read yet; `url` is where it came from after any redirects."""

    response: urllib3.BaseHTTPResponse
    url: str

    @property
    def status(self) -> int:
        return self.response.status

    @property
    def headers(self) -> Mapping[str, str]:
        return self.response.headers

    def close(self) -> None:
        """Give the connection back: kept for the next file when the body was read to its end, else closed."""
        if not self.response.isclosed():
            self.response.close()
        self.response.release_conn()


class FileTransport:
    """Thread-safe downloads from the site (and the hosts its download links redirect to)."""

    def __init__(
        self,
        *,
        headers: Mapping[str, str],
        credentials: Callable[[], Mapping[str, str]],
        renew_refused: Callable[[str | None], bool] | None = None,
        verify: bool | str,
        trust_env: bool,
        timeout: float,
        retry_count: int,
        backoff: BackoffWithJitter,
        pool_size: int,
        stats: RequestStats,
        pacer: RequestPacer,
    ) -> None:
        self._headers = dict(headers)
        # the Authorization header, asked for at each download (an OAuth token is renewed): never logged, never sent
        # off the site
        self._credentials = credentials
        # where the token expires (OAuth): replaces a token the site refused; True when the file may be asked again
        self._renew_refused = renew_refused
        self._cookies = RequestsCookieJar()  # thread-safe (http.cookiejar locks itself)
        self._trust_env = trust_env
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)
        self._retry_count = retry_count
        self._backoff = backoff
        self._stats = stats
        self._pacer = pacer
        self._pool_options: dict[str, Any] = {"num_pools": 8, "maxsize": pool_size, **_tls_options(verify)}
        self._managers: dict[str | None, urllib3.PoolManager] = {None: urllib3.PoolManager(**self._pool_options)}
        self._managers_lock = threading.Lock()

    def open(self, url: str) -> FileAnswer:
        """The answer for `url` after redirects and retries: a success, or the last failed answer (4xx, or 429/5xx
        once the retries are spent). Raises a `requests.RequestException` when no answer came."""
        with_credentials, renewed, requested = True, False, url
        for _ in range(MAX_REDIRECTS + 1):
            response, sent = self._answer_with_retries(url, with_credentials)
            if response.status == 401 and sent and not renewed and self._renew_refused is not None:
                try:
                    renew = self._renew_refused(sent.get("Authorization"))
                except BaseException:
                    _discard(response)  # no new token: the connection still goes back to the pool
                    raise
                if renew:
                    _discard(response)
                    renewed = True  # once: a second refusal stands
                    response, sent = self._answer_with_retries(url, with_credentials)
            location = response.get_redirect_location()
            if not location:
                return FileAnswer(response, url)
            _discard(response)
            target = redirect_target(url, location)
            if with_credentials and _REDIRECT_RULES.should_strip_auth(url, target):
                with_credentials = False
            requested, url = url, target
        raise requests.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects",
                                        request=requests.Request("GET", requested))

    def strips_credentials(self, old_url: str, new_url: str) -> bool:
        """Whether a redirect from `old_url` to `new_url` leaves the host the credentials may go to."""
        return bool(_REDIRECT_RULES.should_strip_auth(old_url, new_url))

    def _answer_with_retries(self, url: str, with_credentials: bool
                             ) -> tuple[urllib3.BaseHTTPResponse, Mapping[str, str]]:
        """The answer, with the credentials the last attempt sent (each attempt asks for them: a token may have been
        renewed meanwhile)."""
        for attempt in range(1, self._retry_count + 2):
            credentials = dict(self._credentials()) if with_credentials else {}
            self._pacer.before_request()
            answer: tuple[int, Mapping[str, str]] | None = None
            try:
                response = self._send(url, credentials)
            except requests.RequestException as error:
                self._stats.record_failure()
                if attempt > self._retry_count or not is_retryable_exception(error):
                    raise
                reason = type(error).__name__
            else:
                self._stats.record_status(response.status)
                self._pacer.observe(response.headers)
                if response.status not in RETRY_STATUSES or attempt > self._retry_count:
                    return response, credentials
                reason, answer = f"HTTP {response.status}", (response.status, response.headers)
                _discard(response)
            delay = self._backoff.delay(attempt, answer)
            self._stats.record_retry(delay)
            log_retry(reason, attempt, self._retry_count, delay)
            wait_unless_stopped(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, url: str, credentials: Mapping[str, str]) -> urllib3.BaseHTTPResponse:
        headers = {**self._headers, **credentials}
        request = requests.Request("GET", url, headers=headers)  # what requests' cookie helpers read
        if self._cookies:
            cookie = get_cookie_header(self._cookies, request)  # type: ignore[arg-type]
            if cookie:
                headers["Cookie"] = cookie
        try:
            response = self._manager_for(url).urlopen(
                "GET", url, headers=headers, redirect=False, retries=False, preload_content=False,
                timeout=self._timeout,
            )
        except (urllib3_errors.HTTPError, OSError) as error:
            raise requests_error(error, url) from error
        if "Set-Cookie" in response.headers:
            extract_cookies_to_jar(self._cookies, request, response)  # type: ignore[arg-type]
        return response

    def _manager_for(self, url: str) -> urllib3.PoolManager:
        """The connection pools to reach `url`: direct, or through the proxy the environment names for its host."""
        proxy = select_proxy(url, get_environ_proxies(url)) if self._trust_env else None
        manager = self._managers.get(proxy)
        if manager is None:
            with self._managers_lock:
                manager = self._managers.get(proxy) or self._proxy_manager(str(proxy))
                self._managers[proxy] = manager
        return manager

    def _proxy_manager(self, proxy: str) -> urllib3.PoolManager:
        proxy = prepend_scheme_if_needed(proxy, "http")
        username, password = get_auth_from_url(proxy)
        if proxy.lower().startswith("socks"):
            try:
                from urllib3.contrib.socks import SOCKSProxyManager
            except ImportError:
                raise requests.exceptions.InvalidSchema(
                    "a SOCKS proxy needs the PySocks package (pip install 'requests[socks]')") from None
            return SOCKSProxyManager(proxy, username=username or None, password=password or None,
                                     **self._pool_options)
        proxy_headers = urllib3.make_headers(proxy_basic_auth=f"{username}:{password}") if username else None
        return urllib3.ProxyManager(proxy, proxy_headers=proxy_headers, **self._pool_options)


def redirect_target(url: str, location: str) -> str:
    """Where a redirect from `url` leads, read as requests reads `Location` (raw UTF-8 bytes decoded as such,
    unsafe characters quoted, relative and scheme-relative forms resolved)."""
    try:
        location = location.encode("latin1").decode("utf8")
    except UnicodeError:
        pass
    if location.startswith("//"):
        location = f"{url.split(':', 1)[0]}:{location}"
    return requote_uri(urljoin(url, location))


def _discard(response: urllib3.BaseHTTPResponse) -> None:
    """Done with an answer whose body is not wanted: keep its connection when the body is short, else close it."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) <= DRAINED_BODY_BYTES:
        response.drain_conn()
    else:
        response.close()
    response.release_conn()


def read_body(answer: FileAnswer, max_bytes: int, purpose: str) -> bytearray:
    """The body of a successful answer, refusing (before reading it) one that is announced or turns out larger than
    `max_bytes`. A bytearray, not copied into bytes: the file is in memory once. A body cut off midway raises the
    `requests` exception requests would (retryable)."""
    announced = answer.headers.get("Content-Length")
    if announced and announced.isdigit() and int(announced) > max_bytes:
        raise FileTooLargeError(f"{purpose}: the file has {int(announced):,} bytes, over the limit of {max_bytes:,}")
    body = bytearray()
    try:
        for chunk in answer.response.stream(_CHUNK_BYTES):
            body += chunk
            if len(body) > max_bytes:
                raise FileTooLargeError(f"{purpose}: the file is larger than the limit of {max_bytes:,} bytes")
    except (urllib3_errors.HTTPError, OSError) as error:
        raise body_error(error, answer.url) from error
    return body


def error_body(answer: FileAnswer) -> Any:
    """The parsed JSON of an error answer (for Confluence's own message), or None."""
    try:
        return orjson.loads(answer.response.read(ERROR_BODY_BYTES))
    except (orjson.JSONDecodeError, urllib3_errors.HTTPError, OSError):
        return None


# (urllib3's failure, what requests raises for it), the first match winning.
_Translation = tuple[tuple[type[BaseException], type[requests.RequestException]], ...]
# Before an answer, as requests' adapter:
_BEFORE_ANSWER: _Translation = (
    (urllib3_errors.ProxyError, requests.exceptions.ProxyError),
    (urllib3_errors.SSLError, requests.exceptions.SSLError),
    (urllib3_errors.NewConnectionError, requests.ConnectionError),  # before ConnectTimeoutError, its base class
    (urllib3_errors.ConnectTimeoutError, requests.exceptions.ConnectTimeout),
    (urllib3_errors.ReadTimeoutError, requests.exceptions.ReadTimeout),
    (urllib3_errors.LocationValueError, requests.exceptions.InvalidURL),
)
# While reading a body, as `Response.iter_content`:
_WHILE_READING: _Translation = (
    (urllib3_errors.SSLError, requests.exceptions.SSLError),
    (urllib3_errors.DecodeError, requests.exceptions.ContentDecodingError),
    (urllib3_errors.ProtocolError, requests.exceptions.ChunkedEncodingError),
)


def requests_error(error: BaseException, url: str) -> requests.RequestException:
    """What requests raises for a urllib3 failure before an answer (a dropped connection, a socket error and a
    closed pool are connection errors)."""
    return _translated(error, url, _BEFORE_ANSWER)


def body_error(error: BaseException, url: str) -> requests.RequestException:
    """What requests raises for a failure while reading a body (a read timeout is a connection error there)."""
    return _translated(error, url, _WHILE_READING)


def _translated(error: BaseException, url: str, table: _Translation) -> requests.RequestException:
    kind = next((theirs for ours, theirs in table if isinstance(error, ours)), requests.ConnectionError)
    return kind(error, request=requests.Request("GET", url))


def _tls_options(verify: bool | str) -> dict[str, Any]:
    """urllib3's pool settings for requests' `verify` value (False, True = certifi, or a CA bundle file or folder)."""
    if verify is False:
        return {"cert_reqs": "CERT_NONE"}
    if verify is True:
        return {"cert_reqs": "CERT_REQUIRED", "ca_certs": certifi.where()}
    return {"cert_reqs": "CERT_REQUIRED", ("ca_cert_dir" if os.path.isdir(verify) else "ca_certs"): verify}
