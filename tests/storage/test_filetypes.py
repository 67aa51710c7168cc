"""Guideline file types are judged by content; download names are safe ASCII."""

from __future__ import annotations

import io

import pytest

from storage.filetypes import DOC, DOCX, PDF, TXT, detect_guideline_kind, safe_filename
from tests.storage.files import PNG, make_docx, make_ole2, make_pdf

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
WORD_STREAM_NAME = "WordDocument".encode("utf-16-le")


@pytest.mark.parametrize(("content", "kind"), [
    (make_pdf(), PDF),
    (make_docx(), DOCX),
    (make_ole2({"WordDocument": b"\xec\xa5", "1Table": b"", "\x05SummaryInformation": b""}), DOC),
    ("Protocole d'hygiène des mains\n\tétape 1\n".encode(), TXT),
])
def test_accepted_kinds(content, kind):
    assert detect_guideline_kind(io.BytesIO(content)) == kind


@pytest.mark.parametrize("content", [
    PNG,
    make_ole2({"Workbook": b"\x09\x08"}),  # an Excel file is OLE2 too
    # The Word stream's name among a spreadsheet's bytes, or after the magic number alone, is not a
    # directory entry.
    make_ole2({"Workbook": b"\x09\x08" + WORD_STREAM_NAME}, extra=WORD_STREAM_NAME),
    OLE2 + b"\x00" * 70_000 + WORD_STREAM_NAME + b"\x00" * 64,
    make_ole2({"WordDocument": b""})[:600],  # cut short: the directory is missing
    b"PK\x03\x04" + b"\x00" * 100,  # not a readable zip
    b"MZ\x90\x00" + b"\x00" * 100,  # an executable
    b"text with a NUL\x00 byte",
    b"\xff\xfe\x00 latin-1 \xe9 bytes",  # not UTF-8
])
def test_refused_content(content):
    assert detect_guideline_kind(io.BytesIO(content)) is None


def test_zip_that_is_not_a_word_document_is_refused():
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    assert detect_guideline_kind(io.BytesIO(buffer.getvalue())) is None


@pytest.mark.parametrize(("name", "extension", "expected"), [
    ("Hand Hygiene (2025).pdf", ".pdf", "Hand Hygiene (2025).pdf"),
    ("../../etc/passwd", ".txt", "passwd.txt"),
    ('evil"; filename=x.exe', ".pdf", "evil_ filename_x.pdf"),
    ("Ñandú protocolo.docx", ".docx", "Nandu protocolo.docx"),
    ("", ".pdf", "guideline.pdf"),
    ("report.exe", ".pdf", "report.pdf"),
])
def test_safe_filename(name, extension, expected):
    assert safe_filename(name, extension=extension) == expected
