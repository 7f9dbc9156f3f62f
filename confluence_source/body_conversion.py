"""Storage-format conversion of bodies in worker processes, overlapping the rest of the read.

Converting bodies to text and Markdown is the largest share of a full read's CPU time (lxml parsing plus a Python
walk of each tree), and it holds the GIL, so threads cannot share it out. A full read therefore hands batches of
bodies to forked worker processes while the main process goes on fetching and building the next batch.

Workers cannot call back into the reader, so each job carries what conversion looks up: the display names of the
users its body mentions and the URLs of the page titles it links to (found with a regular expression, resolved by the
reader beforehand). A body that needs a name or link the job did not carry is reported back and converted again in
the main process, with what the reader knows by then, as is the batch of a worker that died.
"""

from __future__ import annotations

import ctypes
import gc
import html
import logging
import multiprocessing
import os
import re
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Callable
from urllib.parse import quote, quote_plus

from dlt.common.runtime import signals

from .storage_format import ConvertedBody, convert_storage

logger = logging.getLogger(__name__)

LinkKey = tuple[str, "str | None"]  # (page title, space key as written in the link, or None)

_CONTENT_TITLE = re.compile(r'ri:content-title="([^"]*)"')
_SPACE_KEY = re.compile(r'ri:space-key="([^"]*)"')


# Characters Confluence does not put in a `/display/` path (a servlet container refuses an encoded slash, `+` reads
# as a space, ...): it links pages whose title holds one through `viewpage.action` instead.
_PATH_UNSAFE_TITLE = re.compile(r"[&?/\\+;%#:]")
_POSTING_DAY = re.compile(r"\d{4}/\d{2}/\d{2}")


def display_url(web_base: str, space_key: str | None, title: str) -> str | None:
    """The URL Confluence resolves for a page known only by its space and title: `/display/SPACE/Title`, or
    `/pages/viewpage.action?spaceKey=SPACE&title=Title` for a title a URL path cannot hold."""
    if not space_key:
        return None
    if not _PATH_UNSAFE_TITLE.search(title):
        return f"{web_base}/display/{quote_plus(space_key)}/{quote_plus(title)}"
    return f"{web_base}/pages/viewpage.action?spaceKey={quote_plus(space_key)}&title={quote_plus(title)}"


def blog_display_url(web_base: str, space_key: str | None, posting_day: str, title: str) -> str | None:
    """The URL Confluence resolves for a blog post known by its posting day and title (a link to a blog post names
    both): `/display/SPACE/YYYY/MM/DD/Title`, or through `viewpage.action` for a title a URL path cannot hold."""
    if not space_key or not _POSTING_DAY.fullmatch(posting_day):
        return None
    if not _PATH_UNSAFE_TITLE.search(title):
        return f"{web_base}/display/{quote_plus(space_key)}/{posting_day}/{quote_plus(title)}"
    return (f"{web_base}/pages/viewpage.action?spaceKey={quote_plus(space_key)}&title={quote_plus(title)}"
            f"&postingDay={quote_plus(posting_day)}")


def attachment_download_url(web_base: str, container_id: str, file_name: str) -> str:
    """The download URL of a page's (or blog post's) attachment, from the page id and the file name."""
    return f"{web_base}/download/attachments/{quote(container_id, safe='')}/{quote(file_name, safe='')}"


def link_keys(storage: str) -> list[LinkKey]:
    """Every (title, space key) pair a body's page links may ask for: each linked title, in the current space and in
    every space the body names."""
    if "ri:content-title" not in storage:
        return []
    titles = {html.unescape(value) for value in _CONTENT_TITLE.findall(storage)}
    spaces: set[str | None] = {None} | {html.unescape(value) for value in _SPACE_KEY.findall(storage)}
    return [(title, space) for title in titles for space in spaces]


@dataclass(frozen=True)
class BodyJob:
    """One body and everything its conversion looks up."""

    storage: str
    space_key: str | None
    links: dict[LinkKey, str | None]
    users: dict[str, str | None]
    attachments_of: str | None = None  # id of the page or blog post whose attachments the body names by file name


@dataclass(frozen=True)
class BodyResult:
    body: ConvertedBody
    complete: bool  # False: conversion asked for a link or name the job did not carry


def convert_job(job: BodyJob, web_base: str) -> BodyResult:
    """Convert one body with the job's lookups (in a worker process)."""
    complete = True

    def page_url(title: str, key: str | None) -> str | None:
        nonlocal complete
        if (title, key) in job.links:
            return job.links[(title, key)]
        complete = False
        return display_url(web_base, key or job.space_key, title)

    def user_name(lookup: str) -> str | None:
        nonlocal complete
        if lookup in job.users:
            return job.users[lookup]
        complete = False
        return None

    def blog_url(title: str, key: str | None, posting_day: str) -> str | None:
        return blog_display_url(web_base, key or job.space_key, posting_day, title)

    def attachment_url(file_name: str) -> str | None:
        return attachment_download_url(web_base, job.attachments_of, file_name) if job.attachments_of else None

    body = convert_storage(job.storage, user_resolver=user_name, page_url=page_url, blog_url=blog_url,
                           attachment_url=attachment_url, web_base=web_base)
    return BodyResult(body, complete)


def convert_jobs(jobs: list[BodyJob], web_base: str) -> list[BodyResult]:
    return [convert_job(job, web_base) for job in jobs]


def _ready() -> int:
    return os.getpid()


# prctl(2) option: the signal a process gets when the thread that created it ends.
_PR_SET_PDEATHSIG = 1


def _find_prctl() -> Callable[..., int] | None:
    """libc's prctl, looked up in the parent before any fork (loading a library in a child forked from a process with
    threads can deadlock); None where there is none (not Linux)."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError, TypeError):  # no such function, or (Windows) no process-wide library handle
        return None


_PRCTL = _find_prctl()


def _start_worker(parent: int) -> None:
    """Worker initializer. Stopping is the parent's business: a worker ignores Ctrl-C (the terminal sends it to the
    whole process group) and ends on SIGTERM, which is how the executor stops the others when one dies (a worker
    forked while the command line intercepts signals would otherwise inherit a handler that only takes note, and
    keep the shutdown waiting on it forever).

    It also ends when the run that forked it ends, however that ends: a run that is killed (SIGKILL, an out-of-memory
    kill, a scheduler's timeout) cannot shut its pool down, and its workers would wait forever on a pipe that their
    sibling workers still hold open, each keeping its memory. Linux sends them SIGKILL when the parent goes; elsewhere
    they are left to the executor.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _PRCTL is None or _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        return
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


def default_workers() -> int:
    """One worker per core, up to four (none on a single core, or where processes cannot be forked). While workers
    convert, the main process mostly waits for them and for Confluence, so it needs no core of its own (measured on
    two cores: two workers beat one)."""
    cores = os.cpu_count() or 1
    if cores < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return min(4, cores)


class BodyConversionPool:
    """Worker processes converting batches of bodies; `submit` returns a future of the batch's results."""

    def __init__(self, workers: int, web_base: str) -> None:
        self.web_base = web_base
        self.broken = False
        # fork: the workers start with the converter already imported. They are started here, before the read
        # starts its listing threads; the locks a worker could touch (logging, imports) are reset after a fork.
        # What is alive so far (mostly imported modules) is frozen while the workers run: the garbage collector then
        # does not walk it, so this process does not write to the memory pages it shares with the workers and each
        # worker does not end up holding its own copy of them (measured on a 50,000-page Cloud site: about 45 MB less
        # across the processes' peak). Garbage is collected first, so that only live objects are frozen.
        gc.collect()
        gc.freeze()
        self._executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_start_worker, initargs=(os.getpid(),))
        for future in [self._executor.submit(_ready) for _ in range(workers)]:
            future.result()

    def submit(self, jobs: list[BodyJob]) -> Future[list[BodyResult]] | None:
        """The batch's future, or None once a worker has died (the caller then converts in its own process)."""
        if self.broken:
            return None
        try:
            return self._executor.submit(convert_jobs, jobs, self.web_base)
        except BrokenProcessPool:
            if not signals.was_signal_received():  # a signal to the process group ends the workers too: no news
                logger.warning("A body conversion worker died; converting the remaining bodies in the main process")
            self.broken = True
            return None

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()  # the workers are gone: back to ordinary collection (a process may run several syncs)


@dataclass
class PendingBody:
    """A body being converted in a worker: the batch's future and this body's place in it."""

    future: Future[list[BodyResult]]
    index: int
    redo: Callable[[], ConvertedBody]  # inline conversion, for bodies a worker could not fully resolve

    def fill(self, document: dict[str, object]) -> None:
        converted = self.result()
        document["body"] = converted.text
        document["body_markdown"] = converted.markdown

    def result(self) -> ConvertedBody:
        try:
            outcome = self.future.result()[self.index]
        except Exception:  # noqa: BLE001 - a lost worker must not lose the document: convert it here instead
            if not getattr(self.future, "failure_logged", False):  # once per batch, not once per body
                logger.warning("A body conversion worker failed; converting its batch in the main process",
                               exc_info=True)
                setattr(self.future, "failure_logged", True)
            return self.redo()
        return outcome.body if outcome.complete else self.redo()
