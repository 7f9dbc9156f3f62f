"""The time and CPU a run reports for itself (`pipelines/run_costs.py`)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from pipelines.run_costs import STEPS, StepClock


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_laps_add_up_to_the_run_and_a_step_charged_twice_adds_up() -> None:
    clock = StepClock()
    for step, pause in (("preflight", 0.02), ("load", 0.03), ("preflight", 0.02), ("extract", 0.05)):
        time.sleep(pause)
        clock.lap(step)
    steps = clock.as_dict()
    assert list(steps) == ["preflight", "extract", "load"]  # reported in the order of `STEPS`, left-out steps absent
    assert set(steps) <= set(STEPS)
    assert steps["preflight"] == pytest.approx(0.04, abs=0.03) and steps["load"] == pytest.approx(0.03, abs=0.03)
    assert sum(steps.values()) == pytest.approx(clock.elapsed(), abs=0.005)
    time.sleep(0.05)  # a step that never ends (the run failed in it): charged to none, told apart
    assert clock.since_last_lap() == pytest.approx(0.05, abs=0.03)
    assert sum(clock.as_dict().values()) + clock.since_last_lap() == pytest.approx(clock.elapsed(), abs=0.005)


def test_cpu_is_this_runs_own_and_its_workers_not_the_processs_earlier_work() -> None:
    _burn(0.3)  # before the run: e.g. a first sync in the same process
    clock = StepClock()
    _burn(0.1)
    subprocess.run([sys.executable, "-c",
                    "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"], check=True)
    cpu = clock.cpu_seconds()
    assert 0.08 <= cpu["process"] < 0.3
    assert cpu["workers"] >= 0.28  # the child's CPU, counted once it was waited for
