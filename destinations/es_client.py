"""Creation of Elasticsearch clients from `ConnectionSettings`, and the one client the sink threads share.

dlt calls the sink from up to `load.workers` threads at once. The official client is thread-safe and
pools its connections, so one instance per distinct setting set is both sufficient and cheapest:
it is created lazily (nothing connects at import time, so `dlt pipeline ... info` stays offline) and
under a lock (two threads starting together must not build two pools).
"""

from __future__ import annotations

import logging
import ssl
import threading
from typing import Any, Final

from elasticsearch import Elasticsearch

from destinations.es_config import ConnectionSettings
from destinations.es_errors import ElasticsearchConfigurationError
from destinations.es_serializer import DocumentSerializer

logger = logging.getLogger(__name__)

#: Enough pooled connections for dlt's load workers plus the bulk helper's own threads.
CONNECTIONS_PER_NODE: Final = 24

_shared_clients: dict[ConnectionSettings, Elasticsearch] = {}
_shared_clients_lock = threading.Lock()
_warned_unverified: set[ConnectionSettings] = set()


def _ssl_options(settings: ConnectionSettings) -> dict[str, Any]:
    if not settings.uses_tls:
        return {}
    if not settings.verify_certs:
        if settings not in _warned_unverified:
            _warned_unverified.add(settings)
            logger.warning(
                "TLS certificate verification for Elasticsearch is OFF"
                " (destination.elasticsearch.es_verify_certs=false): use this only for testing"
            )
        return {"verify_certs": False, "ssl_show_warn": False}
    if settings.ca_certs is None:
        return {"verify_certs": True}
    if not settings.ca_certs_is_pem:
        return {"verify_certs": True, "ca_certs": settings.ca_certs}
    # PEM text: trust it in addition to the system store, exactly like a CA file would be.
    context = ssl.create_default_context()
    try:
        context.load_verify_locations(cadata=settings.ca_certs)
    except (ssl.SSLError, ValueError):
        raise ElasticsearchConfigurationError(
            "The Elasticsearch CA certificate is not valid PEM", "es_ca_certs"
        ) from None
    return {"ssl_context": context}


def build_client(settings: ConnectionSettings) -> Elasticsearch:
    """A new client the caller owns (and should close).

    Transport-level retries would repeat requests immediately, without backoff; the bulk writer
    retries with exponential backoff and jitter instead (see `es_retry`). The one exception: with
    several `es_hosts`, a request that cannot reach one node is sent on to the next (the transport
    marks the first dead for a while), as a cluster's clients expect: one node down must not fail a run.
    """
    kwargs: dict[str, Any] = {
        "request_timeout": settings.request_timeout,
        "max_retries": max(0, len(settings.hosts) - 1) if not settings.cloud_id else 0,
        "retry_on_status": (),  # throttling and 5xx are left to the backoff of the callers
        "retry_on_timeout": False,
        "connections_per_node": CONNECTIONS_PER_NODE,
        "serializers": {DocumentSerializer.mimetype: DocumentSerializer()},
        **_ssl_options(settings),
    }
    if settings.api_key:
        kwargs["api_key"] = settings.api_key
    elif settings.username is not None and settings.password is not None:
        kwargs["basic_auth"] = (settings.username, settings.password)
    try:
        if settings.cloud_id:
            return Elasticsearch(cloud_id=settings.cloud_id, **kwargs)
        return Elasticsearch(list(settings.hosts), **kwargs)
    except ValueError as error:
        # The client validates cloud ids and host/TLS combinations; its messages hold no secrets
        # but may quote the cloud id, which is not secret either.
        setting = "es_cloud_id" if settings.cloud_id else "es_hosts"
        raise ElasticsearchConfigurationError(
            f"Elasticsearch connection settings are invalid: {error}", setting, "es_ca_certs"
        ) from None


def shared_client(settings: ConnectionSettings) -> Elasticsearch:
    """The process-wide client for these settings, created on first use."""
    client = _shared_clients.get(settings)
    if client is not None:
        return client
    with _shared_clients_lock:
        client = _shared_clients.get(settings)
        if client is None:
            client = build_client(settings)
            _shared_clients[settings] = client
        return client


def close_shared_clients() -> None:
    """Closes and forgets every shared client (tests, and long-lived processes changing settings)."""
    with _shared_clients_lock:
        clients = list(_shared_clients.values())
        _shared_clients.clear()
    for client in clients:
        client.close()
