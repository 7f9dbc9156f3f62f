"""Real attachment files (PDF, Office, OpenDocument, text, PNG) with deterministic, searchable text.

Attachments must be genuine files so text extraction is exercised for real: each format is written by its usual
library (fpdf2, python-docx, openpyxl, python-pptx, odfpy) or, for PNG, by hand with zlib and struct. Writing office
files is slow, so a file is identified by (kind, variant), built on first use and cached for the whole process; many
attachments share one `bytes` object. Text depends only on (kind, variant), never on time: ZIP entry dates and
document properties are pinned, so the same variant always has the same bytes.

Every file contains `phrase(kind, variant)`, a word sequence that appears nowhere else, so tests can check that the
extracted text of an attachment reached the index.
"""

from __future__ import annotations

import csv
import io
import random
import re
import struct
import threading
import zipfile
import zlib
from datetime import datetime, timezone
from html import escape
from typing import Callable, Literal

from confluence_simulator.storage_bodies import sentence_from

FileKind = Literal[
    "pdf", "docx", "xlsx", "pptx", "odt", "txt", "csv", "html", "png", "pdf-corrupt", "pdf-encrypted", "csv-large",
]

MEDIA_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "pdf-corrupt": "application/pdf",
    "pdf-encrypted": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "txt": "text/plain",
    "csv": "text/csv",
    "csv-large": "text/csv",
    "html": "text/html",
    "png": "image/png",
}
EXTENSIONS: dict[str, str] = {
    "pdf": "pdf", "pdf-corrupt": "pdf", "pdf-encrypted": "pdf", "docx": "docx", "xlsx": "xlsx", "pptx": "pptx",
    "odt": "odt", "txt": "txt", "csv": "csv", "csv-large": "csv", "html": "html", "png": "png",
}
# How many distinct files exist per kind; attachments pick one variant each.
VARIANTS: dict[str, int] = {
    "pdf": 6, "docx": 4, "xlsx": 4, "pptx": 3, "odt": 3, "txt": 8, "csv": 6, "html": 6, "png": 8,
    "pdf-corrupt": 1, "pdf-encrypted": 1, "csv-large": 1,
}
ENCRYPTED_PDF_USER_PASSWORD = "open-sesame"
ENCRYPTED_PDF_OWNER_PASSWORD = "owner-secret"
LARGE_FILE_SIZE = 11 * 1024 * 1024  # over the 10 MB limit many connectors apply
_FIXED_TIME = datetime(2025, 6, 2, 9, 30, 0, tzinfo=timezone.utc)
_ZIP_TIME = (2025, 6, 2, 9, 30, 0)

_CODEWORDS = (
    "aurora basilisk cobalt dromedary ember fjord gossamer halcyon iridium juniper kestrel lumen marzipan "
    "nebula obsidian pangolin quasar rhubarb saffron tamarind umber vesper wolfram xylophone yarrow zeppelin"
).split()


def phrase(kind: str, variant: int) -> str:
    """The unique, searchable word sequence inside the file (kind, variant)."""
    kind_index = sorted(VARIANTS).index(kind)
    first = _CODEWORDS[(kind_index * 7 + variant) % len(_CODEWORDS)]
    second = _CODEWORDS[(kind_index * 3 + variant * 5 + 11) % len(_CODEWORDS)]
    kind_word = kind.replace("-", " ")
    return f"{first} {second} {kind_word} specimen {variant + 1}"


def file_bytes(kind: str, variant: int) -> bytes:
    """The bytes of one file, built once per process (thread-safe)."""
    key = (kind, variant)
    data = _CACHE.get(key)
    if data is not None:
        return data
    with _CACHE_LOCK:
        data = _CACHE.get(key)
        if data is None:
            data = _BUILDERS[kind](variant)
            _CACHE[key] = data
    return data


def large_file_factory() -> Callable[[], bytes]:
    """A factory for the >10 MB file (not cached here: the caller's lazy blob store keeps it once built)."""
    return lambda: _build_large_csv(LARGE_FILE_SIZE)


# ---- text shared by all formats --------------------------------------------------------------------------
def _document_text(kind: str, variant: int) -> tuple[str, list[str]]:
    """Title and paragraphs of one file; the first paragraph carries the searchable phrase."""
    rng = random.Random(f"file:{kind}:{variant}")
    title = f"{rng.choice(('Quarterly', 'Annual', 'Weekly', 'Project', 'Incident', 'Design'))} " \
            f"{rng.choice(('report', 'review', 'summary', 'plan', 'notes', 'brief'))} {variant + 1}"
    paragraphs = [f"This document contains the phrase {phrase(kind, variant)} for search tests."]
    paragraphs += [" ".join(sentence_from(rng) for _ in range(rng.randrange(2, 5))) for _ in range(3 + variant)]
    return title, paragraphs


_UNICODE_LINES = ("Отчёт о развёртывании утверждён.", "部署指南已更新。", "Η έκθεση εγκρίθηκε.",
                  "تمت الموافقة على التقرير.", "Größe und Übersicht geprüft.")


# ---- builders ----------------------------------------------------------------------------------------------
def _new_pdf(title: str):  # type: ignore[no-untyped-def]
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(_FIXED_TIME)
    pdf.set_title(title)
    pdf.set_author("Confluence Simulator")
    pdf.set_font("Helvetica", size=11)
    return pdf


def _pdf_write(pdf, title: str, paragraphs: list[str], pages: int) -> None:  # type: ignore[no-untyped-def]
    for page in range(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", style="B", size=16)
        pdf.cell(0, 10, f"{title} - page {page + 1}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        for paragraph in paragraphs if page == 0 else paragraphs[1:]:
            # the built-in PDF fonts only cover Latin-1
            pdf.multi_cell(0, 6, paragraph.replace("\u2014", "-"), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)


def _build_pdf(variant: int) -> bytes:
    title, paragraphs = _document_text("pdf", variant)
    pdf = _new_pdf(title)
    _pdf_write(pdf, title, paragraphs, pages=1 + variant % 4)
    return bytes(pdf.output())


def _build_encrypted_pdf(variant: int) -> bytes:
    """A PDF that needs a password to open (RC4, so the bytes stay deterministic)."""
    title, paragraphs = _document_text("pdf-encrypted", variant)
    pdf = _new_pdf(title)
    pdf.set_encryption(owner_password=ENCRYPTED_PDF_OWNER_PASSWORD, user_password=ENCRYPTED_PDF_USER_PASSWORD)
    _pdf_write(pdf, title, paragraphs, pages=1)
    return bytes(pdf.output())


def _build_corrupt_pdf(variant: int) -> bytes:
    """Starts like a PDF but has no cross-reference table, no objects and no end marker: readers must fail."""
    rng = random.Random(f"corrupt-pdf:{variant}")
    garbage = bytes(rng.getrandbits(8) for _ in range(6000)).replace(b"obj", b"ojb").replace(b"%%EOF", b"%%EOX")
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"1 0 ob" + garbage


def _build_docx(variant: int) -> bytes:
    from docx import Document

    title, paragraphs = _document_text("docx", variant)
    document = Document()
    properties = document.core_properties
    properties.title, properties.author, properties.last_modified_by = title, "Confluence Simulator", "Confluence Simulator"
    properties.created = properties.modified = _FIXED_TIME.replace(tzinfo=None)
    properties.revision = 1
    document.add_heading(title, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    document.add_heading("Checklist", level=2)
    for line in _UNICODE_LINES[: 2 + variant % 3]:
        document.add_paragraph(line, style="List Bullet")
    table = document.add_table(rows=3, cols=3)
    for row in range(3):
        for column in range(3):
            table.cell(row, column).text = f"R{row + 1}C{column + 1} {_CODEWORDS[(row * 3 + column + variant) % len(_CODEWORDS)]}"
    buffer = io.BytesIO()
    document.save(buffer)
    return _pin_zip(buffer.getvalue())


def _build_xlsx(variant: int) -> bytes:
    from openpyxl import Workbook

    title, paragraphs = _document_text("xlsx", variant)
    rng = random.Random(f"xlsx:{variant}")
    workbook = Workbook()
    workbook.properties.creator = "Confluence Simulator"
    workbook.properties.title = title
    workbook.properties.created = workbook.properties.modified = _FIXED_TIME.replace(tzinfo=None)
    sheet = workbook.active
    sheet.title = "Summary"
    sheet.append(["Title", title])
    sheet.append(["Note", paragraphs[0]])
    sheet.append(["Region", "Quarter", "Revenue", "Cost", "Comment"])
    for row in range(20 + variant * 10):
        sheet.append([rng.choice(("EMEA", "APAC", "AMER", "Россия", "日本")), f"Q{row % 4 + 1}",
                      rng.randrange(10_000, 900_000), round(rng.uniform(1000, 50_000), 2), sentence_from(rng)])
    detail = workbook.create_sheet("Details")
    for paragraph in paragraphs[1:]:
        detail.append([paragraph])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _pin_zip(buffer.getvalue())


def _build_pptx(variant: int) -> bytes:
    from pptx import Presentation

    title, paragraphs = _document_text("pptx", variant)
    presentation = Presentation()
    properties = presentation.core_properties
    properties.title, properties.author, properties.last_modified_by = title, "Confluence Simulator", "Confluence Simulator"
    properties.created = properties.modified = _FIXED_TIME.replace(tzinfo=None)
    properties.revision = 1
    slide = presentation.slides.add_slide(presentation.slide_layouts[0])
    slide.shapes.title.text = title
    slide.placeholders[1].text = paragraphs[0]
    for index, paragraph in enumerate(paragraphs[1:], start=2):
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = f"Slide {index}"
        slide.placeholders[1].text = paragraph
    buffer = io.BytesIO()
    presentation.save(buffer)
    return _pin_zip(buffer.getvalue())


def _build_odt(variant: int) -> bytes:
    from odf.element import Element
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    title, paragraphs = _document_text("odt", variant)
    # odfpy declares every namespace any document of the process has used (a class-level dict), so the output
    # would depend on history; build with a fresh dict, then merge it back.
    shared_namespaces = Element.namespaces
    Element.namespaces = {}
    try:
        document = OpenDocumentText()
        document.text.addElement(H(outlinelevel=1, text=title))
        for paragraph in paragraphs:
            document.text.addElement(P(text=paragraph))
        document.text.addElement(P(text=_UNICODE_LINES[variant % len(_UNICODE_LINES)]))
        buffer = io.BytesIO()
        document.save(buffer)
    finally:
        shared_namespaces.update(Element.namespaces)
        Element.namespaces = shared_namespaces
    return _pin_zip(buffer.getvalue())


def _build_txt(variant: int) -> bytes:
    title, paragraphs = _document_text("txt", variant)
    lines = [title, "=" * len(title), "", *paragraphs, "", _UNICODE_LINES[variant % len(_UNICODE_LINES)], ""]
    return "\n".join(lines).encode("utf-8")


def _build_csv(variant: int) -> bytes:
    title, paragraphs = _document_text("csv", variant)
    rng = random.Random(f"csv:{variant}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["id", "component", "owner", "status", "note"])
    writer.writerow([0, "search", "qa", "open", paragraphs[0]])
    for row in range(1, 40 + variant * 15):
        writer.writerow([row, rng.choice(("indexer", "crawler", "api", "ui", "billing")),
                         rng.choice(("ana", "bo", "chen", "dmitri", "émile")),
                         rng.choice(("open", "closed", "in progress")), sentence_from(rng)])
    return buffer.getvalue().encode("utf-8")


def _build_html(variant: int) -> bytes:
    title, paragraphs = _document_text("html", variant)
    body = "".join(f"<p>{escape(paragraph)}</p>" for paragraph in paragraphs)
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>body {{ font-family: sans-serif; }}</style>"
        "<script>window.analytics = {enabled: false};</script></head>"
        f"<body><h1>{escape(title)}</h1>{body}<p>{escape(_UNICODE_LINES[variant % len(_UNICODE_LINES)])}</p>"
        "</body></html>\n"
    )
    return page.encode("utf-8")


def _build_png(variant: int) -> bytes:
    """A valid RGB PNG (a small bar chart) with the phrase in a tEXt chunk."""
    title, _ = _document_text("png", variant)
    width, height = 160 + 40 * variant, 120
    rng = random.Random(f"png:{variant}")
    bars = [rng.randrange(10, height - 10) for _ in range(8)]
    bar_width = width // len(bars)
    background, colour = (250, 250, 250), (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type: none
        for x in range(width):
            bar_height = bars[min(x // bar_width, len(bars) - 1)]
            rows.extend(colour if height - y <= bar_height and x % bar_width else background)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"tEXt", b"Title\x00" + title.encode("latin-1"))
            + chunk(b"tEXt", b"Description\x00" + phrase("png", variant).encode("latin-1"))
            + chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + chunk(b"IEND", b""))


def _build_large_csv(size: int) -> bytes:
    """A log export of exactly `size` bytes, deterministic, with the phrase on its second line."""
    rng = random.Random("large-csv")
    lines = ["timestamp,host,status,latency_ms,message", f"2025-01-01T00:00:00Z,intro,200,0,{phrase('csv-large', 0)}"]
    templates = [sentence_from(rng).replace("\u2014", "-") for _ in range(64)]  # ASCII, so cutting is safe
    total = sum(len(line) + 1 for line in lines)
    row = 0
    while total < size:
        line = (f"2025-{row % 12 + 1:02d}-{row % 28 + 1:02d}T{row % 24:02d}:{row % 60:02d}:{(row * 7) % 60:02d}Z,"
                f"app-{row % 17:02d},{(200, 200, 200, 404, 500)[row % 5]},{(row * 37) % 2000},{templates[row % 64]}")
        lines.append(line)
        total += len(line) + 1
        row += 1
    data = ("\n".join(lines) + "\n").encode("ascii")
    return data[: size - 1] + b"\n"


_CORE_DATES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def _pin_zip(data: bytes) -> bytes:
    """Rewrite a ZIP-based document with fixed entry dates and core-property dates, so bytes are reproducible."""
    source = zipfile.ZipFile(io.BytesIO(data))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _CORE_DATES.sub(rb"\g<1>2025-06-02T09:30:00Z\g<2>", content)
            pinned = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            pinned.compress_type = info.compress_type
            pinned.external_attr = info.external_attr
            target.writestr(pinned, content)
    return output.getvalue()


_BUILDERS: dict[str, Callable[[int], bytes]] = {
    "pdf": _build_pdf, "pdf-encrypted": _build_encrypted_pdf, "pdf-corrupt": _build_corrupt_pdf,
    "docx": _build_docx, "xlsx": _build_xlsx, "pptx": _build_pptx, "odt": _build_odt, "txt": _build_txt,
    "csv": _build_csv, "html": _build_html, "png": _build_png,
    "csv-large": lambda variant: _build_large_csv(LARGE_FILE_SIZE),
}
_CACHE: dict[tuple[str, int], bytes] = {}
_CACHE_LOCK = threading.Lock()
