"""The printable prescription (fpdf2): patient, prescriber, medications, dates, verification code."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from fpdf import FPDF

MEDICATION_LINES = (
    ("strength", "Strength"),
    ("form", "Form"),
    ("route", "Route"),
    ("dosage", "Dosage"),
    ("frequency", "Frequency"),
    ("duration", "Duration"),
    ("indication", "For"),
    ("patient_instructions", "Instructions"),
)


@dataclass(frozen=True)
class PrescriptionSheet:
    prescription_id: str
    verification_code: str
    patient_name: str
    patient_hpn: str
    prescriber_name: str
    hospital_name: str
    department_name: str
    issued_at: datetime
    expires_at: datetime
    medications: list[dict] = field(default_factory=list)
    cancelled: bool = False
    revision: int = 1


def _latin1(text: object) -> str:
    """The core PDF fonts cover Latin-1: keep accents where possible, never fail on a name."""
    value = str(text or "")
    value = "".join(c for c in unicodedata.normalize("NFC", value) if c.isprintable() or c == " ")
    try:
        value.encode("latin-1")
        return value
    except UnicodeEncodeError:
        decomposed = unicodedata.normalize("NFKD", value)
        return decomposed.encode("latin-1", "ignore").decode("latin-1") or "?"


def _when(moment: datetime) -> str:
    return moment.strftime("%d %b %Y, %H:%M %Z").strip().rstrip(",")


def render_prescription_pdf(sheet: PrescriptionSheet) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title("Prescription")
    pdf.set_author(_latin1(sheet.hospital_name or "PHB"))
    pdf.set_creation_date(sheet.issued_at)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(width, 9, "PRESCRIPTION", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    if sheet.hospital_name:
        place = sheet.hospital_name + (f" - {sheet.department_name}" if sheet.department_name else "")
        pdf.cell(width, 6, _latin1(place), new_x="LMARGIN", new_y="NEXT")
    if sheet.revision > 1:
        pdf.set_font("Helvetica", "I", 9)
        pdf.cell(width, 5, f"Corrected document, revision {sheet.revision}", new_x="LMARGIN", new_y="NEXT")
    if sheet.cancelled:
        pdf.set_font("Helvetica", "B", 12)
        pdf.set_text_color(180, 0, 0)
        pdf.cell(width, 8, "CANCELLED - NOT VALID FOR DISPENSING", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
    pdf.ln(3)

    def row(label: str, value: str) -> None:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(40, 6, label)
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(width - 40, 6, _latin1(value), new_x="LMARGIN", new_y="NEXT")

    row("Patient", sheet.patient_name or "-")
    row("Health number", sheet.patient_hpn or "-")
    row("Prescriber", sheet.prescriber_name or "-")
    row("Issued", _when(sheet.issued_at))
    row("Valid until", _when(sheet.expires_at))
    row("Prescription", sheet.prescription_id)
    pdf.ln(3)

    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(width, 8, "Medications", new_x="LMARGIN", new_y="NEXT")
    for number, medication in enumerate(sheet.medications, start=1):
        name = medication.get("medication_name") or medication.get("name") or "Medication"
        generic = medication.get("generic_name")
        title = f"{number}. {name}" + (f" ({generic})" if generic and generic != name else "")
        pdf.set_font("Helvetica", "B", 10)
        pdf.multi_cell(width, 6, _latin1(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for key, label in MEDICATION_LINES:
            value = medication.get(key)
            if value:
                pdf.set_x(pdf.l_margin + 6)
                pdf.multi_cell(width - 6, 5, _latin1(f"{label}: {value}"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(width, 7, f"Verification code: {sheet.verification_code}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    pdf.multi_cell(
        width, 4,
        "Pharmacists: check this code with PHB before dispensing. This document is stored encrypted "
        "and kept unaltered; corrections are issued as new revisions.",
        new_x="LMARGIN", new_y="NEXT",
    )
    return bytes(pdf.output())
