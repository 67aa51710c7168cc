"""Dates an admission takes that only make sense one way: an expected discharge not before the stay
began, and a birth date (taken at the emergency door) not in the future."""

from __future__ import annotations

from datetime import timedelta

import pytest

from admissions.models import Admission
from phb.zones import today_at
from tests.admissions.helpers import admit
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def test_an_expected_discharge_date_before_the_stay_began_is_refused(hospital_admin, patient, department,
                                                                     general_ward):
    client = client_for(hospital_admin)
    today = today_at(department.hospital)
    body = {"patient": str(patient.pk), "department": department.pk, "reason_for_admission": "Pneumonia",
            "assign_bed": True}
    past = client.post("/api/admissions/", {**body, "expected_discharge_date": "2001-01-01"}, format="json")
    assert past.status_code == 400, past.json()
    assert past.json()["code"] == "invalid_date" and past.json()["message"].startswith("expected_discharge_date:")
    assert not Admission.objects.exists()

    made = client.post("/api/admissions/", {**body, "expected_discharge_date": today.isoformat()}, format="json")
    assert made.status_code == 201, made.json()
    ref = made.json()["admission_id"]
    earlier = client.patch(f"/api/admissions/{ref}/", {"expected_discharge_date": (today - timedelta(days=1))
                                                        .isoformat()}, format="json")
    assert earlier.status_code == 400 and earlier.json()["code"] == "invalid_date", earlier.json()
    assert Admission.objects.get(admission_id=ref).expected_discharge_date == today
    later = client.patch(f"/api/admissions/{ref}/", {"expected_discharge_date": (today + timedelta(days=3))
                                                      .isoformat()}, format="json")
    assert later.status_code == 200 and later.json()["expected_discharge_date"] == (today + timedelta(days=3)).isoformat()
    assert client.patch(f"/api/admissions/{ref}/", {"expected_discharge_date": None}, format="json").status_code == 200


def test_an_overdue_expected_discharge_date_of_a_longer_stay_can_still_be_set(hospital_admin, patient, department,
                                                                               general_ward):
    stay = admit(actor=hospital_admin, patient=patient, department=department)
    Admission.objects.filter(pk=stay.pk).update(admitted_at=stay.admitted_at - timedelta(days=5))
    yesterday = today_at(department.hospital) - timedelta(days=1)
    done = client_for(hospital_admin).patch(f"/api/admissions/{stay.admission_id}/",
                                            {"expected_discharge_date": yesterday.isoformat()}, format="json")
    assert done.status_code == 200, done.json()


@pytest.mark.parametrize("born", [1, 400, -365 * 140])
def test_the_emergency_door_refuses_a_birth_date_no_one_has(hospital_admin, department, general_ward, born):
    client = client_for(hospital_admin)
    body = {"department_id": department.pk, "reason_for_admission": "Collapsed", "assign_bed": True,
            "temp_patient_details": {"first_name": "Ada",
                                     "date_of_birth": (today_at() + timedelta(days=born)).isoformat()}}
    refused = client.post("/api/admissions/emergency_admission/", body, format="json")
    assert refused.status_code == 400, refused.json()
    assert "date_of_birth" in str(refused.json()["errors"]) and not Admission.objects.exists()
    body["temp_patient_details"]["date_of_birth"] = today_at().isoformat()  # born today
    made = client.post("/api/admissions/emergency_admission/", body, format="json")
    assert made.status_code == 201 and made.json()["patient_age"] == 0, made.json()


def test_an_admission_is_numbered_by_the_hospitals_date(monkeypatch, hospital_admin, patient, department,
                                                        general_ward):
    """At 23:30 UTC it is already tomorrow in Lagos: the admission id carries the hospital's date,
    the day the dashboard counts the admission in."""
    from datetime import UTC, datetime

    from django.utils import timezone

    assert str(department.hospital.time_zone or "Africa/Lagos") == "Africa/Lagos"
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 12, 6, 23, 30, tzinfo=UTC))
    client = client_for(hospital_admin)
    made = client.post("/api/admissions/", {"patient": str(patient.pk), "department": department.pk,
                                            "reason_for_admission": "Pneumonia", "assign_bed": True}, format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["admission_id"].startswith("ADM-20261207-")
    door = client.post("/api/admissions/emergency_admission/", {
        "department_id": department.pk, "reason_for_admission": "Collapsed", "assign_bed": False,
        "temp_patient_details": {"first_name": "Ada"}}, format="json")
    assert door.status_code == 201 and door.json()["admission_id"].startswith("ADM-20261207-"), door.json()
    figures = client.get("/api/admissions/dashboard/").json()
    assert figures["date"] == "2026-12-07" and figures["admissions_today"] == 2
