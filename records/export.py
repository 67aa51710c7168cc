"""The patient's record as a PDF (fpdf2, built in memory: a record is small)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos

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


class _RecordPdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.set_text_color(110)
        self.cell(0, 8, _latin1(f"Confidential medical record - page {self.page_no()}/{{nb}}"), align="C")


def record_pdf(*, patient: User, profile: MedicalProfile | None, entries: list[tuple[ClinicalEntry, str]]) -> bytes:
    pdf = _RecordPdf(format="A4")
    pdf.set_title("PHB medical record")
    pdf.set_author("PHB")
    pdf.alias_nb_pages()
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()
    width = pdf.epw

    def line(text: str, *, size: int = 10, bold: bool = False, gap: float = 5.5) -> None:
        pdf.set_font("Helvetica", style="B" if bold else "", size=size)
        pdf.multi_cell(width, gap, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    line("Medical record", size=18, bold=True, gap=9)
    line(f"Generated {timezone.now():%Y-%m-%d %H:%M} UTC", size=9)
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
