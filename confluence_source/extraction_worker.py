"""The process that reads attachment text for a sync: run as a script by `extraction_workers` (which imports it
only for its message framing).

Its first message says where the extractor is (the package's full name, the sync's module path, `module:function`);
then it reads jobs (a file's media type and name, then its bytes) from its standard input and writes each outcome to
what was its standard output, until its input closes: it ends with the sync that started it, however the sync ends.
Native code that prints is sent to /dev/null instead, so that it cannot corrupt the answers; what it writes to
standard error goes to a file the sync quotes from when the worker crashes. Ctrl-C and SIGTERM are left to the sync
(a terminal or a service manager sends them to every process of the group): a worker ended by them would have its
file counted as one the extractor crashed on.

Only the extractor's own modules are imported, not the package's `__init__` (which loads dlt): a worker starts in
a fraction of the time and memory.
"""

from __future__ import annotations

import importlib
import os
import pickle
import queue
import signal
import struct
import sys
import threading
import types
from pathlib import Path
from typing import Any, BinaryIO, Callable

# A message: the length of its pickled part and of its raw bytes, then both. A file's bytes travel raw, so that
# neither side copies them into or out of a pickle.
_HEADER = struct.Struct("!QQ")


def read_message(stream: BinaryIO) -> tuple[Any, bytes] | None:
    """The next message on `stream` (buffered or not) and its raw bytes, or None once the stream is closed."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    pickled_size, raw_size = _HEADER.unpack(header)
    pickled = _read_exactly(stream, pickled_size)
    raw = _read_exactly(stream, raw_size)
    if pickled is None or raw is None:
        return None
    return pickle.loads(pickled), raw


def write_message(stream: BinaryIO, message: Any, raw: bytes | bytearray = b"") -> None:
    """Write one message, and raw bytes after it, to `stream` (buffered or not), and flush it."""
    pickled = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    for part in (_HEADER.pack(len(pickled), len(raw)) + pickled, raw):
        view = memoryview(part)
        while view:
            written = stream.write(view)
            view = view[written if written is not None else len(view):]
    stream.flush()


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    """`size` bytes, as one `bytes` object when one read brings them all (always, from a buffered stream): the
    extractor copies anything else into one."""
    first = stream.read(size)
    if len(first) == size:
        return first
    chunks, missing = [first], size - len(first)
    while missing:
        chunk = stream.read(missing)
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def load_function(package: str, paths: list[str], target: str) -> Callable[..., str]:
    """`module:function`, importable with the sync's module path `paths`, without running the `__init__` of
    `package` (the package this file is in, by its full dotted name): an empty stand-in for it is registered first.
    Its parent packages are not imported at all to reach it (Python finds a package in `sys.modules` first)."""
    if package not in sys.modules:
        stand_in = types.ModuleType(package)
        stand_in.__path__ = [str(Path(__file__).resolve().parent)]
        sys.modules[package] = stand_in
    # after this interpreter's own path, never before it: the sync's may hold folders that shadow the standard
    # library (a package that puts its own folder on the path brings its `math`)
    sys.path.extend(path for path in paths if path not in sys.path)
    module_name, _, function_name = target.partition(":")
    function: Callable[..., str] = getattr(importlib.import_module(module_name), function_name)
    return function


def serve() -> None:
    for name in ("SIGINT", "SIGTERM"):  # stopping is the sync's business: it closes our input, or kills us
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    answers = os.fdopen(os.dup(1), "wb")
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    jobs_in = sys.stdin.buffer
    setup = read_message(jobs_in)
    if setup is None:
        return
    package, paths, target = setup[0]
    extract = load_function(package, paths, target)
    extraction = importlib.import_module(f"{package}.extraction")
    jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
    # Files are taken off the pipe as they come, so the sync never waits to hand over the next file while this
    # process waits to hand back a long text: both pipes would be full, and both sides stuck.
    threading.Thread(target=_receive, args=(jobs_in, jobs), daemon=True).start()
    while True:
        job = jobs.get()
        if job is None:
            return
        (media_type, file_name, *options), data = job
        try:
            outcome: tuple[str, Any] = ("text", extract(data, media_type, file_name, *options))
        except extraction.ExtractionError as error:
            outcome = ("error", (error.reason, str(error)))
        except Exception as error:  # noqa: BLE001 - reported to the sync, which decides
            outcome = ("failed", type(error).__name__)
        del data, job
        write_message(answers, outcome)


def _receive(stream: BinaryIO, jobs: queue.SimpleQueue[Any]) -> None:
    while True:
        job = read_message(stream)
        if job is None:  # the sync closed our input or ended: end now, even in the middle of a hung file
            os._exit(0)
        jobs.put(job)


if __name__ == "__main__":
    serve()
