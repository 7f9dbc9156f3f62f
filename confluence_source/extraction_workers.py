"""Attachment text read in worker processes, so that no file can cost more than its own text.

Extraction runs native code (PDFium, kreuzberg's Rust readers). In the sync's own process:
* a file that crashes it (a segfault, a Rust abort) would end the run, and every later run too, since each would
  download the same file again; in a worker, only that worker ends, and the file is indexed as `unreadable`;
* a file that makes it hang could only be abandoned, its thread still holding a core and memory until the process
  ends; a worker is killed when its time is up, and a fresh one takes its place;
* it shares the interpreter lock with the download threads; workers read files beside them (on `medium`, the
  attachment stage of a full sync took 1.47 s instead of 1.72 s).

Workers are separate programs (`extraction_worker.py`, started with `subprocess`, not forked: the sync has threads
by then, and the extractor's own thread pools do not survive a fork). They start on first use, as many as are
needed up to the limit, and live until `shutdown` or until the sync's end closes their input.
"""

from __future__ import annotations

import logging
import os
import queue
import select
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .extraction import ExtractionError
from .extraction_worker import read_message, write_message

logger = logging.getLogger(__name__)

#: What a worker runs for each file (`module:function`).
DEFAULT_TARGET = f"{__package__}.extraction:extract_text"
#: How long `shutdown` waits for a worker to end by itself before killing it.
SHUTDOWN_WAIT_SECONDS = 2.0
_SCRIPT = str(Path(__file__).resolve().with_name("extraction_worker.py"))


class ExtractorStopped(Exception):
    """The worker ended while reading the file. `crashed`: the extractor crashed on it (a fatal signal such as
    SIGSEGV or SIGABRT); otherwise something else ended the worker (the memory limit, a signal sent to it)."""

    def __init__(self, message: str, crashed: bool) -> None:
        super().__init__(message)
        self.crashed = crashed


# What native code that fails ends its process with.
_CRASH_SIGNALS = frozenset(getattr(signal, name) for name in ("SIGSEGV", "SIGABRT", "SIGBUS", "SIGILL", "SIGFPE")
                           if hasattr(signal, name))


class ExtractorFailed(Exception):
    """The extractor raised an unexpected error on the file (its type name is the message)."""


class _Worker:
    """One worker process and its two pipes."""

    def __init__(self, target: str) -> None:
        self.killed_for_time = False
        self.process = subprocess.Popen(
            [sys.executable, "-P", _SCRIPT, target],  # -P: the script's folder is not put on the module path
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            bufsize=0,  # unbuffered: select() must see every answer not read yet
        )

    def send(self, payload: tuple[Any, ...]) -> bool:
        """Hand the worker a file; False when it had already ended."""
        assert self.process.stdin is not None
        try:
            write_message(self.process.stdin, payload)
        except (OSError, ValueError):
            return False
        return True

    def receive(self, limit: float) -> Any:
        """The worker's next answer, or None when it ended (or was killed, after `limit` seconds) before giving it."""
        assert self.process.stdout is not None
        timer = None
        try:
            if os.name == "posix":
                ready, _, _ = select.select([self.process.stdout], [], [], limit)
                if not ready:
                    self._kill_for_time()
                    return None
            else:  # no select() on pipes: a timer kills the worker, which ends the read below
                timer = threading.Timer(limit, self._kill_for_time)
                timer.daemon = True
                timer.start()
            return read_message(self.process.stdout)
        except (OSError, ValueError, EOFError):
            return None
        finally:
            if timer is not None:
                timer.cancel()

    def crashed(self) -> bool:
        """Whether the (closed) worker ended on a fatal signal of its own."""
        code = self.process.returncode
        return code is not None and code < 0 and -code in _CRASH_SIGNALS

    def stopped_by(self) -> str:
        """How the (closed) worker ended."""
        code = self.process.returncode
        if code is None:
            return "unknown"
        if code < 0:
            try:
                return f"signal {signal.Signals(-code).name}"
            except ValueError:
                return f"signal {-code}"
        return f"exit code {code}"

    def _kill_for_time(self) -> None:
        self.killed_for_time = True
        self.process.kill()

    def close(self, wait: float) -> None:
        """Close its input (it then ends by itself), and kill it if it has not ended within `wait` seconds."""
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class _Job:
    outcome: Future[Any]
    limit: float
    payload: tuple[Any, ...]  # what the worker is sent: (data, media type, file name)


class ExtractionWorkers:
    """Up to `size` worker processes, each fed by a thread of its own; `run` queues one file for the first free
    worker and waits for its text."""

    def __init__(self, size: int, target: str = DEFAULT_TARGET) -> None:
        self._target = target
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._size = max(1, size)
        self._feeders = 0
        self._lock = threading.Lock()
        self._closed = False

    def run(self, limit: float, data: bytes | bytearray, media_type: str, file_name: str) -> str:
        """The text of one file, read by a worker within `limit` seconds (the wait for a free worker not counted).
        Raises `TimeoutError` (the worker was killed), `ExtractorStopped` (it ended on this file), `ExtractionError`
        (the file cannot be read) or `ExtractorFailed`."""
        job = _Job(Future(), limit, (data, media_type, file_name))
        with self._lock:
            if self._closed:
                raise RuntimeError("the extraction workers were shut down")
            if self._feeders < self._size:
                self._feeders += 1
                feeder = _Feeder(self._target, self._jobs)
                threading.Thread(target=feeder.run, name=f"confluence-text-{self._feeders}", daemon=True).start()
            self._jobs.put(job)
        kind, value = job.outcome.result()
        if kind == "text":
            return str(value)
        if kind == "error":
            raise ExtractionError(*value)
        raise ExtractorFailed(str(value))

    def shutdown(self) -> None:
        """Let each worker finish the files queued so far, then end."""
        with self._lock:
            self._closed = True
            feeders = self._feeders
        for _ in range(feeders):
            self._jobs.put(None)


class _Feeder:
    """One worker and the thread that feeds it, one file at a time (a second file sent ahead could block this thread
    on a full pipe while the worker hangs on the first, out of reach of the time limit; it saved ~3% of the file
    stage). The worker is replaced when it ends."""

    def __init__(self, target: str, jobs: queue.SimpleQueue[_Job | None]) -> None:
        self._target = target
        self._jobs = jobs
        self._worker: _Worker | None = None

    def run(self) -> None:
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    return
                if not job.outcome.set_running_or_notify_cancel():
                    continue
                try:
                    job.outcome.set_result(self._answer(job))
                except Exception as error:  # noqa: BLE001 - handed to the thread that waits for this file
                    if not isinstance(error, (TimeoutError, ExtractorStopped)):
                        error = ExtractorFailed(f"no extraction worker could be started ({error})")
                    job.outcome.set_exception(error)
        finally:
            if self._worker is not None:
                self._worker.close(SHUTDOWN_WAIT_SECONDS)

    def _answer(self, job: _Job) -> Any:
        """The worker's answer for this file. A worker that ended while idle (killed from outside) did not get it,
        so a fresh one does; one that ends on the file raises `TimeoutError` or `ExtractorStopped`."""
        for _ in range(3):
            if self._worker is None:
                self._worker = _Worker(self._target)
            worker = self._worker
            if worker.send(job.payload):
                break
            worker.close(0)
            self._worker = None
        else:
            raise RuntimeError("the extraction workers keep ending")
        answer = worker.receive(job.limit)
        if answer is not None:
            return answer
        worker.close(1.0)  # a worker that exits by itself is given the time to, so that its exit status is right
        self._worker = None
        if worker.killed_for_time:
            raise TimeoutError(f"not read within {job.limit:g} s")
        raise ExtractorStopped(f"the extractor stopped ({worker.stopped_by()})", worker.crashed())


def worker_count() -> int:
    """Workers per sync: one per core, up to four."""
    return max(1, min(4, os.cpu_count() or 1))
