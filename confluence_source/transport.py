"""The HTTP transport under the Confluence client: retries, backoff, rate-limit pacing and request accounting.

Built on dlt's `requests.Client` (thread-local sessions over one shared connection pool, default timeouts); only the
retry policy is Confluence-specific, because Atlassian asks clients to:

* retry 429 and 5xx (and dropped connections or cut-off JSON bodies) with exponential backoff *and jitter*, so
  parallel workers do not retry in lock-step;
* treat `Retry-After` as the minimum wait, but clamp it: garbage such as `Retry-After: 9223372036854775807` has been
  observed; when a 429 carries no Retry-After, `X-RateLimit-Reset` says when the window reopens;
* pause *all* workers while the site is throttling, and slow down while `X-RateLimit-NearLimit: true` is reported;
* never retry other 4xx answers, and never retry certificate failures (they cannot heal by themselves).

Every attempt (including retries and redirects) is counted in `RequestStats`, which the pipeline prints. File
downloads follow the same policy through `file_transport` (urllib3 directly, for speed).
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Mapping, Protocol
from urllib.parse import urlsplit

import orjson
import requests
from dlt.common.runtime import signals
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.requests.session import Session
from requests import Response
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception, retry_if_result, stop_after_attempt
from tenacity.wait import wait_base

from . import settings as defaults
from .config import setting

logger = logging.getLogger(__name__)


def wait_unless_stopped(seconds: float) -> None:
    """Sleep `seconds`, but end at once, raising dlt's `SignalReceivedException`, when the run is asked to stop
    (SIGINT, SIGTERM, where the command line or a dlt step intercepts them): the handler only takes note and wakes
    sleepers, so a plain sleep would hold the stop up for a whole Retry-After, often past a scheduler's grace period.
    Where signals are not intercepted, a plain sleep."""
    deadline = time.monotonic() + seconds
    while True:
        signals.raise_if_signalled()
        left = deadline - time.monotonic()
        if left <= 0:
            return
        signals.sleep(min(left, 1.0))  # in slices: a signal noted just before the sleep began is seen within 1 s


RETRY_STATUSES = frozenset({429, *range(500, 600)})


class TruncatedResponseError(requests.exceptions.RequestException):
    """A 2xx answer announced JSON but its body does not parse: the connection was cut mid-body. Retryable."""


@dataclass
class RequestStats:
    """Counters of every HTTP attempt made to Confluence. Thread-safe; read with `as_dict()`."""

    requests: int = 0
    bytes_received: int = 0
    retries: int = 0
    throttled: int = 0
    failed_connections: int = 0
    seconds_waiting: float = 0.0
    by_status: Counter[int] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record_response(self, response: Response, streamed: bool = False) -> None:
        size = 0 if streamed else len(response.content or b"")  # a streamed body is counted as it is read
        self.record_status(response.status_code, size)

    def record_status(self, status: int, size: int = 0) -> None:
        with self._lock:
            self.requests += 1
            self.bytes_received += size
            self.by_status[status] += 1
            if status == 429:
                self.throttled += 1

    def record_bytes(self, size: int) -> None:
        with self._lock:
            self.bytes_received += size

    def record_failure(self) -> None:
        with self._lock:
            self.requests += 1
            self.failed_connections += 1

    def record_retry(self, delay: float) -> None:
        with self._lock:
            self.retries += 1
            self.seconds_waiting += delay

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "bytes_received": self.bytes_received,
                "retries": self.retries,
                "throttled": self.throttled,
                "failed_connections": self.failed_connections,
                "seconds_waiting": round(self.seconds_waiting, 3),
                "by_status": dict(sorted(self.by_status.items())),
            }


class RequestPacer:
    """Shared by all worker threads: holds every request while the site throttles, spaces them out near the limit."""

    def __init__(self, near_limit_interval: float, near_limit_hold: float) -> None:
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self._slow_until = 0.0
        self._next_start = 0.0
        self._interval = near_limit_interval
        self._hold = near_limit_hold

    def before_request(self) -> None:
        """Sleep as long as the current pause / slow-down requires; called before every attempt. A run asked to stop
        (see `wait_unless_stopped`) makes no further request: a listing of many pages, such as the deletion check's,
        would otherwise hold the stop up until its end."""
        signals.raise_if_signalled()
        with self._lock:
            now = time.monotonic()
            start = max(now, self._paused_until)
            if now < self._slow_until:
                start = max(start, self._next_start)
                self._next_start = start + self._interval
        delay = start - time.monotonic()
        if delay > 0:
            wait_unless_stopped(delay)

    def pause(self, seconds: float) -> None:
        """Hold all requests for `seconds` (the site said it is throttling us)."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Slow down while an answer's headers say the rate limit is near."""
        if headers.get("X-RateLimit-NearLimit", "").strip().lower() == "true":
            with self._lock:
                if time.monotonic() >= self._slow_until:
                    logger.info("Confluence reports the rate limit is near; slowing down requests")
                self._slow_until = time.monotonic() + self._hold

    @property
    def slowed_down(self) -> bool:
        return time.monotonic() < self._slow_until


def retry_after_seconds(status: int, headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait: `Retry-After` (seconds or HTTP date), else `X-RateLimit-Reset` on 429."""
    header = headers.get("Retry-After") or headers.get("Beta-Retry-After")
    if header:
        text = header.strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                when = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                when = None
            seconds = (when - datetime.now(timezone.utc)).total_seconds() if when else float("nan")
        if seconds == seconds:  # not NaN
            return max(0.0, seconds)
    if status == 429:
        reset = headers.get("X-RateLimit-Reset")
        if reset:
            try:
                when = datetime.fromisoformat(reset.strip().replace("Z", "+00:00"))
            except ValueError:
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
    return None


def _response_of(state: RetryCallState) -> Response | None:
    outcome = state.outcome
    if outcome is None:
        return None
    if outcome.failed:
        error = outcome.exception()
        return error.response if isinstance(error, requests.HTTPError) else None
    result = outcome.result()
    return result if isinstance(result, requests.Response) else None


class BackoffWithJitter(wait_base):
    """Exponential backoff (base, 2*base, 4*base, ...) times a random factor in [0.7, 1.3], capped at `max_delay`;
    a server-provided wait (Retry-After / X-RateLimit-Reset) replaces it, clamped to `max_delay`, and pauses all
    workers through the pacer."""

    def __init__(self, base: float, max_delay: float, pacer: RequestPacer, rng: random.Random | None = None) -> None:
        self.base = base
        self.max_delay = max_delay
        self.pacer = pacer
        self.rng = rng or random.Random()

    def __call__(self, retry_state: RetryCallState) -> float:
        response = _response_of(retry_state)
        answer = (response.status_code, response.headers) if response is not None else None
        return self.delay(retry_state.attempt_number, answer)

    def delay(self, attempt_number: int, answer: tuple[int, Mapping[str, str]] | None) -> float:
        """The wait after failed attempt `attempt_number` (1-based); `answer` is the status and headers of the
        response that failed, None when no answer came."""
        if answer is not None:
            asked = retry_after_seconds(*answer)
            if asked is not None:
                if asked > self.max_delay:
                    logger.warning("Confluence asked to wait %.0f s; waiting the maximum of %.0f s (%s) instead",
                                   asked, self.max_delay, setting("max_retry_delay"))
                delay = min(asked, self.max_delay) + self.rng.uniform(0.0, 0.1 * max(self.base, 0.01))
                self.pacer.pause(delay)
                return delay
        exponential = self.base * (2 ** (attempt_number - 1))
        return float(min(self.max_delay, exponential * self.rng.uniform(0.7, 1.3)))


def is_retryable_exception(error: BaseException) -> bool:
    if getattr(error, "oauth_token_url", None):  # no answer from the token endpoint: its own session retried it
        return False
    if isinstance(error, requests.HTTPError):
        return error.response is not None and error.response.status_code in RETRY_STATUSES
    if isinstance(error, requests.exceptions.SSLError):
        return False
    return isinstance(
        error,
        (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
            TruncatedResponseError,
        ),
    )


def is_retryable_response(response: Any) -> bool:
    return isinstance(response, requests.Response) and response.status_code in RETRY_STATUSES


class RetryingHttpClient(Client):
    """dlt's thread-safe requests client with Confluence's retry policy, pacing and accounting on every attempt."""

    def __init__(
        self,
        *,
        timeout: float,
        retry_count: int,
        backoff_seconds: float,
        max_retry_delay: float,
        pool_size: int,
        stats: RequestStats,
        pacer: RequestPacer,
        verify: bool | str,
        trust_env: bool = True,
        what: str = "Confluence request",
    ) -> None:
        super().__init__(
            request_timeout=timeout,
            max_connections=pool_size,
            raise_for_status=False,
            request_max_attempts=retry_count + 1,
            request_backoff_factor=backoff_seconds,
            request_max_retry_delay=max_retry_delay,
        )
        self.stats = stats
        self.pacer = pacer
        self.verify = verify
        self.trust_env = trust_env
        self._timeout = timeout
        self._retry_count = retry_count
        self._what = what  # what the retry log says failed
        self._backoff = BackoffWithJitter(backoff_seconds, max_retry_delay, pacer)
        self._adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        # expiring Bearer tokens (OAuth): each attempt carries the current one, and a refused one is replaced once
        self.bearer: RenewableBearer | None = None

    def _make_session(self) -> Session:
        """A session whose `send` is observed (pacing, stats, JSON check) and retried by the Confluence policy."""
        session = Session(timeout=self._timeout, raise_for_status=False)
        # without proxies to honour, requests would still scan every environment variable for each request and
        # redirect (a quarter of a file download's CPU time); the CA bundle it would find there is in `verify`
        session.trust_env = self.trust_env
        session.verify = self.verify
        session.mount("http://", self._adapter)
        session.mount("https://", self._adapter)
        send: Callable[..., Response] = session.send
        session.send = self._retrying().wraps(self._observed(send))  # type: ignore[method-assign]
        return session

    def _retrying(self) -> Retrying:
        return Retrying(
            wait=self._backoff,
            retry=retry_if_exception(is_retryable_exception) | retry_if_result(is_retryable_response),
            stop=stop_after_attempt(self._retry_count + 1),
            reraise=True,
            before_sleep=self._before_sleep,
            sleep=wait_unless_stopped,
            # when retries run out on a retryable status, hand the last response to the caller to report
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )

    def _before_sleep(self, state: RetryCallState) -> None:
        delay = state.next_action.sleep if state.next_action else 0.0
        self.stats.record_retry(delay)
        response = _response_of(state)
        if response is not None:
            reason = f"HTTP {response.status_code}"
        elif state.outcome is not None and state.outcome.failed:
            reason = type(state.outcome.exception()).__name__
        else:
            reason = "unknown"
        log_retry(reason, state.attempt_number, self._retry_count, delay, self._what)

    def _observed(self, send: Callable[..., Response]) -> Callable[..., Response]:
        stats, pacer = self.stats, self.pacer

        def observed_send(request: requests.PreparedRequest, **kwargs: Any) -> Response:
            bearer = self.bearer
            if bearer is None:
                return attempt(request, **kwargs)
            fresh = bearer.fresh_header(request.headers.get("Authorization"))
            if fresh is not None:  # sent again after its token was renewed
                request.headers["Authorization"] = fresh
            sent = request.headers.get("Authorization")
            try:
                response = attempt(request, **kwargs)
            except requests.HTTPError as error:  # raised by a response hook (RESTClient.paginate)
                if not (_refused(error.response, sent) and bearer.renew_refused(sent)):
                    raise
                return attempt(_with_header(request, bearer), **kwargs)  # once: a second refusal stands
            if _refused(response, sent) and bearer.renew_refused(sent):
                response.close()
                return attempt(_with_header(request, bearer), **kwargs)
            return response

        def attempt(request: requests.PreparedRequest, **kwargs: Any) -> Response:
            pacer.before_request()
            try:
                response = send(request, **kwargs)
            except requests.HTTPError as error:  # raised by a response hook (RESTClient.paginate)
                if error.response is not None:
                    stats.record_response(error.response)
                    pacer.observe(error.response.headers)
                raise
            except requests.RequestException:
                stats.record_failure()
                raise
            streamed = bool(kwargs.get("stream"))
            stats.record_response(response, streamed=streamed)
            pacer.observe(response.headers)
            if not streamed:  # file downloads are streamed: a .json attachment is a file, not an API answer
                _check_json_body(response)
            return response

        return observed_send


class RenewableBearer(Protocol):
    """Bearer tokens that expire and can be replaced (`oauth.ServiceAccountAuth`)."""

    def header(self) -> str: ...

    def fresh_header(self, sent: str | None) -> str | None: ...

    def renew_refused(self, sent: str | None) -> bool: ...


def _refused(response: Response | None, sent: str | None) -> bool:
    """A 401 for the credentials in `sent`: not one from another host a redirect led to, where they were not sent."""
    return (response is not None and response.status_code == 401
            and response.request is not None and response.request.headers.get("Authorization") == sent)


def _with_header(request: requests.PreparedRequest, bearer: RenewableBearer) -> requests.PreparedRequest:
    """`request` with the current token: sent once more after the site refused the one it carried."""
    request.headers["Authorization"] = bearer.header()
    return request


def log_retry(reason: str, attempt_number: int, retry_count: int, delay: float,
              what: str = "Confluence request") -> None:
    logger.warning("%s failed (%s); retry %d of %d in %.1f s", what, reason, attempt_number, retry_count, delay)


def environment_settings(verify: bool | str) -> tuple[bool | str, bool]:
    """`verify` with the CA bundle that requests would take from REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE when the default
    trust store is asked for, and whether requests must still read the environment on every request: only when a
    proxy is configured (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY per host, also for Cloud's media redirect)."""
    if verify is True:
        verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return verify, bool(urllib.request.getproxies())


def _check_json_body(response: Response) -> None:
    """Parse a successful JSON body once; a body that does not parse was cut off, so the attempt is retried.

    The parsed value replaces `response.json` on this response object so that the client, dlt's paginators and
    data selectors, which each call `response.json()`, do not parse large pages several times.
    """
    if not (200 <= response.status_code < 300) or "json" not in response.headers.get("Content-Type", "").lower():
        return
    if not response.content:
        return
    try:
        parsed = orjson.loads(response.content)  # several times faster than json on listing pages
    except orjson.JSONDecodeError as error:
        raise TruncatedResponseError(
            f"incomplete JSON body ({len(response.content)} bytes) from {response.request.method} "
            f"{urlsplit(response.url).path}",
            response=response,
        ) from error
    response.json = lambda **_: parsed  # type: ignore[method-assign]


def new_pacer() -> RequestPacer:
    return RequestPacer(defaults.NEAR_LIMIT_INTERVAL, defaults.NEAR_LIMIT_HOLD_SECONDS)
