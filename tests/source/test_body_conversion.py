"""Body conversion in worker processes: exactly what inline conversion gives, and nothing lost when a worker dies."""

from __future__ import annotations

import os
import signal
import time

from confluence_source.body_conversion import BodyConversionPool, BodyJob, PendingBody, convert_job, link_keys
from confluence_source.storage_format import convert_storage

WEB_BASE = "https://wiki.example.com"
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
