"""Where a run's time and CPU went: the steps of the sync, and the CPU of the job and of its worker processes.

Reported with the run's summary (printed, `--summary-json`, and the sync state's `last_run`), so that whoever runs
the job can tell a slow Confluence (the extract step) from a busy cluster (the load step) without a profiler, and
so that the benchmark can set each step against what the machine had to give.
"""

from __future__ import annotations

import os
import time

# The steps of a sync, in the order they run:
#   preflight  settings, the checks of Confluence and Elasticsearch, the run's plan;
#   extract    reading Confluence: listings, bodies (and their conversion), files and their text;
#   normalize  dlt's normalize step;
#   load       the bulk writes to Elasticsearch;
#   reconcile  the deletion check (id listings of the synced spaces) and the deletions.
STEPS = ("preflight", "extract", "normalize", "load", "reconcile")


class StepClock:
    """Time spent per step, each lap ending where the next begins (so the steps add up to the run's time)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self._lap_started = self.started
        self.seconds: dict[str, float] = {}

    def lap(self, step: str) -> None:
        """Charge the time since the previous lap (or since the clock started) to `step`."""
        now = time.monotonic()
        self.seconds[step] = self.seconds.get(step, 0.0) + now - self._lap_started
        self._lap_started = now

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def as_dict(self) -> dict[str, float]:
        return {step: round(self.seconds[step], 3) for step in STEPS if step in self.seconds}


def cpu_seconds() -> dict[str, float]:
    """CPU time (user + system) of this process since it started, imports included, and of the worker processes
    it has waited for (body conversion and text extraction, both stopped by the end of the extract step)."""
    times = os.times()
    return {
        "process": round(times.user + times.system, 3),
        "workers": round(times.children_user + times.children_system, 3),
    }
