"""The memory limit under attachment downloads: how many file bytes may be held at once (read, or waiting for
their text), whatever the number of download threads."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator


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
