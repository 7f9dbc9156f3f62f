"""Fault knobs, the rate limiter's bucket maths and headers, and request statistics of the simulator."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from confluence_simulator.faults import (
    Fault,
    FaultInjector,
    FaultKind,
    FaultRule,
    RateLimitPolicy,
    RateLimiter,
    Stats,
    format_reset,
)


class FakeClock:
    """Seconds since the epoch that only move when a test says so."""

    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


START = datetime(2026, 3, 26, 15, 59, 30, tzinfo=timezone.utc)


def run_in_threads(target, threads: int = 8) -> None:  # type: ignore[no-untyped-def]
    workers = [threading.Thread(target=target) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


# ---------------------------------------------------------------------------------------------------------------
# Fault kinds
# ---------------------------------------------------------------------------------------------------------------


def single_fault(rule: FaultRule) -> Fault:
    injector = FaultInjector()
    injector.add(rule)
    fault = injector.decide("search", "/wiki/rest/api/search")
    assert fault is not None
    return fault


def test_429_with_retry_after() -> None:
    fault = single_fault(FaultRule(FaultKind.RATE_LIMIT, retry_after=7))
    assert fault.kind is FaultKind.RATE_LIMIT
    assert fault.status == 429 and fault.is_error_response
    assert dict(fault.headers) == {"Retry-After": "7"}


def test_429_without_retry_after() -> None:
    fault = single_fault(FaultRule(FaultKind.RATE_LIMIT, retry_after=None))
    assert fault.status == 429
    assert "Retry-After" not in fault.headers


def test_absurd_retry_after_is_sent_verbatim() -> None:
    fault = single_fault(FaultRule(FaultKind.RATE_LIMIT, retry_after=9223372036854775807))
    assert fault.headers["Retry-After"] == "9223372036854775807"


def test_503_with_and_without_retry_after() -> None:
    assert single_fault(FaultRule(FaultKind.SERVICE_UNAVAILABLE, retry_after=30)).headers == {"Retry-After": "30"}
    without = single_fault(FaultRule(FaultKind.SERVICE_UNAVAILABLE, retry_after=None))
    assert without.status == 503 and not without.headers


def test_500_and_other_server_errors() -> None:
    plain = single_fault(FaultRule(FaultKind.SERVER_ERROR))
    assert plain.status == 500 and not plain.headers  # no Retry-After on a 500
    assert single_fault(FaultRule(FaultKind.SERVER_ERROR, status=502)).status == 502


def test_slow_response_carries_the_delay_and_no_status() -> None:
    fault = single_fault(FaultRule(FaultKind.SLOW, delay_seconds=2.5))
    assert fault.delay_seconds == 2.5
    assert fault.status is None and not fault.is_error_response


@pytest.mark.parametrize("kind", [FaultKind.DROP_CONNECTION, FaultKind.TRUNCATED_BODY, FaultKind.EMPTY_PAGE])
def test_transport_and_payload_faults_are_not_error_responses(kind: FaultKind) -> None:
    fault = single_fault(FaultRule(kind, delay_seconds=3))
    assert fault.kind is kind
    assert fault.status is None and not fault.headers
    assert fault.delay_seconds == 0.0  # the delay belongs to SLOW only


def test_truncated_body_is_always_shorter_and_never_valid_json() -> None:
    import json

    body = json.dumps({"results": [{"id": str(n)} for n in range(50)], "_links": {}}).encode()
    half = single_fault(FaultRule(FaultKind.TRUNCATED_BODY)).truncate(body)
    assert half == body[: len(body) // 2]
    with pytest.raises(json.JSONDecodeError):
        json.loads(half)
    almost = single_fault(FaultRule(FaultKind.TRUNCATED_BODY, truncate_fraction=0.999)).truncate(b"{}")
    assert almost == b"{"
    nothing = single_fault(FaultRule(FaultKind.TRUNCATED_BODY, truncate_fraction=0.0)).truncate(body)
    assert nothing == b""
    assert single_fault(FaultRule(FaultKind.TRUNCATED_BODY)).truncate(b"") == b""


# ---------------------------------------------------------------------------------------------------------------
# Triggers and matching
# ---------------------------------------------------------------------------------------------------------------


def fired(injector: FaultInjector, requests: int, endpoint: str = "search", path: str = "/p") -> list[bool]:
    return [injector.decide(endpoint, path) is not None for _ in range(requests)]


def test_count_fails_the_next_n_requests_then_stops() -> None:
    injector = FaultInjector()
    injector.add(FaultRule(FaultKind.SERVER_ERROR, count=3))
    assert fired(injector, 6) == [True, True, True, False, False, False]


def test_nth_fails_only_that_request() -> None:
    injector = FaultInjector()
    injector.add(FaultRule(FaultKind.RATE_LIMIT, nth=4))
    assert fired(injector, 7) == [False, False, False, True, False, False, False]


def test_always_on_rule_with_max_fires() -> None:
    injector = FaultInjector()
    injector.add(FaultRule(FaultKind.SLOW, delay_seconds=0.1, max_fires=2))
    assert fired(injector, 4) == [True, True, False, False]
    unlimited = FaultInjector()
    unlimited.add(FaultRule(FaultKind.SLOW))
    assert all(fired(unlimited, 50))


def test_probability_is_seeded_reproducible_and_close_to_the_rate() -> None:
    def sequence(seed: int) -> list[bool]:
        injector = FaultInjector(seed=seed)
        injector.add(FaultRule(FaultKind.RATE_LIMIT, probability=0.2))
        return fired(injector, 5000)

    first = sequence(7)
    assert first == sequence(7)
    assert first != sequence(8)
    assert 0.17 < sum(first) / len(first) < 0.23


def test_probability_bounds() -> None:
    never = FaultInjector()
    never.add(FaultRule(FaultKind.RATE_LIMIT, probability=0.0))
    assert not any(fired(never, 200))
    always = FaultInjector()
    always.add(FaultRule(FaultKind.RATE_LIMIT, probability=1.0))
    assert all(fired(always, 200))


def test_probability_with_max_fires() -> None:
    injector = FaultInjector(seed=3)
    injector.add(FaultRule(FaultKind.RATE_LIMIT, probability=0.5, max_fires=5))
    assert sum(fired(injector, 1000)) == 5


def test_adding_a_rule_does_not_change_another_rules_random_sequence() -> None:
    alone = FaultInjector(seed=1)
    alone.add(FaultRule(FaultKind.RATE_LIMIT, probability=0.3, endpoint="search"))
    with_other = FaultInjector(seed=1)
    with_other.add(FaultRule(FaultKind.RATE_LIMIT, probability=0.3, endpoint="search"))
    with_other.add(FaultRule(FaultKind.SERVER_ERROR, probability=0.5, endpoint="pages"))
    sequence = fired(alone, 300)
    interleaved = []
    for _ in range(300):
        interleaved.append(with_other.decide("search", "/x") is not None)
        with_other.decide("pages", "/y")
    assert interleaved == sequence


def test_endpoint_name_and_path_regex_select_requests() -> None:
    injector = FaultInjector()
    injector.add(FaultRule(FaultKind.SERVER_ERROR, endpoint="v2.pages"))
    injector.add(FaultRule(FaultKind.RATE_LIMIT, path=r"/child/attachment$"))
    injector.add(FaultRule(FaultKind.SLOW, endpoint="v1.content", path=r"^/rest/api/content/\d+$"))
    assert injector.decide("v2.pages", "/wiki/api/v2/pages").kind is FaultKind.SERVER_ERROR  # type: ignore[union-attr]
    assert injector.decide("v2.blogposts", "/wiki/api/v2/blogposts") is None
    assert injector.decide("v1.child", "/rest/api/content/5/child/attachment").kind is FaultKind.RATE_LIMIT  # type: ignore[union-attr]
    assert injector.decide("v1.child", "/rest/api/content/5/child/attachment/9") is None
    assert injector.decide("v1.content", "/rest/api/content/12").kind is FaultKind.SLOW  # type: ignore[union-attr]
    assert injector.decide("v1.content", "/rest/api/content/search") is None
    assert injector.decide("other", "/rest/api/content/12") is None


def test_star_endpoint_matches_everything() -> None:
    injector = FaultInjector()
    injector.add(FaultRule(FaultKind.SERVER_ERROR, endpoint="*"))
    assert injector.decide("anything", "/any") is not None
    assert injector.decide("", "") is not None


def test_first_rule_that_fires_wins_and_later_rules_are_not_consulted() -> None:
    injector = FaultInjector()
    first = injector.add(FaultRule(FaultKind.RATE_LIMIT, count=2))
    second = injector.add(FaultRule(FaultKind.SERVER_ERROR, nth=1))
    decisions = [injector.decide("search", "/p") for _ in range(4)]
    assert [d.rule_id if d else None for d in decisions] == [first, first, second, None]
    assert [d.kind if d else None for d in decisions] == [FaultKind.RATE_LIMIT, FaultKind.RATE_LIMIT, FaultKind.SERVER_ERROR, None]


def test_rules_count_only_requests_they_match() -> None:
    injector = FaultInjector()
    injector.add(FaultRule(FaultKind.SERVER_ERROR, endpoint="search", nth=2))
    assert injector.decide("pages", "/") is None
    assert injector.decide("search", "/") is None
    assert injector.decide("pages", "/") is None
    assert injector.decide("search", "/") is not None


def test_rules_can_be_listed_removed_and_cleared_at_runtime() -> None:
    injector = FaultInjector()
    keep = injector.add(FaultRule(FaultKind.SERVER_ERROR, endpoint="a", count=1))
    drop = injector.add(FaultRule(FaultKind.RATE_LIMIT, endpoint="b"))
    injector.decide("a", "/")
    injector.decide("a", "/")
    listed = injector.snapshot()
    assert [rule["id"] for rule in listed] == [keep, drop]
    assert listed[0] == {**FaultRule(FaultKind.SERVER_ERROR, endpoint="a", count=1).to_dict(), "id": keep, "seen": 1, "fired": 1, "spent": True}
    assert listed[1]["seen"] == 0 and not listed[1]["spent"]
    assert injector.remove(drop) is True
    assert injector.remove(drop) is False
    assert injector.decide("b", "/") is None
    injector.add(FaultRule(FaultKind.RATE_LIMIT))
    injector.clear()
    assert injector.snapshot() == []
    assert injector.decide("a", "/") is None


def test_count_is_exact_under_concurrency() -> None:
    injector = FaultInjector()
    injector.add(FaultRule(FaultKind.RATE_LIMIT, count=100))
    faults: list[Fault] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(500):
            fault = injector.decide("search", "/")
            if fault is not None:
                with lock:
                    faults.append(fault)

    run_in_threads(hammer)
    assert len(faults) == 100
    assert injector.snapshot()[0]["seen"] == 100


# ---------------------------------------------------------------------------------------------------------------
# Rule validation and JSON form
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message_part"),
    [
        ({"probability": 0.5, "count": 2}, "at most one of probability, count"),
        ({"probability": 1.5}, "probability must be between 0 and 1"),
        ({"count": 0}, "count must be a positive integer"),
        ({"nth": -1}, "nth must be a positive integer"),
        ({"max_fires": 1.5}, "max_fires must be a positive integer"),
        ({"status": 42}, "status must be an HTTP status code"),
        ({"retry_after": -1}, "retry_after must not be negative"),
        ({"delay_seconds": -0.1}, "delay_seconds must not be negative"),
        ({"truncate_fraction": 1.0}, "truncate_fraction must be in [0, 1)"),
        ({"path": "(unclosed"}, "path is not a valid regular expression"),
    ],
)
def test_invalid_rules_are_refused(arguments: dict, message_part: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError) as raised:
        FaultRule(FaultKind.RATE_LIMIT, **arguments)
    assert message_part in str(raised.value)


def test_rules_round_trip_through_json_form() -> None:
    rule = FaultRule(FaultKind.SERVICE_UNAVAILABLE, endpoint="search", path="/search", nth=3, retry_after=None)
    data = rule.to_dict()
    assert data["kind"] == "service_unavailable"
    assert FaultRule.from_dict(data) == rule
    assert FaultRule.from_dict({"kind": "slow", "delay_seconds": 1}) == FaultRule(FaultKind.SLOW, delay_seconds=1)


@pytest.mark.parametrize(
    ("data", "message_part"),
    [
        ({"endpoint": "x"}, "needs a kind"),
        ({"kind": "explode"}, "unknown fault kind 'explode'"),
        ({"kind": "slow", "dealy_seconds": 1}, "unknown fault rule field(s): dealy_seconds"),
        ({"kind": "slow", "count": 1, "nth": 1}, "at most one of"),
    ],
)
def test_bad_json_rules_give_clear_errors(data: dict, message_part: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError) as raised:
        FaultRule.from_dict(data)
    assert message_part in str(raised.value)


# ---------------------------------------------------------------------------------------------------------------
# Rate limiter: bucket maths
# ---------------------------------------------------------------------------------------------------------------


def limiter(capacity: int = 10, refill: float = 1.0, interval: float = 1.0, **policy: object) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock(START)
    return RateLimiter(RateLimitPolicy(capacity, refill, interval, **policy), clock=clock), clock  # type: ignore[arg-type]


def test_bucket_allows_the_burst_then_refuses() -> None:
    bucket, _ = limiter(capacity=5)
    decisions = [bucket.check("alice") for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0]
    assert decisions[-1].retry_after_seconds == 1
    assert all(d.limit == 5 for d in decisions)


def test_bucket_refills_pro_rata_and_caps_at_capacity() -> None:
    bucket, clock = limiter(capacity=10, refill=2.0)  # 2 tokens per second
    for _ in range(10):
        assert bucket.check("alice").allowed
    clock.advance(1.25)  # 2.5 tokens
    assert [bucket.check("alice").allowed for _ in range(3)] == [True, True, False]
    clock.advance(3600)
    assert bucket.check("alice").remaining == 9  # full (10), minus this request


def test_retry_after_is_the_time_until_enough_tokens() -> None:
    bucket, clock = limiter(capacity=4, refill=1.0, interval=10.0)  # 0.1 token per second
    for _ in range(4):
        bucket.check("bob")
    clock.advance(4)  # 0.4 tokens
    refused = bucket.check("bob")
    assert not refused.allowed and refused.retry_after_seconds == 6
    costly = bucket.check("bob", cost=3)
    assert costly.retry_after_seconds == 26  # (3 - 0.4) / 0.1
    clock.advance(6)
    assert bucket.check("bob").allowed


def test_refused_requests_do_not_consume_tokens() -> None:
    bucket, clock = limiter(capacity=2, refill=1.0)
    bucket.check("c")
    bucket.check("c")
    for _ in range(20):
        assert not bucket.check("c").allowed
    clock.advance(1)
    assert bucket.check("c").allowed


def test_cost_counts_points_and_is_capped_at_capacity() -> None:
    bucket, clock = limiter(capacity=10, refill=1.0)
    assert bucket.check("d", cost=6).remaining == 4
    assert not bucket.check("d", cost=5).allowed
    assert bucket.check("d", cost=4).remaining == 0
    clock.advance(10)
    huge = bucket.check("d", cost=1000)
    assert huge.allowed and huge.remaining == 0
    with pytest.raises(ValueError):
        bucket.check("d", cost=-1)


def test_identities_have_separate_buckets() -> None:
    bucket, _ = limiter(capacity=1)
    assert bucket.check("alice").allowed
    assert not bucket.check("alice").allowed
    assert bucket.check("bob").allowed


def test_clock_stepping_back_neither_adds_nor_drains_tokens() -> None:
    bucket, clock = limiter(capacity=3, refill=1.0)
    bucket.check("e")
    bucket.check("e")
    clock.advance(-100)
    assert bucket.check("e").remaining == 0
    clock.advance(100.5)  # back to the original time + 0.5 s: still nothing to refill yet
    assert not bucket.check("e").allowed
    clock.advance(0.5)
    assert bucket.check("e").allowed


def test_reconfigure_and_reset_at_runtime() -> None:
    bucket, _ = limiter(capacity=10)
    bucket.check("f")
    bucket.configure(RateLimitPolicy(capacity=3, refill_amount=1.0))
    assert bucket.policy.capacity == 3
    assert bucket.check("f").remaining == 2  # 9 tokens capped to 3, minus one
    bucket.reset("f")
    assert bucket.check("f").remaining == 2
    bucket.check("g")
    bucket.reset()
    assert bucket.check("g").remaining == 2


def test_exactly_capacity_requests_pass_under_concurrency() -> None:
    bucket, _ = limiter(capacity=250, refill=0.001)
    allowed: list[bool] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(100):
            decision = bucket.check("tenant")
            with lock:
                allowed.append(decision.allowed)

    run_in_threads(hammer)
    assert sum(allowed) == 250 and len(allowed) == 800


@pytest.mark.parametrize(
    "arguments",
    [{"capacity": 0, "refill_amount": 1}, {"capacity": 1, "refill_amount": 0}, {"capacity": 1, "refill_amount": 1, "refill_interval_seconds": 0},
     {"capacity": 1, "refill_amount": 1, "style": "server"}],
)
def test_invalid_policies_are_refused(arguments: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError):
        RateLimitPolicy(**arguments)


# ---------------------------------------------------------------------------------------------------------------
# Rate limiter: headers
# ---------------------------------------------------------------------------------------------------------------


def test_cloud_headers_on_an_allowed_request() -> None:
    bucket, _ = limiter(capacity=100, refill=10.0)
    decision = bucket.check("tenant")
    assert dict(decision.headers) == {
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Remaining": "99",
        "X-RateLimit-Reset": "2026-03-26T16:00Z",  # full again at 15:59:30.1, rounded up to the minute
    }


def test_cloud_near_limit_below_twenty_percent() -> None:
    bucket, _ = limiter(capacity=10, refill=0.001)
    flags = [bucket.check("t").headers.get("X-RateLimit-NearLimit") for _ in range(10)]
    # remaining 9..0: 2 is exactly 20% (not below), 1 and 0 are below
    assert flags == [None] * 8 + ["true", "true"]


def test_cloud_429_headers() -> None:
    bucket, _ = limiter(capacity=2, refill=0.01, reason="confluence-quota-global-based")
    bucket.check("t")
    bucket.check("t")
    refused = bucket.check("t")
    assert not refused.allowed
    assert dict(refused.headers) == {
        "X-RateLimit-Limit": "2",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "2026-03-26T16:03Z",  # 200 s to refill 2 tokens: 16:02:50 -> 16:03
        "X-RateLimit-NearLimit": "true",
        "Retry-After": "100",
        "RateLimit-Reason": "confluence-quota-global-based",
    }
    assert refused.reset_at == datetime(2026, 3, 26, 16, 2, 50, tzinfo=timezone.utc)


def test_reset_format_rounds_up_to_the_minute() -> None:
    assert format_reset(datetime(2026, 3, 26, 16, 0, tzinfo=timezone.utc)) == "2026-03-26T16:00Z"
    assert format_reset(datetime(2026, 3, 26, 16, 0, 0, 1, tzinfo=timezone.utc)) == "2026-03-26T16:01Z"
    assert format_reset(datetime(2026, 12, 31, 23, 59, 1, tzinfo=timezone.utc)) == "2027-01-01T00:00Z"


def test_datacenter_headers() -> None:
    bucket, _ = limiter(capacity=20, refill=10.0, interval=60.0, style="datacenter")
    allowed = bucket.check("admin")
    assert dict(allowed.headers) == {
        "X-RateLimit-Limit": "20",
        "X-RateLimit-Remaining": "19",
        "X-RateLimit-Interval-Seconds": "60",
        "X-RateLimit-FillRate": "10",
        "Retry-After": "0",
    }
    for _ in range(19):
        bucket.check("admin")
    refused = bucket.check("admin")
    assert not refused.allowed
    assert refused.headers["Retry-After"] == "6"  # one token per 6 s
    assert "RateLimit-Reason" not in refused.headers and "X-RateLimit-Reset" not in refused.headers


def test_datacenter_fractional_fill_rate_is_rendered_plainly() -> None:
    bucket, _ = limiter(capacity=5, refill=0.5, interval=1.5, style="datacenter")
    headers = bucket.check("x").headers
    assert headers["X-RateLimit-FillRate"] == "0.5"
    assert headers["X-RateLimit-Interval-Seconds"] == "1.5"


# ---------------------------------------------------------------------------------------------------------------
# Stats
# ---------------------------------------------------------------------------------------------------------------


def test_stats_snapshot_counts_per_endpoint_and_status() -> None:
    stats = Stats()
    stats.record("v2.pages", 200, bytes_sent=1000, seconds=0.5)
    stats.record("v2.pages", 200, bytes_sent=500, seconds=0.25)
    stats.record("v2.pages", 429)
    stats.record("v1.search", 200, bytes_sent=10)
    stats.record_fault(FaultKind.RATE_LIMIT)
    stats.record_fault("rate_limit")
    stats.record_fault(FaultKind.SLOW)
    assert stats.snapshot() == {
        "requests": 4,
        "bytes_sent": 1510,
        "seconds": 0.75,
        "by_status": {"200": 3, "429": 1},
        "endpoints": {
            "v1.search": {"requests": 1, "bytes_sent": 10, "seconds": 0.0, "by_status": {"200": 1}},
            "v2.pages": {"requests": 3, "bytes_sent": 1500, "seconds": 0.75, "by_status": {"200": 2, "429": 1}},
        },
        "faults": {"rate_limit": 2, "slow": 1},
    }
    stats.reset()
    assert stats.snapshot()["requests"] == 0 and stats.snapshot()["endpoints"] == {}


def test_snapshot_is_a_copy() -> None:
    stats = Stats()
    stats.record("a", 200)
    snapshot = stats.snapshot()
    stats.record("a", 200)
    assert snapshot["endpoints"]["a"]["requests"] == 1


def test_stats_are_exact_under_concurrency() -> None:
    stats = Stats()

    def hammer() -> None:
        for n in range(1000):
            stats.record("search" if n % 2 else "pages", 200 if n % 3 else 500, bytes_sent=3)

    run_in_threads(hammer)
    snapshot = stats.snapshot()
    assert snapshot["requests"] == 8000
    assert snapshot["bytes_sent"] == 24000
    assert snapshot["endpoints"]["search"]["requests"] == 4000
    assert sum(snapshot["by_status"].values()) == 8000
