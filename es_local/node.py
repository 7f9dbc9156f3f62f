"""Start, reuse, stop and inspect a local Elasticsearch node: the API behind the CLI and the test fixture.

``ensure_running`` is idempotent: a node that already answers on the port is reused whoever started it, and
a start is serialised with a file lock so two test sessions never launch two JVMs on one data folder.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from es_local import process
from es_local.build import ensure_built
from es_local.errors import EsLocalError
from es_local.health import PortState, Probe, probe
from es_local.jvm import java_command
from es_local.options import NodeOptions

POLL_INTERVAL_S = 0.5
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RunningNode:
    """A node that answers with health yellow or green."""

    url: str
    port: int
    version: str
    health: str
    # pid of the JVM when es_local manages it (started it, now or earlier), None for a node started elsewhere.
    pid: int | None
    # True only when this call launched the JVM: whoever started a node is the one who should stop it.
    started: bool
    build_seconds: float = 0.0
    startup_seconds: float = 0.0


@dataclass(frozen=True)
class NodeStatus:
    url: str
    state: PortState
    pid: int | None
    version: str | None
    health: str | None
    log_file: Path


def ensure_running(options: NodeOptions | None = None) -> RunningNode:
    """Return a ready node on ``options.port``, starting one (and building the launcher) only if none answers."""
    options = options or NodeOptions()
    found = probe(options.port)
    if found.state is PortState.READY:
        return _reused(options, found)
    _refuse_foreign(options, found)
    options.home.mkdir(parents=True, exist_ok=True)
    with _start_lock(options):
        pid = process.recorded_pid(options)
        found = probe(options.port)
        if found.state is PortState.READY:
            return _reused(options, found)
        _refuse_foreign(options, found)
        if pid is not None or found.state is PortState.STARTING:
            # Another command is starting this node right now: wait for it instead of starting a second JVM.
            ready = _wait_until_ready(options, pid, started_at=time.monotonic(), owned=False)
            return _reused(options, ready)
        launcher = ensure_built()
        started_at = time.monotonic()
        pid = process.spawn(java_command(launcher, options), options)
        ready = _wait_until_ready(options, pid, started_at=started_at, owned=True)
        return RunningNode(
            url=options.url,
            port=options.port,
            version=ready.version or "",
            health=ready.health or "",
            pid=pid,
            started=True,
            build_seconds=launcher.build_seconds,
            startup_seconds=time.monotonic() - started_at,
        )


def stop(options: NodeOptions | None = None, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """Stop the node es_local runs for ``options``; False when none was running. Refuses foreign nodes."""
    options = options or NodeOptions()
    pid = process.recorded_pid(options)
    if pid is None:
        found = probe(options.port)
        if found.state in (PortState.READY, PortState.STARTING):
            raise EsLocalError(
                f"the Elasticsearch node on port {options.port} was not started by es_local with data folder "
                f"{options.home}: stop it where it was started, or pass the --data-dir it was started with"
            )
        return False
    process.terminate(pid, options, timeout_s)
    if process.is_alive(pid):
        raise EsLocalError(f"the node (pid {pid}) is still running after SIGKILL; check it with ps")
    return True


def status(options: NodeOptions | None = None) -> NodeStatus:
    options = options or NodeOptions()
    found = probe(options.port)
    return NodeStatus(
        url=options.url,
        state=found.state,
        pid=process.recorded_pid(options),
        version=found.version,
        health=found.health,
        log_file=process.log_file(options),
    )


def _reused(options: NodeOptions, found: Probe) -> RunningNode:
    return RunningNode(
        url=options.url,
        port=options.port,
        version=found.version or "",
        health=found.health or "",
        pid=process.recorded_pid(options),
        started=False,
    )


def _refuse_foreign(options: NodeOptions, found: Probe) -> None:
    if found.state is PortState.OTHER:
        raise EsLocalError(
            f"port {options.port} is taken by a server that is not a usable Elasticsearch 8 or 9 node "
            f"({found.detail}): stop it or choose another --port"
        )


def _wait_until_ready(options: NodeOptions, pid: int | None, started_at: float, owned: bool) -> Probe:
    deadline = started_at + options.startup_timeout_s
    while True:
        if pid is not None and not process.is_alive(pid):
            code = process.exit_code(pid)
            ended = f"exited with code {code}" if code is not None else "exited"
            raise EsLocalError(
                f"the Elasticsearch node for port {options.port} {ended} during startup; "
                f"last lines of {process.log_file(options)}:\n{process.log_tail(options)}"
            )
        found = probe(options.port)
        if found.state is PortState.READY:
            return found
        _refuse_foreign(options, found)
        if time.monotonic() >= deadline:
            if owned and pid is not None:
                process.terminate(pid, options, STOP_TIMEOUT_S)
            raise EsLocalError(
                f"the Elasticsearch node on port {options.port} was not ready (health yellow or green) within "
                f"{options.startup_timeout_s:.0f}s (last answer: {found.state.value}"
                f"{', health ' + found.health if found.health else ''}); raise the startup timeout or read "
                f"{process.log_file(options)}; last lines:\n{process.log_tail(options)}"
            )
        time.sleep(POLL_INTERVAL_S)


@contextmanager
def _start_lock(options: NodeOptions) -> Iterator[None]:
    with open(options.home / "launcher.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
