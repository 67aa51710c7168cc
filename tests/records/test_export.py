"""The record's PDF export: lines broken and set as fpdf2's ``multi_cell`` sets them, and every
entry of a long record on its pages."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from fpdf import FPDF

from records import export
from records.export import text_width, wrapped_lines
from records.models import ClinicalEntry, EntryKind
from tests.records.conftest import MED_HEADER
from tests.records.pdf_pages import drawn, multi_cell_text, shown_text

EXPORT_URL = "/api/patient/medical-record/export/"
GENERATED_AT = datetime(2026, 1, 2, 3, 59, 59, tzinfo=UTC)  # one clock for both renders of a comparison
WORDS = ["blood", "pressure", "follow-up", "héllo", "naïve", "日本", "amoxicillin", "500mg", "-", "(active)",
         "500\xa0mg", "\xa0"]  # a no-break space holds its word together
# Words, runs of spaces and tabs, newlines and words longer than a line: everything the breaking
# treats apart.
PIECES = [*WORDS, "", "  ", "\t", " \t\t", "\n", "\n\n", "x" * 150, "W" * 30, "W" * 24 + "\xa0" + "W" * 24]


def _text(rng: random.Random, most: int) -> str:
    return " ".join(rng.choices(PIECES, k=rng.randint(0, most)))


def _pdf(size: int = 10, style: str = "") -> FPDF:
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", style=style, size=size)
    return pdf


def test_lines_break_where_multi_cell_breaks_them():
    rng = random.Random(7)
    pdf = _pdf()
    for _ in range(600):
        pdf.set_font("Helvetica", style=rng.choice(["", "B"]), size=rng.choice([8, 9, 10, 13, 18]))
        text = export._latin1(_text(rng, 40))
        theirs = pdf.multi_cell(pdf.epw, 5, text, dry_run=True, output="LINES")
        ours = [line.text for line in wrapped_lines(text, room=pdf.epw - 2 * pdf.c_margin, measure=text_width(pdf))]
        assert ours == theirs, text


def test_spaces_past_a_full_line_break_as_multi_cell_breaks_them():
    pdf = _pdf()
    room = pdf.epw - 2 * pdf.c_margin
    overflowed = 0
    for count in range(45, 60):  # about 53 W fill a line after "blood "
        for spaces in (" ", "  ", "   "):
            for after in ("", "\n", "\nblood", " blood"):
                text = "blood " + "W" * count + spaces + after
                theirs = pdf.multi_cell(pdf.epw, 5, text, dry_run=True, output="LINES")
                ours = [line.text for line in wrapped_lines(text, room=room, measure=text_width(pdf))]
                assert ours == theirs, text
                overflowed += pdf.get_string_width("blood " + "W" * count + spaces) > room
    assert overflowed


@pytest.mark.parametrize("style", ["", "B"])
@pytest.mark.parametrize("size", [8, 10, 18])
def test_text_width_is_fpdf_string_width(style, size):
    rng = random.Random(size)
    pdf = _pdf(size, style)
    measure = text_width(pdf)
    for _ in range(200):
        text = "".join(chr(rng.randint(32, 255)) for _ in range(rng.randint(0, 60)))
        assert measure(text) == pytest.approx(pdf.get_string_width(text), abs=1e-9)


def test_lines_fit_and_keep_every_character_but_the_spaces_they_break_at():
    rng = random.Random(11)
    pdf = _pdf()
    room = pdf.epw - 2 * pdf.c_margin

    def visible(text: str) -> str:
        return "".join(c for c in text if c not in " \t\n\xa0")

    for _ in range(500):
        text = export._latin1(_text(rng, 60))
        lines = [line.text for line in wrapped_lines(text, room=room, measure=text_width(pdf))]
        assert all(pdf.get_string_width(line) <= room + 1e-9 for line in lines)
        assert visible("".join(lines)) == visible(text)
        assert "\xa0" not in "".join(lines)  # set as a space


def test_soft_hyphens_are_dropped_not_shown():
    """``multi_cell`` hides a soft hyphen unless it breaks the word there, and a line set whole
    would show it as a hyphen: the export drops them, and sets the text as it would without them."""
    rng = random.Random(5)
    for _ in range(20):
        plain = export._latin1(_text(rng, 60))
        hyphenated = "".join(c + ("\xad" if c.isalpha() and rng.random() < 0.3 else "") for c in plain)
        pages = []
        for text in (plain, hyphenated):
            pdf = _pdf()
            export.set_text(pdf, text, width=pdf.epw, gap=5)
            pages.append(bytes(pdf.output()))
        assert drawn(pages[1]) == drawn(pages[0])
        assert not any("\xad" in shown for shown in shown_text(pages[1]))


def _record(rng: random.Random):
    patient = SimpleNamespace(full_name=_text(rng, 4), hpn="1234567890", date_of_birth=date(1990, 1, 2))
    profile = SimpleNamespace(blood_type="O+", allergies=[_text(rng, 8)], chronic_conditions=[],
                              emergency_contact_name=_text(rng, 3), emergency_contact_phone="", last_visit_date=None)
    kinds = list(EntryKind.values)
    entries = [
        (SimpleNamespace(kind=rng.choice(kinds), occurred_on=date(2024, 1, 1) + timedelta(days=n), title=_text(rng, 20),
                         status=rng.choice(["", "active"]), provider_name=_text(rng, 3),
                         hospital_id=rng.choice([None, 1]), hospital=SimpleNamespace(name="General Hospital"),
                         details={"note": _text(rng, 30)}),
         _text(rng, 80))
        for n in range(rng.randint(0, 120))
    ]
    return patient, rng.choice([None, profile]), entries


def test_record_pages_are_the_ones_multi_cell_sets(monkeypatch):
    built = []
    for seed in range(10):
        patient, profile, entries = _record(random.Random(seed))
        ours = export.record_pdf(patient=patient, profile=profile, entries=entries, generated_at=GENERATED_AT)
        with monkeypatch.context() as patched:
            patched.setattr(export, "set_text", multi_cell_text)
            theirs = export.record_pdf(patient=patient, profile=profile, entries=entries, generated_at=GENERATED_AT)
        assert drawn(ours) == drawn(theirs), seed
        built.append(len(drawn(ours)))
    assert max(built) > 10  # page breaks were crossed, mid-paragraph among them


@pytest.mark.django_db
def test_export_shows_every_entry_of_a_long_record(open_record, patient):
    note = "\n".join(f"Paragraph {p}: " + " ".join(f"word{p}x{w}" for w in range(120)) for p in range(3))
    for n in range(300):
        entry = ClinicalEntry(patient=patient, kind=EntryKind.values[n % len(EntryKind.values)], title=f"Entry {n:03d}",
                              occurred_on=date(2020, 1, 1) + timedelta(days=n))
        entry.notes = note if n == 150 else f"Note {n:03d}"
        entry.save()
    client, token = open_record(patient)
    response = client.get(EXPORT_URL, **{MED_HEADER: token})
    assert response.status_code == 200
    shown = shown_text(response.content)
    footers = [i for i, text in enumerate(shown) if text.startswith("Confidential medical record - page ")]
    assert len(footers) > 10
    shown = [text for i, text in enumerate(shown) if i not in footers and i - 1 not in footers]  # and its page count
    words = " ".join(shown).split()
    for n in range(300):
        assert f"Entry {n:03d}" in " ".join(shown), n
        if n != 150:
            assert f"Note {n:03d}" in shown, n
    start = words.index("word0x0") - 2  # "Paragraph 0:"
    assert words[start:start + 3 * 122] == note.split()


@pytest.mark.django_db
def test_an_export_while_kms_cannot_unwrap_the_notes_is_a_503_not_a_copy_without_them(open_record, patient):
    """The PDF is the patient's copy of her record: with KMS unreachable its notes cannot be read,
    and a PDF that silently lacks them was answered. It is a 503 now, not audited, and the same
    request works once KMS answers. (The record's screens still list such entries, notes empty.)"""
    from phb.aws.clients import aws_client
    from records.crypto import clear_key_cache
    from records.models import AuditEvent
    from tests.aws_faults import unreachable

    entry = ClinicalEntry(patient=patient, kind=EntryKind.DIAGNOSIS, title="Asthma", occurred_on=date(2025, 1, 2))
    entry.notes = "Salbutamol as needed"
    entry.save()
    copied = ClinicalEntry.objects.create(patient=patient, kind=EntryKind.ENCOUNTER, title="Copied",
                                          occurred_on=date(2025, 1, 1), notes_encrypted=entry.notes_encrypted)
    client, token = open_record(patient)
    clear_key_cache()
    with unreachable(aws_client("kms"), "Decrypt"):
        refused = client.get(EXPORT_URL, **{MED_HEADER: token})
        listed = client.get("/api/patient/medical-record/", **{MED_HEADER: token})
    assert refused.status_code == 503, refused.status_code
    assert refused.json()["message"] == "Your record cannot be exported just now. Try again shortly."
    assert not AuditEvent.objects.filter(action="export").exists()
    assert listed.status_code == 200 and listed.json()["data"]["diagnoses"][0]["notes"] == ""

    exported = client.get(EXPORT_URL, **{MED_HEADER: token})  # the copied ciphertext never opens: not a 503
    assert exported.status_code == 200
    shown = shown_text(exported.content)
    assert "Salbutamol as needed" in shown
    assert f"{copied.occurred_on.isoformat()} Copied" in shown
