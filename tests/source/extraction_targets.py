"""Stand-ins for the extractor, run inside extraction worker processes by the tests (`module:function` targets): the
real extractor, except on PDFs, where they hang, crash the process or raise. They take what the real one takes: the
file, its media type and name, and the text length to keep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from confluence_source.extraction import extract_text


def hang_on_pdfs(data: bytes, media_type: str, file_name: str, *options: int) -> str:
    if media_type == "application/pdf":
        time.sleep(60)
    return extract_text(data, media_type, file_name, *options)


def crash_on_pdfs(data: bytes, media_type: str, file_name: str, *options: int) -> str:
    if media_type == "application/pdf":
        os.abort()  # what a segfault in native code does to the process: no exception, no clean exit
    return extract_text(data, media_type, file_name, *options)


def fail_on_pdfs(data: bytes, media_type: str, file_name: str, *options: int) -> str:
    if media_type == "application/pdf":
        raise MemoryError
    return extract_text(data, media_type, file_name, *options)


def pid(data: bytes, media_type: str, file_name: str, *options: int) -> str:
    return str(os.getpid())


def crash_on_pdfs_with_a_message(data: bytes, media_type: str, file_name: str, *options: int) -> str:
    if media_type == "application/pdf":
        sys.stderr.write("warning: something earlier\nfatal runtime error: the reader ran out of road\n")
        sys.stderr.flush()
        os.abort()
    return extract_text(data, media_type, file_name, *options)


def chatty(data: bytes, media_type: str, file_name: str, *options: int) -> str:
    """Writes far more to standard error than a pipe holds, as a noisy native library may: the worker must not
    block on it."""
    sys.stderr.write("noise " * 50_000 + "\n")
    sys.stderr.flush()
    return extract_text(data, media_type, file_name, *options)


def crash_on_pdfs_without_a_word(data: bytes, media_type: str, file_name: str, *options: int) -> str:
    """Writes a line about every other file; crashes on PDFs without a word."""
    if media_type == "application/pdf":
        os.kill(os.getpid(), signal.SIGSEGV)
    sys.stderr.write(f"note: read {file_name}\n")
    sys.stderr.flush()
    return extract_text(data, media_type, file_name, *options)


def crash_leaving_a_helper(data: bytes, media_type: str, file_name: str, *options: int) -> str:
    """Starts a process that outlives the worker, holding what the worker holds (its standard error among them),
    then crashes."""
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    os.abort()


def environment_names(data: bytes, media_type: str, file_name: str, *options: int) -> str:
    return " ".join(sorted(os.environ))


def data_type(data: bytes, media_type: str, file_name: str, *options: int) -> str:
    return type(data).__name__
