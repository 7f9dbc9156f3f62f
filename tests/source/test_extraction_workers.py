"""Attachment text read in worker processes: the same text as in the sync's process, and a file that crashes or
hangs the extractor costs only its own text."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

import confluence_source
from confluence_simulator import files
from confluence_source.extraction import ExtractionError, extract_text
from confluence_source.extraction_workers import ExtractionWorkers, ExtractorFailed, ExtractorStopped

TARGETS = "tests.source.extraction_targets"
PDF = (files.file_bytes("pdf", 0), files.MEDIA_TYPES["pdf"], "report.pdf")
DOCX = (files.file_bytes("docx", 0), files.MEDIA_TYPES["docx"], "brief.docx")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_workers_read_what_the_sync_process_reads() -> None:
    workers = ExtractionWorkers(2)
    try:
        for data, media_type, name in (PDF, DOCX, (b"plain notes", "text/plain", "notes.txt")):
            assert workers.run(30, bytearray(data), media_type, name) == extract_text(data, media_type, name)
        with pytest.raises(ExtractionError) as error:
            workers.run(30, files.file_bytes("pdf-encrypted", 0), "application/pdf", "protected.pdf")
        assert error.value.reason == "encrypted"
    finally:
        workers.shutdown()


def test_a_file_that_crashes_the_extractor_costs_only_its_worker() -> None:
    workers = ExtractionWorkers(1, f"{TARGETS}:crash_on_pdfs")
    try:
        with pytest.raises(ExtractorStopped, match="SIGABRT") as stopped:
            workers.run(30, *PDF)
        assert stopped.value.crashed  # written off as unreadable, not tried again on every run
        assert workers.run(30, *DOCX) == extract_text(*DOCX)  # a fresh worker reads the next file
    finally:
        workers.shutdown()


def test_a_file_that_hangs_the_extractor_is_given_up_and_its_worker_killed() -> None:
    workers = ExtractionWorkers(1, f"{TARGETS}:hang_on_pdfs")
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            workers.run(1.0, *PDF)
        assert time.monotonic() - started < 10
        assert workers.run(30, *DOCX)  # the replacement
    finally:
        workers.shutdown()


def test_an_unexpected_error_names_its_type() -> None:
    workers = ExtractionWorkers(1, f"{TARGETS}:fail_on_pdfs")
    try:
        with pytest.raises(ExtractorFailed, match="MemoryError"):
            workers.run(30, *PDF)
        assert workers.run(30, *DOCX)  # the same worker goes on
    finally:
        workers.shutdown()


def test_a_worker_killed_while_free_is_replaced_without_losing_the_file() -> None:
    workers = ExtractionWorkers(1, f"{TARGETS}:pid")
    try:
        first = int(workers.run(30, *DOCX))
        os.kill(first, signal.SIGKILL)
        time.sleep(0.2)
        second = int(workers.run(30, *DOCX))
        assert second != first
    finally:
        workers.shutdown()


def test_shutdown_ends_every_worker_and_the_workers_end_with_the_sync(tmp_path) -> None:
    workers = ExtractionWorkers(2, f"{TARGETS}:pid")
    pid = int(workers.run(30, *DOCX))
    workers.shutdown()
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)

    # a sync that is killed cannot shut its workers down: they end when their input closes
    script = tmp_path / "killed_sync.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(os.getcwd())!r})\n"
        "from confluence_source.extraction_workers import ExtractionWorkers\n"
        f"workers = ExtractionWorkers(1, '{TARGETS}:pid')\n"
        "print(workers.run(30, b'x', 'text/plain', 'a.txt'), flush=True)\n"
        "import os, signal\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    finished = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    orphan = int(finished.stdout.strip())
    deadline = time.monotonic() + 5
    while alive(orphan) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(orphan)


def worker_pids() -> list[int]:
    return [child.pid for child in psutil.Process().children()
            if any("extraction_worker.py" in part for part in child.cmdline())]


def test_a_worker_ended_from_outside_is_not_taken_for_a_crash_on_the_file() -> None:
    workers = ExtractionWorkers(1, f"{TARGETS}:hang_on_pdfs")
    try:
        assert workers.run(30, *DOCX)
        [pid] = worker_pids()
        os.kill(pid, signal.SIGTERM)  # a service manager stopping the whole group: the sync decides, not the worker
        time.sleep(0.2)
        assert worker_pids() == [pid] and workers.run(30, *DOCX)

        def kill_soon() -> None:
            time.sleep(0.5)
            os.kill(pid, signal.SIGKILL)  # e.g. the kernel's out-of-memory killer

        threading.Thread(target=kill_soon, daemon=True).start()
        with pytest.raises(ExtractorStopped, match="SIGKILL") as stopped:
            workers.run(30, *PDF)
        assert stopped.value.crashed is False  # the file is tried again by the next run, not written off
    finally:
        workers.shutdown()


def test_when_no_worker_can_start_files_fail_instead_of_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python3")
    workers = ExtractionWorkers(2)
    try:
        for _ in range(3):
            with pytest.raises(ExtractorFailed, match="no extraction worker could be started"):
                workers.run(30, *DOCX)
    finally:
        workers.shutdown()


def test_a_crash_is_reported_with_the_last_line_the_worker_wrote_to_stderr() -> None:
    workers = ExtractionWorkers(1, f"{TARGETS}:crash_on_pdfs_with_a_message")
    try:
        with pytest.raises(ExtractorStopped, match=r"SIGABRT: fatal runtime error: the reader ran out of road\)$"):
            workers.run(30, *PDF)
    finally:
        workers.shutdown()


def test_a_silent_crash_does_not_quote_what_the_worker_wrote_about_an_earlier_file() -> None:
    workers = ExtractionWorkers(1, f"{TARGETS}:crash_on_pdfs_without_a_word")
    try:
        assert workers.run(30, *DOCX)  # writes "note: read brief.docx"
        with pytest.raises(ExtractorStopped, match=r"\(signal SIGSEGV\)$"):
            workers.run(30, *PDF)
    finally:
        workers.shutdown()


def test_a_process_the_extractor_leaves_behind_does_not_hold_the_sync_up() -> None:
    workers = ExtractionWorkers(1, f"{TARGETS}:crash_leaving_a_helper")
    threads = threading.active_count()
    try:
        for _ in range(3):
            with pytest.raises(ExtractorStopped, match="SIGABRT"):
                workers.run(30, *DOCX)
        assert threading.active_count() <= threads + 1  # the feeding thread, nothing left waiting on a helper
    finally:
        workers.shutdown()
        for helper in psutil.process_iter(["cmdline"]):  # orphans by now
            if "import time; time.sleep(30)" in (helper.info["cmdline"] or []):
                helper.kill()


def test_the_extractor_gets_bytes_whatever_it_was_handed() -> None:
    """kreuzberg copies anything else into bytes first: a 10 MB file would take 10 MB more in the worker."""
    workers = ExtractionWorkers(1, f"{TARGETS}:data_type")
    try:
        assert [workers.run(30, kind(b"%PDF-1.4"), *PDF[1:]) for kind in (bytes, bytearray)] == ["bytes", "bytes"]
    finally:
        workers.shutdown()


def test_workers_do_not_get_the_syncs_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    withheld = ["SOURCES__CONFLUENCE__API_TOKEN", "DESTINATION__ELASTICSEARCH__ES_PASSWORD", "ES_API_KEY",
                "CONFLUENCE_TO_ES__DESTINATION__ELASTICSEARCH__ES_API_KEY", "ES_CLOUD_ID", "GITHUB_TOKEN"]
    for name in withheld:
        monkeypatch.setenv(name, "not-for-workers")
    workers = ExtractionWorkers(1, f"{TARGETS}:environment_names")
    try:
        names = workers.run(30, *DOCX).split()
    finally:
        workers.shutdown()
    assert "PATH" in names
    assert not set(withheld) & set(names)


def test_a_worker_that_writes_more_to_stderr_than_a_pipe_holds_goes_on() -> None:
    workers = ExtractionWorkers(1, f"{TARGETS}:chatty")
    try:
        for _ in range(5):  # 300 KB each: a pipe would hold 64 KB; the file is emptied past 1 MB
            assert workers.run(30, *DOCX) == extract_text(*DOCX)
    finally:
        workers.shutdown()


def test_workers_read_files_when_the_sync_has_over_a_thousand_files_open() -> None:
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1200
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"this machine allows {hard} open files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]  # the workers' pipes get numbers above 1024
    workers = ExtractionWorkers(1)
    try:
        assert workers.run(30, *PDF) == extract_text(*PDF)
    finally:
        workers.shutdown()
        for descriptor in held:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_package_works_vendored_under_another_name(tmp_path) -> None:
    """Copied into an application as `acme.wiki_search.confluence_source` (whose `__init__` files a worker must not
    need), workers still read files and tell a protected file from a failure."""
    vendored = tmp_path / "acme" / "wiki_search"
    shutil.copytree(Path(confluence_source.__file__).parent, vendored / "confluence_source",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for package in (tmp_path / "acme", vendored):
        (package / "__init__.py").write_text("")
    script = tmp_path / "app.py"
    script.write_text(
        "import sys\n"
        f"sys.path[:0] = [{str(tmp_path)!r}, {os.getcwd()!r}]\n"
        "from acme.wiki_search.confluence_source.extraction import ExtractionError\n"
        "from acme.wiki_search.confluence_source.extraction_workers import ExtractionWorkers\n"
        "from confluence_simulator import files\n"
        "workers = ExtractionWorkers(1)\n"
        "print(workers.run(30, files.file_bytes('pdf', 0), 'application/pdf', 'a.pdf')[:16])\n"
        "try:\n"
        "    workers.run(30, files.file_bytes('pdf-encrypted', 0), 'application/pdf', 'b.pdf')\n"
        "except ExtractionError as error:\n"
        "    print(error.reason)\n"
        "workers.shutdown()\n"
    )
    finished = subprocess.run([sys.executable, "-P", str(script)], capture_output=True, text=True, timeout=120,
                              cwd=tmp_path)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines() == [extract_text(*PDF)[:16], "encrypted"]
