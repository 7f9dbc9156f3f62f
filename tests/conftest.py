"""Shared pytest fixtures.

``es_url``: the URL of a real Elasticsearch node for the whole session; ``es``: a plain client for it, independent of
the code under test. ``ES_URL`` points the suite at an
existing node; otherwise a local node is started with ``es_local`` on port 9200 (``ES_LOCAL_PORT`` to change it),
reused if one already answers there, and stopped at the end only if this session started it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from elasticsearch import Elasticsearch

from es_local import NodeOptions, ensure_running, stop


def local_node_options() -> NodeOptions:
    """The node the suite starts when ``ES_URL`` is not set; tests that manage nodes themselves avoid its port."""
    return NodeOptions(port=int(os.environ.get("ES_LOCAL_PORT", "9200")))


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    configured = os.environ.get("ES_URL", "").strip()
    if configured:
        yield configured.rstrip("/")
        return
    options = local_node_options()
    node = ensure_running(options)
    try:
        yield node.url
    finally:
        if node.started:
            stop(options)


@pytest.fixture(scope="session")
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=60)
    yield client
    client.close()


@pytest.fixture
def stop_noted_after() -> Iterator[Callable[[float], None]]:
    """`stop_noted_after(seconds)`: from another thread, note a SIGTERM as the command line's handler does (dlt's
    flag, and sleepers woken), without sending one. The note is taken back after the test."""
    import signal
    import threading

    from dlt.common.runtime import signals

    timers: list[threading.Timer] = []

    def note() -> None:
        signals.set_received_signal(signal.SIGTERM)
        signals.wake_all()

    def schedule(seconds: float) -> None:
        timer = threading.Timer(seconds, note)
        timer.daemon = True
        timers.append(timer)
        timer.start()

    yield schedule
    for timer in timers:
        timer.cancel()
    signals.set_received_signal(0)


@pytest.fixture(autouse=True)
def clusters_unknown_to_the_run() -> Iterator[None]:
    """Each test starts as a new run does: what the destination learnt of clusters in an earlier test (that one
    answered, that one was given up on after its retries) does not carry over to requests made outside a sync."""
    from destinations.es_errors import forget_answers

    forget_answers()
    yield
