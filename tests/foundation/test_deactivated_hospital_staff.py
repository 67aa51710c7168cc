"""Staff of a deactivated hospital (its admins, its doctors, the pharmacists of its pharmacies)
cannot sign in, and the sessions they hold are refused on their next request, until an operator
reactivates the hospital. Patients registered there, other hospitals' staff and operators in the
Django admin are unaffected."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.cookies import issue_tokens
from hospitals.models import Hospital
from tests.factories import PASSWORD, DepartmentFactory, HospitalFactory, make_doctor, make_hospital_admin, make_patient
from tests.helpers import answered_before_work, client_for
from tests.pharmacies.factories import PharmacyFactory, make_pharmacist

pytestmark = pytest.mark.django_db

INACTIVE = "hospital_inactive"


def _deactivate(hospital: Hospital, active: bool = False) -> None:
    Hospital.objects.filter(pk=hospital.pk).update(is_active=active)


def _refused(response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = response.json()
    assert body["code"] == INACTIVE
    assert "deactivated" in body["message"]


def _code_sent_to(email: str) -> str:
    sent = [m for m in mail.outbox if m.to == [email]]
    return re.search(r"\b(\d{6})\b", sent[-1].body).group(1)


def test_a_deactivated_hospitals_admin_cannot_sign_in_and_no_code_is_sent(django_capture_on_commit_callbacks):
    hospital = HospitalFactory()
    admin = make_hospital_admin(hospital=hospital)
    _deactivate(hospital)
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post("/api/hospitals/admin/login/", {
            "email": admin.email, "password": PASSWORD, "hospital_code": hospital.code}, format="json")
    _refused(response, 403)
    assert not mail.outbox
    with django_capture_on_commit_callbacks(execute=True):
        _refused(APIClient().post("/api/login/", {"email": admin.email, "password": PASSWORD}, format="json"), 403)
    assert not mail.outbox


def test_a_deactivated_hospitals_doctor_cannot_sign_in():
    hospital = HospitalFactory()
    doctor = make_doctor(department=DepartmentFactory(hospital=hospital))
    _deactivate(hospital)
    _refused(APIClient().post("/api/login/", {"email": doctor.email, "password": PASSWORD}, format="json"), 403)


def test_a_hospital_deactivated_between_the_password_and_the_code_refuses_the_code(
        django_capture_on_commit_callbacks):
    hospital = HospitalFactory()
    admin = make_hospital_admin(hospital=hospital)
    client = APIClient()
    with django_capture_on_commit_callbacks(execute=True):
        step1 = client.post("/api/hospitals/admin/login/", {
            "email": admin.email, "password": PASSWORD, "hospital_code": hospital.code}, format="json")
    assert step1.status_code == 200, step1.json()
    _deactivate(hospital)
    step2 = client.post("/api/hospitals/admin/verify-2fa/",
                        {"email": admin.email, "verification_code": _code_sent_to(admin.email)}, format="json")
    _refused(step2, 403)
    assert settings.AUTH_COOKIE_ACCESS not in step2.cookies


def test_existing_sessions_of_a_deactivated_hospitals_staff_are_refused_and_reactivation_restores_them():
    hospital = HospitalFactory()
    department = DepartmentFactory(hospital=hospital)
    admin = make_hospital_admin(hospital=hospital)
    doctor = make_doctor(department=department)
    admin_client, doctor_client = client_for(admin), client_for(doctor)
    assert admin_client.get("/api/hospitals/admin/registrations/").status_code == 200
    assert doctor_client.get("/api/profile/").status_code == 200

    _deactivate(hospital)
    _refused(admin_client.get("/api/hospitals/admin/registrations/"), 401)
    _refused(admin_client.get("/api/profile/"), 401)
    _refused(doctor_client.get("/api/staff/"), 401)
    _refused(doctor_client.post("/api/onboarding/update/", {"has_completed_onboarding": True}, format="json"), 401)

    _deactivate(hospital, active=True)
    assert admin_client.get("/api/hospitals/admin/registrations/").status_code == 200
    assert doctor_client.get("/api/profile/").status_code == 200


def test_a_refresh_cookie_of_a_deactivated_hospitals_staff_neither_refreshes_nor_resumes():
    hospital = HospitalFactory()
    admin = make_hospital_admin(hospital=hospital)
    refresh = issue_tokens(user=admin)
    _deactivate(hospital)
    client = APIClient()
    client.cookies[settings.AUTH_COOKIE_REFRESH] = str(refresh)
    _refused(client.get("/api/profile/"), 401)  # a returning browser, its access cookie gone
    _refused(client.post("/api/token/refresh/"), 401)


def test_another_hospitals_staff_and_the_patients_of_a_deactivated_hospital_are_unaffected(
        django_capture_on_commit_callbacks):
    closed, open_ = HospitalFactory(), HospitalFactory()
    patient = make_patient(hospital=closed)
    closed_admin = make_hospital_admin(hospital=closed)
    other_admin = make_hospital_admin(hospital=open_)
    other_doctor = make_doctor(department=DepartmentFactory(hospital=open_))
    _deactivate(closed)
    _refused(client_for(closed_admin).get("/api/hospitals/admin/registrations/"), 401)
    assert client_for(patient).get("/api/profile/").status_code == 200
    assert client_for(other_admin).get("/api/hospitals/admin/registrations/").status_code == 200
    assert client_for(other_doctor).get("/api/staff/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        step1 = APIClient().post("/api/hospitals/admin/login/", {
            "email": other_admin.email, "password": PASSWORD, "hospital_code": open_.code}, format="json")
    assert step1.status_code == 200, step1.json()


def test_pharmacists_of_a_deactivated_hospitals_pharmacy_are_refused_others_are_not():
    hospital = HospitalFactory()
    own = make_pharmacist(pharmacy=PharmacyFactory(hospital=hospital))
    independent = make_pharmacist(pharmacy=PharmacyFactory())
    own_client = client_for(own)
    assert own_client.get("/api/registry/my-info/").status_code == 200
    _deactivate(hospital)
    _refused(own_client.get("/api/registry/my-info/"), 401)
    _refused(APIClient().post("/api/login/", {"email": own.email, "password": PASSWORD}, format="json"), 403)
    assert client_for(independent).get("/api/registry/my-info/").status_code == 200


def test_operators_in_the_django_admin_are_unaffected(client):
    """An operator who is also the hospital's administrator keeps the Django admin (where the
    hospital is reactivated); the API refuses her as the hospital's staff."""
    hospital = HospitalFactory()
    operator = make_hospital_admin(hospital=hospital, is_staff=True, is_superuser=True)
    _deactivate(hospital)
    _refused(client_for(operator).get("/api/hospitals/admin/registrations/"), 401)
    client.force_login(operator)
    assert client.get(f"/admin/hospitals/hospital/{hospital.pk}/change/").status_code == 200


def test_the_check_costs_a_patient_nothing_and_staff_no_query_their_views_do_not_make():
    """The account query authentication runs is unchanged; for staff the check reads the place
    (``staff_of``) that the staff views read anyway, once per request."""
    from accounts.authentication import JWTCookieAuthentication
    from hospitals.selectors import admin_hospital_of

    hospital = HospitalFactory()
    patient = make_patient(hospital=hospital)
    admin = make_hospital_admin(hospital=hospital)
    auth = JWTCookieAuthentication()

    def authenticated(user):
        token = auth.get_validated_token(str(issue_tokens(user=user).access_token).encode())
        with CaptureQueriesContext(connection) as queries:
            found = auth.get_user(token)
        return found, len(queries.captured_queries)

    _, patient_queries = authenticated(patient)
    assert patient_queries == 1
    found, admin_queries = authenticated(admin)
    assert admin_queries == 2
    with CaptureQueriesContext(connection) as queries:
        assert admin_hospital_of(user=found) == hospital
    assert not queries.captured_queries


# --- Codes and reset links ------------------------------------------------------------------------
def _staff_of_a_deactivated_hospital() -> tuple[Hospital, dict]:
    """A deactivated hospital with its admin, a doctor and a pharmacist of its pharmacy."""
    hospital = HospitalFactory()
    people = {
        "admin": make_hospital_admin(hospital=hospital),
        "doctor": make_doctor(department=DepartmentFactory(hospital=hospital)),
        "pharmacist": make_pharmacist(pharmacy=PharmacyFactory(hospital=hospital)),
    }
    _deactivate(hospital)
    return hospital, people


def _answer_and_work(url: str, body: dict) -> tuple[int, dict, list[str], int]:
    """(status, body less its token, account tables read before the answer, jobs left for after it)."""
    response, tables, deferred = answered_before_work(lambda: APIClient().post(url, body, format="json"))
    answer = response.json()
    token = answer.pop("token", None)
    if token is not None:  # the hospital-admin reset hands every caller a token of the same shape
        assert re.fullmatch(r"[\w-]{43}", token), token
    return response.status_code, answer, tables, deferred


def test_a_deactivated_hospitals_staff_get_no_reset_link_and_the_answer_an_unknown_email_gets(
        django_capture_on_commit_callbacks):
    from accounts.models import PasswordResetToken

    _, people = _staff_of_a_deactivated_hospital()
    unknown = _answer_and_work("/api/password/reset/", {"email": "nobody-here@example.test"})
    assert unknown[0] == 200
    for role, user in people.items():
        with django_capture_on_commit_callbacks(execute=True):
            answer = _answer_and_work("/api/password/reset/", {"email": user.email})
        assert answer == unknown, role
    assert not mail.outbox
    assert not PasswordResetToken.objects.exists()


def test_a_deactivated_hospitals_admin_gets_no_reset_code_and_the_answer_a_stranger_gets(
        django_capture_on_commit_callbacks):
    from accounts.models import OneTimeCode, PasswordResetToken

    hospital, people = _staff_of_a_deactivated_hospital()
    url = "/api/hospitals/admin/reset-password/request/"
    unknown = _answer_and_work(url, {"email": "nobody-here@example.test", "hospital_code": hospital.code})
    assert unknown[0] == 200
    with django_capture_on_commit_callbacks(execute=True):
        answer = _answer_and_work(url, {"email": people["admin"].email, "hospital_code": hospital.code})
    assert answer == unknown
    assert not mail.outbox
    assert not PasswordResetToken.objects.exists() and not OneTimeCode.objects.exists()


def test_a_reset_started_before_the_hospital_was_deactivated_cannot_be_finished(
        django_capture_on_commit_callbacks):
    hospital = HospitalFactory()
    admin = make_hospital_admin(hospital=hospital)
    doctor = make_doctor(department=DepartmentFactory(hospital=hospital))
    with django_capture_on_commit_callbacks(execute=True):
        link = APIClient().post("/api/password/reset/", {"email": doctor.email}, format="json")
        started = APIClient().post("/api/hospitals/admin/reset-password/request/",
                                   {"email": admin.email, "hospital_code": hospital.code}, format="json")
    assert link.status_code == started.status_code == 200
    token = re.search(r"token=([\w\-]+)", next(m for m in mail.outbox if m.to == [doctor.email]).body).group(1)
    code = _code_sent_to(admin.email)
    _deactivate(hospital)

    new = {"new_password": "Brand-new-pass-1", "confirm_password": "Brand-new-pass-1"}
    confirmed = APIClient().post("/api/password/reset/confirm/", {"token": token, **new}, format="json")
    assert confirmed.status_code == 400 and confirmed.json()["code"] == "invalid_token", confirmed.json()
    verified = APIClient().post("/api/hospitals/admin/reset-password/verify/", {
        "token": started.json()["token"], "verification_code": code, "email": admin.email}, format="json")
    assert verified.status_code == 400 and verified.json()["code"] == "invalid_token", verified.json()
    doctor.refresh_from_db()
    admin.refresh_from_db()
    assert doctor.check_password(PASSWORD) and admin.check_password(PASSWORD)

    _deactivate(hospital, active=True)  # the link was never spent: within its hour it works again
    assert APIClient().post("/api/password/reset/confirm/", {"token": token, **new},
                            format="json").status_code == 200


def test_a_deactivated_hospitals_admin_verified_before_cannot_complete_the_reset(
        django_capture_on_commit_callbacks):
    hospital = HospitalFactory()
    admin = make_hospital_admin(hospital=hospital)
    with django_capture_on_commit_callbacks(execute=True):
        started = APIClient().post("/api/hospitals/admin/reset-password/request/",
                                   {"email": admin.email, "hospital_code": hospital.code}, format="json").json()
    verified = APIClient().post("/api/hospitals/admin/reset-password/verify/", {
        "token": started["token"], "verification_code": _code_sent_to(admin.email), "email": admin.email},
        format="json")
    assert verified.status_code == 200, verified.json()
    _deactivate(hospital)
    completed = APIClient().post("/api/hospitals/admin/reset-password/complete/", {
        "token": started["token"], "secondary_token": verified.json()["secondary_token"], "email": admin.email,
        "new_password": "Brand-new-pass-1", "confirm_password": "Brand-new-pass-1"}, format="json")
    assert completed.status_code == 400 and completed.json()["code"] == "invalid_token", completed.json()
    admin.refresh_from_db()
    assert admin.check_password(PASSWORD)


def test_no_login_code_is_resent_once_the_hospital_is_deactivated(django_capture_on_commit_callbacks):
    hospital = HospitalFactory()
    doctor = make_doctor(department=DepartmentFactory(hospital=hospital))
    with django_capture_on_commit_callbacks(execute=True):
        step1 = APIClient().post("/api/login/", {"email": doctor.email, "password": PASSWORD}, format="json")
    assert step1.status_code == 200 and len(mail.outbox) == 1
    unknown = _answer_and_work("/api/resend-otp/", {"email": "nobody-here@example.test"})
    _deactivate(hospital)
    with django_capture_on_commit_callbacks(execute=True):
        answer = _answer_and_work("/api/resend-otp/", {"email": doctor.email})
    assert answer == unknown and answer[0] == 200
    assert len(mail.outbox) == 1, "no new code"

    _deactivate(hospital, active=True)  # the same sign-in, its hospital back: the resend works
    with django_capture_on_commit_callbacks(execute=True):
        APIClient().post("/api/resend-otp/", {"email": doctor.email}, format="json")
    assert len(mail.outbox) == 2
