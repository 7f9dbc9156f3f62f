"""The text of an attachment file, so that people find a file by what is written in it.

Documents (PDF, Word, Excel, PowerPoint, OpenDocument, RTF, e-mail, EPUB, HTML, XML, Markdown, ...) are read with
kreuzberg: a Rust core (PDFium for PDFs). During a sync this runs in worker processes (`extraction_workers.py`), so
that a file that crashes or hangs it costs only its own text. Plain text and CSV are only decoded (kreuzberg would
rewrite every CSV row as `header: value` lines), with charset-normalizer guessing the encoding when the file is not
UTF-8.

What is not worth or not safe to open is recognised from the media type (or, for `application/octet-stream`, the
file name) before anything is downloaded: images (no OCR: slow, and mostly noise for screenshots), audio, video,
fonts, archives (zip, tar, 7z, ... files are never opened) and types kreuzberg cannot read. Text that kreuzberg has
no reader for (source code, scripts, logs) is decoded like plain text.
"""

from __future__ import annotations

import importlib.metadata
import mimetypes
import re
from functools import lru_cache
from typing import Any

import charset_normalizer

from . import settings as defaults

# Raised whenever a change here, or a new release of a library below, changes what text a file gives (a format
# newly read, a fix): with the libraries' major versions it makes `extractor_version`, and texts extracted by
# another version are extracted again. Not every patch release: each would have a weekly full refresh download
# every file of the site again.
EXTRACTION_REVISION = 1
_EXTRACTION_LIBRARIES = ("kreuzberg", "charset-normalizer")

# Media types that say nothing about the content: the file name decides instead.
_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/binary",
                            "application/unknown", "application/download", "application/force-download"})
_SKIPPED_FAMILIES = ("image/", "audio/", "video/", "font/", "model/", "multipart/")
_ARCHIVES = frozenset({
    "application/zip", "application/x-zip-compressed", "application/gzip", "application/x-gzip",
    "application/x-tar", "application/x-gtar", "application/x-7z-compressed", "application/x-rar-compressed",
    "application/vnd.rar", "application/x-bzip", "application/x-bzip2", "application/x-xz", "application/zstd",
    "application/java-archive", "application/vnd.android.package-archive", "application/x-iso9660-image",
})
# Decoded as they are rather than handed to kreuzberg, and so is any other text/* type kreuzberg has no reader for
# (source code, scripts, diffs, logs, stylesheets, ...).
_PLAIN_TEXT = frozenset({"text/plain", "text/csv", "text/tab-separated-values", "text/x-log"})
# Text that is registered under application/.
_TEXT_UNDER_APPLICATION = frozenset({
    "application/javascript", "application/x-javascript", "application/typescript", "application/sql",
    "application/x-sh", "application/x-shellscript", "application/x-httpd-php", "application/x-php",
    "application/x-ruby", "application/x-python", "application/x-perl", "application/x-powershell",
    "application/graphql", "application/x-tex", "application/x-latex",
})
# Files sent as application/octet-stream that are text, by extension (the mimetypes table does not know many of
# them, and differs between machines).
_TEXT_EXTENSIONS = frozenset({
    "txt", "log", "ini", "cfg", "conf", "properties", "yml", "yaml", "toml", "gradle", "py", "js", "ts", "java", "c",
    "h", "cpp", "hpp", "cs", "go", "rs", "kt", "kts", "scala", "swift", "groovy", "rb", "php", "pl", "tf", "hcl", "sh",
    "ps1", "psm1", "bat", "cmd", "bash", "zsh", "sql", "proto",
})
# Text files known by their whole name.
_TEXT_FILE_NAMES = frozenset({"dockerfile", "makefile", "jenkinsfile", "readme", "license", "changelog"})
# A password-protected Word, Excel or PowerPoint file is not a zip but an OLE compound file holding an
# "EncryptedPackage" stream (its directory names are UTF-16).
_COMPOUND_FILE = bytes.fromhex("D0CF11E0A1B11AE1")
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_OFFICE_OPEN_XML = "application/vnd.openxmlformats-officedocument."


# Titles that office programs fill in by themselves ("Microsoft Word - Document1.docx", "Untitled", "Slide 1", a
# file name): they say nothing a search could use.
_PLACEHOLDER_TITLE = re.compile(
    r"^$|^(untitled|document\s*\d*|presentation\s*\d*|book\s*\d*|slide\s*\d*|title|powerpoint presentation)$"
    r"|^microsoft\s+\w+\s+-\s|\.(docx?|xlsx?|pptx?|pdf|od[tsp]|rtf|txt|html?|md|csv|eml|msg)$", re.IGNORECASE)


class ExtractionError(Exception):
    """A file that cannot be read. `reason` is `encrypted` (password-protected), `unreadable` (damaged, or not
    what its type says) or `timed_out`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def extractable_type(media_type: str | None, file_name: str = "") -> str | None:
    """The media type to extract this file as, or None when its text is not extracted (see the module doc)."""
    normalised = (media_type or "").split(";", 1)[0].strip().lower()
    if normalised in _GENERIC_TYPES:
        name = file_name.rsplit("/", 1)[-1].lower()
        if ("." in name and name.rsplit(".", 1)[-1] in _TEXT_EXTENSIONS) or name in _TEXT_FILE_NAMES:
            normalised = "text/plain"  # before the mimetypes table, which differs between machines (.rs, .sh, ...)
        else:
            normalised = (mimetypes.guess_type(file_name, strict=False)[0] or "").lower()
    if not normalised:
        return None
    return normalised if _readable(normalised) else None


@lru_cache(maxsize=256)
def _readable(media_type: str) -> bool:
    if media_type.startswith(_SKIPPED_FAMILIES) or media_type in _ARCHIVES:
        return False
    return _decoded_as_text(media_type) or _kreuzberg_reads(media_type)


@lru_cache(maxsize=256)
def _decoded_as_text(media_type: str) -> bool:
    if media_type in _PLAIN_TEXT or media_type in _TEXT_UNDER_APPLICATION:
        return True
    return media_type.startswith("text/") and not _kreuzberg_reads(media_type)


@lru_cache(maxsize=256)
def _kreuzberg_reads(media_type: str) -> bool:
    kreuzberg = _kreuzberg()  # a broken installation must fail loudly, not make every file "unsupported"
    try:
        kreuzberg.validate_mime_type(media_type)
    except RuntimeError:  # kreuzberg's "Unsupported format: ..."
        return False
    return True


def extract_text(data: bytes | bytearray, media_type: str | None, file_name: str = "",
                 max_length: int = defaults.MAX_EXTRACTED_CHARS) -> str:
    """The text of one file, its first `max_length` characters (`max_file_text_length`). Raises `ExtractionError` for
    a file that cannot be read, and `ValueError` for a type that `extractable_type` turns down."""
    kind = extractable_type(media_type, file_name)
    if kind is None:
        raise ValueError(f"no text is extracted from files of type {media_type or 'unknown'} ({file_name})")
    if _decoded_as_text(kind):
        text = _decoded(data)
    elif kind.startswith(_OFFICE_OPEN_XML) and data.startswith(_COMPOUND_FILE) and _ENCRYPTED_PACKAGE in data:
        raise ExtractionError("encrypted", "the Office file is password-protected")
    else:
        text = _with_kreuzberg(data, kind)
    return text.strip()[:max_length]  # exactly that long when cut: a later run tells a cut text by its length


def _decoded(data: bytes | bytearray) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise ExtractionError("unreadable", "not text in any known encoding")
    return str(best)


def _with_kreuzberg(data: bytes | bytearray, media_type: str) -> str:
    """Reads the file as its declared type and, when that fails or finds no text, as the type its bytes show, if
    different: a `.docx` saved under a `.doc` name (or uploaded as `application/msword`) is common and still has
    its text. (Some readers find no text in a file of another format rather than failing.)"""
    failure: ExtractionError | None = None
    try:
        text, title = _read_as(data, media_type)
    except ExtractionError as error:
        if error.reason != "unreadable":
            raise
        failure, text, title = error, "", None
    if not text.strip():
        actual = _sniffed_type(data)
        if actual is not None and actual != media_type:
            try:
                sniffed_text, sniffed_title = _read_as(data, actual)
            except ExtractionError:
                sniffed_text, sniffed_title = "", None
            if sniffed_text.strip():
                return _with_title(sniffed_text, sniffed_title)
    if failure is not None:
        raise failure  # read as what it seems to be, it has nothing either: it stays unreadable
    return _with_title(text, title)


def _sniffed_type(data: bytes | bytearray) -> str | None:
    """The document type the bytes show, when it is one kreuzberg reads (never a text or archive type: those say
    nothing beyond what the declared type said)."""
    try:
        detected = str(_kreuzberg().detect_mime_type(data)).lower()
    except Exception:  # noqa: BLE001 - kreuzberg's "Could not determine MIME type": nothing better to try
        return None
    if detected.startswith("text/") or not _readable(detected) or _decoded_as_text(detected):
        return None
    return detected


def _read_as(data: bytes | bytearray, media_type: str) -> tuple[str, str | None]:
    """The text of the file read as `media_type`, and the title it names in its own metadata, if any."""
    kreuzberg = _kreuzberg()
    config = _config()  # outside the try: a configuration kreuzberg rejects must fail loudly, not mark every file
    try:
        result = kreuzberg.extract_bytes_sync(data, media_type, config)
    except kreuzberg.ExtractionTimeoutError:
        raise ExtractionError("timed_out", f"not read within {defaults.EXTRACTION_TIMEOUT_SECONDS} s") from None
    except kreuzberg.KreuzbergError as error:
        detail = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
        reason = "encrypted" if "password" in detail.lower() or "encrypt" in detail.lower() else "unreadable"
        raise ExtractionError(reason, detail) from None
    except Exception as error:  # noqa: BLE001 - a runtime error inside the extractor: this file only
        raise ExtractionError("unreadable", f"{type(error).__name__}: {str(error)[:300]}") from None
    except BaseException as error:  # a Rust panic arrives as a BaseException (pyo3's PanicException)
        if isinstance(error, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise ExtractionError("unreadable", f"{type(error).__name__}: {str(error)[:300]}") from None
    title = result.metadata.get("title") if isinstance(result.metadata, dict) else None
    return str(result.content or ""), title if isinstance(title, str) else None


def _with_title(text: str, title: str | None) -> str:
    """The text with the document's own title in front when the text does not hold it: an HTML page's `<title>`
    (or a Word file's title property) is often the best search term for it and is not part of the body text. A
    file with no text of its own stays without (`no_text` tells a scanned PDF from one whose text was read)."""
    if not text.strip() or not title or _PLACEHOLDER_TITLE.search(title.strip()):
        return text
    if " ".join(title.split()).casefold() in " ".join(text.split()).casefold():
        return text
    return f"{title.strip()}\n\n{text}"


@lru_cache(maxsize=1)
def extractor_version() -> str:
    """What produced a file's text (or the finding that it has none): this module's revision and the major versions
    of the libraries it reads files with. Stored with the text, so that the index's texts are reused only while the
    same extractor would give them, and a newer one reads the files again (on a full refresh, or when a file is
    re-read)."""
    versions = []
    for library in _EXTRACTION_LIBRARIES:
        try:
            versions.append(f"{library} {importlib.metadata.version(library).split('.')[0]}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{library} missing")
    return "; ".join([f"confluence-to-es extraction {EXTRACTION_REVISION}", *versions])


def _kreuzberg() -> Any:
    """Imported on first use: a run without attachments to read does not pay for it."""
    import kreuzberg

    return kreuzberg


@lru_cache(maxsize=1)
def _config() -> Any:
    """No result cache (it would write every file's text under the user's home), no OCR (said explicitly: a scanned
    PDF must not start an OCR engine, or a model download, on a machine where one happens to be set up), and a time
    limit so that one pathological file cannot stall the run."""
    return _kreuzberg().ExtractionConfig(
        use_cache=False,
        disable_ocr=True,
        enable_quality_processing=False,
        extraction_timeout_secs=defaults.EXTRACTION_TIMEOUT_SECONDS,
    )
