"""CPU time of the processes a measured run shares the machine with: the Confluence simulator and Elasticsearch.

On a small machine a run's own CPU time says little by itself: the simulator serves it and Elasticsearch indexes
what it sends, on the same cores. Set beside theirs and beside the wall time, it shows how busy the machine was
during the run, and so whether the run waited on its own work, on its neighbours', or on nothing at all.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import psutil
from elasticsearch import Elasticsearch


@dataclass(frozen=True)
class NeighbourCpu:
    """CPU seconds (user + system) the neighbours spent during one run; None where a process could not be read."""

    simulator_seconds: float | None
    elasticsearch_seconds: float | None


class NeighbourMeter:
    """Reads the simulator's and the Elasticsearch node's CPU time before and after a run."""

    def __init__(self, simulator_pid: int, elasticsearch: psutil.Process | None) -> None:
        self._simulator = _process(simulator_pid)
        self._elasticsearch = elasticsearch

    def snapshot(self) -> tuple[float | None, float | None]:
        return _cpu_seconds(self._simulator), _cpu_seconds(self._elasticsearch)

    def since(self, before: tuple[float | None, float | None]) -> NeighbourCpu:
        after = self.snapshot()
        # a process that ended (or whose id now belongs to another) reads None, never a difference of two processes
        simulator, elasticsearch = (None if then is None or now is None or now < then else now - then
                                    for then, now in zip(before, after))
        return NeighbourCpu(simulator, elasticsearch)


def local_elasticsearch_process(es: Elasticsearch, es_url: str) -> psutil.Process | None:
    """The process of the Elasticsearch node behind `es_url` when that node runs on this machine, else None.

    The node names its own process id; that id only means something here when the URL points at this machine
    and the process it names is a Java one listening on the URL's port (through a tunnel, a remote node's id could
    be any local process's; in a container, it is not one of this machine's: no CPU is reported then)."""
    parts = urlsplit(es_url)
    if not _is_this_machine(parts.hostname or ""):
        return None
    port = parts.port or (443 if parts.scheme == "https" else 9200)
    try:
        nodes = es.nodes.info(node_id="_local", metric="process")["nodes"]
        pid = int(next(iter(nodes.values()))["process"]["id"])
        process = psutil.Process(pid)
        listening = {connection.laddr.port for connection in process.net_connections(kind="inet")
                     if connection.status == psutil.CONN_LISTEN}
        return process if "java" in process.name().lower() and port in listening else None
    except Exception:  # noqa: BLE001 - a node that will not say (or an answer of another shape): no CPU reported
        return None


def _is_this_machine(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(address.split("%")[0]).is_loopback for address in addresses)


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def _cpu_seconds(process: psutil.Process | None) -> float | None:
    if process is None or not process.is_running():  # ended, or its id taken by another process since
        return None
    try:
        times = process.cpu_times()
    except psutil.Error:
        return None
    return float(times.user + times.system)
