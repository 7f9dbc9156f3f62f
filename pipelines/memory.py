"""Keep the job's resident memory close to what it actually uses (glibc on Linux; a no-op elsewhere).

The job reads tens of megabytes of JSON per listing in several threads. glibc gives each thread its own malloc
arena and keeps freed pages mapped, so the process's resident size ends up far above its live data, and grows
with the size of the site rather than with the size of a batch. Two arenas are plenty for this workload, and
handing freed pages back between dlt's extract, normalize and load steps keeps the peak flat.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys

_M_ARENA_MAX = -8  # from glibc's malloc.h


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt  # noqa: B018 - glibc only
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's per-thread arenas; call before the job starts its threads."""
    if _LIBC is not None:
        _LIBC.mallopt(_M_ARENA_MAX, arenas)


def release_free_memory() -> None:
    """Collect garbage and hand freed heap pages back to the operating system."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
