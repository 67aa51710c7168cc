"""Deciding an upload's type from its bytes (magic numbers and structure), never from its
name or the client's content type. Used by patient documents (records) and clinical guidelines
(storage), each with its own accepted set."""

from __future__ import annotations

import codecs
import zipfile
from dataclasses import dataclass
from typing import IO

import olefile

CHUNK = 64 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class FileType:
    extension: str
    content_type: str


PDF = FileType("pdf", "application/pdf")
PNG = FileType("png", "image/png")
JPG = FileType("jpg", "image/jpeg")
DOC = FileType("doc", "application/msword")
DOCX = FileType("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
TXT = FileType("txt", "text/plain; charset=utf-8")

ACCEPTED = "PDF, Word (.doc, .docx), JPEG, PNG or plain text"
ALL_TYPES = frozenset({PDF, PNG, JPG, DOC, DOCX, TXT})


def _is_doc(fh: IO[bytes]) -> bool:
    """A compound file (OLE2) whose directory holds a ``WordDocument`` stream at its root.

    OLE2 also wraps installers (.msi) and spreadsheets, so the magic number alone is not enough,
    and neither are the stream's name's bytes somewhere in the file: the directory is read through
    the file's own allocation table, as Word reads it. The file is read in place (seek and read).
    """
    fh.seek(0)
    try:
        with olefile.OleFileIO(fh) as ole:
            return ole.get_type("WordDocument") == olefile.STGTY_STREAM
    except Exception:  # noqa: BLE001 - any malformed container is simply not a Word document
        return False


def _is_docx(fh: IO[bytes]) -> bool:
    fh.seek(0)
    try:
        with zipfile.ZipFile(fh) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return "[Content_Types].xml" in names and "word/document.xml" in names


def _is_text(fh: IO[bytes]) -> bool:
    """UTF-8 (or ASCII) text without NUL or other binary control bytes, checked end to end."""
    fh.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    allowed_controls = {9, 10, 12, 13}
    seen = False
    while True:
        chunk = fh.read(CHUNK)
        if not chunk:
            break
        seen = True
        if any(b < 32 and b not in allowed_controls for b in chunk) or 127 in chunk:
            return False
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError:
            return False
    if not seen:
        return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect(fh: IO[bytes], *, allowed: frozenset[FileType] = ALL_TYPES) -> FileType | None:
    """The type of the file's content if it is one of ``allowed``, else None. Leaves the position at 0."""
    found = _sniff(fh)
    return found if found in allowed else None


def _sniff(fh: IO[bytes]) -> FileType | None:
    try:
        fh.seek(0)
        head = fh.read(16)
        if head.startswith(b"%PDF-"):
            return PDF
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return PNG
        if head.startswith(b"\xff\xd8\xff"):
            return JPG
        if head.startswith(_OLE_MAGIC):
            return DOC if _is_doc(fh) else None
        if head.startswith(b"PK\x03\x04"):
            return DOCX if _is_docx(fh) else None
        if head.startswith(codecs.BOM_UTF8):
            fh.seek(3)
        return TXT if _is_text(fh) else None
    finally:
        fh.seek(0)
