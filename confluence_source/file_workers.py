"""The two limits under attachment downloads: how many file bytes may be in memory at once, and threads that extract
text without ever keeping the process alive.

Extraction runs native code (PDFium, ...). A file that makes it hang must cost its own text, not the run: its caller
stops waiting after a while, a fresh thread takes over its share of the work, and because the threads are daemon
threads the stuck one cannot keep the process from exiting (a `ThreadPoolExecutor` joins its threads at exit).
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

T = TypeVar("T")


class ByteBudget:
    """Bounds the file bytes that all downloads together hold in memory; a file larger than the whole budget is
    still read, once nothing else is held."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._used = 0
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, size: int) -> Iterator[None]:
        size = max(0, min(size, self._limit))
        with self._changed:
            while self._used and self._used + size > self._limit:
                self._changed.wait()
            self._used += size
        try:
            yield
        finally:
            with self._changed:
                self._used -= size
                self._changed.notify_all()


_Job = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], threading.Event]


class ExtractionThreads:
    """A fixed number of daemon threads running submitted calls; `replace_one` adds a thread for one that is stuck."""

    def __init__(self, threads: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._name = name
        self._threads = 0
        self._lock = threading.Lock()
        for _ in range(threads):
            self._start()

    def submit(self, function: Callable[..., T], *args: Any) -> Future[T]:
        return self._submit(function, args)[0]

    def run(self, limit: float, function: Callable[..., T], *args: Any) -> T:
        """The result of `function(*args)` on one of the threads: waiting for a free thread as long as it takes, but
        for the call itself at most `limit` seconds (then `TimeoutError`, and a fresh thread takes over the stuck
        one's share of the work)."""
        future, started = self._submit(function, args)
        started.wait()  # set when a thread takes the call, or when it is cancelled
        try:
            return future.result(timeout=limit)
        except FutureTimeout:
            self.replace_one()
            raise TimeoutError(f"the call ran for more than {limit:g} s") from None

    def replace_one(self) -> None:
        """A call has run for too long: carry on with one more thread (the stuck one rejoins the others if its call
        ever ends, and exits with them at shutdown)."""
        self._start()

    def shutdown(self) -> None:
        """Let every thread finish its current call and exit; calls still queued are cancelled."""
        with self._lock:
            count, self._threads = self._threads, 0
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job[0].cancel()
                job[3].set()
        for _ in range(count):
            self._jobs.put(None)

    def _submit(self, function: Callable[..., T], args: tuple[Any, ...]) -> tuple[Future[T], threading.Event]:
        future: Future[T] = Future()
        started = threading.Event()
        self._jobs.put((future, function, args, started))
        return future, started

    def _start(self) -> None:
        with self._lock:
            self._threads += 1
            number = self._threads
        threading.Thread(target=self._work, name=f"{self._name}-{number}", daemon=True).start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, function, args, started = job
            running = future.set_running_or_notify_cancel()
            started.set()
            if not running:
                continue
            try:
                future.set_result(function(*args))
            except BaseException as error:  # noqa: BLE001 - handed to the caller, who decides
                future.set_exception(error)
