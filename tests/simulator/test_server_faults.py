"""Every fault knob as a client sees it on the wire, rate limiting headers, and the request statistics."""

from __future__ import annotations

from http.client import HTTPConnection, HTTPResponse, IncompleteRead
import time
from collections.abc import Iterator

import pytest
import requests

from confluence_simulator.faults import FaultKind, FaultRule, RateLimitPolicy
from confluence_simulator.server import Simulator, SimulatorConfig
from confluence_simulator.testing import session_for


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    simulator = Simulator.start(SimulatorConfig(flavour="cloud", prewarm=False))
    yield simulator
    simulator.stop()


@pytest.fixture(autouse=True)
def no_faults_left(sim: Simulator) -> Iterator[None]:
    sim.faults.clear()
    yield
    sim.faults.clear()


@pytest.fixture(scope="module")
def http(sim: Simulator) -> requests.Session:
    return session_for(sim)


def raw_get(sim: Simulator, path: str) -> tuple[HTTPResponse, HTTPConnection]:
    connection = HTTPConnection(sim.host, sim.port, timeout=5)
    credentials = sim.credentials
    token = requests.auth._basic_auth_str(credentials["email"], credentials["api_token"])  # type: ignore[attr-defined]
    connection.request("GET", path, headers={"Authorization": token})
    return connection.getresponse(), connection


def test_dropped_connection_sends_nothing(sim: Simulator, http: requests.Session) -> None:
    sim.faults.add(FaultRule(kind=FaultKind.DROP_CONNECTION, endpoint="v2.pages.list", count=1))
    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(sim.origin + "/wiki/api/v2/pages")
    assert http.get(sim.origin + "/wiki/api/v2/pages").status_code == 200


def test_truncated_body_announces_the_full_length(sim: Simulator) -> None:
    sim.faults.add(FaultRule(kind=FaultKind.TRUNCATED_BODY, endpoint="v2.pages.list", count=1,
                             truncate_fraction=0.4))
    response, connection = raw_get(sim, "/wiki/api/v2/pages?limit=20&body-format=storage")
    announced = int(response.headers["Content-Length"])
    with pytest.raises(IncompleteRead) as caught:
        response.read()
    assert 0 < len(caught.value.partial) < announced
    connection.close()
    again, connection = raw_get(sim, "/wiki/api/v2/pages?limit=20&body-format=storage")
    assert len(again.read()) == int(again.headers["Content-Length"])
    connection.close()


@pytest.mark.parametrize("rule, status, retry_after", [
    (FaultRule(kind=FaultKind.RATE_LIMIT, count=1, retry_after=2), 429, "2"),
    (FaultRule(kind=FaultKind.RATE_LIMIT, count=1, retry_after=None), 429, None),
    (FaultRule(kind=FaultKind.RATE_LIMIT, count=1, retry_after=9223372036854775807), 429, "9223372036854775807"),
    (FaultRule(kind=FaultKind.SERVICE_UNAVAILABLE, count=1, retry_after=3), 503, "3"),
    (FaultRule(kind=FaultKind.SERVER_ERROR, count=1, status=502), 502, None),
])
def test_error_faults(sim: Simulator, http: requests.Session, rule: FaultRule, status: int,
                      retry_after: str | None) -> None:
    sim.faults.add(rule)
    response = http.get(sim.origin + "/wiki/api/v2/spaces")
    assert response.status_code == status
    assert response.headers.get("Retry-After") == retry_after
    assert response.json()["errors"][0]["status"] == status
    v1 = http.get(sim.origin + "/wiki/rest/api/content/search?cql=type%3Dpage")
    assert v1.status_code == 200  # the rule was spent


def test_slow_fault_delays_the_answer(sim: Simulator, http: requests.Session) -> None:
    sim.faults.add(FaultRule(kind=FaultKind.SLOW, endpoint="v2.spaces.list", count=1, delay_seconds=0.4))
    started = time.monotonic()
    assert http.get(sim.origin + "/wiki/api/v2/spaces").status_code == 200
    assert time.monotonic() - started >= 0.4


def test_empty_page_keeps_a_next_link_that_leads_on(sim: Simulator, http: requests.Session) -> None:
    sim.faults.add(FaultRule(kind=FaultKind.EMPTY_PAGE, endpoint="v2.pages.list", nth=2))
    first = http.get(sim.origin + "/wiki/api/v2/pages?limit=10").json()
    empty = http.get(sim.origin + first["_links"]["next"]).json()
    assert empty["results"] == [] and empty["_links"]["next"]
    resumed = http.get(sim.origin + empty["_links"]["next"]).json()
    assert len(resumed["results"]) == 10
    assert int(resumed["results"][0]["id"]) > int(first["results"][-1]["id"])
    sim.faults.add(FaultRule(kind=FaultKind.EMPTY_PAGE, endpoint="v1.content.search", count=1))
    search = http.get(sim.origin + "/wiki/rest/api/content/search?cql=type%3Dpage&limit=5").json()
    assert search["results"] == [] and search["_links"]["next"]
    after = http.get(search["_links"]["base"] + search["_links"]["next"]).json()
    assert len(after["results"]) == 5


def test_rules_match_by_path_and_nth(sim: Simulator, http: requests.Session) -> None:
    sim.faults.add(FaultRule(kind=FaultKind.SERVER_ERROR, path=r"/attachments$", nth=2))
    assert http.get(sim.origin + "/wiki/api/v2/attachments").status_code == 200
    assert http.get(sim.origin + "/wiki/api/v2/pages").status_code == 200
    assert http.get(sim.origin + "/wiki/api/v2/attachments").status_code == 500
    assert http.get(sim.origin + "/wiki/api/v2/attachments").status_code == 200


def test_too_large_refuses_only_answers_above_its_size(sim: Simulator, http: requests.Session) -> None:
    small = len(http.get(sim.origin + "/wiki/api/v2/blogposts?limit=1").content)
    sim.stats_recorder.reset()
    sim.faults.add(FaultRule.from_dict({"kind": "too_large", "endpoint": "v2.blogposts.list", "max_bytes": small}))
    assert http.get(sim.origin + "/wiki/api/v2/blogposts?limit=1").status_code == 200
    refused = http.get(sim.origin + "/wiki/api/v2/blogposts?limit=5")
    assert refused.status_code == 500
    assert sim.stats()["faults"] == {"too_large": 1}  # counted where it refused, not where it let an answer pass
    sim.faults.clear()
    sim.faults.add(FaultRule(kind=FaultKind.TOO_LARGE, endpoint="v2.blogposts.list", max_bytes=small, count=1))
    sim.faults.add(FaultRule(kind=FaultKind.RATE_LIMIT, endpoint="v2.blogposts.list", nth=2))
    assert http.get(sim.origin + "/wiki/api/v2/blogposts?limit=1").status_code == 200  # passes, spends nothing
    assert http.get(sim.origin + "/wiki/api/v2/blogposts?limit=1").status_code == 429  # the next rule still fires
    assert http.get(sim.origin + "/wiki/api/v2/blogposts?limit=5").status_code == 500
    assert http.get(sim.origin + "/wiki/api/v2/blogposts?limit=5").status_code == 200  # its one refusal spent
    with pytest.raises(ValueError, match="max_bytes"):
        FaultRule(kind=FaultKind.TOO_LARGE)
    with pytest.raises(ValueError, match="max_bytes"):
        FaultRule(kind=FaultKind.SERVER_ERROR, max_bytes=10)


def test_stats_count_requests_statuses_bytes_and_faults(sim: Simulator, http: requests.Session) -> None:
    sim.stats_recorder.reset()
    body = http.get(sim.origin + "/wiki/api/v2/blogposts?limit=5").content
    http.get(sim.origin + "/wiki/api/v2/pages/1")
    sim.faults.add(FaultRule(kind=FaultKind.RATE_LIMIT, endpoint="v2.blogposts.list", count=1))
    http.get(sim.origin + "/wiki/api/v2/blogposts?limit=5")
    stats = sim.stats()
    blogs = stats["endpoints"]["v2.blogposts.list"]
    assert blogs["requests"] == 2 and blogs["by_status"] == {"200": 1, "429": 1}
    assert blogs["bytes_sent"] >= len(body)
    assert stats["endpoints"]["v2.pages.get"]["by_status"] == {"404": 1}
    assert stats["faults"] == {"rate_limit": 1}
    over_http = requests.get(sim.origin + "/__admin/stats").json()
    assert over_http["endpoints"]["v2.blogposts.list"]["requests"] == 2


@pytest.mark.parametrize("fault", [None, FaultKind.DROP_CONNECTION])
def test_an_answer_is_counted_before_the_client_has_it(
        sim: Simulator, http: requests.Session, monkeypatch: pytest.MonkeyPatch, fault: FaultKind | None) -> None:
    """A slow count must hold the answer back, never let a client read stats that miss the request it just made."""
    count = sim.stats_recorder.record

    def slow_count(*args: object, **kwargs: object) -> None:
        time.sleep(0.3)
        count(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sim.stats_recorder, "record", slow_count)
    if fault is not None:
        sim.faults.add(FaultRule(kind=fault, endpoint="v2.blogposts.list", count=1))
    sim.stats_recorder.reset()
    try:
        http.get(sim.origin + "/wiki/api/v2/blogposts?limit=5")
    except requests.ConnectionError:
        assert fault is not None
    assert sim.stats()["endpoints"]["v2.blogposts.list"]["requests"] == 1


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_rate_limiter_answers_429_with_the_flavours_headers(flavour: str) -> None:
    policy = RateLimitPolicy(capacity=3, refill_amount=1, refill_interval_seconds=60, style=flavour)  # type: ignore[arg-type]
    simulator = Simulator.start(SimulatorConfig(flavour=flavour, rate_limit=policy, prewarm=False))  # type: ignore[arg-type]
    try:
        http = session_for(simulator)
        path = "/wiki/api/v2/spaces" if flavour == "cloud" else "/rest/api/space"
        url = (simulator.origin if flavour == "cloud" else simulator.base_url) + path
        answers = [http.get(url) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        limited = answers[-1]
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.headers["X-RateLimit-Limit"] == "3" and limited.headers["X-RateLimit-Remaining"] == "0"
        if flavour == "cloud":
            assert limited.headers["RateLimit-Reason"] and limited.headers["X-RateLimit-Reset"].endswith("Z")
            assert answers[0].headers["X-RateLimit-Remaining"] == "2"
        else:
            assert limited.headers["X-RateLimit-Interval-Seconds"] == "60"
            assert limited.headers["X-RateLimit-FillRate"] == "1"
        other = simulator.site.users[next(u for u in simulator.site.users if u != simulator.site.default_user_id)]
        separate = requests.get(url, auth=(other.email, other.api_token) if flavour == "cloud"
                                else (other.username, other.password))
        assert separate.status_code == 200  # buckets are per user
        disabled = requests.post(simulator.origin + "/__admin/rate-limit", json={"disable": True})
        assert disabled.status_code == 200 and http.get(url).status_code == 200
    finally:
        simulator.stop()


def test_a_stopped_simulator_stops_answering_open_connections() -> None:
    simulator = Simulator.start(SimulatorConfig(flavour="cloud", prewarm=False))
    http = session_for(simulator)
    assert http.get(simulator.origin + "/wiki/api/v2/spaces").status_code == 200  # keep-alive connection open
    simulator.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(simulator.origin + "/wiki/api/v2/spaces", timeout=5)
