"""The per-pipeline run lock: overlapping runs stop at once, and a lock never outlives its process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipelines.run_lock import SyncAlreadyRunningError, exclusive_run

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_a_second_run_of_the_same_pipeline_is_refused_naming_the_holder(tmp_path: Path) -> None:
    with exclusive_run(str(tmp_path), "wiki"):
        with pytest.raises(SyncAlreadyRunningError) as refused:
            with exclusive_run(str(tmp_path), "wiki"):
                pytest.fail("two runs of one pipeline held the lock at once")
    message = str(refused.value)
    assert "'wiki'" in message and "did nothing" in message
    assert "pid " in message  # who holds it, so that the user can find the process


def test_the_same_folder_spelled_another_way_is_the_same_lock(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    with exclusive_run(str(tmp_path), "wiki"):
        with pytest.raises(SyncAlreadyRunningError):
            with exclusive_run(str(tmp_path / "sub" / ".."), "wiki"):
                pass


def test_other_pipelines_and_later_runs_are_not_held_back(tmp_path: Path) -> None:
    with exclusive_run(str(tmp_path), "wiki"):
        with exclusive_run(str(tmp_path), "other-wiki"):
            pass
    with pytest.raises(RuntimeError):
        with exclusive_run(str(tmp_path), "wiki"):
            raise RuntimeError("the run failed")
    with exclusive_run(str(tmp_path), "wiki"):  # released by the failed run as well
        pass


def test_a_killed_run_leaves_no_stale_lock(tmp_path: Path) -> None:
    holder = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from pipelines.run_lock import exclusive_run
        with exclusive_run({str(tmp_path)!r}, "wiki"):
            print("locked", flush=True)
            time.sleep(120)
    """)
    process = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "locked"
        with pytest.raises(SyncAlreadyRunningError, match=f"pid {process.pid}"):
            with exclusive_run(str(tmp_path), "wiki"):
                pass
    finally:
        process.kill()
        process.wait(timeout=30)
    with exclusive_run(str(tmp_path), "wiki"):  # the kernel released the lock with the process
        pass


def test_a_worker_forked_by_a_killed_run_does_not_keep_the_lock(tmp_path: Path) -> None:
    """Body conversion workers are forked: one that outlives its killed run must not keep later runs out."""
    holder = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from pipelines.run_lock import exclusive_run
        with exclusive_run({str(tmp_path)!r}, "wiki"):
            child = os.fork()
            if child == 0:
                time.sleep(120)
                os._exit(0)
            print(child, flush=True)
            time.sleep(120)
    """)
    process = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    child = int(process.stdout.readline())
    try:
        with pytest.raises(SyncAlreadyRunningError):
            with exclusive_run(str(tmp_path), "wiki"):
                pass
        process.kill()
        process.wait(timeout=30)
        os.kill(child, 0)  # the forked worker is still alive ...
        with exclusive_run(str(tmp_path), "wiki"):  # ... and the next run goes ahead all the same
            pass
    finally:
        process.kill()
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
