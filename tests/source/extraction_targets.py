"""Stand-ins for the extractor, run inside extraction worker processes by the tests (`module:function` targets): the
real extractor, except on PDFs, where they hang, crash the process or raise."""

from __future__ import annotations

import os
import sys
import time

from confluence_source.extraction import extract_text


def hang_on_pdfs(data: bytes, media_type: str, file_name: str) -> str:
    if media_type == "application/pdf":
        time.sleep(60)
    return extract_text(data, media_type, file_name)


def crash_on_pdfs(data: bytes, media_type: str, file_name: str) -> str:
    if media_type == "application/pdf":
        os.abort()  # what a segfault in native code does to the process: no exception, no clean exit
    return extract_text(data, media_type, file_name)


def fail_on_pdfs(data: bytes, media_type: str, file_name: str) -> str:
    if media_type == "application/pdf":
        raise MemoryError
    return extract_text(data, media_type, file_name)


def pid(data: bytes, media_type: str, file_name: str) -> str:
    return str(os.getpid())


def crash_on_pdfs_with_a_message(data: bytes, media_type: str, file_name: str) -> str:
    if media_type == "application/pdf":
        sys.stderr.write("warning: something earlier\nfatal runtime error: the reader ran out of road\n")
        sys.stderr.flush()
        os.abort()
    return extract_text(data, media_type, file_name)


def chatty(data: bytes, media_type: str, file_name: str) -> str:
    """Writes far more to standard error than a pipe holds, as a noisy native library may: the worker must not
    block on it."""
    sys.stderr.write("noise " * 50_000 + "\n")
    sys.stderr.flush()
    return extract_text(data, media_type, file_name)
