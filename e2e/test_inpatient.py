"""A hospital admin's inpatient care: the dashboard's admission figures, the admissions list of the
demo hospital, and one stay from the emergency door to discharge, each step read back from the page."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Locator, Page, expect

from e2e import people
from e2e.conftest import UI

pytestmark = pytest.mark.journey

SEEDED_ADMITTED = ("Chidi Okeke", "Aisha Bello", "Tunde Adeyemi")
SEEDED_PENDING = "Ngozi Eze"


def figure(page: Page, label: str) -> Locator:
    """The number above a label in the admissions page's summary cards."""
    return page.locator("div.shadow-md", has=page.get_by_text(label, exact=True)).locator("div.text-2xl")


def row_of(page: Page, name: str) -> Locator:
    return page.locator("tbody tr", has_text=name)


def cells(row: Locator, page: Page) -> dict[str, str]:
    headers = [h.strip().lower() for h in page.locator("thead th").all_inner_texts()]
    return dict(zip(headers, [c.strip() for c in row.locator("td").all_inner_texts()], strict=False))


def open_detail(page: Page, name: str) -> Locator:
    row_of(page, name).get_by_role("button", name="View").click()
    modal = page.locator("div.fixed").filter(has=page.get_by_text("Basic Information")).last
    expect(modal.get_by_text(name).first).to_be_visible()
    return modal


def free_bed(ui: UI, *, ward: str, other_than: str) -> str:
    found = ui.stack.query(
        "from admissions.models import Bed\n"
        f"b = Bed.objects.filter(ward__code={ward!r}, status='available').order_by('number')\n"
        f"print('BEDS=' + ','.join(f'{{x.ward.code}}-{{x.number}}' for x in b))")
    beds = [b for b in found.rpartition("BEDS=")[2].strip().split(",") if b and b != other_than]
    assert beds, f"no free bed in {ward}"
    return beds[0]


def test_admin_admits_moves_and_discharges_a_patient(ui: UI) -> None:
    page = ui.page("admin")
    page.set_viewport_size({"width": 1366, "height": 1400})
    people.sign_in_hospital_admin(page, ui.stack)

    # The dashboard: the occupancy card counts the admitted patients, the list names them.
    occupancy = page.locator("div", has=page.get_by_text("Patient Occupancy", exact=True)).locator(
        "text=/^\\d+\\/\\d+$/").first
    expect(occupancy).to_be_visible()
    admitted_on_dashboard, beds_on_dashboard = (int(n) for n in occupancy.inner_text().split("/"))
    assert admitted_on_dashboard >= len(SEEDED_ADMITTED) and beds_on_dashboard > admitted_on_dashboard
    expect(page.get_by_text(re.compile(r"^\d+ emergency cases$"))).to_be_visible()
    expect(page.get_by_role("heading", name="Recent Admissions").last).to_be_visible()
    for name, department in zip(SEEDED_ADMITTED, ("Cardiology", "General Medicine", "Neurology"), strict=True):
        entry = page.locator("div", has=page.get_by_role("heading", name=name, exact=True)).filter(
            has_text=f"{department} • admitted").last
        expect(entry).to_be_visible()

    # The admissions list: the seeded stays, and summary figures that agree with the dashboard.
    page.goto("/organization/admissions")
    expect(page.get_by_role("heading", name="Patient Admissions")).to_be_visible()
    for name in SEEDED_ADMITTED:
        row = row_of(page, name)
        expect(row).to_be_visible()
        assert cells(row, page)["status"] == "Admitted", cells(row, page)
        assert cells(row, page)["room"] not in ("", "—"), f"{name} is admitted without a bed: {cells(row, page)}"
    expect(row_of(page, SEEDED_PENDING).get_by_text("Pending", exact=True)).to_be_visible()
    expect(figure(page, "Currently Admitted")).to_have_text(str(admitted_on_dashboard))
    admitted = int(figure(page, "Currently Admitted").inner_text())
    pending = int(figure(page, "Pending Admission").inner_text())
    discharged = int(figure(page, "Discharged Today").inner_text())

    # A new admission through the modal's emergency door, created pending.
    first, last = "Emeka", f"Nwosu{uuid.uuid4().hex[:4].upper()}"
    name = f"{first} {last}"
    page.get_by_role("button", name="New Admission").first.click()
    modal = page.locator("div.fixed").filter(has=page.get_by_role("heading", name="New Patient Admission")).last
    modal.get_by_role("button", name="Emergency Admission").click()
    for field, value in {"first_name": first, "last_name": last, "age": "38", "phone_number": "+2348012345678",
                         "city": "Ikeja", "emergency_contact_name": "Ada Nwosu",
                         "emergency_contact": "+2348098765432",
                         "reason_for_admission": "Acute abdominal pain, query appendicitis",
                         "chief_complaint": "Right lower abdominal pain since last night"}.items():
        modal.locator(f'[name="{field}"]').fill(value)
    modal.locator('select[name="gender"]').select_option("male")
    department = modal.locator('select[name="department_id"]')
    cardiology = department.locator("option", has_text=re.compile(r"^Cardiology \(\d+ beds available\)$")).first
    department.select_option(label=cardiology.inner_text())
    doctor = modal.locator('select[name="attending_doctor_id"] option', has_text="Dr. ").first
    expect(doctor).to_be_attached()
    doctor_label = doctor.inner_text()
    modal.locator('select[name="attending_doctor_id"]').select_option(label=doctor_label)
    modal.locator('input[name="admission_action"][value="create_pending"]').check()
    modal.get_by_role("button", name="Create Pending Emergency Admission").click()
    row = row_of(page, name)
    expect(row).to_be_visible(timeout=20_000)  # the page reloads after the modal closes
    shown = cells(row, page)
    assert shown["status"] == "Pending", shown
    assert shown["reason"] == "Acute abdominal pain, query appendicitis", shown
    assert shown["age"] == "38", shown
    doctor_name = doctor_label.removeprefix("Dr. ").split(" - ")[0].strip()
    assert doctor_name in shown["attending doctor"], (doctor_label, shown)
    expect(figure(page, "Pending Admission")).to_have_text(str(pending + 1))

    # Admit: the detail modal's button takes a bed.
    detail = open_detail(page, name)
    detail.get_by_role("button", name="Admit Patient").click()
    # The modal starts the page's reload and then alerts; the reload waits for the alert's answer.
    ui.wait_for_alert(page, "admitted successfully", timeout_ms=20_000)
    expect(row.get_by_text("Admitted", exact=True)).to_be_visible(timeout=20_000)
    first_bed = cells(row, page)["room"]
    assert re.fullmatch(r"CARD-W-\d+|CCU-\d+", first_bed), cells(row, page)
    expect(figure(page, "Currently Admitted")).to_have_text(str(admitted + 1))
    expect(figure(page, "Pending Admission")).to_have_text(str(pending))

    # Transfer: the detail modal's edit names another free bed of the ward.
    target = free_bed(ui, ward=first_bed.rsplit("-", 1)[0], other_than=first_bed)
    detail = open_detail(page, name)
    expect(detail.get_by_text(first_bed).first).to_be_visible()
    detail.get_by_role("button", name="Edit Details").click()
    detail.locator('input[name="bed_identifier"]').fill(target)
    detail.get_by_role("button", name="Save Changes").click()
    expect(row.locator("td").nth(6)).to_have_text(target, timeout=20_000)
    assert cells(row, page)["status"] == "Admitted", cells(row, page)
    expect(figure(page, "Currently Admitted")).to_have_text(str(admitted + 1))

    # Discharge, with the summary the modal asks for first.
    detail = open_detail(page, name)
    expect(detail.get_by_text(target).first).to_be_visible()
    detail.get_by_role("button", name="Edit Details").click()
    detail.locator('textarea[name="discharge_summary"]').fill("Appendicitis excluded; pain settled on analgesia.")
    detail.locator('textarea[name="followup_instructions"]').fill("GP review in one week.")
    detail.get_by_role("button", name="Discharge Patient").click()
    ui.wait_for_alert(page, "discharged successfully", timeout_ms=20_000)
    expect(row.get_by_text("Discharged", exact=True)).to_be_visible(timeout=20_000)
    expect(figure(page, "Currently Admitted")).to_have_text(str(admitted))
    expect(figure(page, "Discharged Today")).to_have_text(str(discharged + 1))
    detail = open_detail(page, name)
    expect(detail.get_by_text("Appendicitis excluded; pain settled on analgesia.")).to_be_visible()
