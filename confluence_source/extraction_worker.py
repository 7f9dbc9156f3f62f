"""The process that reads attachment text for a sync: run as a script by `extraction_workers` (which imports it
only for its message framing).

It reads jobs (file bytes, media type, file name) from its standard input and writes each outcome to what was its
standard output, one length-prefixed pickle each, until its input closes: it ends with the sync that started it,
however the sync ends. Native code that prints is sent to /dev/null instead, so that it cannot corrupt the answers.
Ctrl-C and SIGTERM are left to the sync (a terminal or a service manager sends them to every process of the group):
a worker ended by them would have its file counted as one the extractor crashed on.

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

_LENGTH = struct.Struct("!Q")


def read_message(stream: BinaryIO) -> Any:
    """The next pickled message on `stream` (buffered or not), or None once it is closed."""
    header = _read_exactly(stream, _LENGTH.size)
    if header is None:
        return None
    payload = _read_exactly(stream, _LENGTH.unpack(header)[0])
    return None if payload is None else pickle.loads(payload)


def write_message(stream: BinaryIO, message: Any) -> None:
    """Write one pickled message to `stream` (buffered or not) and flush it."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_LENGTH.pack(len(payload)) + payload)
    while view:
        written = stream.write(view)
        view = view[written if written is not None else len(view):]
    stream.flush()


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    chunks, missing = [], size
    while missing:
        chunk = stream.read(missing)
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def load_function(target: str) -> Callable[..., str]:
    """`module:function` from this package (or another module on the path), without running the package's
    `__init__`: an empty stand-in for the package is registered first."""
    package_dir = Path(__file__).resolve().parent
    if package_dir.name not in sys.modules:
        stand_in = types.ModuleType(package_dir.name)
        stand_in.__path__ = [str(package_dir)]
        sys.modules[package_dir.name] = stand_in
    sys.path.insert(0, str(package_dir.parent))
    module_name, _, function_name = target.partition(":")
    function: Callable[..., str] = getattr(importlib.import_module(module_name), function_name)
    return function


def serve(target: str) -> None:
    for name in ("SIGINT", "SIGTERM"):  # stopping is the sync's business: it closes our input, or kills us
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    answers = os.fdopen(os.dup(1), "wb")
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    extract = load_function(target)
    extraction = importlib.import_module(f"{Path(__file__).resolve().parent.name}.extraction")
    jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
    # Files are taken off the pipe as they come, so the sync never waits to hand over the next file while this
    # process waits to hand back a long text: both pipes would be full, and both sides stuck.
    threading.Thread(target=_receive, args=(sys.stdin.buffer, jobs), daemon=True).start()
    while True:
        job = jobs.get()
        if job is None:
            return
        data, media_type, file_name = job
        try:
            outcome: tuple[str, Any] = ("text", extract(data, media_type, file_name))
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
    serve(sys.argv[1])
