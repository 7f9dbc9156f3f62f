"""Attachment text read in worker processes, so that no file can cost more than its own text.

Extraction runs native code (PDFium, kreuzberg's Rust readers). In the sync's own process:
* a file that crashes it (a segfault, a Rust abort) would end the run, and every later run too, since each would
  download the same file again; in a worker, only that worker ends, and the file is indexed as `unreadable`;
* a file that makes it hang could only be abandoned, its thread still holding a core and memory until the process
  ends; a worker is killed when its time is up, and a fresh one takes its place;
* it shares the interpreter lock with the download threads; with workers, the sync's own process spends about
  1 CPU-second less on a `medium` full sync (3.0 instead of 4.1), at the same speed on two cores.

Workers are separate programs (`extraction_worker.py`, started with `subprocess`, not forked: the sync has threads
by then, and the extractor's own thread pools do not survive a fork). They start on first use, as many as are
needed up to the limit, and live until `shutdown` or until the sync's end closes their input.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import selectors
import signal
import subprocess
import sys
import tempfile
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
#: How much of what a worker wrote to its standard error while reading a file is read back when it crashes on it.
STDERR_TAIL_BYTES = 2000
#: Past this size, the file a worker's standard error goes to is emptied before its next file.
STDERR_FILE_LIMIT = 1_000_000
_TERMINAL_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|.)")


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
    """One worker process, its two pipes, and the file its standard error goes to."""

    def __init__(self, target: str) -> None:
        self.killed_for_time = False
        # a file, not a pipe: nothing has to drain it, and a process the extractor started that outlives the worker
        # cannot keep the sync waiting for its end
        self._stderr = tempfile.TemporaryFile()
        self._stderr_appends = _append_only(self._stderr.fileno())
        self._stderr_start = 0  # where what was written while reading the current file starts
        self._last_words = ""  # its last line, once the worker is closed
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-P", _SCRIPT],  # -P: the script's folder is not put on the module path
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=_worker_environment(),
                bufsize=0,  # unbuffered: the selector must see every answer not read yet
            )
        except BaseException:
            self._stderr.close()
            raise
        assert self.process.stdout is not None
        self._answers: selectors.BaseSelector | None = None
        if os.name == "posix":  # a selector, not select(): that fails on descriptors numbered 1024 and up
            self._answers = selectors.DefaultSelector()
            self._answers.register(self.process.stdout, selectors.EVENT_READ)
        # where the extractor is: the package under its full name (so a vendored copy works) and the sync's module
        # path, sent rather than put on the command line, which has a length limit and is shown by `ps`
        paths = [path for path in sys.path if isinstance(path, str)]
        self._started = self._write((__package__, paths, target), b"")

    def send(self, message: tuple[Any, ...], data: bytes | bytearray) -> bool:
        """Hand the worker a file; False when it had already ended."""
        self._stderr_start = self._stderr_size()
        if self._stderr_start > STDERR_FILE_LIMIT and self._stderr_appends:  # what earlier files wrote can go
            os.ftruncate(self._stderr.fileno(), 0)
            self._stderr_start = 0
        return self._started and self._write(message, data)

    def _write(self, message: tuple[Any, ...], data: bytes | bytearray) -> bool:
        assert self.process.stdin is not None
        try:
            write_message(self.process.stdin, message, data)
        except (OSError, ValueError):
            return False
        return True

    def receive(self, limit: float) -> Any:
        """The worker's next answer, or None when it ended (or was killed, after `limit` seconds) before giving it."""
        assert self.process.stdout is not None
        timer = None
        try:
            if self._answers is not None:
                if not self._answers.select(limit):
                    self._kill_for_time()
                    return None
            else:  # no selector on pipes: a timer kills the worker, which ends the read below
                timer = threading.Timer(limit, self._kill_for_time)
                timer.daemon = True
                timer.start()
            answer = read_message(self.process.stdout)
            return None if answer is None else answer[0]
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
        """How the (closed) worker ended, with the last line it wrote to its standard error while reading the file,
        if any (a native library's message such as a Rust panic)."""
        code = self.process.returncode
        if code is None:
            how = "unknown"
        elif code < 0:
            try:
                how = f"signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"signal {-code}"
        else:
            how = f"exit code {code}"
        return f"{how}: {self._last_words}" if self._last_words else how

    def _last_stderr_line(self) -> str:
        end = self._stderr_size()
        start = max(self._stderr_start, end - STDERR_TAIL_BYTES)
        self._stderr.seek(start)
        tail = self._stderr.read(end - start).decode("utf-8", "replace")
        lines = [_printable(line) for line in tail.splitlines()]
        return next((line for line in reversed(lines) if line), "")[-300:]

    def _stderr_size(self) -> int:
        return os.fstat(self._stderr.fileno()).st_size

    def _kill_for_time(self) -> None:
        self.killed_for_time = True
        self.process.kill()

    def close(self, wait: float) -> None:
        """Close its input (it then ends by itself), and kill it if it has not ended within `wait` seconds."""
        if self._answers is not None:
            self._answers.close()
            self._answers = None
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
        self._last_words = self._last_stderr_line()
        self._stderr.close()


def _append_only(descriptor: int) -> bool:
    """Make writes to the file go to its end (where POSIX allows), so that it can be emptied while the worker holds
    it open: its next line then starts the file again instead of leaving a hole as long as what was there."""
    try:
        import fcntl
    except ImportError:
        return False
    fcntl.fcntl(descriptor, fcntl.F_SETFL, fcntl.fcntl(descriptor, fcntl.F_GETFL) | os.O_APPEND)
    return True


def _printable(line: str) -> str:
    """The line without terminal escapes and other control characters."""
    return "".join(character for character in _TERMINAL_ESCAPE.sub("", line) if character.isprintable()).strip()


# Variables a worker never gets: dlt's settings in any of the forms dlt reads (`SOURCES__...`, `DESTINATION__...`,
# the same behind a pipeline name, or a bare `ES_API_KEY`), and anything named like a secret of another tool.
_WITHHELD = re.compile(r"__|PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY|CLOUD_ID|CREDENTIAL|PRIVATE_KEY", re.IGNORECASE)


def _worker_environment() -> dict[str, str]:
    """The sync's environment without its settings and without anything named like a secret: a worker reads
    untrusted files with native code, and needs none of them."""
    return {name: value for name, value in os.environ.items() if not _WITHHELD.search(name)}


@dataclass
class _Job:
    outcome: Future[Any]
    limit: float
    file: tuple[Any, ...]  # (media type, file name) and the extractor's further arguments
    data: bytes | bytearray


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

    def run(self, limit: float, data: bytes | bytearray, media_type: str, file_name: str, *options: Any) -> str:
        """The text of one file, read by a worker within `limit` seconds (the wait for a free worker not counted);
        `options` are passed to the extractor after the file name (the text length to keep). Raises `TimeoutError`
        (the worker was killed), `ExtractorStopped` (it ended on this file), `ExtractionError` (the file cannot be
        read) or `ExtractorFailed`."""
        job = _Job(Future(), limit, (media_type, file_name, *options), data)
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
            if worker.send(job.file, job.data):
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
