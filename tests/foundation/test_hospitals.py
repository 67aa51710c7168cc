"""Hospitals and departments: H1, H3, H4, H5, P1, P2, D17 and admin approval."""

from __future__ import annotations

import pytest

from hospitals.models import HospitalRegistration, RegistrationStatus
from tests.factories import DepartmentFactory, HospitalFactory, UserFactory, make_hospital_admin
from tests.helpers import assert_private, client_for


@pytest.mark.django_db
def test_register_at_auto_approving_hospital_then_departments():
    hospital = HospitalFactory(auto_approve_registrations=True)
    DepartmentFactory(hospital=hospital, name="Cardiology")
    user = UserFactory()
    client = client_for(user)
    assert client.get("/api/user/has-primary-hospital/").json() == {"has_primary": False, "primary_hospital": None}
    assert client.get("/api/departments/").status_code == 404
    response = client.post("/api/hospitals/register/", {"hospital": hospital.id, "is_primary": True}, format="json")
    assert response.status_code == 201
    assert response.json()["data"]["status"] == "approved"
    body = client.get("/api/user/has-primary-hospital/").json()
    assert body["has_primary"] is True and body["primary_hospital"]["id"] == hospital.id
    departments = client.get("/api/departments/").json()
    assert departments["status"] == "success"
    assert [d["name"] for d in departments["departments"]] == ["Cardiology"]


@pytest.mark.django_db
def test_pending_registration_blocks_departments_until_admin_approves():
    hospital = HospitalFactory(auto_approve_registrations=False)
    DepartmentFactory(hospital=hospital)
    admin = make_hospital_admin(hospital=hospital)
    other_admin = make_hospital_admin(hospital=HospitalFactory())
    user = UserFactory()
    client = client_for(user)
    client.post("/api/hospitals/register/", {"hospital": hospital.id, "is_primary": True}, format="json")
    assert client.get("/api/user/has-primary-hospital/").json()["primary_hospital"]["status"] == "pending"
    assert client.get("/api/departments/").status_code == 403
    registration = HospitalRegistration.objects.get(user=user)

    listed = client_for(admin).get("/api/hospitals/admin/registrations/?status=pending").json()["registrations"]
    assert [r["id"] for r in listed] == [str(registration.id)]
    assert client_for(other_admin).get("/api/hospitals/admin/registrations/").json()["registrations"] == []

    url = f"/api/hospitals/admin/registrations/{registration.id}/approve/"
    assert_private(url, method="post", stranger=other_admin)
    assert client_for(user).post(url).status_code == 404  # a patient cannot approve themself
    assert client_for(admin).post(url).status_code == 200
    assert client_for(admin).post(url).status_code == 409
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.APPROVED
    assert client.get("/api/departments/").status_code == 200


@pytest.mark.django_db
def test_only_one_primary_hospital():
    first, second = HospitalFactory(), HospitalFactory()
    user = UserFactory()
    client = client_for(user)
    client.post("/api/hospitals/register/", {"hospital": first.id, "is_primary": True}, format="json")
    client.post("/api/hospitals/register/", {"hospital": second.id, "is_primary": True}, format="json")
    primaries = HospitalRegistration.objects.filter(user=user, is_primary=True)
    assert [r.hospital_id for r in primaries] == [second.id]
    registrations = client.get("/api/hospitals/registrations/").json()["registrations"]
    assert len(registrations) == 2


@pytest.mark.django_db
def test_registering_at_unknown_hospital_is_404():
    response = client_for(UserFactory()).post("/api/hospitals/register/", {"hospital": 999999, "is_primary": True}, format="json")
    assert response.status_code == 404 and response.json()["message"]


@pytest.mark.django_db
def test_list_and_search_and_nearby():
    HospitalFactory(name="Lagos Island General", state="lagos", city="lagos-island", latitude="6.4550", longitude="3.3941")
    HospitalFactory(name="Abuja National", state="fct", city="abuja", latitude="9.0765", longitude="7.3986")
    client = client_for(UserFactory())
    listed = client.get("/api/hospitals/").json()
    assert {"hospitals", "has_primary", "primary_hospital"} <= set(listed)
    found = client.get("/api/hospitals/search/?q=abuja").json()
    assert [h["name"] for h in found["hospitals"]] == ["Abuja National"]
    by_state = client.get("/api/hospitals/search/?state=lagos&limit=5").json()
    assert [h["name"] for h in by_state["hospitals"]] == ["Lagos Island General"]
    near = client.get("/api/hospitals/nearby/?latitude=6.46&longitude=3.39&radius=10").json()
    assert [h["name"] for h in near["hospitals"]] == ["Lagos Island General"]
    assert near["location"]["radius_km"] == 10
    bad = client.get("/api/hospitals/nearby/?latitude=abc&longitude=3")
    assert bad.status_code == 400 and bad.json()["message"]


@pytest.mark.django_db
def test_hospital_endpoints_need_authentication():
    for url in ("/api/hospitals/", "/api/user/has-primary-hospital/", "/api/departments/", "/api/hospitals/registrations/"):
        response = client_for(None).get(url)
        assert response.status_code == 401 and response.json()["message"]


@pytest.mark.django_db
def test_registrations_list_is_per_user(patient, other_patient):
    mine = client_for(patient).get("/api/hospitals/registrations/").json()["registrations"]
    theirs = client_for(other_patient).get("/api/hospitals/registrations/").json()["registrations"]
    assert {r["id"] for r in mine}.isdisjoint({r["id"] for r in theirs})


@pytest.mark.django_db
def test_staff_cannot_register_as_patient(doctor, hospital):
    response = client_for(doctor).post("/api/hospitals/register/", {"hospital": hospital.id}, format="json")
    assert response.status_code == 403


@pytest.mark.django_db
def test_departments_of_hospital_for_referrals(doctor, department):
    body = client_for(doctor).get(f"/api/departments/{department.hospital_id}/").json()
    assert [d["id"] for d in body["departments"]] == [department.id]


@pytest.mark.django_db
def test_hospital_admin_login_always_two_factor(django_capture_on_commit_callbacks, hospital):
    import re

    from django.core import mail

    from tests.factories import PASSWORD

    admin = make_hospital_admin(hospital=hospital, otp_required_for_login=False)
    client = client_for(None)
    wrong = client.post("/api/hospitals/admin/login/", {"email": admin.email, "password": PASSWORD, "hospital_code": "NOPE"}, format="json")
    assert wrong.status_code == 401
    with django_capture_on_commit_callbacks(execute=True):
        step1 = client.post("/api/hospitals/admin/login/", {"email": admin.email, "password": PASSWORD,
                                                              "hospital_code": hospital.code}, format="json")
    assert step1.status_code == 200 and step1.json()["require_2fa"] is True
    assert "access_token" not in step1.cookies
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    step2 = client.post("/api/hospitals/admin/verify-2fa/", {"email": admin.email, "verification_code": code}, format="json")
    assert step2.status_code == 200
    assert step2.json()["user_data"]["hospital"]["id"] == hospital.id
    assert client.get("/api/hospitals/admin/profile/").json()["role"] == "hospital_admin"


@pytest.mark.django_db
def test_hospital_admin_finds_her_hospital_with_its_type_in_the_list():
    """The organisation profile page finds the admin's hospital in H3 by id and prints its type."""
    hospital = HospitalFactory(hospital_type="teaching")
    HospitalFactory()
    admin = make_hospital_admin(hospital=hospital)
    client = client_for(admin)
    hospital_id = client.get("/api/hospitals/admin/profile/").json()["hospital"]["id"]
    listed = {h["id"]: h for h in client.get("/api/hospitals/").json()["hospitals"]}
    assert listed[hospital_id]["hospital_type"] == "teaching"
    assert all(isinstance(h["hospital_type"], str) and h["hospital_type"] for h in listed.values())
    found = client_for(UserFactory()).get("/api/hospitals/search/?q=" + hospital.name).json()["hospitals"]
    assert [h["hospital_type"] for h in found] == ["teaching"]
    assert client_for(None).get("/api/hospitals/").status_code == 401


PROFILE = dict(
    phone="+234 1 555 0100", email="info@zaria-general.example", website="https://zaria-general.example",
    emergency_contact="+234 1 555 0199", postal_code="810001",
    primary_contact_name="Amina Bello", primary_contact_title="Chief Executive", primary_contact_phone="+234 1 555 0101",
    primary_contact_email="amina@zaria-general.example", administrative_contact_name="Tunde Ade",
    administrative_contact_title="Registrar", medical_director_name="Dr Ngozi Eze",
    medical_director_license="MDCN-77", medical_director_specialization="Internal Medicine",
    medical_director_years_experience=22, is_verified=True, accredited=True,
    has_electronic_medical_records=True, has_patient_portal=True,
)
CONTACT_KEYS = ("primary_contact_name", "primary_contact_title", "primary_contact_phone", "primary_contact_email",
                "administrative_contact_name", "administrative_contact_title", "medical_director_name",
                "medical_director_license", "medical_director_specialization")


@pytest.mark.django_db
def test_the_profile_page_finds_its_hospital_first_whatever_its_name():
    """The page reads the first page of H3 and looks for the admin's hospital in it: her own
    hospital leads it, and the later pages by name leave it out (each hospital listed once)."""
    from datetime import date, timedelta

    from django.utils import timezone

    others = [HospitalFactory(name=f"Abuja Clinic {n}") for n in range(4)]
    own = HospitalFactory(name="Zaria General", verification_date=date(2026, 1, 5),
                          accreditation_expiry=timezone.localdate() + timedelta(days=30), **PROFILE)
    admin = make_hospital_admin(hospital=own)
    client = client_for(admin)
    first = client.get("/api/hospitals/", {"limit": 2})
    body = first.json()["hospitals"]
    assert [h["id"] for h in body] == [own.id, others[0].id, others[1].id]
    assert first.headers["X-Total-Count"] == "5"
    mine = body[0]
    assert {k: mine[k] for k in ("phone", "email", "website", "emergency_contact", "postal_code")} == {
        k: PROFILE[k] for k in ("phone", "email", "website", "emergency_contact", "postal_code")}
    assert {k: mine[k] for k in CONTACT_KEYS} == {k: PROFILE[k] for k in CONTACT_KEYS}
    assert mine["administrative_contact_phone"] is None and mine["medical_director_years_experience"] == 22
    assert mine["is_verified"] is True and mine["verification_date"] == "2026-01-05"
    assert mine["accreditation_status"] is True and mine["accreditation_expiry"]
    assert mine["has_electronic_medical_records"] is True and mine["has_patient_portal"] is True
    assert mine["has_mobile_application"] is False
    assert body[1]["phone"] is None and body[1]["is_verified"] is False and body[1]["accreditation_status"] is False
    seen = [h["id"] for h in body]
    cursor = first.headers.get("X-Next-Cursor")
    while cursor:
        answer = client.get("/api/hospitals/", {"limit": 2, "cursor": cursor})
        seen += [h["id"] for h in answer.json()["hospitals"]]
        cursor = answer.headers.get("X-Next-Cursor")
    assert sorted(seen) == sorted([own.id, *(h.id for h in others)])


@pytest.mark.django_db
def test_a_hospitals_contact_persons_are_shown_to_its_own_admins_only():
    from datetime import timedelta

    from django.utils import timezone

    hospital = HospitalFactory(accreditation_expiry=timezone.localdate() - timedelta(days=1), **PROFILE)
    for caller in (UserFactory(), make_hospital_admin(hospital=HospitalFactory())):
        listed = {h["id"]: h for h in client_for(caller).get("/api/hospitals/").json()["hospitals"]}
        shown = listed[hospital.id]
        assert shown["phone"] == PROFILE["phone"] and shown["is_verified"] is True
        assert all(shown[k] is None for k in CONTACT_KEYS) and shown["medical_director_years_experience"] == 0
        assert "Amina" not in str(listed) and "MDCN" not in str(listed)
        assert shown["accreditation_status"] is False  # accreditation expired yesterday
    assert client_for(None).get("/api/hospitals/").status_code == 401


@pytest.mark.django_db
def test_hospital_admin_lists_the_admins_of_her_hospital_only():
    """/organization/settings/users reads ``users`` and ``summary`` from the admin users list."""
    hospital = HospitalFactory()
    admin = make_hospital_admin(hospital=hospital, full_name="Ada Admin", email="ada@example.test")
    colleague = make_hospital_admin(hospital=hospital, full_name="Bola Admin", email="bola@example.test")
    type(colleague).objects.filter(pk=colleague.pk).update(is_active=False)
    DepartmentFactory(hospital=hospital)
    elsewhere = make_hospital_admin(hospital=HospitalFactory(), full_name="Other Admin")
    UserFactory()

    client = client_for(admin)
    body = client.get("/api/hospitals/admin/users/").json()
    assert [u["email"] for u in body["users"]] == ["ada@example.test", "bola@example.test"]
    first = body["users"][0]
    assert first["full_name"] == "Ada Admin" and first["role"] == "hospital_admin" and first["status"] == "active"
    assert first["is_general_admin"] is True and first["department"] is None
    assert body["users"][1]["status"] == "inactive"
    assert body["summary"] == {"total_admins": 2, "general_admins": 2, "department_heads": 0}
    assert [u["full_name"] for u in client.get("/api/hospitals/admin/users/?search=bola").json()["users"]] == \
        ["Bola Admin"]
    assert [u["full_name"] for u in client.get("/api/hospitals/admin/users/?status=active").json()["users"]] == \
        ["Ada Admin"]
    assert client.get("/api/hospitals/admin/users/?status=gone").status_code == 400
    assert client.get("/api/hospitals/admin/users/?status=").status_code == 400

    others = client_for(elsewhere).get("/api/hospitals/admin/users/").json()["users"]
    assert [u["full_name"] for u in others] == ["Other Admin"]
    patient = client_for(UserFactory()).get("/api/hospitals/admin/users/")
    assert patient.status_code == 404 and patient.json()["message"]
    anonymous = client_for(None).get("/api/hospitals/admin/users/")
    assert anonymous.status_code == 401 and anonymous.json()["message"]

    paged = client.get("/api/hospitals/admin/users/?limit=1")
    assert [u["email"] for u in paged.json()["users"]] == ["ada@example.test"]
    assert paged.json()["summary"]["total_admins"] == 2 and paged["X-Total-Count"] == "2"
    rest = client.get(f"/api/hospitals/admin/users/?limit=1&cursor={paged['X-Next-Cursor']}").json()
    assert [u["email"] for u in rest["users"]] == ["bola@example.test"]


@pytest.mark.django_db
def test_the_hospital_list_says_what_each_hospital_has():
    """/organization/settings/profile reads ``registration_number``, ``bed_capacity``,
    ``emergency_unit`` and ``icu_unit`` from its hospital's H3 item; each comes from the hospital's
    own wards, beds and departments, in a fixed number of queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from admissions.capacity import set_department_beds
    from admissions.models import Bed, BedStatus

    equipped, bare = HospitalFactory(), HospitalFactory()
    set_department_beds(department=DepartmentFactory(hospital=equipped), general=5, icu=2)
    DepartmentFactory(hospital=equipped, department_type="emergency")
    DepartmentFactory(hospital=bare, department_type="emergency", is_active=False)
    set_department_beds(department=DepartmentFactory(hospital=bare), general=3, icu=None)
    Bed.objects.filter(ward__hospital=bare).update(status=BedStatus.OUT_OF_SERVICE)
    client = client_for(make_hospital_admin(hospital=equipped))

    def listed() -> dict:
        with CaptureQueriesContext(connection) as ctx:
            body = client.get("/api/hospitals/").json()
        return {h["id"]: h for h in body["hospitals"]}, len(ctx.captured_queries)

    found, queries = listed()
    keys = ("registration_number", "bed_capacity", "icu_unit", "emergency_unit")
    assert {k: found[equipped.id][k] for k in keys} == {"registration_number": equipped.code, "bed_capacity": 7,
                                                       "icu_unit": True, "emergency_unit": True}
    assert {k: found[bare.id][k] for k in keys} == {"registration_number": bare.code, "bed_capacity": 0,
                                                   "icu_unit": False, "emergency_unit": False}
    HospitalFactory.create_batch(10)
    found, more_queries = listed()
    assert len(found) == 12 and more_queries == queries


@pytest.mark.django_db
def test_the_primary_hospital_loaded_with_every_request_leaves_the_profile_columns_out(django_assert_num_queries):
    """Authentication loads the caller with her primary hospital on every request: without the
    organisation profile's columns, which only the hospital list reads, and with all that the
    request path's hospital payload needs."""
    from hospitals.models import HOSPITAL_PROFILE_FIELDS
    from hospitals.selectors import primary_registration_of, user_with_primary_registration
    from hospitals.serializers import hospital_payload

    hospital = HospitalFactory(**PROFILE)
    user = UserFactory()
    HospitalRegistration.objects.create(user=user, hospital=hospital, is_primary=True,
                                        status=RegistrationStatus.APPROVED)
    with django_assert_num_queries(1):
        loaded = user_with_primary_registration(user_id=user.pk)
        primary = primary_registration_of(user=loaded).hospital
        assert set(HOSPITAL_PROFILE_FIELDS) <= primary.get_deferred_fields()
        assert hospital_payload(primary)["name"] == hospital.name
    assert client_for(user).get("/api/user/has-primary-hospital/").json()["primary_hospital"]["id"] == hospital.id


@pytest.mark.django_db
def test_a_patient_whose_primary_registration_is_rejected_can_choose_another_hospital():
    """The link page shows "already registered" while there is a primary hospital and offers no
    other; the booking page is refused at a hospital that declined her. A declined registration
    is no longer her primary one, so she is asked to choose a hospital again."""
    declining = HospitalFactory(auto_approve_registrations=False)
    other = HospitalFactory(auto_approve_registrations=True)
    admin = make_hospital_admin(hospital=declining)
    patient = UserFactory()
    client = client_for(patient)
    client.post("/api/hospitals/register/", {"hospital": declining.id, "is_primary": True}, format="json")
    registration = HospitalRegistration.objects.get(user=patient)
    rejected = client_for(admin).post(f"/api/hospitals/registrations/{registration.id}/reject/")
    assert rejected.status_code == 200 and rejected.json()["data"]["status"] == "rejected"

    assert client.get("/api/user/has-primary-hospital/").json() == {"has_primary": False, "primary_hospital": None}
    assert client.get("/api/departments/").status_code == 404  # "register with a hospital first"
    mine = client.get("/api/hospitals/registrations/").json()["registrations"]
    assert [(r["hospital_id"], r["status"], r["is_primary"]) for r in mine] == [(declining.id, "rejected", False)]
    chose = client.post("/api/hospitals/register/", {"hospital": other.id, "is_primary": True}, format="json")
    assert chose.status_code == 201
    assert client.get("/api/user/has-primary-hospital/").json()["primary_hospital"]["id"] == other.id


@pytest.mark.django_db
def test_registrations_declined_before_are_no_longer_primary():
    from importlib import import_module

    from django.apps import apps

    declined = HospitalRegistration.objects.create(user=UserFactory(), hospital=HospitalFactory(), is_primary=True,
                                                   status=RegistrationStatus.REJECTED)
    kept = HospitalRegistration.objects.create(user=UserFactory(), hospital=HospitalFactory(), is_primary=True,
                                               status=RegistrationStatus.PENDING)
    import_module("hospitals.migrations.0009_rejected_registrations_not_primary").unset_rejected_primaries(apps, None)
    declined.refresh_from_db()
    kept.refresh_from_db()
    assert not declined.is_primary and kept.is_primary
