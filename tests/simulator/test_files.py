"""Generated attachments are real files: each opens with its usual library and yields its searchable phrase."""

from __future__ import annotations

import csv
import io
import struct
import zlib

import pytest
from docx import Document
from odf import teletype
from odf import text as odf_text
from odf.opendocument import load as load_odf
from openpyxl import load_workbook
from pptx import Presentation
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from confluence_simulator import files

REGULAR_KINDS = [kind for kind in files.VARIANTS if kind not in ("pdf-corrupt", "pdf-encrypted", "csv-large")]


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _docx_text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([paragraph.text for paragraph in document.paragraphs] + cells)


def _xlsx_text(data: bytes) -> str:
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    return "\n".join(str(value) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)
                     for value in row if value is not None)


def _pptx_text(data: bytes) -> str:
    presentation = Presentation(io.BytesIO(data))
    return "\n".join(shape.text_frame.text for slide in presentation.slides for shape in slide.shapes
                     if shape.has_text_frame)


def _odt_text(data: bytes) -> str:
    document = load_odf(io.BytesIO(data))
    elements = document.getElementsByType(odf_text.H) + document.getElementsByType(odf_text.P)
    return "\n".join(teletype.extractText(element) for element in elements)


def _csv_text(data: bytes) -> str:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert len(rows) > 10 and all(len(row) == len(rows[0]) for row in rows)
    return "\n".join(",".join(row) for row in rows)


def _png_text(data: bytes) -> str:
    """Walk the chunks, checking CRCs and the pixel data size; return the tEXt values."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, texts, idat, header = 8, [], b"", None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        payload = data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert crc == zlib.crc32(kind + payload) & 0xFFFFFFFF, kind
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", payload)
        elif kind == b"IDAT":
            idat += payload
        elif kind == b"tEXt":
            texts.append(payload.split(b"\x00", 1)[1].decode("latin-1"))
        position += 12 + length
    assert header is not None and kind == b"IEND"
    width, height, bit_depth, colour_type = header[:4]
    assert (bit_depth, colour_type) == (8, 2)
    assert len(zlib.decompress(idat)) == height * (1 + 3 * width)
    return "\n".join(texts)


EXTRACTORS = {
    "pdf": _pdf_text, "docx": _docx_text, "xlsx": _xlsx_text, "pptx": _pptx_text, "odt": _odt_text,
    "txt": lambda data: data.decode("utf-8"), "csv": _csv_text, "html": lambda data: data.decode("utf-8"),
    "png": _png_text,
}


@pytest.mark.parametrize("kind", REGULAR_KINDS)
def test_every_variant_opens_with_its_library_and_holds_its_phrase(kind: str) -> None:
    for variant in range(files.VARIANTS[kind]):
        text = EXTRACTORS[kind](files.file_bytes(kind, variant))
        assert files.phrase(kind, variant) in " ".join(text.split()), (kind, variant)


def test_phrases_are_unique_per_file() -> None:
    phrases = [files.phrase(kind, variant) for kind, count in files.VARIANTS.items() for variant in range(count)]
    assert len(set(phrases)) == len(phrases)


def test_office_documents_carry_unicode_text() -> None:
    assert "Отчёт" in _odt_text(files.file_bytes("odt", 0))
    assert any(word in _docx_text(files.file_bytes("docx", 0)) for word in ("Отчёт", "部署指南"))


@pytest.mark.parametrize("kind", ["pdf", "docx", "xlsx", "pptx", "odt", "png", "pdf-encrypted"])
def test_bytes_are_reproducible(kind: str) -> None:
    """A fresh build (bypassing the cache) gives identical bytes: no timestamps or random ids leak in."""
    cached = files.file_bytes(kind, 0)
    rebuilt = files._BUILDERS[kind](0)
    assert rebuilt == cached


def test_corrupt_pdf_cannot_be_read() -> None:
    data = files.file_bytes("pdf-corrupt", 0)
    assert data.startswith(b"%PDF-")
    with pytest.raises((PdfReadError, ValueError, KeyError)):
        _pdf_text(data)


def test_encrypted_pdf_needs_its_password() -> None:
    data = files.file_bytes("pdf-encrypted", 0)
    reader = PdfReader(io.BytesIO(data))
    assert reader.is_encrypted
    with pytest.raises(PdfReadError):
        reader.pages[0].extract_text()
    reader = PdfReader(io.BytesIO(data))
    assert reader.decrypt(files.ENCRYPTED_PDF_USER_PASSWORD)
    assert files.phrase("pdf-encrypted", 0) in " ".join(reader.pages[0].extract_text().split())


def test_large_file_has_the_announced_size_and_phrase() -> None:
    data = files.large_file_factory()()
    assert len(data) == files.LARGE_FILE_SIZE > 10 * 1024 * 1024
    head = data[:4096].decode("ascii")
    assert files.phrase("csv-large", 0) in head
    assert data == files.large_file_factory()()
