"""A doctor's journeys: the booking the patient made reaches the right doctor's queue."""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.sync_api import Page, expect

from e2e import people
from e2e.conftest import UI

pytestmark = pytest.mark.journey


def counter(page: Page, label: str) -> int:
    """The number above a dashboard counter's label."""
    card = page.locator("div", has=page.get_by_text(label, exact=True)).filter(
        has=page.locator("p.text-lg")).last
    return int(card.locator("p.text-lg").first.inner_text())


def test_doctor_accepts_starts_prescribes_and_completes(ui: UI) -> None:
    # The patient's chest pain goes to Cardiology (the booking page's own routing).
    patient = ui.page("patient")
    people.sign_in(patient, ui.stack, email=people.PATIENT)
    day = people.next_weekday(5)
    people.book_and_pay(patient, symptoms=[("chest", "Chest pain")], day=day, slot="3:00 PM - 3:30 PM")

    email = people.doctor_in(ui.stack, "Cardiology")
    assert email, "no demo doctor works in Cardiology, where the booking page sends chest pain"
    page = ui.page("doctor")
    people.sign_in(page, ui.stack, email=email)
    page.goto("/account")
    expect(page.get_by_text("My Account")).to_be_visible()
    expect(page.get_by_text("Please register with a primary hospital")).to_have_count(0)

    people.to_professional_view(page)
    expect(page.get_by_text("Welcome to your doctor dashboard")).to_be_visible()
    expect(page.get_by_text(f"Cardiology, {people.HOSPITAL_NAME}")).to_be_visible()
    pending = page.locator("table", has=page.get_by_text("Reason", exact=True)).locator("tbody tr")
    when = f"{day:%A, %d %B %Y} at 3:00 PM"
    row = pending.filter(has_text=when)
    expect(row).to_have_count(1)
    expect(row.get_by_text("Demo Patient")).to_be_visible()
    expect(row.get_by_text("Chest - Chest pain")).to_be_visible()
    assert counter(page, "Pending in Department") == pending.count()
    confirmed_before = counter(page, "Confirmed Appointments")

    row.get_by_role("button", name="Accept").click()
    expect(page.get_by_text(re.compile(r"Appointment #APT-\w+ has been accepted successfully"))).to_be_visible()
    page.reload()
    confirmed = page.locator("table", has=page.get_by_text("Type", exact=True)).first.locator("tbody tr")
    expect(confirmed.filter(has_text=when)).to_have_count(1)
    assert counter(page, "Confirmed Appointments") == confirmed_before + 1
    assert counter(page, "Pending in Department") == pending.count()
    expect(pending.filter(has_text=when)).to_have_count(0)

    # Start the consultation from the appointments list.
    page.goto("/professional/appointments?filter=confirmed")
    mine = page.locator("tr", has_text="Demo Patient").filter(has_text=f"{day:%A, %d %B %Y}").filter(
        has_text="3:00 PM")
    mine.get_by_role("button", name="Start Consultation").click()
    expect(page).to_have_url(re.compile(r"/professional/appointments/APT-\w+$"))
    expect(page.get_by_text("In progress", exact=True).first).to_be_visible()

    # Prescribe.
    page.get_by_role("button", name="Add Prescriptions").first.click()
    page.get_by_placeholder("Start typing drug name...").fill("Amoxicillin")
    page.keyboard.press("Tab")
    page.get_by_placeholder("e.g., 500mg, 10mg/mL").fill("500mg")
    selects = page.locator("div.fixed select")
    selects.nth(0).select_option("Capsule")
    selects.nth(1).select_option("Oral")
    page.get_by_placeholder("e.g., 1 tablet, 2 teaspoons").fill("1 capsule")
    page.get_by_placeholder("e.g., twice daily, every 8 hours").fill("three times daily")
    page.get_by_placeholder("e.g., 7 days, 2 weeks").fill("7 days")
    page.get_by_placeholder("Reason for prescription").fill("Chest infection")
    page.get_by_placeholder("Instructions for the patient").fill("Take after meals")
    page.get_by_role("button", name="Add Prescriptions").last.click()
    expect(page.get_by_text("Medications (1):")).to_be_visible()
    expect(page.get_by_text("Amoxicillin").first).to_be_visible()
    expect(page.get_by_text("Frequency: three times daily")).to_be_visible()

    # Complete with notes; the notes are on the appointment afterwards.
    page.get_by_role("button", name="Mark as Completed").click()
    now = people.browser_now().replace(second=0, microsecond=0)
    meeting = page.locator('input[type="datetime-local"]')
    meeting.nth(0).fill(f"{now - datetime.timedelta(minutes=25):%Y-%m-%dT%H:%M}")
    meeting.nth(1).fill(f"{now - datetime.timedelta(minutes=5):%Y-%m-%dT%H:%M}")
    page.get_by_placeholder("Enter appointment summary here...").fill(
        "Chest pain is musculoskeletal; ECG normal. Review in two weeks.")
    page.get_by_role("button", name="Submit & Complete").click()
    expect(page.get_by_text("Completed", exact=True).first).to_be_visible()
    page.reload()
    expect(page.get_by_text("ECG normal", exact=False)).to_be_visible()
    expect(page.get_by_text("Prescribed by: Dr", exact=False).first).to_be_visible()

    # The patient's appointment lists the prescription as "name (dosage) - instructions".
    ref = re.search(r"/professional/appointments/(APT-\w+)$", page.url).group(1)
    patient.goto(f"/account/appointments/{ref}")
    prescribed = patient.locator("li", has_text="Amoxicillin")
    expect(prescribed).to_be_visible()
    expect(prescribed).to_contain_text("Amoxicillin (1 capsule) - Take after meals")


def test_doctor_reads_a_text_guideline_of_the_demo(ui: UI) -> None:
    """A published text guideline opens with its Markdown rendered (``storage/demo.py``)."""
    page = ui.page("doctor")
    people.sign_in(page, ui.stack, email=people.DOCTOR)
    people.to_professional_view(page)
    page.goto("/professional/guidelines")
    page.get_by_text("Hand hygiene in clinical areas").first.click()
    expect(page.get_by_role("heading", name="The five moments")).to_be_visible()
    expect(page.get_by_text("before touching a patient;")).to_be_visible()
    expect(page.get_by_text("Demo content of the PHB demo hospital; not for clinical use.").first).to_be_visible()
