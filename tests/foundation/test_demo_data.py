"""What ``seed_demo`` gives each dashboard of the real frontend: a doctor wherever the booking
page can route a patient, queues and counts on every doctor's dashboard, registrations for the
hospital admin to approve, a past visit for the demo patient, and clinical guidelines to read and
to review."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from accounts.models import User
from hospitals.models import Department, Hospital, HospitalRegistration, RegistrationStatus, StaffMember
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

# BookAppointment.tsx matchWithDepartment: the first department named for the first body part;
# the first department of the list (ordered by name) otherwise.
ROUTED = ("Neurology", "ENT", "Cardiology", "Gastroenterology", "Orthopedics")


@pytest.fixture
def demo():
    call_command("seed_demo", stdout=io.StringIO())
    return Hospital.objects.get(code="PHBDEMO")


def _dashboard(email: str) -> dict:
    response = client_for(User.objects.get(email=email)).get("/api/department-pending-appointments/")
    assert response.status_code == 200, response.json()
    return response.json()


def test_every_department_and_every_routed_one_has_a_doctor(demo, settings):
    departments = list(Department.objects.filter(hospital=demo, is_active=True).order_by("name"))
    staffed = set(StaffMember.objects.filter(hospital=demo, user__role="doctor").values_list("department__name",
                                                                                              flat=True))
    assert {d.name for d in departments} <= staffed
    assert set(ROUTED) | {departments[0].name} <= staffed
    for department in departments:
        doctor = StaffMember.objects.filter(department=department, user__role="doctor").first().user
        assert doctor.check_password(settings.DEMO_PASSWORD)


def test_the_general_medicine_dashboard_has_something_in_every_counter(demo):
    body = _dashboard("doctor@phb.test")
    summary = body["summary"]
    assert summary["pending_department_count"] == 3
    assert summary["my_appointments_count"]["confirmed"] == 2 and summary["my_appointments_count"]["completed"] == 2
    assert summary["today_appointments"] == 1 and summary["upcoming_appointments"] >= 1
    assert len(body["pending_department_appointments"]) == 3
    assert all(a["patient_full_name"] and a["chief_complaint"] for a in body["pending_department_appointments"])
    assert body["doctor_info"]["department"]["name"] == "General Medicine"


def test_every_specialist_sees_a_queue_and_a_confirmed_appointment(demo):
    for staff in StaffMember.objects.filter(hospital=demo, user__role="doctor").exclude(
            department__name="General Medicine").select_related("user"):
        summary = _dashboard(staff.user.email)["summary"]
        assert summary["pending_department_count"] >= 1, staff.department.name
        assert summary["my_appointments_count"]["confirmed"] >= 1, staff.department.name


def test_the_hospital_admin_has_registrations_to_approve_and_a_full_appointments_table(demo):
    admin = client_for(User.objects.get(email="admin@phb.test"))
    pending = admin.get("/api/hospitals/registrations/?status=pending").json()
    assert len(pending) == 2 and all(r["user"]["email"].endswith("@phb.test") for r in pending)
    assert len(admin.get("/api/hospitals/registrations/?status=approved").json()) >= 5
    table = admin.get("/api/hospitals/appointments/").json()
    assert table["total_count"] >= 15
    assert {a["status"] for a in table["appointments"]} >= {"pending", "confirmed", "completed", "cancelled"}
    assert all(a["patient_full_name"] for a in table["appointments"])


def test_the_demo_patient_has_one_past_visit_and_nothing_ahead(demo):
    appointments = client_for(User.objects.get(email="patient@phb.test")).get("/api/appointments/").json()
    items = appointments if isinstance(appointments, list) else appointments.get("appointments", appointments)
    assert [a["status"] for a in items] == ["completed"]


def _guidelines(email: str, query: str = "") -> list[dict]:
    response = client_for(User.objects.get(email=email)).get(f"/api/clinical-guidelines/{query}")
    assert response.status_code == 200, response.json()
    return response.json()


def test_the_doctor_reads_published_text_guidelines_and_the_admin_has_one_to_review(demo):
    published = _guidelines("doctor@phb.test", "?is_published=true")  # what ClinicalGuidelinesPage asks
    assert len(published) == 4
    assert all(g["content_type"] == "text" and g["text_content"].startswith("## ") for g in published)
    assert all(g["approval_status"] == "published" and g["is_published"] for g in published)
    assert {g["organization_name"] for g in published} == {demo.name}
    pending = [g for g in _guidelines("admin@phb.test") if g["approval_status"] == "pending_review"]
    assert [g["title"] for g in pending] == ["Fever in children under five: first assessment"]
    stats = client_for(User.objects.get(email="admin@phb.test")).get("/api/clinical-guidelines/stats/").json()
    assert stats["published_guidelines"] == 4 and stats["pending_approval"] == 1


def test_seeding_again_adds_no_guideline_and_puts_back_a_missing_one(demo):
    from storage.models import ClinicalGuideline

    before = set(ClinicalGuideline.objects.values_list("guideline_id", flat=True))
    ClinicalGuideline.objects.filter(title="Sepsis: the first hour").delete()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "1 clinical guidelines added" in out.getvalue()
    after = ClinicalGuideline.objects.filter(organization=demo)
    assert after.count() == 5 and len(before & set(after.values_list("guideline_id", flat=True))) == 4
    assert after.get(title="Sepsis: the first hour").is_published


def test_seeding_again_keeps_the_primary_hospital_a_demo_patient_chose(demo):
    """``make run`` seeds at every start: a demo patient who has since made another hospital her
    primary one keeps it, and the seeding does not fail on it."""
    other = Hospital.objects.create(name="Another Hospital", code="OTHER1", auto_approve_registrations=True)
    for email in ("patient@phb.test", "amina.bello@phb.test"):
        client = client_for(User.objects.get(email=email))
        chose = client.post("/api/hospitals/register/", {"hospital": other.pk, "is_primary": True}, format="json")
        assert chose.status_code == 201, chose.json()
    call_command("seed_demo", stdout=io.StringIO())

    for email in ("patient@phb.test", "amina.bello@phb.test"):
        primary = HospitalRegistration.objects.get(user__email=email, is_primary=True)
        assert primary.hospital_id == other.pk
        assert HospitalRegistration.objects.get(user__email=email, hospital=demo).status == RegistrationStatus.APPROVED


def test_the_demo_patient_has_a_birth_date_that_seeding_again_keeps(demo):
    """Staff pages show her birth date and age; seeding again keeps one she changed."""
    from datetime import date

    patient = User.objects.get(email="patient@phb.test")
    assert patient.date_of_birth is not None
    assert client_for(patient).get("/api/profile/").json()["date_of_birth"] == patient.date_of_birth.isoformat()
    patient.date_of_birth = date(1988, 1, 2)
    patient.save(update_fields=["date_of_birth"])
    call_command("seed_demo", stdout=io.StringIO())
    patient.refresh_from_db()
    assert patient.date_of_birth == date(1988, 1, 2)
