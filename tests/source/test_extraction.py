"""Text extraction from attachment files: real files of every format the simulator attaches, written by their usual
libraries, and what is turned down before any download."""

from __future__ import annotations

import pytest

from confluence_simulator import files
from confluence_source import extraction
from confluence_source.extraction import ExtractionError, extract_text, extractable_type

READABLE_KINDS = ("pdf", "docx", "xlsx", "pptx", "odt", "txt", "csv", "html")


@pytest.mark.parametrize("kind", READABLE_KINDS)
@pytest.mark.parametrize("variant", [0, 1])
def test_every_attached_format_yields_its_searchable_phrase(kind, variant):
    data = files.file_bytes(kind, variant)
    text = extract_text(data, files.MEDIA_TYPES[kind], f"sample.{files.EXTENSIONS[kind]}")
    # words may be split over lines (PDF) or cells (spreadsheets): compare the word sequence
    assert " ".join(files.phrase(kind, variant).split()) in " ".join(text.split())


def test_non_latin_text_and_table_cells_survive_extraction():
    text = extract_text(files.file_bytes("docx", 0), files.MEDIA_TYPES["docx"], "brief.docx")
    assert "Отчёт о развёртывании утверждён." in text
    assert "部署指南已更新" in text
    assert "R2C3" in text  # a table cell


def test_a_password_protected_pdf_is_reported_as_encrypted():
    with pytest.raises(ExtractionError) as raised:
        extract_text(files.file_bytes("pdf-encrypted", 0), "application/pdf", "salary-bands-protected.pdf")
    assert raised.value.reason == "encrypted"


def test_a_damaged_pdf_is_reported_as_unreadable():
    with pytest.raises(ExtractionError) as raised:
        extract_text(files.file_bytes("pdf-corrupt", 0), "application/pdf", "scanned-contract.pdf")
    assert raised.value.reason == "unreadable"


def test_plain_text_in_a_legacy_encoding_is_decoded():
    data = "Résumé des opérations: la procédure de déploiement a été validée par l'équipe.".encode("cp1252")
    assert "procédure de déploiement" in extract_text(data, "text/plain", "notes.txt")


def test_utf8_text_keeps_its_characters_and_loses_its_byte_order_mark():
    data = "\ufeffDeployment checklist – ✓ reviewed".encode("utf-8")
    assert extract_text(data, "text/plain; charset=utf-8", "checklist.txt") == "Deployment checklist – ✓ reviewed"


def test_extracted_text_is_cut_at_the_length_asked_for(monkeypatch):
    data = ("word " * 100_000).encode()
    assert len(extract_text(data, "text/plain", "long.txt")) == 200_000  # `max_file_text_length`'s default
    assert extract_text(data, "text/plain", "long.txt", 12) == "word word wo"
    assert extract_text(data, "text/plain", "long.txt", 10) == "word word "  # as long as asked: so it shows it was cut


@pytest.mark.parametrize(
    ("media_type", "file_name", "expected"),
    [
        ("application/pdf", "a.pdf", "application/pdf"),
        ("Text/Plain; charset=ISO-8859-1", "a.txt", "text/plain"),
        ("application/octet-stream", "report.pdf", "application/pdf"),
        (None, "minutes.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("application/msword", "legacy.doc", "application/msword"),
        ("message/rfc822", "mail.eml", "message/rfc822"),
        ("image/png", "diagram.png", None),  # no OCR
        ("video/mp4", "demo.mp4", None),
        ("application/zip", "export.zip", None),  # archives are never unpacked
        ("application/octet-stream", "blob.bin", None),
        ("text/x-python", "etl.py", "text/x-python"),  # source code and scripts are text
        ("application/javascript", "app.js", "application/javascript"),
        ("application/octet-stream", "deploy.sh", "text/plain"),
        ("application/octet-stream", "main.rs", "text/plain"),
        ("application/octet-stream", "Dockerfile", "text/plain"),
        ("application/octet-stream", "prod.env", None),  # secrets, most likely
        ("application/octet-stream", "server.log", "text/plain"),
        ("application/octet-stream", "values.yaml", "text/plain"),
        ("application/x-unknown-thing", "thing.xyz", None),
    ],
)
def test_which_files_have_their_text_extracted(media_type, file_name, expected):
    assert extractable_type(media_type, file_name) == expected


@pytest.mark.parametrize(("media_type", "file_name"), [("text/x-python", "etl.py"), ("application/sql", "q.sql"),
                                                       ("application/octet-stream", "server.log")])
def test_source_code_scripts_and_logs_are_read_as_text(media_type, file_name):
    data = "-- the quokka migration renames every wombat table\nSELECT 1;\n".encode()
    assert extract_text(data, media_type, file_name).startswith("-- the quokka migration renames every wombat")


def test_text_kreuzberg_has_a_reader_for_is_still_read_by_it():
    text = extract_text(b"<html><body><p>Quokka <b>status</b> page</p></body></html>", "text/html", "s.html")
    assert "Quokka" in text and "status" in text and "<" not in text  # the markup is gone


def test_an_html_title_is_searchable_once():
    page = b"<html><head><title>Wombat rota</title></head><body><p>Who is on call</p></body></html>"
    assert extract_text(page, "text/html", "rota.html").split("\n") == ["Wombat rota", "", "Who is on call"]
    repeated = b"<html><head><title>Wombat rota</title></head><body><h1>Wombat rota</h1></body></html>"
    assert extract_text(repeated, "text/html", "rota.html").count("Wombat rota") == 1


@pytest.mark.parametrize("title", ["Microsoft Word - Document1.docx", "Untitled", "minutes.pdf", "wombat ROTA"])
def test_a_placeholder_title_or_one_the_text_holds_is_not_added(title):
    page = f"<html><head><title>{title}</title></head><body><p>Wombat rota for May</p></body></html>".encode()
    assert extract_text(page, "text/html", "rota.html") == "Wombat rota for May"


def test_a_title_that_merely_ends_like_a_domain_is_kept():
    page = b"<html><head><title>Getting started with Node.js</title></head><body><p>Install it</p></body></html>"
    assert extract_text(page, "text/html", "guide.html").startswith("Getting started with Node.js\n")


def test_a_type_that_is_turned_down_is_not_extracted():
    with pytest.raises(ValueError):
        extract_text(files.file_bytes("png", 0), "image/png", "diagram.png")


def test_a_password_protected_office_file_is_reported_as_encrypted():
    # what Office writes for a protected .docx: an OLE compound file with an "EncryptedPackage" stream, not a zip
    header = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504)
    directory = "EncryptionInfo".encode("utf-16-le") + bytes(50) + "EncryptedPackage".encode("utf-16-le")
    data = header + directory + bytes(4096)
    with pytest.raises(ExtractionError) as raised:
        extract_text(data, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "plan.docx")
    assert raised.value.reason == "encrypted"


@pytest.mark.parametrize(
    ("kind", "declared_type", "file_name"),
    [
        ("docx", "application/msword", "brief.doc"),  # saved by Word under an old name
        ("pdf", files.MEDIA_TYPES["docx"], "report.docx"),
        ("xlsx", files.MEDIA_TYPES["pptx"], "numbers.pptx"),
    ],
)
def test_a_document_of_another_type_than_declared_is_read_as_what_its_bytes_show(kind, declared_type, file_name):
    text = extract_text(files.file_bytes(kind, 0), declared_type, file_name)
    assert " ".join(files.phrase(kind, 0).split()) in " ".join(text.split())


def test_a_file_unreadable_as_declared_and_as_sniffed_keeps_the_first_message():
    data = b"%PDF-1.7\n" + bytes(300)  # looks like a PDF, is none, and was declared a Word file
    with pytest.raises(ExtractionError) as raised:
        extract_text(data, files.MEDIA_TYPES["docx"], "broken.docx")
    assert raised.value.reason == "unreadable" and "DOCX" in str(raised.value)


def test_a_damaged_office_file_is_reported_as_unreadable():
    with pytest.raises(ExtractionError) as raised:
        extract_text(b"PK\x03\x04 this is not really a zip", files.MEDIA_TYPES["docx"], "broken.docx")
    assert raised.value.reason == "unreadable"
