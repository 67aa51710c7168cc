"""A repeat prescription from the patient's request to the pharmacy counter.

The patient asks through /account/request-prescription and a doctor of her hospital approves it on
/professional/prescriptions, both in the real pages. Two steps are not reachable in this frontend
and are driven through the API with the same browser's session cookies (and the frontend's Origin),
as the page would send them:
- the pharmacist's triage: /professional/prescriptions/triage sits in the professional layout,
  which sends anyone without the doctor view (a toggle only doctors' headers show) back to
  /account (``/api/registry/my-info/`` answers a pharmacist with ``professional_type: pharmacist``,
  but the layout's redirect comes first);
- verifying and dispensing the QR token: PharmacyVerification.tsx posts to ``VITE_API_URL``
  (``http://localhost:5000/api`` in this build, another origin) without credentials.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import APIResponse, Page, expect

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


def test_repeat_prescription_from_request_to_dispensing(ui: UI) -> None:
    medication = f"Metformin {uuid.uuid4().hex[:3].upper()}"  # the page lists requests by medication
    patient = ui.page("patient")
    people.sign_in(patient, ui.stack, email=people.PATIENT)
    reference = request_repeat(patient, medication=medication, strength="500mg")

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

    # The pharmacist of her nominated pharmacy signs in with the emailed code and triages it.
    pharmacist = ui.page("pharmacist")
    people.sign_in(pharmacist, ui.stack, email=PHARMACIST)
    pharmacist.goto("/professional/prescriptions/triage")
    expect(pharmacist).to_have_url(re.compile(r"/account$"))  # the page a pharmacist cannot open
    queue = api(ui, pharmacist, "GET", "/api/provider/prescriptions/triage/?per_page=100")
    assert queue.status == 200, queue.text()
    mine = [r for r in queue.json()["requests"] if r.get("request_reference") == reference]
    assert len(mine) == 1, f"{reference} is not in the pharmacy's queue"
    request_id = mine[0]["id"]
    detail = api(ui, pharmacist, "GET", f"/api/provider/prescriptions/triage/{request_id}/")
    assert detail.status == 200, detail.text()
    assert medication in detail.text()
    approved = api(ui, pharmacist, "POST", f"/api/provider/prescriptions/triage/{request_id}/approve/",
                   {"pharmacist_notes": "No interactions with her recorded medicines."})
    assert approved.status == 200, approved.text()

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
