"""A patient's journeys through the real frontend."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from e2e import people
from e2e.conftest import UI

pytestmark = pytest.mark.journey

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def test_patient_signs_in_opens_records_and_uploads_a_document(ui: UI, tmp_path: Path) -> None:
    page = ui.page("patient", returning_visitor=False)
    people.sign_in(page, ui.stack, email=people.PATIENT)
    page.goto("/account")
    people.accept_storage_notice(page)
    expect(page.get_by_text("Demo Patient").first).to_be_visible()

    # Medical records open only with a second, emailed code.
    page.goto("/account/medical-records")
    expect(page.get_by_text("Secure Access Required")).to_be_visible()
    mark = ui.stack.mailbox.mark()
    page.get_by_role("button", name="Request Verification Code").click()
    page.get_by_placeholder("Enter 6-digit code").fill(ui.stack.mailbox.wait_for_code(people.PATIENT, since=mark))
    page.get_by_role("button", name="Verify Code").click()
    expect(page.get_by_text("Patient Health Profile")).to_be_visible()
    expect(page.get_by_text(re.compile(r"HPN: \d{13}"))).to_be_visible()
    expect(page.get_by_text("Session expires in:").first).to_be_visible()

    # A document: upload, then it is listed and opens in the preview.
    document = tmp_path / "blood-test-results.pdf"
    document.write_bytes(PDF)
    page.goto("/account/health-records")
    page.get_by_role("button", name="Upload Document").first.click()
    with page.expect_response(lambda r: "/api/secure/upload/" in r.url and r.request.method == "POST") as upload:
        page.locator("input[type=file]").set_input_files(str(document))
    assert upload.value.status in (200, 201), upload.value.status
    # The page lists the document again, then alerts; only then is it safe to navigate.
    ui.wait_for_alert(page, "Successfully uploaded 1 file(s)")
    expect(page.get_by_text("blood-test-results.pdf").first).to_be_visible()
    page.goto("/account/health-records")
    expect(page.get_by_text("blood-test-results.pdf").first).to_be_visible()
    expect(page.get_by_text(re.compile(r"\b[1-9][0-9]* files?\b")).first).to_be_visible()
    with page.expect_response(lambda r: "/preview/" in r.url) as preview:
        page.get_by_role("button", name="View").first.click()
    assert preview.value.status == 200, preview.value.status
    expect(page.locator("iframe").first).to_be_visible()
    expect(page.get_by_text("Failed to load document")).to_have_count(0)


def test_patient_books_pays_and_sees_the_appointment(ui: UI) -> None:
    page = ui.page("patient")
    people.sign_in(page, ui.stack, email=people.PATIENT)
    day = people.next_weekday(3)
    people.choose_slot(page, symptoms=[("chest", "Chest pain")], day=day, slot="10:30 AM - 11:00 AM")
    page.get_by_role("button", name="Proceed to Payment").click()
    modal = page.locator("div.fixed.inset-0", has=page.get_by_role("heading", name="Complete Payment"))
    expect(modal.get_by_text("Cardiology")).to_be_visible()
    expect(modal.get_by_text("10:30 AM - 11:00 AM")).to_be_visible()
    expect(modal.get_by_text("₦7,500").first).to_be_visible()

    # She closes the payment window and presses Proceed again: her own hold is reused.
    modal.locator("button").first.click()
    expect(modal).to_be_hidden()
    page.get_by_role("button", name="Proceed to Payment").click()
    expect(modal.get_by_text("10:30 AM - 11:00 AM")).to_be_visible()
    assert 409 not in ui.answers("/api/payments/initialize/", "POST"), "her own hold answered 409"

    # Paystack's checkout (the local stand-in) in its own window; pay, and it returns to the frontend.
    checkout = people.pay_in_checkout(page)
    # The callback lands on a real page of hers, not on a built-in sample appointment.
    expect(checkout.get_by_text("Cardiology").first).to_be_visible()
    expect(checkout.get_by_text("Dr. Sarah Johnson")).to_have_count(0)
    checkout.close()

    expect(page.get_by_text("Payment Successful!")).to_be_visible(timeout=20_000)
    expect(page.get_by_text("₦7,500").last).to_be_visible()

    page.goto("/account/appointments")
    when = f"{day:%A}, {day.day} {day:%B %Y} at 10:30 AM"
    row = page.locator("li, div.border, a", has_text=when).filter(has_text="Cardiology").last
    expect(row).to_be_visible()
    expect(row.get_by_text(people.HOSPITAL_NAME)).to_be_visible()
    row.get_by_text("View details").click()
    expect(page).to_have_url(re.compile(r"/account/appointments/[A-Za-z0-9-]+$"))
    expect(page.get_by_text("Date & Time")).to_be_visible()
    expect(page.get_by_text(re.compile(rf"{day.day} {day:%B %Y} at 10:30"))).to_be_visible()
    expect(page.get_by_text("Dr. Sarah Johnson")).to_have_count(0)

    # The list with its search: searching works (the page lower-cases each appointment's provider as
    # she types) and the booking keeps its heading, the doctor the roster gave it.
    page.goto("/account/appointments/view")
    page.get_by_placeholder("Search appointments...").fill("cardio")
    card = page.locator("div.bg-gray-50", has_text=when)
    expect(card).to_be_visible()
    expect(card.locator("h3")).to_have_text(re.compile(r"^Dr\.? \S"))


def test_patient_signs_out(ui: UI) -> None:
    page = ui.page("patient")
    people.sign_in(page, ui.stack, email=people.PATIENT)
    page.goto("/account")
    page.get_by_role("button", name="Sign out").first.click()
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_placeholder("Enter your email")).to_be_visible()
