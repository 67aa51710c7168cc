"""The organisation's user management page (``/organization/settings/users``): a hospital's
administrators, listed, invited, edited, deactivated one at a time or in bulk."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import connection

from accounts.models import Role, User
from hospitals.models import StaffMember
from tests.concurrency import race
from tests.factories import (
    DepartmentFactory,
    HospitalFactory,
    make_doctor,
    make_hospital_admin,
    make_patient,
)
from tests.helpers import client_for

pytestmark = pytest.mark.django_db
USERS = "/api/organizations/users"


@pytest.fixture
def records(hospital):
    return DepartmentFactory(hospital=hospital, name="Medical Records", department_type="records")


def _staff(user) -> StaffMember:
    return StaffMember.objects.get(user=user)


def _invite(client, department, **body):
    payload = {"email": "new.admin@phb.test", "full_name": "Ada Obi", "role": "hospital_admin",
               "department": str(department.pk) if department else "", "position": "Records lead", "phone": "+234 803 000 0000", **body}
    return client.post(f"{USERS}/invite/", payload, format="json")


def _listed(client, **params) -> dict:
    response = client.get("/api/hospitals/admin/users/", params)
    assert response.status_code == 200, response.json()
    return response.json()


def test_an_invited_admin_chooses_a_password_with_an_emailed_code_and_signs_in(
        hospital, hospital_admin, records, django_capture_on_commit_callbacks):
    admin = client_for(hospital_admin)
    with django_capture_on_commit_callbacks(execute=True):
        invited = _invite(admin, records)
    assert invited.status_code == 201, invited.json()
    body = invited.json()
    assert body["status"] == "pending" and body["role"] == "hospital_admin" and body["email"] == "new.admin@phb.test"
    assert body["department"]["id"] == records.pk and body["is_department_head"] is True
    assert body["is_general_admin"] is False and body["position"] == "Records lead"
    letter = mail.outbox[-1]
    assert letter.to == ["new.admin@phb.test"] and hospital.code in letter.body
    assert "/hospital-admin/reset-password/request" in letter.body and not re.search(r"\b\d{6}\b", letter.body)
    user = User.objects.get(email="new.admin@phb.test")
    assert user.role == Role.HOSPITAL_ADMIN and not user.has_usable_password() and user.otp_required_for_login

    # The hospital administrators' reset: the emailed code proves the mailbox, then a password.
    anonymous = client_for(None)
    with django_capture_on_commit_callbacks(execute=True):
        token = anonymous.post("/api/hospitals/admin/reset-password/request/",
                               {"email": user.email, "hospital_code": hospital.code}, format="json").json()["token"]
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    secondary = anonymous.post("/api/hospitals/admin/reset-password/verify/",
                               {"email": user.email, "token": token, "verification_code": code},
                               format="json").json()["secondary_token"]
    done = anonymous.post("/api/hospitals/admin/reset-password/complete/",
                          {"email": user.email, "token": token, "secondary_token": secondary,
                           "new_password": "A-new-admin-passw0rd!", "confirm_password": "A-new-admin-passw0rd!"},
                          format="json")
    assert done.status_code == 200, done.json()
    with django_capture_on_commit_callbacks(execute=True):
        step1 = anonymous.post("/api/hospitals/admin/login/", {"email": user.email, "password": "A-new-admin-passw0rd!",
                                                               "hospital_code": hospital.code}, format="json")
    assert step1.status_code == 200 and step1.json()["require_2fa"] is True
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    step2 = anonymous.post("/api/hospitals/admin/verify-2fa/", {"email": user.email, "verification_code": code},
                           format="json")
    assert step2.status_code == 200
    shown = {u["email"]: u for u in _listed(admin)["users"]}
    assert shown["new.admin@phb.test"]["status"] == "active"


def test_the_list_filters_by_status_and_type_and_counts_the_heads(hospital, hospital_admin, records):
    admin = client_for(hospital_admin)
    head = make_hospital_admin(hospital=hospital)
    StaffMember.objects.filter(user=head).update(department=records)
    gone = make_hospital_admin(hospital=hospital, is_active=False)
    assert _invite(admin, records, email="pending@phb.test").status_code == 201
    everyone = _listed(admin)
    assert everyone["summary"] == {"total_admins": 4, "general_admins": 2, "department_heads": 2}
    by_email = {u["email"]: u for u in everyone["users"]}
    assert by_email[head.email]["is_department_head"] is True
    assert by_email[hospital_admin.email]["is_general_admin"] is True
    assert [u["email"] for u in _listed(admin, status="pending")["users"]] == ["pending@phb.test"]
    assert {u["email"] for u in _listed(admin, status="active")["users"]} == {hospital_admin.email, head.email}
    for status in ("inactive", "suspended"):
        assert [u["email"] for u in _listed(admin, status=status)["users"]] == [gone.email]
    assert {u["email"] for u in _listed(admin, role="department_head")["users"]} == {head.email, "pending@phb.test"}
    general = _listed(admin, role="general")
    assert {u["email"] for u in general["users"]} == {hospital_admin.email, gone.email}
    assert general["summary"] == {"total_admins": 2, "general_admins": 2, "department_heads": 0}
    refused = admin.get("/api/hospitals/admin/users/", {"status": "asleep"})
    assert refused.status_code == 400 and refused.json()["message"]


def test_edit_moves_renames_and_deactivates_and_deactivation_signs_out(hospital, hospital_admin, records):
    admin = client_for(hospital_admin)
    other = make_hospital_admin(hospital=hospital)
    others_session = client_for(other)
    assert others_session.get("/api/hospitals/admin/profile/").status_code == 200
    url = f"{USERS}/{_staff(other).pk}/"
    moved = admin.patch(url, {"full_name": "Bola Ade", "position": "Head of records", "department": str(records.pk),
                              "phone": "+234 803 111 1111", "status": "active"}, format="json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["full_name"] == "Bola Ade" and moved.json()["department"]["name"] == "Medical Records"
    assert moved.json()["is_department_head"] is True and moved.json()["phone"] == "+234 803 111 1111"
    suspended = admin.patch(url, {"status": "suspended"}, format="json")
    assert suspended.status_code == 200 and suspended.json()["status"] == "inactive"
    assert others_session.get("/api/hospitals/admin/profile/").status_code == 401  # every session ended
    assert admin.patch(url, {"status": "active"}, format="json").json()["status"] == "active"
    general = admin.patch(url, {"department": ""}, format="json").json()
    assert general["is_general_admin"] is True and general["department"] is None
    bad = admin.patch(url, {"phone": "call me"}, format="json")
    assert bad.status_code == 400 and bad.json()["message"].startswith("phone")
    elsewhere = DepartmentFactory(hospital=HospitalFactory())
    assert admin.patch(url, {"department": str(elsewhere.pk)}, format="json").status_code == 404


def test_the_hospital_keeps_an_active_general_admin_and_nobody_deactivates_herself(hospital, hospital_admin, records):
    admin = client_for(hospital_admin)
    mine = f"{USERS}/{_staff(hospital_admin).pk}/"
    for change in ({"status": "inactive"}, {"department": str(records.pk)}):
        refused = admin.patch(mine, change, format="json")
        assert refused.status_code == 409 and refused.json()["message"], change
    assert admin.delete(mine).status_code == 409
    refused = admin.post(f"{USERS}/bulk-action/", {"action": "deactivate", "user_ids": [_staff(hospital_admin).pk]},
                         format="json")
    assert refused.status_code == 409 and "own account" in refused.json()["message"]
    # With a second general admin, the first may become a department head; the second then cannot go.
    second = make_hospital_admin(hospital=hospital)
    assert admin.patch(mine, {"department": str(records.pk)}, format="json").status_code == 200
    head = client_for(hospital_admin)
    assert head.delete(f"{USERS}/{_staff(second).pk}/").status_code == 403  # a department head manages no one
    assert User.objects.get(pk=hospital_admin.pk).is_active and User.objects.get(pk=second.pk).is_active


def test_delete_and_bulk_actions_deactivate_all_or_none(hospital, hospital_admin):
    admin = client_for(hospital_admin)
    one, two = make_hospital_admin(hospital=hospital), make_hospital_admin(hospital=hospital)
    stranger = make_hospital_admin(hospital=HospitalFactory())
    ids = [_staff(one).pk, _staff(two).pk]
    mixed = admin.post(f"{USERS}/bulk-action/", {"action": "deactivate", "user_ids": [*ids, _staff(stranger).pk]},
                       format="json")
    assert mixed.status_code == 404
    assert User.objects.filter(pk__in=[one.pk, two.pk, stranger.pk], is_active=True).count() == 3
    done = admin.post(f"{USERS}/bulk-action/", {"action": "delete", "user_ids": ids}, format="json")
    assert done.status_code == 200 and done.json()["updated"] == 2
    assert User.objects.filter(pk__in=[one.pk, two.pk], is_active=False).count() == 2  # kept, not deleted
    again = admin.post(f"{USERS}/bulk-action/", {"action": "activate", "user_ids": ids}, format="json")
    assert again.json()["updated"] == 2
    assert admin.delete(f"{USERS}/{ids[0]}/").status_code == 204
    assert not User.objects.get(pk=one.pk).is_active and StaffMember.objects.filter(user=one).exists()
    for body in ({"action": "explode", "user_ids": ids}, {"action": "activate", "user_ids": []},
                 {"action": "activate", "user_ids": ["1"]}):
        refused = admin.post(f"{USERS}/bulk-action/", body, format="json")
        assert refused.status_code == 400 and refused.json()["message"], body


def test_invitations_refuse_what_they_cannot_do(hospital, hospital_admin, records):
    admin = client_for(hospital_admin)
    taken = _invite(admin, records, email=make_patient(hospital=hospital).email)
    assert taken.status_code == 409 and taken.json()["message"]
    assert _invite(admin, records, role="doctor").status_code == 400
    elsewhere = DepartmentFactory(hospital=HospitalFactory())
    assert _invite(admin, elsewhere, email="x@phb.test").status_code == 404
    for change in ({"email": "not-an-email"}, {"full_name": ""}, {"position": ""}, {"phone": "12"}):
        refused = _invite(admin, records, **change)
        assert refused.status_code == 400 and refused.json()["message"], change
    assert _invite(admin, None, email="general@phb.test").json()["is_general_admin"] is True
    assert not User.objects.filter(email="x@phb.test").exists()


def test_other_hospitals_doctors_patients_and_anonymous_reach_none_of_it(hospital, hospital_admin, department,
                                                                        records):
    other = make_hospital_admin(hospital=hospital)
    url = f"{USERS}/{_staff(other).pk}/"
    strangers = [make_hospital_admin(hospital=HospitalFactory()), make_doctor(department=department),
                 make_patient(hospital=hospital)]
    for stranger in strangers:
        client = client_for(stranger)
        assert client.patch(url, {"full_name": "Taken over"}, format="json").status_code in (403, 404)
        assert client.delete(url).status_code in (403, 404)
        assert client.post(f"{USERS}/bulk-action/", {"action": "deactivate", "user_ids": [_staff(other).pk]},
                           format="json").status_code in (403, 404)
        assert _invite(client, records, email="sneaky@phb.test").status_code in (403, 404)
        listed = client.get("/api/hospitals/admin/users/")
        assert listed.status_code in (200, 403, 404) and other.email not in listed.content.decode()
        if stranger.role != Role.HOSPITAL_ADMIN:  # the roles are no one's data, but only admins read them
            assert client.get("/api/organizations/roles/").status_code in (403, 404)
    anonymous = client_for(None)
    for method, path in (("get", "/api/organizations/roles/"), ("patch", url), ("delete", url),
                         ("post", f"{USERS}/invite/"), ("post", f"{USERS}/bulk-action/")):
        assert getattr(anonymous, method)(path).status_code == 401
    assert User.objects.get(pk=other.pk).full_name != "Taken over" and User.objects.get(pk=other.pk).is_active
    assert not User.objects.filter(email="sneaky@phb.test").exists()
    roles = client_for(hospital_admin).get("/api/organizations/roles/").json()["roles"]
    assert [r["id"] for r in roles] == ["hospital_admin"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no concurrent writers")
def test_two_general_admins_deactivating_each_other_at_once_leave_one(hospital):
    first, second = make_hospital_admin(hospital=hospital), make_hospital_admin(hospital=hospital)
    pairs = [(first, second), (second, first)]

    def attempt(pair):
        actor, target = pair
        return client_for(actor).delete(f"{USERS}/{_staff(target).pk}/").status_code

    outcomes = race(attempt, pairs)
    assert sorted(outcomes) == [204, 409] or sorted(outcomes) == [204, 401], outcomes
    assert User.objects.filter(pk__in=[first.pk, second.pk], is_active=True).count() == 1


def test_the_pages_writes_with_an_empty_authorization_header_use_the_session_cookie(hospital, hospital_admin,
                                                                                    records):
    """The page's writes send ``Authorization: ''`` (no token is stored in the browser) beside the
    session cookie: an empty header carries no credential, so the cookie signs them in."""
    other = make_hospital_admin(hospital=hospital)
    admin = client_for(hospital_admin)
    admin.credentials(HTTP_AUTHORIZATION="")
    invited = _invite(admin, records)
    assert invited.status_code == 201, invited.json()
    edited = admin.patch(f"{USERS}/{invited.json()['id']}/", {"position": "Records head"}, format="json")
    assert edited.status_code == 200, edited.json()
    assert admin.post(f"{USERS}/bulk-action/", {"action": "deactivate", "user_ids": [invited.json()["id"]]},
                      format="json").status_code == 200
    assert admin.delete(f"{USERS}/{_staff(other).pk}/").status_code == 204
    assert not User.objects.get(pk=other.pk).is_active
    stranger = client_for(None)
    stranger.credentials(HTTP_AUTHORIZATION="")
    assert _invite(stranger, records, email="sneaky@phb.test").status_code == 401
    assert client_for(None).get("/api/profile/", HTTP_AUTHORIZATION="Bearer null").status_code == 401
