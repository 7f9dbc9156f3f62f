"""Run a program as a child process and measure what it costs: wall time, CPU time and peak memory.

Why a child process: the pipeline and the naive loader must be measured alone, without the benchmark's own work
(and without the simulator, which runs in yet another process). CPU time comes from `os.wait4` on that child,
which is exact and includes any helper processes it waited for. Peak memory is sampled every 50 ms over the
child's process tree: the kernel's own high-water mark of each process (VmHWM, so a spike between two samples is
not missed) and, while several processes run side by side, the tree's summed proportional set size (PSS: pages a
forked worker still shares with its parent are counted once, not once per process, as summed RSS would).
wait4's `ru_maxrss` is not used: Linux carries the parent's RSS at fork time into it, so it would report the
benchmark's memory, not the child's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import psutil

SAMPLE_INTERVAL_S = 0.05


@dataclass(frozen=True)
class ProcessMeasurement:
    """What one child process cost, and how it ended."""

    exit_code: int
    timed_out: bool
    wall_seconds: float
    cpu_user_seconds: float
    cpu_system_seconds: float
    peak_rss_bytes: int
    stdout_path: Path
    stderr_path: Path

    @property
    def cpu_seconds(self) -> float:
        return self.cpu_user_seconds + self.cpu_system_seconds

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def stderr_tail(self, lines: int = 15) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])


def _high_water_mark(pid: int) -> int:
    """Peak resident set size of one process since it started its program (Linux VmHWM); 0 when unknown."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024  # reported in kB
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree_footprint(processes: list[psutil.Process]) -> int:
    """What a process tree holds in memory now: its RSS when it is one process, else its summed PSS."""
    total = 0
    for process in processes:
        try:
            if len(processes) == 1:
                total += process.memory_info().rss
            else:
                full = process.memory_full_info()
                total += getattr(full, "pss", full.rss)  # PSS is Linux-only; RSS over-counts shared pages
        except psutil.Error:
            continue  # exited between listing and reading
    return total


class _TreeMemorySampler(threading.Thread):
    """Samples the memory of a process and its descendants every SAMPLE_INTERVAL_S and keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(name=f"rss-sampler-{pid}", daemon=True)
        self._pid = pid
        self._stop_event = threading.Event()
        self.peak_rss_bytes = 0

    def run(self) -> None:
        try:
            root = psutil.Process(self._pid)
        except psutil.Error:
            return
        while not self._stop_event.is_set():
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            for process in processes:
                self.peak_rss_bytes = max(self.peak_rss_bytes, _high_water_mark(process.pid))
            self.peak_rss_bytes = max(self.peak_rss_bytes, _tree_footprint(processes))
            self._stop_event.wait(SAMPLE_INTERVAL_S)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=2)


def run_measured(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log_dir: Path,
    label: str,
    timeout_s: float,
) -> ProcessMeasurement:
    """Run `command` to completion (or until `timeout_s`) and measure it. Output goes to files under `log_dir`."""
    log_dir.mkdir(parents=True, exist_ok=True)
    stdout_path = log_dir / f"{label}.stdout.log"
    stderr_path = log_dir / f"{label}.stderr.log"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(
            list(command), env=dict(env), cwd=cwd, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
            start_new_session=True,  # a timeout can then stop the child's whole process group
        )
        sampler = _TreeMemorySampler(child.pid)
        sampler.start()
        status, usage, timed_out = _wait_with_timeout(child, started + timeout_s)
        wall = time.perf_counter() - started
        sampler.stop()
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: tell Popen so it does not try again
    return ProcessMeasurement(
        exit_code=child.returncode,
        timed_out=timed_out,
        wall_seconds=wall,
        cpu_user_seconds=usage.ru_utime,
        cpu_system_seconds=usage.ru_stime,
        peak_rss_bytes=sampler.peak_rss_bytes,
        stdout_path=stdout_path,
        stderr_path=stderr_path,
    )


def _wait_with_timeout(child: subprocess.Popen[bytes], deadline: float) -> tuple[int, os.struct_rusage, bool]:
    """Reap the child with a blocking wait4 (exact end time and resource usage); a timer stops its process group
    when `deadline` passes: SIGTERM first, SIGKILL ten seconds later."""
    fired = threading.Event()

    def stop_group() -> None:
        fired.set()
        for sig, pause in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 0.0)):
            try:
                os.killpg(child.pid, sig)
            except ProcessLookupError:
                return
            if done.wait(pause):
                return

    done = threading.Event()
    timer = threading.Timer(max(0.0, deadline - time.perf_counter()), stop_group)
    timer.daemon = True
    timer.start()
    try:
        _, status, usage = os.wait4(child.pid, 0)
    finally:
        done.set()
        timer.cancel()
    return status, usage, fired.is_set()
