"""The Confluence simulator in its own process, steered over its `/__admin/` HTTP endpoints.

The benchmark measures the pipeline's CPU time; a simulator in the benchmark's (or the pipeline's) process would
add its own work to the numbers, so it runs as `python -m confluence_simulator` in a separate process. Its admin
endpoints give the request and byte counters for each run and apply the changes between incremental runs.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import requests

from confluence_simulator.generator import DEFAULT_CREDENTIALS

from bench.options import REPO_ROOT

STARTUP_TIMEOUT_S = {"small": 120.0, "medium": 300.0, "large": 1200.0}
ADMIN_PREFIX = "/__admin"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Simulator endpoints that serve attachment files rather than API answers (Cloud's REST download endpoint answers
# with a redirect to media; on Data Center the servlet sends the bytes).
FILE_ENDPOINTS = frozenset({"download", "v1.attachment.download", "media"})


@dataclass(frozen=True)
class TrafficCounters:
    """Requests served and response bytes sent: Confluence API endpoints, and apart from them attachment file
    downloads (one request per file, two on Cloud with its media redirect). Admin calls are excluded."""

    requests: int
    bytes_sent: int
    by_endpoint: dict[str, int]
    file_requests: int = 0
    file_bytes_sent: int = 0

    def since(self, earlier: "TrafficCounters") -> "TrafficCounters":
        endpoints = {name: count - earlier.by_endpoint.get(name, 0) for name, count in self.by_endpoint.items()}
        return TrafficCounters(self.requests - earlier.requests, self.bytes_sent - earlier.bytes_sent,
                               {name: count for name, count in endpoints.items() if count},
                               self.file_requests - earlier.file_requests,
                               self.file_bytes_sent - earlier.file_bytes_sent)


class SimulatorProcess:
    """A running simulator child process: its URLs, credentials, counters and CPU time."""

    def __init__(self, process: subprocess.Popen[bytes], origin: str, info: dict[str, Any], log_path: Path,
                 flavour: str, preset: str) -> None:
        self.process = process
        self.origin = origin  # scheme://host:port, where /__admin lives
        self.info = info
        self.log_path = log_path
        self.flavour = flavour
        self.preset = preset
        self.base_url: str = str(info["base_url"]).rstrip("/")
        self.session = requests.Session()
        # the data set's fixed sync user; the simulator does not print credentials, so they come from its package
        self.credentials = dict(DEFAULT_CREDENTIALS)

    @classmethod
    def start(cls, python: str, flavour: str, preset: str, seed: int, log_dir: Path) -> "SimulatorProcess":
        log_dir.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        log_path = log_dir / f"simulator-{flavour}-{preset}.log"
        command = [python, "-m", "confluence_simulator", "--flavour", flavour, "--preset", preset,
                   "--seed", str(seed), "--port", str(port)]
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL)
        origin = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S.get(preset, 600.0)
        while True:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the simulator exited with code {process.returncode} while starting:\n{tail}")
            try:
                response = requests.get(origin + ADMIN_PREFIX + "/info", timeout=5)
                if response.status_code == 200:
                    return cls(process, origin, response.json(), log_path, flavour, preset)
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise RuntimeError(f"the simulator did not answer on {origin} within the startup timeout")
            time.sleep(0.2)

    # ---- admin endpoints ---------------------------------------------------------------------------------
    def _admin(self, method: str, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.session.request(method, f"{self.origin}{ADMIN_PREFIX}/{action}", json=body, timeout=60)
        if response.status_code >= 400:
            raise RuntimeError(f"simulator admin {method} {action} failed: {response.status_code} {response.text}")
        result: dict[str, Any] = response.json()
        return result

    def counters(self) -> TrafficCounters:
        snapshot = self._admin("GET", "stats")
        endpoints = {name: value for name, value in snapshot.get("endpoints", {}).items() if "admin" not in name}
        api = {name: value for name, value in endpoints.items() if name not in FILE_ENDPOINTS}
        files = [value for name, value in endpoints.items() if name in FILE_ENDPOINTS]
        return TrafficCounters(
            requests=sum(int(value["requests"]) for value in api.values()),
            bytes_sent=sum(int(value["bytes_sent"]) for value in api.values()),
            by_endpoint={name: int(value["requests"]) for name, value in endpoints.items()},
            file_requests=sum(int(value["requests"]) for value in files),
            file_bytes_sent=sum(int(value["bytes_sent"]) for value in files),
        )

    def add_latency(self, seconds: float) -> None:
        """Delay every Confluence API answer by `seconds` (the simulator's `slow` fault on all endpoints)."""
        self._admin("POST", "faults", {"add": {"kind": "slow", "endpoint": "*", "delay_seconds": seconds}})

    def mutate(self, op: str, **kwargs: Any) -> dict[str, Any]:
        return self._admin("POST", "mutations", {"op": op, "kwargs": kwargs})

    # ---- process -----------------------------------------------------------------------------------------
    def wait_until_idle(self, timeout_s: float = 600.0, window_s: float = 0.5, busy_share: float = 0.1) -> float:
        """Wait for the simulator's background warm-up (pre-rendering bodies) to end, so it does not compete for
        the CPU with a measured run. Idle = under `busy_share` of one core over `window_s`. Returns seconds waited."""
        started = time.monotonic()
        previous = self.cpu_seconds()
        while time.monotonic() - started < timeout_s:
            time.sleep(window_s)
            current = self.cpu_seconds()
            if current - previous < busy_share * window_s:
                break
            previous = current
        return time.monotonic() - started

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.session.close()
