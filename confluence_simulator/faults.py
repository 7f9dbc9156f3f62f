"""Failure knobs, rate limiting and request statistics that the simulator's HTTP server consults per request.

Why this exists: a sync job is only as good as its behaviour on a bad day. Real Confluence sites answer 429 with
or without Retry-After, return 503 during deploys, stall, reset connections, cut JSON bodies short and (on Cloud
search) return an empty page that still links to a next one. This module decides *whether* and *which* of those
happens for a request; the server decides *how* to render it. Everything is pure logic with a lock, an injectable
clock and seeded randomness, so tests can reproduce any sequence exactly.

* `FaultInjector` holds `FaultRule`s that can be added and cleared at runtime; `decide(endpoint, path)` returns the
  `Fault` to apply to this request, or None.
* `RateLimiter` is a token bucket per identity that yields Cloud-style (`X-RateLimit-Limit/Remaining/Reset`,
  `X-RateLimit-NearLimit`, `Retry-After`, `RateLimit-Reason`) or Data Center-style (`X-RateLimit-Interval-Seconds`,
  `X-RateLimit-FillRate`) headers.
* `Stats` counts requests per endpoint and status, bytes and time spent, for the benchmark.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, Literal

__all__ = [
    "Fault",
    "FaultInjector",
    "FaultKind",
    "FaultRule",
    "RateDecision",
    "RateLimitPolicy",
    "RateLimiter",
    "Stats",
    "format_reset",
]

Clock = Callable[[], float]


# ---------------------------------------------------------------------------------------------------------------
# Fault injection
# ---------------------------------------------------------------------------------------------------------------


class FaultKind(str, Enum):
    """What goes wrong. The value is the name used in admin requests."""

    RATE_LIMIT = "rate_limit"  # 429; Retry-After unless retry_after is None
    SERVICE_UNAVAILABLE = "service_unavailable"  # 503; Retry-After when retry_after is set
    SERVER_ERROR = "server_error"  # 500 (or another 5xx via `status`)
    SLOW = "slow"  # answer normally after `delay_seconds`
    DROP_CONNECTION = "drop_connection"  # close the connection without any response
    TRUNCATED_BODY = "truncated_body"  # send the full headers, then only part of the body, then close
    EMPTY_PAGE = "empty_page"  # a page with no results whose `next` link is still present
    # 500 (or `status`) instead of an answer whose body would exceed `max_bytes`: a server that runs out of memory
    # expanding the bodies of a large page of results, or a proxy that refuses to pass that much
    TOO_LARGE = "too_large"


_DEFAULT_STATUS: dict[FaultKind, int] = {
    FaultKind.RATE_LIMIT: 429,
    FaultKind.SERVICE_UNAVAILABLE: 503,
    FaultKind.SERVER_ERROR: 500,
}
_HONOURS_RETRY_AFTER = (FaultKind.RATE_LIMIT, FaultKind.SERVICE_UNAVAILABLE)


@dataclass(frozen=True)
class FaultRule:
    """One fault knob: what to break, for which requests, and when.

    Which requests: `endpoint` is the server's name for the route (exact match, "*" or None = any); `path` is a
    regular expression searched in the request path (None = any). Both must match when both are given.

    When (at most one of these; none means every matching request):
      * `probability` — each matching request fails with this chance (seeded, reproducible);
      * `count` — the next `count` matching requests fail, then the rule is spent;
      * `nth` — only the nth matching request (1-based) fails.
    `max_fires` caps how often a probability or always-on rule fires in total.

    What: `kind`, plus `status` (override for error kinds, e.g. 502), `retry_after` seconds for 429/503 (None =
    no Retry-After header; any int, including absurd ones, is sent verbatim), `delay_seconds` for SLOW,
    `truncate_fraction` (share of the body that is sent) for TRUNCATED_BODY and `max_bytes` for TOO_LARGE (which
    fires, and is counted as a fault, only on the answers it refuses).
    """

    kind: FaultKind
    endpoint: str | None = None
    path: str | None = None
    probability: float | None = None
    count: int | None = None
    nth: int | None = None
    max_fires: int | None = None
    status: int | None = None
    retry_after: int | None = 1
    delay_seconds: float = 0.0
    truncate_fraction: float = 0.5
    max_bytes: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", FaultKind(self.kind))
        triggers = [name for name in ("probability", "count", "nth") if getattr(self, name) is not None]
        if len(triggers) > 1:
            raise ValueError(f"a fault rule takes at most one of probability, count, nth (got {', '.join(triggers)})")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be between 0 and 1, got {self.probability}")
        for name in ("count", "nth", "max_fires"):
            number = getattr(self, name)
            if number is not None and (not isinstance(number, int) or number < 1):
                raise ValueError(f"{name} must be a positive integer, got {number!r}")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, got {self.status}")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError(f"retry_after must not be negative, got {self.retry_after}")
        if self.delay_seconds < 0:
            raise ValueError(f"delay_seconds must not be negative, got {self.delay_seconds}")
        if not 0.0 <= self.truncate_fraction < 1.0:
            raise ValueError(f"truncate_fraction must be in [0, 1), got {self.truncate_fraction}")
        if (self.kind is FaultKind.TOO_LARGE) != (self.max_bytes is not None):
            raise ValueError("max_bytes goes with (and only with) a too_large fault")
        if self.max_bytes is not None and (not isinstance(self.max_bytes, int) or self.max_bytes < 1):
            raise ValueError(f"max_bytes must be a positive integer, got {self.max_bytes!r}")
        if self.path is not None:
            try:
                re.compile(self.path)
            except re.error as error:
                raise ValueError(f"path is not a valid regular expression: {error}") from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultRule:
        """Build a rule from JSON (admin endpoint). Unknown keys and bad values raise ValueError."""
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault rule field(s): {', '.join(unknown)}")
        if "kind" not in data:
            raise ValueError(f"a fault rule needs a kind: one of {', '.join(k.value for k in FaultKind)}")
        try:
            kind = FaultKind(data["kind"])
        except ValueError:
            raise ValueError(
                f"unknown fault kind {data['kind']!r}: use one of {', '.join(k.value for k in FaultKind)}"
            ) from None
        try:
            return cls(**{**data, "kind": kind})
        except TypeError as error:
            raise ValueError(str(error)) from None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data

    def matches(self, endpoint: str, path: str) -> bool:
        if self.endpoint not in (None, "*") and self.endpoint != endpoint:
            return False
        return self.path is None or re.search(self.path, path) is not None


@dataclass(frozen=True)
class Fault:
    """The decision for one request: what the server must do instead of (or on top of) answering normally."""

    kind: FaultKind
    rule_id: int
    status: int | None = None  # set for RATE_LIMIT, SERVICE_UNAVAILABLE, SERVER_ERROR
    headers: Mapping[str, str] = field(default_factory=dict)  # e.g. Retry-After
    delay_seconds: float = 0.0
    truncate_fraction: float = 0.5
    max_bytes: int | None = None  # TOO_LARGE: the largest body answered; a larger one gets `oversize_status`
    oversize_status: int = 500

    @property
    def is_error_response(self) -> bool:
        """True when the server should answer with `status` and an error body instead of the real response."""
        return self.status is not None

    def truncate(self, body: bytes) -> bytes:
        """The part of `body` to send for TRUNCATED_BODY: always strictly shorter than the body (when it has one)."""
        if not body:
            return body
        return body[: min(len(body) - 1, int(len(body) * self.truncate_fraction))]


@dataclass
class _RuleState:
    rule: FaultRule
    rng: random.Random
    seen: int = 0
    fired: int = 0

    @property
    def spent(self) -> bool:
        rule = self.rule
        if rule.count is not None and self.fired >= rule.count:
            return True
        if rule.nth is not None and self.seen >= rule.nth:
            return True
        return rule.max_fires is not None and self.fired >= rule.max_fires


class FaultInjector:
    """Thread-safe list of fault rules consulted once per request.

    Rules are tried in the order they were added. Each rule that matches the request counts it (`seen`); the first
    one that fires decides the fault and later rules are not consulted for that request. Spent rules (count used up,
    nth passed, max_fires reached) stay listed until removed or cleared, so an admin can see what happened.
    Randomness is seeded per rule from (seed, rule id): adding a rule never changes another rule's sequence.
    """

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._rules: dict[int, _RuleState] = {}
        self._next_id = 1

    def add(self, rule: FaultRule) -> int:
        """Install a rule; returns its id (for `remove`)."""
        with self._lock:
            rule_id = self._next_id
            self._next_id += 1
            self._rules[rule_id] = _RuleState(rule, random.Random(f"{self._seed}:{rule_id}"))
            return rule_id

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            return self._rules.pop(rule_id, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def snapshot(self) -> list[dict[str, Any]]:
        """Rules with their counters, JSON-ready (for an admin GET)."""
        with self._lock:
            return [
                {"id": rule_id, **state.rule.to_dict(), "seen": state.seen, "fired": state.fired, "spent": state.spent}
                for rule_id, state in self._rules.items()
            ]

    def decide(self, endpoint: str, path: str = "") -> Fault | None:
        """The fault to inject into this request, or None. Call exactly once per request."""
        with self._lock:
            if not self._rules:
                return None
            for rule_id, state in self._rules.items():
                if state.spent or state.rule.kind is FaultKind.TOO_LARGE or not state.rule.matches(endpoint, path):
                    continue  # a size limit is looked at once the answer is built (`oversize`)
                state.seen += 1
                if self._fires(state):
                    state.fired += 1
                    return _fault_for(rule_id, state.rule)
            return None

    def oversize(self, endpoint: str, path: str, size: int) -> Fault | None:
        """The TOO_LARGE fault refusing an answer of `size` bytes to this request, or None. Call once per answer;
        a rule fires (and spends its count) only on the answers it refuses."""
        with self._lock:
            for rule_id, state in self._rules.items():
                rule = state.rule
                if rule.kind is not FaultKind.TOO_LARGE or state.spent or not rule.matches(endpoint, path):
                    continue
                state.seen += 1
                if size > (rule.max_bytes or 0) and self._fires(state):
                    state.fired += 1
                    return _fault_for(rule_id, rule)
            return None

    @staticmethod
    def _fires(state: _RuleState) -> bool:
        rule = state.rule
        if rule.nth is not None:
            return state.seen == rule.nth
        if rule.probability is not None:
            return state.rng.random() < rule.probability
        return True  # count (bounded by `spent`) or always


def _fault_for(rule_id: int, rule: FaultRule) -> Fault:
    status = rule.status if rule.status is not None else _DEFAULT_STATUS.get(rule.kind)
    headers: dict[str, str] = {}
    if rule.kind in _HONOURS_RETRY_AFTER and rule.retry_after is not None:
        headers["Retry-After"] = str(rule.retry_after)
    too_large = rule.kind is FaultKind.TOO_LARGE
    return Fault(
        kind=rule.kind,
        rule_id=rule_id,
        status=None if too_large else status,  # decided once the answer's size is known
        headers=headers,
        delay_seconds=rule.delay_seconds if rule.kind is FaultKind.SLOW else 0.0,
        truncate_fraction=rule.truncate_fraction,
        max_bytes=rule.max_bytes,
        oversize_status=rule.status or 500,
    )


# ---------------------------------------------------------------------------------------------------------------
# Rate limiting
# ---------------------------------------------------------------------------------------------------------------

RateLimitStyle = Literal["cloud", "datacenter"]


@dataclass(frozen=True)
class RateLimitPolicy:
    """A token bucket: `capacity` tokens at most (the burst), `refill_amount` tokens added every
    `refill_interval_seconds` (continuously, pro rata). A request costs `cost` tokens (Cloud counts points).

    `style` picks the header set: "cloud" (X-RateLimit-Limit/Remaining/Reset, NearLimit under
    `near_limit_fraction`, Retry-After and RateLimit-Reason on 429) or "datacenter" (X-RateLimit-Limit/Remaining,
    X-RateLimit-Interval-Seconds, X-RateLimit-FillRate and Retry-After, 0 while tokens remain).
    """

    capacity: int
    refill_amount: float
    refill_interval_seconds: float = 1.0
    style: RateLimitStyle = "cloud"
    reason: str = "confluence-quota-tenant-based"
    near_limit_fraction: float = 0.2

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {self.capacity}")
        if self.refill_amount <= 0 or self.refill_interval_seconds <= 0:
            raise ValueError("refill_amount and refill_interval_seconds must be positive")
        if self.style not in ("cloud", "datacenter"):
            raise ValueError(f"style must be 'cloud' or 'datacenter', got {self.style!r}")

    @property
    def tokens_per_second(self) -> float:
        return self.refill_amount / self.refill_interval_seconds


@dataclass(frozen=True)
class RateDecision:
    """The outcome for one request. `headers` go on the response whether or not it was allowed."""

    allowed: bool
    limit: int
    remaining: int
    retry_after_seconds: int  # 0 when allowed
    reset_at: datetime  # when the bucket is full again (UTC)
    headers: Mapping[str, str]


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per identity (user, token or tenant: the server chooses), thread-safe.

    `clock` returns seconds since the epoch (default `time.time`); tests inject a fake one. A refused request does
    not consume tokens. A cost larger than the capacity is treated as the capacity, so it can still pass once the
    bucket is full.
    """

    def __init__(self, policy: RateLimitPolicy, clock: Clock = time.time) -> None:
        self._policy = policy
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    @property
    def policy(self) -> RateLimitPolicy:
        return self._policy

    def configure(self, policy: RateLimitPolicy) -> None:
        """Change the policy at runtime; existing buckets keep their tokens (capped at the new capacity)."""
        with self._lock:
            now = self._clock()
            for bucket in self._buckets.values():
                self._refill(bucket, now)
                bucket.tokens = min(bucket.tokens, policy.capacity)
            self._policy = policy

    def reset(self, identity: str | None = None) -> None:
        """Refill one identity's bucket (or all of them)."""
        with self._lock:
            if identity is None:
                self._buckets.clear()
            else:
                self._buckets.pop(identity, None)

    def check(self, identity: str, cost: float = 1.0) -> RateDecision:
        """Take `cost` tokens from the identity's bucket if it has them; say what to answer either way."""
        if cost < 0:
            raise ValueError(f"cost must not be negative, got {cost}")
        with self._lock:
            policy = self._policy
            now = self._clock()
            bucket = self._buckets.get(identity)
            if bucket is None:
                bucket = self._buckets[identity] = _Bucket(float(policy.capacity), now)
            else:
                self._refill(bucket, now)
            cost = min(cost, policy.capacity)
            allowed = bucket.tokens >= cost
            if allowed:
                bucket.tokens -= cost
                retry_after = 0
            else:
                retry_after = max(1, math.ceil((cost - bucket.tokens) / policy.tokens_per_second))
            tokens = bucket.tokens
        remaining = max(0, math.floor(tokens))
        seconds_to_full = (policy.capacity - tokens) / policy.tokens_per_second
        reset_at = datetime.fromtimestamp(now + seconds_to_full, tz=timezone.utc)
        headers = _rate_headers(policy, allowed, remaining, retry_after, reset_at)
        return RateDecision(allowed, policy.capacity, remaining, retry_after, reset_at, headers)

    def _refill(self, bucket: _Bucket, now: float) -> None:
        elapsed = max(0.0, now - bucket.updated)  # a clock stepping back must not drain the bucket
        bucket.tokens = min(float(self._policy.capacity), bucket.tokens + elapsed * self._policy.tokens_per_second)
        bucket.updated = max(bucket.updated, now)


def format_reset(instant: datetime) -> str:
    """Cloud's X-RateLimit-Reset format, minute precision (`2026-03-26T16:00Z`), rounded up so that a client
    waiting until then finds the bucket full."""
    utc = instant.astimezone(timezone.utc)
    if utc.second or utc.microsecond:
        utc = utc.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return utc.strftime("%Y-%m-%dT%H:%MZ")


def _rate_headers(
    policy: RateLimitPolicy, allowed: bool, remaining: int, retry_after: int, reset_at: datetime
) -> dict[str, str]:
    headers = {"X-RateLimit-Limit": str(policy.capacity), "X-RateLimit-Remaining": str(remaining)}
    if policy.style == "datacenter":
        headers["X-RateLimit-Interval-Seconds"] = _number(policy.refill_interval_seconds)
        headers["X-RateLimit-FillRate"] = _number(policy.refill_amount)
        headers["Retry-After"] = str(retry_after)
        return headers
    headers["X-RateLimit-Reset"] = format_reset(reset_at)
    if remaining < policy.capacity * policy.near_limit_fraction:
        headers["X-RateLimit-NearLimit"] = "true"
    if not allowed:
        headers["Retry-After"] = str(retry_after)
        headers["RateLimit-Reason"] = policy.reason
    return headers


def _number(value: float) -> str:
    """Header numbers without a pointless `.0` (`10`, `0.5`)."""
    return str(int(value)) if float(value).is_integer() else str(value)


# ---------------------------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class _EndpointStats:
    requests: int = 0
    bytes_sent: int = 0
    seconds: float = 0.0
    by_status: dict[int, int] = field(default_factory=dict)


class Stats:
    """Thread-safe request counters for the benchmark: per endpoint and status, bytes sent, time spent, faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._endpoints: dict[str, _EndpointStats] = {}
        self._faults: dict[str, int] = {}

    def record(self, endpoint: str, status: int, bytes_sent: int = 0, seconds: float = 0.0) -> None:
        with self._lock:
            stats = self._endpoints.get(endpoint)
            if stats is None:
                stats = self._endpoints[endpoint] = _EndpointStats()
            stats.requests += 1
            stats.bytes_sent += bytes_sent
            stats.seconds += seconds
            stats.by_status[status] = stats.by_status.get(status, 0) + 1

    def record_fault(self, kind: FaultKind | str) -> None:
        name = kind.value if isinstance(kind, FaultKind) else kind
        with self._lock:
            self._faults[name] = self._faults.get(name, 0) + 1

    def reset(self) -> None:
        with self._lock:
            self._endpoints.clear()
            self._faults.clear()

    def snapshot(self) -> dict[str, Any]:
        """A consistent JSON-ready copy: totals, per status, per endpoint, faults injected (status keys are strings)."""
        with self._lock:
            endpoints = {name: replace(stats, by_status=dict(stats.by_status)) for name, stats in self._endpoints.items()}
            faults = dict(self._faults)
        by_status: dict[int, int] = {}
        for stats in endpoints.values():
            for status, number in stats.by_status.items():
                by_status[status] = by_status.get(status, 0) + number
        return {
            "requests": sum(stats.requests for stats in endpoints.values()),
            "bytes_sent": sum(stats.bytes_sent for stats in endpoints.values()),
            "seconds": sum(stats.seconds for stats in endpoints.values()),
            "by_status": {str(status): by_status[status] for status in sorted(by_status)},
            "endpoints": {
                name: {
                    "requests": stats.requests,
                    "bytes_sent": stats.bytes_sent,
                    "seconds": stats.seconds,
                    "by_status": {str(status): stats.by_status[status] for status in sorted(stats.by_status)},
                }
                for name, stats in sorted(endpoints.items())
            },
            "faults": dict(sorted(faults.items())),
        }
