"""What a guideline upload really is, judged by its bytes (never by its name or declared type)."""

from __future__ import annotations

import re
import unicodedata
from typing import IO

from phb.filetypes import DOC, DOCX, PDF, TXT, FileType, detect

__all__ = ["DOC", "DOCX", "PDF", "TXT", "GUIDELINE_TYPES", "detect_guideline_kind", "safe_filename"]

GUIDELINE_TYPES = frozenset({PDF, DOC, DOCX, TXT})


def detect_guideline_kind(stream: IO[bytes]) -> FileType | None:
    """PDF, Word 97-2003, Word (OOXML) or UTF-8 plain text; None for anything else."""
    return detect(stream, allowed=GUIDELINE_TYPES)


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9 ._()\-]+")


def safe_filename(name: str, *, extension: str, fallback: str = "guideline") -> str:
    """An ASCII file name for Content-Disposition, ending with the detected extension."""
    base = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    base = base.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = _UNSAFE_NAME.sub("_", stem).strip(" ._") or fallback
    return f"{stem[:120]}{extension}"
