"""Guideline file types are judged by content; download names are safe ASCII."""

from __future__ import annotations

import io

import pytest

from storage.filetypes import DOC, DOCX, PDF, TXT, detect_guideline_kind, safe_filename
from tests.storage.files import PNG, make_docx, make_pdf

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _ole2(stream_name: str, *, padding: int = 70_000) -> bytes:
    """An OLE2 compound file whose directory names ``stream_name`` past the first read chunk."""
    return OLE2 + b"\x00" * padding + stream_name.encode("utf-16-le") + b"\x00" * 64


@pytest.mark.parametrize(("content", "kind"), [
    (make_pdf(), PDF),
    (make_docx(), DOCX),
    (_ole2("WordDocument"), DOC),
    ("Protocole d'hygiène des mains\n\tétape 1\n".encode(), TXT),
])
def test_accepted_kinds(content, kind):
    assert detect_guideline_kind(io.BytesIO(content)) == kind


@pytest.mark.parametrize("content", [
    PNG,
    _ole2("Workbook"),  # an Excel file is OLE2 too
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
