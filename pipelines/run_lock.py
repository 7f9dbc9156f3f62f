"""One sync at a time per pipeline on a machine.

A scheduler that starts a run every few minutes will sooner or later start one while the last is still going (a
full read of a large site takes longer than the interval). Two runs of the same pipeline share dlt's working
folder: the second would load the first one's package while the first is still loading it, and both would move the
same watermarks. So a run holds an exclusive lock on `<pipelines_dir>/<pipeline_name>.lock` for its whole length,
and a run that finds it held stops at once, saying which process holds it.

The lock is a POSIX record lock (`lockf`): it belongs to the process, so it is released when a run ends, is killed
or crashes, and it is not inherited by the worker processes a run forks (a worker outliving a killed run must not
keep the next runs out). Within one process, a set of held paths stands in for it. The file sits beside the working
folder rather than in it, because `dlt pipeline ... drop` and `sync` delete that folder. Platforms without `fcntl`
(Windows) run without the lock.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
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


# Lock files held by runs of this process (a POSIX lock does not keep a process out of its own lock).
_held_here: set[Path] = set()
_held_here_lock = threading.Lock()


@contextmanager
def exclusive_run(pipelines_dir: str, pipeline_name: str) -> Iterator[None]:
    """Hold the pipeline's run lock for the duration of the block, or raise `SyncAlreadyRunningError` at once."""
    folder = Path(pipelines_dir)
    folder.mkdir(parents=True, exist_ok=True)
    # one key per file, however the folder is spelled: a second handle on the same file, closed, would release the
    # first one's lock (POSIX locks belong to the process)
    path = folder.resolve() / f"{pipeline_name}.lock"
    with _held_here_lock:
        if path in _held_here:
            raise _already_running(pipeline_name, f"pid {os.getpid()}, this process")
        _held_here.add(path)
    try:
        if fcntl is None:  # pragma: no cover - Windows
            logger.debug("No file locks on this platform: overlapping runs of %s are not prevented", pipeline_name)
            yield
            return
        with open(path, "a+", encoding="utf-8") as handle:
            try:
                fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno not in (errno.EACCES, errno.EAGAIN):
                    raise
                raise _already_running(pipeline_name, _holder(handle)) from None
            try:
                _record_holder(handle)
                yield
            finally:
                fcntl.lockf(handle, fcntl.LOCK_UN)
    finally:
        with _held_here_lock:
            _held_here.discard(path)


def _already_running(pipeline_name: str, holder: str) -> SyncAlreadyRunningError:
    return SyncAlreadyRunningError(
        f"Another sync of pipeline '{pipeline_name}' is still running on this machine ({holder}); this run did "
        f"nothing. If runs keep overlapping, schedule them further apart"
    )


def _record_holder(handle: IO[str]) -> None:
    """Write who holds the lock, for the message of a run that finds it held (the record lock is the lock; this is
    only the note on the door)."""
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}, started {datetime.now(timezone.utc).isoformat(timespec='seconds')}\n")
    handle.flush()


def _holder(handle: IO[str]) -> str:
    handle.seek(0)
    return handle.readline().strip() or "holder unknown"
