"""The text of attachment files, fetched while the read goes on.

Each attachment document leaves the reader with its text pending; `concurrent_downloads` threads (up to 100, the
size of the connection pool) download the files, and worker processes, one per core (up to four), extract their
text (`extraction.py`, run by `extraction_workers.py`: a file that crashes or hangs the extractor costs its own text,
not the run). The document waits for its text in the source's queue of pending documents, behind which the
documents read after it wait in turn, so the order in which versions reach the index is kept.

A file is not downloaded when its text would not be kept: `extract_attachment_content` is off, the file is over
`max_file_download_size` (10 MB by default; as listed, or found while reading it), or its type is one whose text is
not extracted (images, archives, ...). Every attachment document says what became of its text in `content_extraction`,
so people can find the files whose text is missing, and why:

    extracted, no_text, too_large, unsupported_type, encrypted, unreadable, timed_out, failed, download_failed,
    download_refused, disabled

(`unreadable` also covers a file the extractor crashed on: it is not tried again until a new version is uploaded.)

A file whose version the index already holds with its text (or with the finding that it has none), found by the same
extractor (`extraction.extractor_version`), is not downloaded again: its text is taken from the index. So a full
refresh, or an attachment re-read because its page moved, costs no download; only new versions are fetched, and the
next incremental run tries again the files whose download failed (and those indexed without text because extraction
was off or came with a newer version of this connector, or because they were over a `max_file_download_size` raised
since). After an upgrade of the extractor, a full refresh reads every file again; after `max_file_text_length` was
raised, only the files whose text it had cut.

A download that fails after the client's retries, or a file that cannot be read, leaves that attachment indexed with
its metadata only: one broken file must not stop a site's sync. The run's log says how many there were. When
downloads keep getting no answer at all (the site or its network went away mid-read), files get that outcome without
being asked for, instead of each waiting out its timeouts and retries, until an occasional probe is answered again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Collection, Iterator, Protocol

from . import settings as defaults
from .client import ConfluenceClient, JsonObject
from .documents import PENDING_BODY
from .errors import ConfluenceError, ConfluenceNotFoundError, ConfluenceRequestError, FileTooLargeError
from .extraction import ExtractionError, extractable_type, extractor_version
from .extraction_workers import DEFAULT_TARGET, ExtractionWorkers, ExtractorFailed, ExtractorStopped, worker_count
from .byte_budget import ByteBudget

logger = logging.getLogger(__name__)

EXTRACTED = "extracted"
NO_TEXT = "no_text"
TOO_LARGE = "too_large"
UNSUPPORTED_TYPE = "unsupported_type"
DOWNLOAD_FAILED = "download_failed"  # the server or the connection failed (after the retries): tried again
DOWNLOAD_REFUSED = "download_refused"  # the link is missing or the server refused it (HTTP 4xx): not tried again
DISABLED = "disabled"
TIMED_OUT = "timed_out"
UNREADABLE = "unreadable"
FAILED = "failed"  # reading the file broke in an unexpected way: tried again
# ... and "encrypted" (an ExtractionError reason)
# Outcomes that a later run can take from the index for the same version of the file (the others are decided again).
REUSABLE = frozenset({EXTRACTED, NO_TEXT, "encrypted", UNREADABLE})
# Indexed without text for a reason that may have passed: read again by the next incremental run.
RETRIED = (DOWNLOAD_FAILED, DISABLED, FAILED)
# Counted in `outcomes` (not a `content_extraction` value): text taken from the index, nothing downloaded.
KEPT_FROM_INDEX = "kept_from_index"
# Attachments per lookup of their indexed text, and the characters of text one lookup may bring at most (each text
# can be `max_file_text_length` long: a higher setting means fewer attachments per lookup).
INDEX_LOOKUP_BATCH = 50
INDEX_LOOKUP_CHARS = INDEX_LOOKUP_BATCH * defaults.MAX_EXTRACTED_CHARS
# Downloads in a row that got no answer at all (timed out, or no connection) after which the site is taken to be
# down: each costs up to (retry_count + 1) x request_timeout, so working through thousands of files fifty at a time
# against a site that stopped answering would take hours. Until a probe is answered, files are indexed without their
# text (download_failed) and tried again by the next run.
UNANSWERED_DOWNLOADS_BEFORE_GIVING_UP = 20
# Once given up, one download in this many seconds is still tried, so that a site back after a short outage gets its
# remaining files read in the same run.
PROBE_INTERVAL_SECONDS = 60.0
# What the extraction workers run on each file (`module:function`).
EXTRACTOR = DEFAULT_TARGET


class IndexedTexts(Protocol):
    """What the index holds for attachments (implemented by `sync_state.IndexedDocuments`)."""

    def holds_attachment_texts(self, statuses: Collection[str]) -> bool: ...

    def attachment_texts(self, document_ids: Collection[str]) -> dict[str, dict[str, Any]]: ...

    def attachments_without_text(self, statuses: Collection[str], too_large_within: tuple[int, str] | None = None
                                 ) -> Iterator[tuple[str, str, str]]: ...


@dataclass(frozen=True)
class AttachmentText:
    text: str | None
    status: str  # one of the statuses above


_KEPT_LENGTH = "; first "
_KEPT_LENGTH_UNIT = " characters"


def extractor_stamp(max_text_length: int) -> str:
    """What a file's text (or the finding that it has none) is stored with, in `content_extractor`: the extractor's
    version, and how much of a text is kept where that is not the default. A later run reuses the text only if the
    same extractor found it, and it is whole or as long as wanted now (`_reusable`)."""
    version = extractor_version()
    if max_text_length == defaults.MAX_EXTRACTED_CHARS:
        return version
    return f"{version}{_KEPT_LENGTH}{max_text_length}{_KEPT_LENGTH_UNIT}"


def read_stamp(stamp: str) -> tuple[str, int]:
    """(extractor version, characters kept) of an `extractor_stamp`."""
    version, _, kept = stamp.rpartition(_KEPT_LENGTH)
    if version and kept.endswith(_KEPT_LENGTH_UNIT) and kept.removesuffix(_KEPT_LENGTH_UNIT).isdigit():
        return version, int(kept.removesuffix(_KEPT_LENGTH_UNIT))
    return stamp, defaults.MAX_EXTRACTED_CHARS


def too_large_stamp(max_file_size: int) -> str:
    """What a file indexed as `too_large` is stored with, in `content_extractor`: the size limit it was over. A file
    listed smaller than a raised limit is read again (`without_text`), once: one that is still over the limit when
    downloaded (its listed size was wrong) then carries the new limit and is left alone."""
    return f"over {max_file_size} bytes"


def fill(document: JsonObject, outcome: AttachmentText, extractor: str, too_large: str) -> None:
    document["body"] = outcome.text
    document["content_extraction"] = outcome.status
    # what found this text (or that there is none): a later run reuses it only if it would find the same
    document["content_extractor"] = (extractor if outcome.status in REUSABLE else
                                     too_large if outcome.status == TOO_LARGE else None)


@dataclass
class PendingAttachmentText:
    """The text of an attachment being downloaded and extracted; `fill` waits for it."""

    future: Future[AttachmentText]
    extractor: str  # `extractor_stamp`
    too_large: str  # `too_large_stamp`

    def fill(self, document: JsonObject) -> None:
        fill(document, self.future.result(), self.extractor, self.too_large)


class AttachmentTextReader:
    """Schedules the download and extraction of attachment files, and counts what became of them."""

    def __init__(self, client: ConfluenceClient) -> None:
        self.client = client
        self.enabled = client.config.extract_attachment_content
        self.max_file_size = client.config.max_file_download_size  # bytes: larger files are indexed without text
        self.max_text_length = client.config.max_file_text_length  # characters of a file's text kept
        self.workers = client.config.concurrent_downloads  # at most MAX_DOWNLOAD_THREADS (settings check it)
        self.outcomes: Counter[str] = Counter()  # every file since this reader was opened
        self._reported: Counter[str] = Counter()  # what `finish` has logged so far
        self._budget = ByteBudget(defaults.DOWNLOAD_BUFFER_BYTES)
        self._downloads: ThreadPoolExecutor | None = None
        self._extractors: ExtractionWorkers | None = None
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._indexed: IndexedTexts | None = None
        self._index_holds_texts: bool | None = None  # asked once per index, on the first lookup
        self._unanswered_in_a_row = 0
        self._last_probe = 0.0  # monotonic time of the last download tried after giving up

    @property
    def indexed(self) -> IndexedTexts | None:
        """Where texts of files already indexed are looked up (set by the source when it knows the index)."""
        return self._indexed

    @indexed.setter
    def indexed(self, indexed: IndexedTexts | None) -> None:
        with self._lock:
            if indexed is not self._indexed:  # the same index again (the next stage of a read) keeps its answer
                self._indexed, self._index_holds_texts = indexed, None

    def attach(self, documents: list[JsonObject]) -> None:
        """Give each attachment document its text: now, when it is not extracted or the index already holds it for
        this version; otherwise the download starts and the document carries the pending text (`PENDING_BODY`)."""
        to_fetch: list[tuple[JsonObject, str, int | None, str]] = []
        extractor, too_large = extractor_stamp(self.max_text_length), too_large_stamp(self.max_file_size)
        current_version = read_stamp(extractor)[0]  # looked up once per batch, not per file
        for document in documents:
            size = document.get("file_size")
            size = size if isinstance(size, int) and size >= 0 else None
            media_type = extractable_type(document.get("media_type"), str(document.get("file_name") or ""))
            url = self.client.file_link(document)
            if not self.enabled:
                status = DISABLED
            elif size is not None and size > self.max_file_size:
                status = TOO_LARGE
            elif media_type is None:
                status = UNSUPPORTED_TYPE
            elif not url:
                status = DOWNLOAD_REFUSED
            else:
                to_fetch.append((document, str(url), size, media_type))
                continue
            self._settled(status)
            fill(document, AttachmentText(None, status), extractor, too_large)
        known = self._indexed_texts([str(document["id"]) for document, *_ in to_fetch])
        for document, url, size, media_type in to_fetch:
            previous = known.get(str(document["id"]))
            reused = self._reusable(previous, document.get("version"), current_version)
            if reused is not None:
                self._settled(KEPT_FROM_INDEX)
                fill(document, reused, extractor, too_large)
                continue
            downloads, extractors = self._pools()
            document[PENDING_BODY] = PendingAttachmentText(downloads.submit(
                self._fetch, extractors, str(document["id"]), url, size, media_type,
                str(document.get("file_name") or "")), extractor, too_large)

    def finish(self) -> None:
        """Stop the download threads and extraction workers (they start again on the next `attach`) and log what
        became of the files. Downloads not started yet are cancelled, and those waiting for memory give up."""
        with self._lock:
            downloads, extractors = self._downloads, self._extractors
            self._downloads = self._extractors = None
            self._closing.set()
            self._unanswered_in_a_row = 0  # the next read asks the site again
        if downloads is not None:
            downloads.shutdown(wait=True, cancel_futures=True)
        if extractors is not None:
            extractors.shutdown()
        with self._lock:
            new = self.outcomes - self._reported
            self._reported = self.outcomes.copy()
        if new:
            logger.info("Attachment text: %s", ", ".join(f"{count} {status}" for status, count in sorted(new.items())))
            failed = {status: new[status] for status in (DOWNLOAD_FAILED, DOWNLOAD_REFUSED, UNREADABLE, "encrypted",
                                                         TIMED_OUT, FAILED) if new[status]}
            if failed:
                # files over the size limit or of a type without text are not failures: the summary counts them
                logger.warning("%d attachment(s) could not be read (%s) and are indexed without their text; their "
                               "documents say why in content_extraction", sum(failed.values()),
                               ", ".join(f"{count} {status.replace('_', ' ')}" for status, count in
                                         sorted(failed.items())))

    def without_text(self, scope_of_space: Callable[[str], str | None],
                     already_read: Collection[str]) -> dict[str, str]:
        """Confluence id -> scope key of the indexed attachments that have no text for a reason that may have passed
        (a failed download, extraction turned off or not yet known to the connector when they were indexed, a file
        over a `max_file_download_size` that has been raised since), that this run has not read again yet, and whose
        space `scope_of_space` maps to a scope of this run (None: not synced), so that an incremental run reads them
        once more."""
        if self.indexed is None or not self.enabled:
            return {}
        try:
            wanted: dict[str, str] = {}
            for document_id, confluence_id, space_key in self.indexed.attachments_without_text(
                    RETRIED, too_large_within=(self.max_file_size, too_large_stamp(self.max_file_size))):
                scope_key = scope_of_space(space_key)
                if scope_key is not None and document_id not in already_read:
                    wanted[confluence_id] = scope_key
            return wanted
        except Exception as error:  # noqa: BLE001 - the next run asks again; this one goes on without them
            logger.warning("Could not look up attachments indexed without their text (%s); trying them next run",
                           type(error).__name__)
            return {}

    # ---- internals --------------------------------------------------------------------------------------------
    def _reusable(self, previous: dict[str, Any] | None, version: Any, current_version: str) -> AttachmentText | None:
        """What the index holds for this version of the file, where this run would find the same: the same extractor
        found it, the index holds all of it (not cut to fit `es_max_document_bytes`), and it is whole or at least as
        long as `max_file_text_length` asks now (a text cut at a lower setting is read again; one cut at a higher
        setting is cut here). None: the file is read."""
        if previous is None or version is None or previous.get("version") != version:
            return None
        status, stamp = previous.get("content_extraction"), previous.get("content_extractor")
        if status not in REUSABLE or not isinstance(stamp, str) or "body" in (previous.get("truncated") or ()):
            return None
        found_by, kept = read_stamp(stamp)
        if found_by != current_version:
            return None
        if status != EXTRACTED:
            return AttachmentText(None, str(status))
        text = str(previous.get("body") or "")
        if not text or (len(text) >= kept and self.max_text_length > kept):
            return None
        return AttachmentText(text[: self.max_text_length], EXTRACTED)

    def _indexed_texts(self, document_ids: list[str]) -> dict[str, dict[str, Any]]:
        """What the index holds for these attachments; nothing when it cannot say (the files are then fetched)."""
        if self.indexed is None or not self.enabled or not document_ids or not self._index_holds_texts_once():
            return {}
        found: dict[str, dict[str, Any]] = {}
        batch = max(1, min(INDEX_LOOKUP_BATCH, INDEX_LOOKUP_CHARS // self.max_text_length))
        for start in range(0, len(document_ids), batch):
            try:
                found.update(self.indexed.attachment_texts(document_ids[start : start + batch]))
            except Exception as error:  # noqa: BLE001 - no index yet, or it is unavailable: download instead
                logger.debug("Indexed attachment texts not available (%s); downloading the files", error)
                return found
        return found

    def _index_holds_texts_once(self) -> bool:
        """Whether the index has any attachment text to reuse; asked once per index (what a run's earlier stages
        loaded are other files than those a later stage reads), so that a first sync does not look up every file in
        an index that holds none."""
        with self._lock:
            if self._index_holds_texts is None and self._indexed is not None:
                try:
                    self._index_holds_texts = self._indexed.holds_attachment_texts(REUSABLE)
                except Exception as error:  # noqa: BLE001 - cannot tell: look each batch up, as without the count
                    logger.debug("Could not count indexed attachment texts (%s)", error)
                    self._index_holds_texts = True
            return bool(self._index_holds_texts)

    def _pools(self) -> tuple[ThreadPoolExecutor, ExtractionWorkers]:
        with self._lock:
            if self._downloads is None or self._extractors is None:
                self._closing.clear()
                self._downloads = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="confluence-files")
                self._extractors = ExtractionWorkers(worker_count(), EXTRACTOR)
            return self._downloads, self._extractors

    def _fetch(self, extractors: ExtractionWorkers, document_id: str, url: str, size: int | None, media_type: str,
               file_name: str) -> AttachmentText:
        """Download and extract one file (in a download thread). Whatever goes wrong costs this file its text only."""
        # a file of unknown size holds what the default limit allows: a higher limit would have it download alone
        with self._budget.hold(size if size is not None else min(self.max_file_size, defaults.MAX_ATTACHMENT_BYTES)):
            if self._closing.is_set():
                return AttachmentText(None, DOWNLOAD_FAILED)  # the run is ending: nobody waits for this text
            if self._site_stopped_answering():
                return self._settled_text(None, DOWNLOAD_FAILED)
            try:
                data = self.client.download(url, max_bytes=self.max_file_size,
                                            purpose=f"downloading {document_id} ({file_name})")
            except FileTooLargeError:
                self._answered(True)
                return self._settled_text(None, TOO_LARGE)
            except ConfluenceError as error:
                self._answered(not error.unanswered)
                logger.warning("Could not download %s (%s): %s", document_id, file_name, error)
                refused = isinstance(error, ConfluenceNotFoundError) or (
                    isinstance(error, ConfluenceRequestError) and error.status is not None
                    and 400 <= error.status < 500 and error.status not in (408, 429))
                return self._settled_text(None, DOWNLOAD_REFUSED if refused else DOWNLOAD_FAILED)
            except Exception as error:  # noqa: BLE001 - one file must not stop the sync
                logger.warning("Could not download %s (%s): %s", document_id, file_name, type(error).__name__)
                return self._settled_text(None, DOWNLOAD_FAILED)
            self._answered(True)
            limit = defaults.EXTRACTION_TIMEOUT_SECONDS + EXTRACTION_GRACE_SECONDS
            try:
                text = extractors.run(limit, data, media_type, file_name, self.max_text_length)
            except TimeoutError:
                logger.warning("Gave up reading %s (%s) after %g s", document_id, file_name, limit)
                return self._settled_text(None, TIMED_OUT)
            except ExtractionError as error:
                logger.info("No text from %s (%s): %s", document_id, file_name, error)
                return self._settled_text(None, error.reason)
            except ExtractorStopped as error:  # crashed on this file: not tried again; else tried next run
                logger.warning("Could not read %s (%s): %s", document_id, file_name, error)
                return self._settled_text(None, UNREADABLE if error.crashed else FAILED)
            except Exception as error:  # noqa: BLE001 - one file must not stop the sync (tried again next run)
                reason = str(error) if isinstance(error, ExtractorFailed) else type(error).__name__
                logger.warning("Could not read %s (%s): %s", document_id, file_name, reason)
                return self._settled_text(None, FAILED)
            finally:
                del data
        return self._settled_text(text or None, EXTRACTED if text else NO_TEXT)

    def _answered(self, answered: bool) -> None:
        """Count a download that got no answer at all (`answered` False); any answer starts the count again."""
        with self._lock:
            if answered:
                if self._unanswered_in_a_row >= UNANSWERED_DOWNLOADS_BEFORE_GIVING_UP:
                    logger.warning("Confluence answers downloads again: reading the remaining files")
                self._unanswered_in_a_row = 0
                return
            self._unanswered_in_a_row += 1
            if self._unanswered_in_a_row == UNANSWERED_DOWNLOADS_BEFORE_GIVING_UP:
                self._last_probe = time.monotonic()
                logger.warning("%d downloads in a row got no answer from Confluence: until one does again (one is "
                               "tried every %g s), files are indexed without their text (download_failed) and tried "
                               "again by the next run", UNANSWERED_DOWNLOADS_BEFORE_GIVING_UP, PROBE_INTERVAL_SECONDS)

    def _site_stopped_answering(self) -> bool:
        """Whether to skip this download: the site stopped answering, and it is not yet time for the next probe."""
        with self._lock:
            if self._unanswered_in_a_row < UNANSWERED_DOWNLOADS_BEFORE_GIVING_UP:
                return False
            now = time.monotonic()
            if now - self._last_probe >= PROBE_INTERVAL_SECONDS:
                self._last_probe = now
                return False  # this one is the probe
            return True

    def _settled_text(self, text: str | None, status: str) -> AttachmentText:
        self._settled(status)
        return AttachmentText(text, status)

    def _settled(self, status: str) -> None:
        with self._lock:
            self.outcomes[status] += 1


# Beyond the extractor's own time limit, how long a download thread waits before giving a file up.
EXTRACTION_GRACE_SECONDS = 30
