"""One sync at a time per pipeline on a machine.

A scheduler that starts a run every few minutes will sooner or later start one while the last is still going (a
full read of a large site takes longer than the interval). Two runs of the same pipeline share dlt's working
folder: the second would load the first one's package while the first is still loading it, and both would move the
same watermarks. So a run holds an exclusive lock on `<pipelines_dir>/<pipeline_name>.lock` for its whole length,
and a run that finds it held stops at once, saying which process holds it.

The lock is an OS file lock (`flock`): it goes with the process, so a run that is killed or crashes never leaves a
stale lock behind. It sits beside the working folder rather than in it, because `dlt pipeline ... drop` and `sync`
delete that folder. Platforms without `fcntl` (Windows) run without the lock.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("confluence_to_es")


class SyncAlreadyRunningError(Exception):
    """Another run of the same pipeline holds the lock; this one did nothing."""


@contextmanager
def exclusive_run(pipelines_dir: str, pipeline_name: str) -> Iterator[None]:
    """Hold the pipeline's run lock for the duration of the block, or raise `SyncAlreadyRunningError` at once."""
    if fcntl is None:  # pragma: no cover - Windows
        logger.debug("No file locks on this platform: overlapping runs of %s are not prevented", pipeline_name)
        yield
        return
    path = Path(pipelines_dir) / f"{pipeline_name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SyncAlreadyRunningError(
                f"Another sync of pipeline '{pipeline_name}' is still running on this machine "
                f"({_holder(handle)}); this run did nothing. If runs keep overlapping, schedule them further apart"
            ) from None
        try:
            _record_holder(handle)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _record_holder(handle: IO[str]) -> None:
    """Write who holds the lock, for the message a run that finds it held gives (the lock is the flock, not this)."""
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}, started {datetime.now(timezone.utc).isoformat(timespec='seconds')}\n")
    handle.flush()


def _holder(handle: IO[str]) -> str:
    handle.seek(0)
    return handle.readline().strip() or "holder unknown"
