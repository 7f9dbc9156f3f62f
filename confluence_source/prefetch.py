"""Read the next page of a listing while the current one is being turned into documents.

Fetching a page is mostly waiting on the network and the server; converting its bodies is CPU work. Running the
fetch loop one or two pages ahead in a background thread overlaps the two, so a long listing costs roughly
max(fetch, convert) instead of their sum. Order is kept, errors surface at the position they happened, and a
consumer that stops early stops the background thread too.

A run also reads many short listings one after another (the pages of each space): `opened_ahead` starts the next
few while the current one is consumed, so the server is not left waiting between two of them.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from typing import Callable, Generic, Iterable, Iterator, TypeVar

T = TypeVar("T")
K = TypeVar("K")

_DONE = object()
# How long closing waits for read-ahead threads (in the middle of a request) before leaving them to finish alone.
CLOSE_TIMEOUT_S = 5.0


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class ReadAhead(Generic[T]):
    """An iterator over `source` whose items are produced up to `depth` ahead in a daemon thread that starts at
    once. `close()` stops the thread (and closes the source in it); iterating to the end or to an error closes
    it too."""

    def __init__(self, source: Iterator[T], depth: int = 2) -> None:
        self._source = source
        self._buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._finished = False
        self._worker = threading.Thread(target=self._produce, name="confluence-prefetch", daemon=True)
        self._worker.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    close = getattr(self._source, "close", None)
                    if close is not None:
                        close()  # runs the source's own clean-up now, in the thread that iterated it
                    return
        except BaseException as error:  # handed to the consumer, raised there
            self._put(_Failure(error))
            return
        self._put(_DONE)

    def __iter__(self) -> ReadAhead[T]:
        return self

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        item = self._buffer.get()
        if item is _DONE:
            self.close()
            raise StopIteration
        if isinstance(item, _Failure):
            self.close()
            raise item.error
        return item  # type: ignore[return-value]

    def stop(self) -> None:
        """Tell the thread to stop (it closes the source once its current fetch returns) without waiting for it."""
        self._finished = True
        self._stop.set()

    def join(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        self._worker.join(timeout=max(0.0, timeout))

    def close(self) -> None:
        self.stop()
        self.join()


def prefetched(source: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield what `source` yields, produced up to `depth` items ahead in a daemon thread (started on first use)."""
    ahead = ReadAhead(source, depth)
    try:
        yield from ahead
    finally:
        ahead.close()


def opened_ahead(
    listings: Iterable[tuple[K, Callable[[], Iterator[T]]]], ahead: int, depth: int = 2
) -> Iterator[tuple[K, Iterator[T]]]:
    """(key, read-ahead listing) in the given order, with the next `ahead` listings already fetching in their own
    threads. Each listing's errors surface when that listing is consumed, in order; a consumer that stops early
    (or moves on without finishing a listing) closes what was opened for it."""
    pending = iter(listings)
    opened: deque[tuple[K, ReadAhead[T]]] = deque()

    def open_next() -> None:
        for key, start in pending:
            opened.append((key, ReadAhead(start(), depth)))
            return

    try:
        for _ in range(ahead + 1):
            open_next()
        while opened:
            key, listing = opened.popleft()
            try:
                yield key, listing
            finally:
                listing.close()
            open_next()
    finally:
        # stop them all first, then wait once: each may be in the middle of a request
        for _, listing in opened:
            listing.stop()
        deadline = time.monotonic() + CLOSE_TIMEOUT_S
        for _, listing in opened:
            listing.join(deadline - time.monotonic())
