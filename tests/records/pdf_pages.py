"""Reading back what a PDF of ours shows, and fpdf2's ``multi_cell`` as the reference the record's
line setting is compared with (the tests and ``bench/bench_records.py``)."""

from __future__ import annotations

import re
import zlib

from fpdf import FPDF
from fpdf.enums import XPos, YPos

_STREAM = re.compile(rb"stream\n(.*?)\nendstream", re.S)
_SHOWN = re.compile(rb"\(((?:\\.|[^\\)])*)\) Tj")
_ESCAPE = re.compile(rb"\\(.)", re.S)
# Operators that draw nothing: an empty string shown, and a font chosen (fpdf2 writes the choice
# where set_font is called, which may fall either side of a page break that changes nothing).
_NOTHING_DRAWN = re.compile(rb"BT [0-9.]+ [0-9.]+ Td \(\) Tj ET\n|BT /F[0-9]+ [0-9.]+ Tf ET\n")


def pages(pdf: bytes) -> list[bytes]:
    """The content stream of each page (and of anything else stored as a stream), inflated."""
    return [zlib.decompress(raw) for raw in _STREAM.findall(pdf)]


def drawn(pdf: bytes) -> list[bytes]:
    """:func:`pages` less the operators that draw nothing."""
    return [_NOTHING_DRAWN.sub(b"", page) for page in pages(pdf)]


def shown_text(pdf: bytes) -> list[str]:
    """Every string the pages show, in order."""
    return [_ESCAPE.sub(rb"\1", raw).decode("latin-1") for page in pages(pdf) for raw in _SHOWN.findall(page)]


def multi_cell_text(pdf: FPDF, text: str, *, width: float, gap: float) -> None:
    """The reference for ``records.export.set_text``: fpdf2 wrapping and setting the text itself."""
    pdf.multi_cell(width, gap, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
