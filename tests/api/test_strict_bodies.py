"""Real endpoints refuse a JSON body whose values have another type than the API description
states (a 400 naming the field, nothing written), and take the same request with the right types."""

from __future__ import annotations

import pytest

from hospitals.models import Department, HospitalRegistration
from tests.factories import HospitalFactory, UserFactory
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def _refused(response, field: str) -> None:
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["message"].startswith(f"{field}: "), body
    assert field in body["errors"]


@pytest.mark.parametrize(("make_body", "field"), [
    (lambda pk: {"hospital": str(pk), "is_primary": True}, "hospital"),   # a numeric string for an integer
    (lambda pk: {"hospital": True, "is_primary": True}, "hospital"),      # a boolean for an integer
    (lambda pk: {"hospital": pk, "is_primary": "true"}, "is_primary"),    # text for a boolean
    (lambda pk: {"hospital": pk, "is_primary": 1}, "is_primary"),         # 1 for a boolean
])
def test_hospital_registration_refuses_wrong_types(make_body, field):
    hospital = HospitalFactory(auto_approve_registrations=True)
    client = client_for(UserFactory())
    _refused(client.post("/api/hospitals/register/", make_body(hospital.id), format="json"), field)
    assert not HospitalRegistration.objects.exists()
    accepted = client.post("/api/hospitals/register/", {"hospital": hospital.id, "is_primary": True}, format="json")
    assert accepted.status_code == 201, accepted.json()


DEPARTMENT = {
    "name": "Paediatrics East", "code": "PED-PAE", "department_type": "pediatrics", "floor_number": "2",
    "wing": "east", "extension_number": "2201", "minimum_staff_required": 10, "is_active": True, "total_beds": 6,
}


@pytest.mark.parametrize(("field", "value"), [
    ("floor_number", 2),          # a number for a text field
    ("total_beds", "6"),          # text for an integer
    ("minimum_staff_required", 10.5),
    ("is_active", "true"),
    ("wing", 1),                  # a number for an enumerated text
])
def test_department_create_refuses_wrong_types(hospital_admin, field, value):
    client = client_for(hospital_admin)
    _refused(client.post("/api/hospitals/departments/create/", {**DEPARTMENT, field: value}, format="json"), field)
    assert not Department.objects.filter(name=DEPARTMENT["name"]).exists()
    assert client.post("/api/hospitals/departments/create/", DEPARTMENT, format="json").status_code == 201


def test_profile_patch_refuses_a_number_for_text_and_text_for_a_boolean(patient):
    client = client_for(patient)
    _refused(client.patch("/api/profile/", {"city": 5}, format="json"), "city")
    _refused(client.patch("/api/profile/", {"contact_preferences": {"email": "yes"}}, format="json"),
             "contact_preferences")
    patient.refresh_from_db()
    assert patient.city != "5"
    assert client.patch("/api/profile/", {"city": "Enugu"}, format="json").status_code == 200


def test_login_refuses_a_number_for_the_email():
    _refused(client_for(None).post("/api/login/", {"email": 12345, "password": "whatever-1"}, format="json"), "email")


def test_password_reset_refuses_an_email_longer_than_documented_even_with_spaces_around():
    response = client_for(None).post("/api/password/reset/", {"email": " " + "a" * 250 + "@x.io"}, format="json")
    _refused(response, "email")


def test_an_empty_page_size_is_not_the_default(patient):
    response = client_for(patient).get("/api/appointments/?limit=")
    assert response.status_code == 400 and "limit" in response.json()["message"]


def test_bodies_other_than_the_frontends_are_415():
    """Registration takes JSON, the guideline upload multipart, ending record access no body: a
    form where a list cannot be said (``secondary_languages={}``) is refused, not read as text."""
    from accounts.models import User
    from tests.factories import DepartmentFactory, make_doctor, make_patient

    anonymous = client_for(None)
    form = anonymous.post("/api/registration/", "email=a%40b.test&secondary_languages=%7B%7D",
                          content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415, form.content[:300]
    assert "message" in form.json()
    assert not User.objects.filter(email="a@b.test").exists()

    doctor = client_for(make_doctor(department=DepartmentFactory()))
    upload = doctor.post("/api/clinical-guidelines/upload/", "title=x&keywords=%7B%7D",
                         content_type="application/x-www-form-urlencoded")
    assert upload.status_code == 415, upload.content[:300]
    created = doctor.post("/api/clinical-guidelines/", {"title": "x", "keywords": "{}"}, format="multipart")
    assert created.status_code == 415, created.content[:300]

    ended = client_for(make_patient()).post("/api/patient/medical-record/end-access/", "x=1",
                                            content_type="application/x-www-form-urlencoded")
    assert ended.status_code == 415, ended.content[:300]
    assert client_for(make_patient()).post("/api/patient/medical-record/end-access/").status_code == 200
