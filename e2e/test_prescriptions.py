"""A repeat prescription from the patient's request to the pharmacy counter.

The patient asks through /account/request-prescription; the pharmacist of her nominated pharmacy
screens it on the triage page (/professional/prescriptions/triage) before a doctor of her hospital
approves it on /professional/prescriptions, and checks the issued prescription there again; all in
the real pages. The pharmacist reaches the professional view as a doctor does, through the header's
Patient/Professional toggle: the header shows it to anyone ``/api/registry/my-info/`` answers, and
it answers a pharmacist (``professional_type: pharmacist``, ``verified``, which the triage page's
own guard reads). The page is opened by its address: the "Prescription Requests" link of a
pharmacist's menu points to ``/professional/prescription-triage``, a route the frontend does not
have (it shows "Page Not Found").

One step is not reachable in this frontend and is driven through the API with the same browser's
session cookies (and the frontend's Origin), as the page would send them: verifying and dispensing
the QR token (PharmacyVerification.tsx posts to ``VITE_API_URL``, ``http://localhost:5000/api`` in
this build, another origin, without credentials).
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import APIResponse, Locator, Page, expect

from e2e import people
from e2e.conftest import UI

pytestmark = pytest.mark.journey

PHARMACIST = "pharmacist@phb.test"


def api(ui: UI, page: Page, method: str, path: str, body: dict | None = None) -> APIResponse:
    """A call from ``page``'s browser session, as the frontend would make it."""
    return page.request.fetch(f"{ui.stack.api_url}{path}", method=method, data=body,
                              headers={"Origin": ui.stack.web_url, "Content-Type": "application/json"})


def request_repeat(page: Page, *, medication: str, strength: str) -> str:
    """The patient's three-step request form; returns the reference the success modal shows."""
    page.goto("/account/request-prescription")
    expect(page.get_by_text("Loading your prescriptions...")).to_have_count(0, timeout=20_000)
    page.get_by_role("button", name="Add New Request").click()
    page.get_by_placeholder("e.g., Amoxicillin").fill(medication)
    page.get_by_placeholder("e.g., 500mg").fill(strength)
    page.get_by_placeholder("Explain your symptoms and why you need this...").fill(
        "Type 2 diabetes; my current supply runs out next week")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Request Details")).to_be_visible()
    expect(page.locator('input[type="radio"][value="repeat"]')).to_be_checked()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Review & Submit")).to_be_visible()
    expect(page.get_by_text(medication).first).to_be_visible()
    page.get_by_text("I confirm this information is accurate").click()
    page.locator("button.bg-green-600").click()
    success = page.locator("div.fixed").filter(has=page.get_by_role("heading", name="Request Submitted!"))
    expect(success).to_be_visible(timeout=20_000)
    reference = success.locator("p.font-mono").inner_text().strip()
    assert reference and reference != "undefined", reference
    return reference


def awaiting_review(page: Page) -> Locator:
    """The "Awaiting Review" figure above the triage queue."""
    return page.locator(".MuiCard-root", has=page.get_by_text("Awaiting Review", exact=True)).locator("h4")


def approve_in_triage(ui: UI, page: Page, *, tab: str, reference: str, medication: str, status: str,
                      notes: str, message: str) -> dict:
    """The pharmacist opens the request from the triage queue's ``tab``, chooses Approve & Forward,
    writes her clinical notes and confirms; returns the request's detail as the API then answers it."""
    page.goto("/professional/prescriptions/triage")
    expect(page.get_by_role("heading", name="Pharmacist Triage Dashboard")).to_be_visible(timeout=20_000)
    page.get_by_role("tab", name=tab).click()
    row = page.locator("tr", has_text=reference)
    expect(row).to_be_visible(timeout=20_000)
    expect(row.get_by_text("Demo Patient")).to_be_visible()
    expect(row.get_by_text("1 medication(s)")).to_be_visible()
    expect(row.get_by_text(status, exact=True)).to_be_visible()
    expect(row.get_by_text("Pending", exact=True)).to_be_visible()  # no review at this stage yet
    awaiting = int(awaiting_review(page).inner_text())
    assert awaiting >= 1, awaiting  # this request counts

    row.get_by_role("button").click()  # the row's eye icon
    review = page.get_by_role("dialog")
    expect(review.get_by_text("Pharmacist Triage Review")).to_be_visible()
    expect(review.get_by_text(reference)).to_be_visible()
    expect(review.get_by_role("cell", name=medication, exact=True)).to_be_visible()
    review.get_by_role("button", name="Approve & Forward").click()
    expect(review.get_by_text("Approve Prescription Request")).to_be_visible()
    confirm = review.get_by_role("button", name="Confirm approve")
    expect(confirm).to_be_disabled()  # the clinical notes are required
    review.get_by_label("Pharmacist Clinical Notes").fill(notes)
    with page.expect_response(re.compile(r"/api/provider/prescriptions/triage/[^/]+/approve/$")) as answered:
        confirm.click()
    assert answered.value.status == 200, answered.value.text()
    expect(review.get_by_text(message)).to_be_visible()
    expect(review).to_have_count(0, timeout=10_000)  # the dialog closes and the queue reloads

    # Reviewed at this stage: off the "Not Reviewed" queue, one fewer awaiting review.
    expect(page.locator("tr", has_text=reference)).to_have_count(0)
    expect(awaiting_review(page)).to_have_text(str(awaiting - 1))
    request_id = answered.value.url.rstrip("/").split("/")[-2]
    detail = api(ui, page, "GET", f"/api/provider/prescriptions/triage/{request_id}/")
    assert detail.status == 200, detail.text()
    return detail.json()


def test_repeat_prescription_from_request_to_dispensing(ui: UI) -> None:
    medication = f"Metformin {uuid.uuid4().hex[:3].upper()}"  # the page lists requests by medication
    patient = ui.page("patient")
    people.sign_in(patient, ui.stack, email=people.PATIENT)
    reference = request_repeat(patient, medication=medication, strength="500mg")

    # The pharmacist of her nominated pharmacy signs in with the emailed code, switches to the
    # professional view with the header's toggle and screens the request before the prescriber.
    pharmacist = ui.page("pharmacist")
    people.sign_in(pharmacist, ui.stack, email=PHARMACIST)
    people.to_professional_view(pharmacist)
    expect(pharmacist.get_by_role("link", name="Pharmacy Prescriptions").first).to_be_visible()  # her menu
    screened = approve_in_triage(ui, pharmacist, tab="Awaiting Review", reference=reference, medication=medication,
                                 status="REQUESTED", notes="Metformin suits her recorded conditions.",
                                 message="Reviewed and passed to the prescriber.")
    assert screened["status"] == "REQUESTED", screened
    assert screened["review_history"]["review_action"] == "approved", screened["review_history"]

    # A doctor of her hospital finds it among the pending requests and approves it.
    doctor = ui.page("doctor")
    people.sign_in(doctor, ui.stack, email=people.DOCTOR)
    people.to_professional_view(doctor)
    doctor.goto("/professional/prescriptions")
    expect(doctor.get_by_role("heading", name="Prescription Requests")).to_be_visible()
    row = doctor.locator("tr", has_text=reference)
    expect(row).to_be_visible(timeout=20_000)
    expect(row.get_by_text("Demo Patient")).to_be_visible()
    expect(row.get_by_text("1 medication", exact=True)).to_be_visible()
    row.get_by_role("button", name="Review").click()
    doctor.get_by_role("button", name="Approve & Issue Prescription").click()
    expect(doctor.get_by_role("heading", name="Approve Prescription")).to_be_visible()
    doctor.locator('input[type="number"]').first.fill("56")
    doctor.get_by_placeholder("e.g., Take 1 tablet twice daily with food").fill("Take 1 tablet twice daily with food")
    doctor.get_by_role("button", name="Confirm Approval").click()
    ui.wait_for_alert(doctor, "Prescription approved successfully!", timeout_ms=20_000)
    doctor.get_by_role("button", name="Approved", exact=True).click()
    expect(doctor.locator("tr", has_text=reference)).to_be_visible()

    # The patient's prescriptions page lists the issued medicine, ready to collect.
    patient.goto("/account/prescriptions")
    issued = patient.locator("tr", has_text=medication)
    expect(issued).to_be_visible(timeout=20_000)
    expect(issued.get_by_text("Ready to collect")).to_be_visible()

    # The pharmacist checks the issued prescription: the page's "Awaiting Review" tab lists only
    # requests not yet issued (``status=REQUESTED``), so she finds it under "All Requests", not yet
    # reviewed at this stage; the patient is told it is ready to collect.
    checked = approve_in_triage(ui, pharmacist, tab="All Requests", reference=reference, medication=medication,
                                status="APPROVED", notes="No interactions with her recorded medicines.",
                                message="Checked: the patient has been told it is ready to collect.")
    assert checked["status"] == "APPROVED", checked
    assert checked["review_history"]["review_action"] == "approved", checked["review_history"]
    assert checked["medications"][0]["quantity"] == 56, checked["medications"]  # what the doctor issued

    # At the counter: the token the patient's prescription carries, verified and dispensed once.
    listed = api(ui, patient, "GET", "/api/prescriptions/")
    assert listed.status == 200, listed.text()
    item = next(m for m in listed.json()["medications"] if m["medication_name"] == medication)
    token = item["signed_prescription_data"]
    assert token and token["signature"], item
    pharmacy_code = ui.stack.query(
        "from pharmacies.models import Pharmacist\n"
        f"print('CODE=' + Pharmacist.objects.get(user__email={PHARMACIST!r}).pharmacy.code)").rpartition("CODE=")[2]
    check = api(ui, pharmacist, "POST", "/api/prescriptions/verify/",
                {"payload": token["payload"], "signature": token["signature"], "pharmacy_code": pharmacy_code,
                 "pharmacy_name": "Demo pharmacy"})
    assert check.status == 200, check.text()
    assert check.json()["valid"] is True and check.json()["details"]["medication"] == medication, check.json()
    assert check.json()["details"]["dispensed"] is False, check.json()
    dispense = {"prescription_id": token["payload"]["id"], "nonce": token["payload"]["nonce"],
                "pharmacy_code": pharmacy_code, "pharmacist_name": "Demo Pharmacist",
                "verification_notes": "Identity checked against the HPN"}
    assert api(ui, pharmacist, "POST", "/api/prescriptions/dispense/", dispense).status == 200
    again = api(ui, pharmacist, "POST", "/api/prescriptions/dispense/", dispense)
    assert again.status == 409 and again.json()["code"] == "already_dispensed", again.text()

    # The patient's page moves it to the collected medicines.
    patient.reload()
    patient.get_by_role("button", name="In progress", exact=True).click()
    collected = patient.locator("tr", has_text=medication)
    expect(collected.get_by_text("Collected", exact=True)).to_be_visible(timeout=20_000)
