"""Fixtures of the destination tests: a client for the real test node, and one fresh index per test.

`es_url` (session fixture in tests/conftest.py) provides the running Elasticsearch node.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from destinations.es_client import close_shared_clients
from destinations.es_config import (
    ElasticsearchSettings,
    build_settings,
    dead_letter_index_name,
)
from destinations.es_retry import RetryPolicy


@pytest.fixture(scope="session")
def es(es_url: str) -> Iterator[Elasticsearch]:
    """A plain client for assertions, independent of the code under test."""
    client = Elasticsearch(es_url, request_timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="session", autouse=True)
def _close_destination_clients() -> Iterator[None]:
    yield
    close_shared_clients()


@pytest.fixture
def index_name(request: pytest.FixtureRequest, es: Elasticsearch) -> Iterator[str]:
    """A unique index per test; it and its dead-letter index are deleted afterwards."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60]
    name = f"test-dest-{slug}-{uuid.uuid4().hex[:8]}"
    yield name
    for index in (name, dead_letter_index_name(name)):
        es.options(ignore_status=404).indices.delete(index=index)


@pytest.fixture
def settings(es_url: str, index_name: str) -> ElasticsearchSettings:
    return build_settings(es_hosts=es_url, es_index=index_name)


@pytest.fixture
def fast_retries() -> RetryPolicy:
    """Backoff in tenths of seconds, so retry tests stay quick."""
    return RetryPolicy(max_retries=8, initial_delay=0.1, max_delay=1.0)
