"""The simulator's own serving rate: pages with storage bodies per second, from a tight sequential client loop.

Why: the pipeline can never be faster than its Confluence. If the simulator serves, say, 2,000 pages a second, a
sync reading 1,500 pages a second is bound by the simulator, not by its own code. The loop walks the list
endpoint with bodies (Cloud v2 `/pages?body-format=storage`, Data Center `/rest/api/content?expand=body.storage`)
with the largest page size and no other work, walking all pages again until MIN_SECONDS have passed. The
simulator's CPU time during the loop gives pages per CPU-second of its single (GIL-bound) Python process.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

from bench.simulator_process import SimulatorProcess
from bench.site_client import SiteClient

MIN_SECONDS = 2.0


@dataclass(frozen=True)
class ServingRate:
    flavour: str
    size: str
    endpoint: str
    passes: int  # complete walks over all pages
    pages: int
    requests: int
    bytes_sent: int
    wall_seconds: float
    simulator_cpu_seconds: float
    # median time of a small request on a reused (keep-alive) connection; tens of milliseconds here means the
    # server delays small responses (Nagle's algorithm against delayed ACKs) and every sequential client pays it
    keepalive_request_ms: float

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def pages_per_simulator_cpu_second(self) -> float:
        return self.pages / self.simulator_cpu_seconds if self.simulator_cpu_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "pages_per_second": self.pages_per_second,
                "pages_per_simulator_cpu_second": self.pages_per_simulator_cpu_second}


def _keepalive_request_ms(client: SiteClient, rounds: int = 20) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        client.get(f"{client.v1}/user/current")
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def measure_serving_rate(simulator: SimulatorProcess, size: str) -> ServingRate:
    client = SiteClient(simulator)
    try:
        keepalive_ms = _keepalive_request_ms(client)
        before, cpu_before = simulator.counters(), simulator.cpu_seconds()
        started = time.perf_counter()
        pages, passes = 0, 0
        while passes == 0 or time.perf_counter() - started < MIN_SECONDS:
            pages += sum(len(batch) for batch in client.pages_with_bodies())
            passes += 1
        wall = time.perf_counter() - started
        cpu = simulator.cpu_seconds() - cpu_before
        traffic = simulator.counters().since(before)
    finally:
        client.close()
    endpoint = "GET /wiki/api/v2/pages?body-format=storage&limit=250" if client.cloud else \
        "GET /rest/api/content?type=page&expand=body.storage,version&limit=200"
    return ServingRate(simulator.flavour, size, endpoint, passes, pages, traffic.requests, traffic.bytes_sent, wall,
                       cpu, keepalive_ms)
