"""The patient's record as a PDF, built in memory with fpdf2.

Text is broken into lines here, a word at a time, and each line is set on its own. fpdf2's
``multi_cell`` measures the line again for every character it adds, which cost about 1.6 ms an
entry (a record of 5,000 entries took 8 s of a worker); ``bench/bench_records.py`` prints both.
The pages are the ones ``multi_cell`` sets (``tests/records/test_export.py`` compares them), but
for soft hyphens: they are dropped, where ``multi_cell`` would break a word at one with a hyphen.
A justified line goes through fpdf2's own line renderer, which is not its public API: fpdf2 is
pinned, and that test fails on an upgrade that changes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, NamedTuple

from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.line_break import TextLine

from accounts.models import User
from records.models import ClinicalEntry, MedicalProfile
from records.presenters import KIND_LABELS

_SECTIONS = [
    ("diagnosis", "Diagnoses"),
    ("medication", "Medications"),
    ("treatment", "Treatments"),
    ("lab_result", "Lab results"),
    ("immunization", "Immunizations"),
    ("procedure", "Procedures"),
    ("vital", "Vital signs"),
    ("encounter", "Encounters"),
]


def _latin1(text: Any) -> str:
    """The built-in PDF fonts cover Latin-1; anything else becomes '?' rather than failing."""
    return str(text if text is not None else "").encode("latin-1", "replace").decode("latin-1")


class Line(NamedTuple):
    text: str
    last: bool  # the end of a paragraph: set flush left, where a wrapped line is justified


def wrapped_lines(text: str, *, room: float, measure: Callable[[str], float]) -> Iterator[Line]:
    """``text`` broken into lines no wider than ``room`` as fpdf2's ``multi_cell`` breaks it: at
    spaces and tabs, and inside a word only where the word alone is wider than a line. Each newline
    starts a line and a final newline adds none. A no-break space stays inside its word and is set
    as a space. ``text`` holds no carriage return and no soft hyphen (:func:`set_text` drops them).

    Each line is a slice of its paragraph (its words and the gaps between them), so nothing is
    built word by word."""
    widths = {gap: measure(gap) for gap in BREAKS}
    space = widths[" "]
    shown = _shown if NO_BREAK_SPACE in text else str
    final_newline = text.endswith("\n")
    paragraphs = (text[:-1] if final_newline else text).split("\n")
    for number, paragraph in enumerate(paragraphs, start=1):
        tabs = "\t" in paragraph
        words = _BREAK.split(paragraph) if tabs else paragraph.split(" ")
        start = 0  # where the current line starts in the paragraph
        at = 0  # where the current word starts
        used = 0.0
        for index, word in enumerate(words):
            width = measure(word)
            if index:
                gap = widths[paragraph[at - 1]] if tabs else space
                if used + gap + width <= room:
                    used += gap + width
                    at += len(word) + 1
                    continue
                yield Line(shown(paragraph[start:at - 1]), last=False)  # the gap it breaks at is dropped
            start = at
            if width > room:
                *full, rest = _cut_word(word, room=room, measure=measure)
                yield from (Line(shown(piece), last=False) for piece in full)
                start = at + len(word) - len(rest)
                width = measure(rest)
            used = width
            at += len(word) + 1
        end_of_text = number == len(paragraphs) and not final_newline
        if paragraph[start:] or not paragraph or not end_of_text:  # a gap past the text's last full line adds none
            yield Line(shown(paragraph[start:]), last=True)


BREAKS = (" ", "\t")  # the breaking spaces of Latin-1 that multi_cell breaks a line at
_BREAK = re.compile("[ \t]")
NO_BREAK_SPACE = "\xa0"
SOFT_HYPHEN = "\xad"


def _shown(text: str) -> str:
    """A line's text as ``multi_cell`` sets it: a no-break space as a space."""
    return text.replace(NO_BREAK_SPACE, " ")


def text_width(pdf: FPDF) -> Callable[[str], float]:
    """``pdf.get_string_width`` for the current core font, from its width table alone (no text
    shaping, character spacing or stretching, which the record does not use)."""
    widths = pdf.current_font.cw
    scale = pdf.font_size_pt * 0.001 / pdf.k
    return lambda text: sum(map(widths.__getitem__, text)) * scale


def _cut_word(word: str, *, room: float, measure: Callable[[str], float]) -> list[str]:
    """``word`` cut as ``multi_cell`` cuts a word wider than a line: each piece the longest that
    fits ``room`` (at least one character), the last one what remains."""
    pieces: list[str] = []
    start = 0
    while True:
        end = _longest_fit(word, start, room=room, measure=measure)
        pieces.append(word[start:end])
        if end == len(word):
            return pieces
        start = end


def _longest_fit(word: str, start: int, *, room: float, measure: Callable[[str], float]) -> int:
    """The largest ``end`` with ``word[start:end]`` no wider than ``room``, and at least
    ``start + 1``. Probes grow by doubling, then halve: the cost is in proportion to the piece,
    not to the rest of the word."""
    low, step = start + 1, 1
    while low < len(word):
        probe = min(len(word), low + step)
        if measure(word[start:probe]) > room:
            high = probe - 1
            break
        low, step = probe, step * 2
    else:
        return low
    while low < high:
        middle = (low + high + 1) // 2
        if measure(word[start:middle]) <= room:
            low = middle
        else:
            high = middle - 1
    return low


def set_text(pdf: FPDF, text: str, *, width: float, gap: float) -> None:
    """``text`` in the current font, set as ``pdf.multi_cell(width, gap, text, new_x=LMARGIN,
    new_y=NEXT)`` sets it (justified, the last line of each paragraph flush left), one line at a
    time. Soft hyphens are dropped: a line set whole would show one as a hyphen.
    ``tests/records/test_export.py`` compares the pages with ``multi_cell``'s."""
    text = text.replace("\r", "").replace(SOFT_HYPHEN, "")
    for part in wrapped_lines(text, room=width - 2 * pdf.c_margin, measure=text_width(pdf)):
        if part.last:
            pdf.cell(width, gap, part.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        else:
            _justified_line(pdf, width=width, gap=gap, text=part.text)
    if text.endswith("\n"):  # a final newline moves down a line, with no page break
        pdf.y += gap


def _justified_line(pdf: FPDF, *, width: float, gap: float, text: str) -> None:
    """One wrapped line set as ``multi_cell`` sets it, with its spaces widened to fill the line
    (``cell`` refuses ``Align.J``), then down to the next line."""
    pdf._perform_page_break_if_need_be(gap)
    fragments = pdf._preload_font_styles(pdf.normalize_text(text), False)
    spaces = sum(text.count(space) for space in BREAKS)
    line = TextLine(fragments, text_width=0, number_of_spaces=spaces, align=Align.J, height=gap,
                    max_width=width)
    pdf._render_styled_text_line(line, gap, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


class _RecordPdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.set_text_color(110)
        self.cell(0, 8, _latin1(f"Confidential medical record - page {self.page_no()}/{{nb}}"), align="C")


def record_pdf(*, patient: User, profile: MedicalProfile | None, entries: list[tuple[ClinicalEntry, str]],
               generated_at: datetime | None = None) -> bytes:
    pdf = _RecordPdf(format="A4")
    pdf.set_title("PHB medical record")
    pdf.set_author("PHB")
    pdf.alias_nb_pages()
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()
    width = pdf.epw

    def line(text: str, *, size: int = 10, bold: bool = False, gap: float = 5.5) -> None:
        pdf.set_font("Helvetica", style="B" if bold else "", size=size)
        set_text(pdf, _latin1(text), width=width, gap=gap)

    line("Medical record", size=18, bold=True, gap=9)
    line(f"Generated {generated_at or timezone.now():%Y-%m-%d %H:%M} UTC", size=9)
    pdf.ln(3)
    line(f"Name: {patient.full_name or '-'}")
    line(f"HPN: {patient.hpn}")
    if patient.date_of_birth:
        line(f"Date of birth: {patient.date_of_birth.isoformat()}")
    if profile is not None:
        line(f"Blood type: {profile.blood_type or 'Not recorded'}")
        line(f"Allergies: {', '.join(map(str, profile.allergies or [])) or 'None recorded'}")
        line(f"Chronic conditions: {', '.join(map(str, profile.chronic_conditions or [])) or 'None recorded'}")
        if profile.emergency_contact_name or profile.emergency_contact_phone:
            line(f"Emergency contact: {profile.emergency_contact_name} {profile.emergency_contact_phone}".strip())
        if profile.last_visit_date:
            line(f"Last visit: {profile.last_visit_date.isoformat()}")

    by_kind: dict[str, list[tuple[ClinicalEntry, str]]] = {}
    for entry, notes in entries:
        by_kind.setdefault(entry.kind, []).append((entry, notes))
    for kind, heading in _SECTIONS:
        rows = by_kind.get(kind)
        if not rows:
            continue
        pdf.ln(4)
        line(heading, size=13, bold=True, gap=7)
        for entry, notes in rows:
            parts = [entry.occurred_on.isoformat(), entry.title]
            if entry.status:
                parts.append(f"({entry.status})")
            line(" ".join(parts), bold=True)
            meta = [entry.provider_name, entry.hospital.name if entry.hospital_id else ""]
            detail = ", ".join(f"{k}: {v}" for k, v in (entry.details or {}).items() if v not in ("", None))
            if any(meta):
                line(" - ".join(m for m in meta if m), size=9)
            if detail:
                line(detail, size=9)
            if notes:
                line(notes, size=9)
            pdf.ln(1)
    if not entries:
        pdf.ln(4)
        line(f"No {', '.join(v.lower() for v in KIND_LABELS.values())} recorded.", size=9)
    return bytes(pdf.output())
