"""Fixtures of the destination tests: one fresh index per test.

`es_url` and `es` (session fixtures in tests/conftest.py) provide the running Elasticsearch node and a plain client.
"""

from __future__ import annotations

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
from tests.es_helpers import delete_indices, unique_index_name


@pytest.fixture(scope="session", autouse=True)
def _close_destination_clients() -> Iterator[None]:
    yield
    close_shared_clients()


@pytest.fixture
def index_name(request: pytest.FixtureRequest, es: Elasticsearch) -> Iterator[str]:
    """A unique index per test; it and its dead-letter index are deleted afterwards."""
    name = unique_index_name(request, "test-dest", slug_length=60)
    yield name
    delete_indices(es, name, dead_letter_index_name(name))


@pytest.fixture
def settings(es_url: str, index_name: str) -> ElasticsearchSettings:
    return build_settings(es_hosts=es_url, es_index=index_name)


@pytest.fixture
def fast_retries() -> RetryPolicy:
    """Backoff in tenths of seconds, so retry tests stay quick."""
    return RetryPolicy(max_retries=8, initial_delay=0.1, max_delay=1.0)
