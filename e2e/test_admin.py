"""A hospital admin's journeys: /organization/login with the hospital code."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from e2e import people
from e2e.conftest import UI

pytestmark = pytest.mark.journey

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def admin_page(ui: UI) -> Page:
    page = ui.page("admin")
    page.set_viewport_size({"width": 1366, "height": 1400})  # the department wizard is tall
    people.sign_in_hospital_admin(page, ui.stack)
    return page


def test_admin_dashboard_and_departments(ui: UI) -> None:
    page = admin_page(ui)
    expect(page.get_by_text(re.compile(r"Good (Morning|Afternoon|Evening), Demo Hospital Admin"))).to_be_visible()
    expect(page.get_by_text(people.HOSPITAL_NAME).first).to_be_visible()
    expect(page.get_by_text("Error Loading Dashboard")).to_have_count(0)
    expect(page.get_by_text("Active Departments")).to_be_visible()

    page.goto("/organization/departments")
    expect(page.get_by_text("Department Management")).to_be_visible()
    total = page.locator("div", has=page.get_by_text("Total Departments", exact=True)).locator(
        "text=/^\\d+$/").first
    expect(total).to_be_visible()
    before = int(total.inner_text())
    for seeded in ("Cardiology", "General Medicine", "Neurology"):
        expect(page.get_by_role("heading", name=seeded, exact=True).first).to_be_visible()

    # Create, through the four-step wizard.
    page.get_by_role("button", name="Add Department").first.click()
    wizard = page.locator("div.fixed").filter(has=page.get_by_text("Create New Department")).last
    name = f"Dermatology Clinic {uuid.uuid4().hex[:4].upper()}"
    wizard.get_by_placeholder("e.g., Main Cardiology Department").fill(name)
    wizard.locator("select").first.select_option(label="Dermatology")
    wizard.get_by_placeholder("Brief description", exact=False).fill("Skin conditions, outpatient")
    wizard.get_by_role("button", name="Next").click()
    wizard.get_by_placeholder("e.g., 2301 or +1234567890").fill("2301")
    wizard.get_by_placeholder("e.g., +234 xxx xxx xxxx").fill("+234 801 234 5678")
    wizard.get_by_placeholder("dept@hospital.com").fill("dermatology@phb.test")
    wizard.get_by_role("button", name="Next").click()
    wizard.get_by_role("button", name="Next").click()
    expect(wizard.get_by_text("Ready to Create")).to_be_visible()
    wizard.get_by_role("button", name="Create Department").dispatch_event("click")
    card = page.locator("div", has=page.get_by_role("heading", name=name, exact=True)).filter(
        has=page.get_by_title("Edit Department")).last
    expect(card).to_be_visible()
    expect(total).to_have_text(str(before + 1))

    # Edit its description.
    card.get_by_title("Edit Department").click()
    editor = page.locator("div.fixed").filter(has=page.get_by_role("heading", name="Edit Department")).last
    editor.get_by_placeholder("Brief description", exact=False).fill("Skin, hair and nails; outpatient clinic")
    for _ in range(3):
        editor.get_by_role("button", name="Next").click()
    expect(editor.get_by_text("Ready to Save")).to_be_visible()
    editor.get_by_role("button", name="Create Department").dispatch_event("click")  # the wizard's submit label
    expect(editor).to_be_hidden()
    page.reload()
    card.get_by_role("button", name="Show More").click()
    expect(card.get_by_text("Skin, hair and nails; outpatient clinic")).to_be_visible()

    # Deactivate.
    card.get_by_title("Deactivate").click()
    confirm = page.locator("div.fixed").filter(has=page.get_by_role("heading", name="Deactivate Department")).last
    confirm.get_by_role("button", name=re.compile(r"^Deactivate")).last.click()
    expect(card.get_by_text("Inactive", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"\b1 inactive\b")).first).to_be_visible()


def admin_row_cells(page: Page, *, department: str, patient: str) -> dict[str, str]:
    page.goto("/organization/appointments")
    row = page.locator("tr", has_text=department).filter(has_text=patient).first
    expect(row).to_be_visible()
    headers = [h.strip().lower() for h in page.locator("thead th").all_inner_texts()]
    return dict(zip(headers, row.locator("td").all_inner_texts(), strict=False))


def test_admin_sees_appointments_with_patient_and_doctor_names(ui: UI) -> None:
    patient = ui.page("patient")
    people.sign_in(patient, ui.stack, email=people.PATIENT)
    day = people.next_weekday(6)
    people.book_and_pay(patient, symptoms=[("chest", "Chest pain")], day=day, slot="1:00 PM - 1:30 PM")

    page = admin_page(ui)
    cells = admin_row_cells(page, department="Cardiology", patient="Demo Patient")
    assert "Demo Patient" in cells["patient"], cells

    email = people.doctor_in(ui.stack, "Cardiology")
    assert email, "no demo doctor works in Cardiology"
    doctor = ui.page("doctor")
    people.sign_in(doctor, ui.stack, email=email)
    people.to_professional_view(doctor)
    doctor.locator("tr", has_text=f"{day:%A, %d %B %Y} at 1:00 PM").get_by_role("button", name="Accept").click()
    expect(doctor.get_by_text(re.compile(r"has been accepted successfully"))).to_be_visible()
    doctor_name = doctor.locator("h1 + p, h1 ~ p").first.inner_text().split("|")[0].strip()

    cells = admin_row_cells(page, department="Cardiology", patient="Demo Patient")
    assert cells["doctor"].strip(), f"the Doctor column is blank: {cells}"
    assert doctor_name.removeprefix("Dr ").removeprefix("Dr. ") in cells["doctor"], (doctor_name, cells)


def test_admin_approves_a_pending_registration(ui: UI) -> None:
    page = admin_page(ui)
    page.goto("/organization/user-registrations")
    expect(page.get_by_text("User Registration Management").first).to_be_visible()
    tab = page.get_by_role("button", name=re.compile(r"^Pending Approvals"))
    expect(tab).to_be_visible()
    approve = page.get_by_role("button", name=re.compile(r"Approve Patient$"))
    expect(approve.first).to_be_visible()  # the demo data holds registrations waiting for a decision
    waiting = approve.count()
    expect(tab).to_have_text(re.compile(rf"Pending Approvals\s*{waiting}$"))
    row = page.locator("tr", has=approve).first
    email = re.search(r"[\w.+-]+@[\w.-]+", row.inner_text()).group(0)
    row.get_by_role("button", name=re.compile(r"Approve Patient$")).click()
    expect(page.locator("tr", has_text=email).get_by_role("button", name=re.compile(r"Approve Patient$"))).to_have_count(0)
    expect(approve).to_have_count(waiting - 1)
    page.get_by_role("button", name=re.compile(r"^Active Users")).click()
    expect(page.get_by_text(email).first).to_be_visible()


def test_admin_publishes_a_guideline_the_doctor_downloads(ui: UI, tmp_path: Path) -> None:
    page = admin_page(ui)
    page.goto("/organization/clinical-guidelines")
    published = page.locator("div", has=page.get_by_text("Published", exact=True)).locator("text=/^\\d+$/").first
    expect(published).not_to_have_text("0")  # the demo's published guidelines
    published_before = int(published.inner_text())
    page.get_by_role("button", name="Add Guideline").click()
    title = f"Sepsis Management Protocol {uuid.uuid4().hex[:6]}"
    page.locator('input[name="title"]').fill(title)
    page.locator('textarea[name="description"]').fill("Recognition and first-hour bundle for adult sepsis")
    page.locator('select[name="category"]').select_option(index=1)
    page.locator('input[name="effective_date"]').fill("2026-01-01")
    page.locator('input[name="version"]').fill("1.0")
    document = tmp_path / "sepsis-protocol.pdf"
    document.write_bytes(PDF)
    page.locator('input[type="file"]').set_input_files(str(document))
    page.get_by_role("button", name="Publish Guideline").click()
    row = page.locator("div.grid.grid-cols-12", has_text=title)
    expect(row.get_by_text("Pending")).to_be_visible()  # uploaded; publishing is its own step
    row.get_by_text(title).click()
    page.get_by_role("button", name="Publish Now").click()  # confirm() is answered OK
    expect(row.get_by_text("Pending")).to_have_count(0)
    expect(published).to_have_text(str(published_before + 1))

    email = people.doctor_in(ui.stack, "General Medicine") or people.DOCTOR
    doctor = ui.page("doctor")
    people.sign_in(doctor, ui.stack, email=email)
    people.to_professional_view(doctor)
    doctor.goto("/professional/guidelines")
    entry = doctor.get_by_text(title).first
    expect(entry).to_be_visible()
    entry.click()
    with doctor.expect_download() as download:
        doctor.get_by_role("button", name=re.compile(r"Download", re.IGNORECASE)).first.click()
    saved = tmp_path / "downloaded.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes() == PDF


def test_admin_reads_the_organisation_profile(ui: UI) -> None:
    """The profile page finds the admin's hospital in the hospital list and shows what the
    operators recorded: verification, contact lines, the named contact and digital capabilities."""
    page = admin_page(ui)
    page.goto("/organization/settings/profile")
    expect(page.get_by_role("heading", name="Organisation Profile")).to_be_visible()
    expect(page.get_by_text("Failed to load organization profile")).to_have_count(0)
    expect(page.get_by_text(people.HOSPITAL_NAME).first).to_be_visible()
    expect(page.get_by_text("Verified", exact=True)).to_be_visible()
    expect(page.get_by_text("+234 1 000 0000")).to_be_visible()
    expect(page.get_by_text("https://demo-hospital.phb.test")).to_be_visible()
    expect(page.get_by_text("Hospital administrator", exact=True)).to_be_visible()
    expect(page.get_by_text("PHBDEMO")).to_be_visible()


def test_admin_filters_the_hospitals_administrators(ui: UI) -> None:
    """The user management page lists the hospital's administrators and filters them by status and
    type, including the statuses (pending, suspended) its own filter offers."""
    page = admin_page(ui)
    page.goto("/organization/settings/users")
    row = page.locator("tr", has=page.get_by_text("admin@phb.test"))
    expect(row).to_be_visible()
    expect(row.get_by_text("Organization Administrator")).to_be_visible()
    status, kind = page.locator("select").nth(1), page.locator("select").first
    for value in ("pending", "suspended", "inactive"):
        status.select_option(value)
        expect(row).to_have_count(0)
        expect(page.get_by_text("Failed to load users")).to_have_count(0)
    status.select_option("active")
    expect(row).to_be_visible()
    kind.select_option("department_head")
    expect(row).to_have_count(0)
    kind.select_option("general")
    expect(row).to_be_visible()
    expect(page.get_by_text("Failed to load")).to_have_count(0)


def test_admin_adds_a_doctor_who_signs_in_with_her_details(ui: UI) -> None:
    """Staff Roster's Add Staff form: the new doctor is listed, signs in with the emailed code, and
    her dashboard names the specialization the admin entered."""
    page = admin_page(ui)
    page.goto("/organization/staffing")
    page.get_by_role("button", name="Add Staff").first.click()
    form = page.locator("div.fixed.inset-0").filter(has=page.get_by_text("Add New Staff Member"))
    suffix = uuid.uuid4().hex[:6]
    # Listed after the demo doctors: ``people.doctor_in`` picks a department's first doctor by email.
    email, password = f"roster.{suffix}@phb.test", f"Roster-{suffix}-Passw0rd!"
    form.locator("#first_name").fill("Kemi")
    form.locator("#last_name").fill(f"Roster{suffix}")
    form.locator("#email").fill(email)
    form.locator("#password").fill(password)
    form.locator("#role").select_option("doctor")
    form.locator("#department").select_option(label="General Medicine")
    form.locator("#phone").fill("08031234567")
    form.locator("#date_of_birth").fill("1984-05-06")
    form.locator("[id='doctor_profile.medical_license_number']").fill(f"MDCN-{suffix}")
    form.locator("[id='doctor_profile.license_expiry_date']").fill("2029-06-30")
    form.locator("[id='doctor_profile.specialization']").fill("Family Medicine")
    form.locator("[id='doctor_profile.years_of_experience']").fill("9")
    form.get_by_role("button", name="Save Staff Member").click()
    expect(page.get_by_text(f"Kemi Roster{suffix}")).to_be_visible()
    assert ui.answers("/api/staff/", "POST") == [201]

    doctor = ui.page("new doctor")
    people.sign_in(doctor, ui.stack, email=email, password=password)
    expect(doctor).to_have_url(re.compile(r"/onboarding"))  # a new account's welcome tour
    doctor.get_by_text("Skip tour").click()
    doctor.get_by_role("button", name="Skip anyway").click()
    expect(doctor).not_to_have_url(re.compile(r"/onboarding"))
    people.to_professional_view(doctor)
    expect(doctor.get_by_text(re.compile(r"\| doctor \| Family Medicine"))).to_be_visible()
