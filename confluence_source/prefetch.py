"""Read the next page of a listing while the current one is being turned into documents.

Fetching a page is mostly waiting on the network and the server; converting its bodies is CPU work. Running the
fetch loop one or two pages ahead in a background thread overlaps the two, so a long listing costs roughly
max(fetch, convert) instead of their sum. Order is kept, errors surface at the position they happened, and a
consumer that stops early stops the background thread too.
"""

from __future__ import annotations

import queue
import threading
from typing import Iterator, TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(source: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield what `source` yields, produced up to `depth` items ahead in a daemon thread."""
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source:
                if not put(item):
                    close = getattr(source, "close", None)
                    if close is not None:
                        close()  # runs the source's own clean-up now, in the thread that iterated it
                    return
        except BaseException as error:  # handed to the consumer, raised there
            put(_Failure(error))
            return
        put(_DONE)

    worker = threading.Thread(target=produce, name="confluence-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=5)
