"""Body conversion in worker processes: exactly what inline conversion gives, and nothing lost when a worker dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from confluence_source.body_conversion import (
    BodyConversionPool,
    BodyJob,
    PendingBody,
    blog_display_url,
    convert_job,
    display_url,
    link_keys,
)
from confluence_source.storage_format import convert_storage

WEB_BASE = "https://wiki.example.com"
REPO_ROOT = Path(__file__).resolve().parents[2]
BODY = ('<p>Ask <ac:link><ri:user ri:account-id="u-1" /></ac:link> about '
        '<ac:link><ri:page ri:content-title="Run &amp; Book" ri:space-key="OPS" /></ac:link> and '
        '<ac:link><ri:page ri:content-title="Home" /></ac:link>.</p>')


def inline(storage: str):
    def page_url(title, key):
        return f"{WEB_BASE}/x/{key or 'ENG'}/{title}"
    return convert_storage(storage, user_resolver={"u-1": "Ada Lovelace"}.get, page_url=page_url)


def job_for(storage: str, links=None, users=None) -> BodyJob:
    if links is None:
        links = {key: f"{WEB_BASE}/x/{key[1] or 'ENG'}/{key[0]}" for key in link_keys(storage)}
    return BodyJob(storage=storage, space_key="ENG", links=links,
                   users={"u-1": "Ada Lovelace"} if users is None else users)


def test_link_keys_cover_every_linked_title_in_every_named_space():
    assert set(link_keys(BODY)) == {("Run & Book", None), ("Run & Book", "OPS"), ("Home", None), ("Home", "OPS")}


def test_a_job_with_its_lookups_converts_exactly_as_inline():
    result = convert_job(job_for(BODY), WEB_BASE)
    assert result.complete
    assert result.body == inline(BODY)
    assert "Ada Lovelace" in result.body.text


def test_a_job_links_its_pages_files_and_blog_posts_as_inline_conversion_does():
    storage = ('<p><ac:link><ri:attachment ri:filename="a b.pdf"/></ac:link> '
               '<ac:link><ri:blog-post ri:content-title="News" ri:posting-day="2024/01/02"/></ac:link> '
               '<ac:link><ri:page ri:content-title="Q&amp;A: Setup / Install?"/></ac:link></p>')
    job = BodyJob(storage=storage, space_key="ENG", links={}, users={}, attachments_of="42")
    result = convert_job(job, WEB_BASE)
    assert result.body.markdown == (
        f"[a b.pdf]({WEB_BASE}/download/attachments/42/a%20b.pdf) "
        f"[News]({WEB_BASE}/display/ENG/2024/01/02/News) "
        f"[Q&A: Setup / Install?]({WEB_BASE}/pages/viewpage.action?spaceKey=ENG&title=Q%26A%3A+Setup+%2F+Install%3F)"
    )
    assert not result.complete  # the page title was not looked up: the main process converts it again


def test_display_urls_put_only_path_safe_titles_in_the_path():
    assert display_url(WEB_BASE, "ENG", "Release-2.3 notes_v2") == f"{WEB_BASE}/display/ENG/Release-2.3+notes_v2"
    assert display_url(WEB_BASE, "ENG", "Übersicht") == f"{WEB_BASE}/display/ENG/%C3%9Cbersicht"
    assert display_url(WEB_BASE, "ENG", "Plan (draft)") == f"{WEB_BASE}/display/ENG/Plan+%28draft%29"
    assert display_url(WEB_BASE, "ENG", "C++ notes") == (
        f"{WEB_BASE}/pages/viewpage.action?spaceKey=ENG&title=C%2B%2B+notes")
    assert display_url(WEB_BASE, "ENG", "100% / done") == (
        f"{WEB_BASE}/pages/viewpage.action?spaceKey=ENG&title=100%25+%2F+done")
    assert display_url(WEB_BASE, None, "Home") is None
    assert blog_display_url(WEB_BASE, "ENG", "2024/01/02", "News (Q1)") == (
        f"{WEB_BASE}/display/ENG/2024/01/02/News+%28Q1%29")
    assert blog_display_url(WEB_BASE, "ENG", "2024/01/02", "Q3 / Q4?") == (
        f"{WEB_BASE}/pages/viewpage.action?spaceKey=ENG&title=Q3+%2F+Q4%3F&postingDay=2024%2F01%2F02")
    assert blog_display_url(WEB_BASE, "ENG", "2024-01-02", "News") is None


def test_a_job_missing_a_lookup_says_so():
    assert not convert_job(job_for(BODY, links={}), WEB_BASE).complete
    assert not convert_job(job_for(BODY, users={}), WEB_BASE).complete


def test_workers_convert_and_a_dead_worker_loses_nothing():
    pool = BodyConversionPool(1, WEB_BASE)
    try:
        future = pool.submit([job_for(BODY)])
        assert future is not None
        assert PendingBody(future, 0, lambda: inline(BODY)).result() == inline(BODY)

        for pid in list(pool._executor._processes):  # noqa: SLF001 - simulate a worker killed by the OS
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            later = pool.submit([job_for(BODY)])
            if later is None:
                break
            # submitted before the executor noticed: the batch fails, and the body is converted here instead
            assert PendingBody(later, 0, lambda: inline(BODY)).result() == inline(BODY)
            time.sleep(0.05)
        assert pool.broken  # from now on the reader converts inline
    finally:
        pool.close()


@pytest.mark.parametrize("stopping", [False, True])
def test_a_dead_worker_is_news_unless_the_run_is_being_stopped(caplog, stopping):
    """A SIGTERM or Ctrl-C sent to the process group ends the workers with the run: no warning about them then."""
    from dlt.common.runtime import signals

    pool = BodyConversionPool(1, WEB_BASE)
    try:
        if stopping:
            signals.set_received_signal(signal.SIGTERM)
        for pid in list(pool._executor._processes):  # noqa: SLF001
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pool.submit([job_for(BODY)]) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool.broken
        assert ("A body conversion worker died" in caplog.text) is not stopping
    finally:
        signals._clear_signals()  # noqa: SLF001 - the signal was only pretended
        pool.close()


def test_a_dead_worker_does_not_hang_the_pool_while_the_command_line_intercepts_signals():
    """When a worker dies, the executor stops the others with SIGTERM. Forked while dlt intercepts signals (as the
    command line does), they would inherit a handler that only takes note, and block for ever writing results
    nobody reads: the pool must still shut down."""
    from dlt.common.runtime import signals

    big = "<p>" + "Quokka " * 100_000 + "</p>"  # results far larger than a pipe's buffer
    with signals.intercepted_signals():
        pool = BodyConversionPool(2, WEB_BASE)
    workers = list(pool._executor._processes)  # noqa: SLF001
    closed = threading.Event()
    try:
        pending = [pool.submit([job_for(big)] * 8) for _ in range(6)]
        assert all(future is not None for future in pending)
        os.kill(workers[0], signal.SIGKILL)  # e.g. the out-of-memory killer takes one worker
        deadline = time.monotonic() + 10
        while not pool.broken and time.monotonic() < deadline:  # the executor notices, and stops the others
            pool.submit([job_for(BODY)])
            time.sleep(0.05)
        assert pool.broken
        threading.Thread(target=lambda: (pool.close(), closed.set()), daemon=True).start()
        assert closed.wait(30), "the pool never shut down after a worker died"
    finally:
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers follow their parent through prctl (Linux)")
def test_workers_of_a_killed_run_end_with_it(tmp_path):
    """A run killed mid-read cannot shut its pool down: its workers must not linger (holding memory, and blocked on
    pipes their siblings keep open)."""
    holder = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from confluence_source.body_conversion import BodyConversionPool
        pool = BodyConversionPool(2, "https://wiki.example.com")
        print(" ".join(str(pid) for pid in pool._executor._processes), flush=True)
        time.sleep(120)
    """)
    process = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    workers = [int(pid) for pid in process.stdout.readline().split()]
    assert len(workers) == 2
    try:
        assert all(_alive(pid) for pid in workers)
        process.kill()
        process.wait(timeout=30)
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in workers), "workers outlived their killed parent"
    finally:
        process.kill()
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _alive(pid: int) -> bool:
    """Running (a zombie awaiting its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
