"""Where a run's time and CPU went: the steps of the sync, and the CPU of the job and of its worker processes.

Reported with the run's summary (printed, `--summary-json`, and the sync state's `last_run`), so that whoever runs
the job can tell a slow Confluence or a busy machine (the extract step, and where its CPU went) from a busy cluster
(the load step) without a profiler, and so that the benchmark can set each step against what the machine had to give.
"""

from __future__ import annotations

import os
import time

# The steps of a sync (reported in this order):
#   preflight  settings, the checks of Confluence and Elasticsearch, the run's plan, starting the worker processes;
#   extract    reading Confluence: listings, bodies (and their conversion), files and their text;
#   normalize  dlt's normalize step;
#   load       the bulk writes to Elasticsearch (with those of a package an earlier run left unloaded);
#   reconcile  the deletion check (id listings of the synced spaces) and the deletions.
STEPS = ("preflight", "extract", "normalize", "load", "reconcile")


class StepClock:
    """Time spent per step since the clock started, each lap ending where the next begins (so the steps add up to
    the run's time), and the CPU time spent meanwhile."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self._lap_started = self.started
        self._cpu_at_start = os.times()
        self.seconds: dict[str, float] = {}

    def lap(self, step: str) -> None:
        """Charge the time since the previous lap (or since the clock started) to `step`; a step charged twice
        (e.g. a load before and after the read) adds up."""
        now = time.monotonic()
        self.seconds[step] = self.seconds.get(step, 0.0) + now - self._lap_started
        self._lap_started = now

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def since_last_lap(self) -> float:
        """Time not charged to any step yet: in a run that failed, the time of the step it stopped in."""
        return time.monotonic() - self._lap_started

    def as_dict(self) -> dict[str, float]:
        return {step: round(self.seconds[step], 3) for step in STEPS if step in self.seconds}

    def describe(self) -> str:
        return describe_steps(self.as_dict())

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) since the clock started: of this process, and of the worker processes it has
        waited for meanwhile (body conversion, text extraction). Only this run's: a process that runs several syncs
        (the demo, a scheduler of its own) gets each run's share."""
        now, then = os.times(), self._cpu_at_start
        return {
            "process": round(now.user + now.system - then.user - then.system, 3),
            "workers": round(now.children_user + now.children_system - then.children_user - then.children_system, 3),
        }


def describe_steps(step_seconds: dict[str, float]) -> str:
    """`preflight 0.2 s, extract 4.5 s, ...`: the step times as the summary and the log show them."""
    return ", ".join(f"{step} {seconds:.1f} s" for step, seconds in step_seconds.items())
