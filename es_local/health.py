"""Asks whatever listens on a port whether it is a usable Elasticsearch node, with the official client.

The client checks the ``X-Elastic-Product`` header itself, so a web server, an OpenSearch or an
Elasticsearch 7 on the port is told apart from "nothing there" and from "our node, still starting".
"""

from __future__ import annotations

import enum
import socket
from dataclasses import dataclass

from elasticsearch import ApiError, Elasticsearch, TransportError, UnsupportedProductError
from elasticsearch import ConnectionError as EsConnectionError

PROBE_TIMEOUT_S = 3.0


class PortState(enum.Enum):
    NOTHING = "nothing listening"
    STARTING = "Elasticsearch, not ready yet"
    READY = "Elasticsearch, health yellow or green"
    OTHER = "not Elasticsearch"


@dataclass(frozen=True)
class Probe:
    state: PortState
    health: str | None = None
    version: str | None = None
    detail: str = ""


def probe(port: int) -> Probe:
    """One quick look at ``127.0.0.1:port``; never raises for network trouble, the answer says what was found."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as error:
        return Probe(PortState.NOTHING, detail=str(error))
    url = f"http://127.0.0.1:{port}"
    client = Elasticsearch(url, request_timeout=PROBE_TIMEOUT_S, max_retries=0, retry_on_timeout=False)
    try:
        health = client.cluster.health(master_timeout="1s")
        status = str(health["status"])
        if status not in ("yellow", "green"):
            return Probe(PortState.STARTING, health=status)
        return Probe(PortState.READY, health=status, version=str(client.info()["version"]["number"]))
    except UnsupportedProductError:
        return Probe(PortState.OTHER, detail="it answers without the X-Elastic-Product header")
    except EsConnectionError as error:
        # The port accepted a connection a moment ago: the node is binding, closing, or answers too slowly.
        return Probe(PortState.STARTING, detail=error.message)
    except ApiError as error:
        # 503 "master not discovered" while the node elects itself, 405/404 from a server without these APIs.
        if error.status_code == 503:
            return Probe(PortState.STARTING, detail=f"HTTP 503 {_one_line(error.message)}")
        return Probe(PortState.OTHER, detail=f"GET /_cluster/health answered HTTP {error.status_code}")
    except TransportError as error:
        return Probe(PortState.STARTING, detail=error.message)
    finally:
        client.close()


def _one_line(text: object, limit: int = 120) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
