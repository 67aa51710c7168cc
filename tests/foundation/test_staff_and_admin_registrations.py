"""Staff have a primary hospital (the one they work at), and a hospital admin's registrations page
lists and approves at the paths it calls (src/features/organization/components/UserRegistrationsPanel.tsx,
src/hooks/useRegistrationStats.ts), while patients keep their own registrations there."""

from __future__ import annotations

import pytest

from hospitals.models import HospitalRegistration, RegistrationStatus
from tests.factories import HospitalFactory, RegistrationFactory, UserFactory, make_doctor, make_hospital_admin
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["doctor", "hospital_admin"])
def test_staff_have_their_hospital_as_primary(role, department, hospital):
    user = make_doctor(department=department) if role == "doctor" else make_hospital_admin(hospital=hospital)
    body = client_for(user).get("/api/user/has-primary-hospital/").json()
    assert body["has_primary"] is True
    assert body["primary_hospital"]["id"] == hospital.id and body["primary_hospital"]["name"] == hospital.name
    assert body["primary_hospital"]["status"] == "approved"
    listing = client_for(user).get("/api/hospitals/").json()
    assert listing["has_primary"] is True and listing["primary_hospital"]["id"] == hospital.id


def test_a_patient_without_registration_still_has_none():
    body = client_for(UserFactory()).get("/api/user/has-primary-hospital/").json()
    assert body == {"has_primary": False, "primary_hospital": None}


def _pending(hospital, **user_fields):
    return RegistrationFactory(user=UserFactory(**user_fields), hospital=hospital, status=RegistrationStatus.PENDING)


def test_admin_lists_and_approves_at_the_frontend_paths(hospital):
    admin = make_hospital_admin(hospital=hospital)
    waiting = _pending(hospital, city="Ibadan", phone="+2348000000001", nin="12345678901")
    approved = RegistrationFactory(user=UserFactory(), hospital=hospital)
    _pending(HospitalFactory())  # another hospital's
    client = client_for(admin)

    pending = client.get("/api/hospitals/registrations/?status=pending").json()
    assert isinstance(pending, list)
    assert [r["id"] for r in pending] == [str(waiting.id)]
    row = pending[0]
    assert row["user"]["email"] == waiting.user.email and row["user"]["city"] == "Ibadan"
    assert row["user"]["hpn"] == waiting.user.hpn
    assert "12345678901" not in str(row), "identifiers are masked as on the profile"
    assert row["hospital"]["id"] == hospital.id and row["hospital"]["name"] == hospital.name
    assert row["status"] == "pending" and row["created_at"]
    assert [r["id"] for r in client.get("/api/hospitals/registrations/?status=approved").json()] == [str(approved.id)]

    response = client.post(f"/api/hospitals/registrations/{waiting.id}/approve/", format="json")
    assert response.status_code == 200, response.json()
    waiting.refresh_from_db()
    assert waiting.status == RegistrationStatus.APPROVED and waiting.decided_by == admin
    assert client.get("/api/hospitals/registrations/?status=pending").json() == []
    now_approved = client.get("/api/hospitals/registrations/?status=approved").json()
    assert {r["id"] for r in now_approved} == {str(waiting.id), str(approved.id)}
    assert next(r for r in now_approved if r["id"] == str(waiting.id))["approved_date"]
    assert client.get("/api/hospitals/registrations/?status=nonsense").status_code == 400


def test_admin_cannot_decide_another_hospitals_registration_nor_can_a_patient(hospital):
    elsewhere = _pending(HospitalFactory())
    admin = make_hospital_admin(hospital=hospital)
    assert client_for(admin).post(f"/api/hospitals/registrations/{elsewhere.id}/approve/").status_code == 404
    assert client_for(elsewhere.user).post(f"/api/hospitals/registrations/{elsewhere.id}/approve/").status_code == 404
    assert client_for(None).post(f"/api/hospitals/registrations/{elsewhere.id}/approve/").status_code == 401
    assert client_for(admin).post(f"/api/hospitals/registrations/{elsewhere.id}/reject/").status_code == 404
    elsewhere.refresh_from_db()
    assert elsewhere.status == RegistrationStatus.PENDING


def test_admin_rejects_at_the_frontend_path(hospital):
    waiting = _pending(hospital)
    response = client_for(make_hospital_admin(hospital=hospital)).post(
        f"/api/hospitals/registrations/{waiting.id}/reject/")
    assert response.status_code == 200
    assert HospitalRegistration.objects.get(pk=waiting.pk).status == RegistrationStatus.REJECTED


def test_patients_keep_their_own_registrations_at_the_same_path(hospital):
    mine = _pending(hospital)
    _pending(hospital)
    body = client_for(mine.user).get("/api/hospitals/registrations/").json()
    assert [r["id"] for r in body["registrations"]] == [str(mine.id)] and body["count"] == 1
    assert client_for(None).get("/api/hospitals/registrations/").status_code == 401
