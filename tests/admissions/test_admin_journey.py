"""The hospital-admin journey of the real frontend, call by call, at the API: sign in with the
emailed code, the dashboard (departments and admissions), the admissions page, a new admission
through the modal's look-ups, admit, a bed move, discharge. Cookie auth, as the browser sends it."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from rest_framework.test import APIClient

from admissions.models import Bed, BedStatus
from tests.admissions.helpers import ward
from tests.factories import PASSWORD, make_patient

pytestmark = pytest.mark.django_db


def signed_in_admin(client: APIClient, admin, hospital, capture) -> dict:
    with capture(execute=True):
        step1 = client.post("/api/hospitals/admin/login/", {"email": admin.email, "password": PASSWORD,
                                                             "hospital_code": hospital.code}, format="json")
    assert step1.status_code == 200
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    step2 = client.post("/api/hospitals/admin/verify-2fa/", {"email": admin.email, "verification_code": code},
                        format="json")
    assert step2.status_code == 200
    return step2.json()["user_data"]


def test_hospital_admin_journey(django_capture_on_commit_callbacks, hospital, hospital_admin, department, doctor):
    ward(department, code="JRN", beds=2)
    ward(department, code="JICU", beds=1, ward_type="icu")
    patient = make_patient(hospital=hospital)
    client = APIClient()
    user_data = signed_in_admin(client, hospital_admin, hospital, django_capture_on_commit_callbacks)
    hospital_id = user_data["hospital"]["id"]  # organizationAuthContext userData.hospital.id

    # Dashboard: useDepartmentStats + useAdmissionData.
    departments = client.get(f"/api/hospitals/departments/?hospital={hospital_id}").json()["departments"]
    dept = next(d for d in departments if d["id"] == department.pk)
    assert (dept["total_beds"], dept["icu_beds"], dept["available_beds"], dept["occupied_beds"]) == (3, 1, 3, 0)
    assert dept["current_staff_count"] == 1 and dept["is_active"] is True
    assert client.get("/api/admissions/").json() == []

    # New admission modal: doctors of the department, the patient by HPN, then the submit.
    doctors = client.get(f"/api/doctors/department/{department.pk}").json()
    found = client.get(f"/api/patients/search/?hpn={patient.hpn[:5]}").json()
    chosen = next(p for p in found if p["hpn"] == patient.hpn)
    created = client.post("/api/admissions/", {
        "patient": chosen["id"], "hospital": hospital_id, "department": int(str(department.pk)),
        "attending_doctor": int(str(doctors[0]["id"])), "reason_for_admission": "Shortness of breath",
        "diagnosis": "Asthma exacerbation", "priority": "urgent", "admission_type": "inpatient",
        "assign_bed": False}, format="json")
    assert created.status_code == 201
    assert created.json()["admission"]["department_name"] == department.name

    # The admissions page: the row, its stats, the detail modal, Admit.
    rows = client.get("/api/admissions/").json()
    assert [r["status"] for r in rows] == ["pending"]
    ref = rows[0]["admission_id"]
    assert rows[0]["attending_doctor_name"] == doctor.full_name and rows[0]["patient_name"] == patient.full_name
    admitted = client.post(f"/api/admissions/{ref}/admit/", {}, format="json")
    assert admitted.status_code == 200 and admitted.json()["bed_identifier"] == "JRN-1"

    # Edit: move to the ICU (the modal's "ICU Bed" box), then discharge with a summary.
    detail = client.get(f"/api/admissions/{ref}/").json()
    form = {"status": detail["status"], "diagnosis": detail["diagnosis"], "bed_identifier": detail["bed_identifier"],
            "is_icu_bed": True, "discharge_summary": "", "followup_instructions": ""}
    moved = client.patch(f"/api/admissions/{ref}/", form, format="json")
    assert moved.status_code == 200 and moved.json()["bed_identifier"] == "JICU-1"
    discharged = client.post(f"/api/admissions/{ref}/discharge/", {
        "discharge_summary": "Stable on inhalers", "followup_instructions": "Asthma clinic in a week",
        "discharge_destination": "Home"}, format="json")
    assert discharged.status_code == 200 and discharged.json()["status"] == "discharged"

    # Back on the dashboard: beds free again, "Discharged Today" counts her.
    assert Bed.objects.filter(ward__department=department, status=BedStatus.OCCUPIED).count() == 0
    assert [r["status"] for r in client.get("/api/admissions/").json()] == ["discharged"]
    figures = client.get("/api/admissions/dashboard/").json()
    assert figures["discharged_today"] == 1 and figures["admissions_today"] == 1
