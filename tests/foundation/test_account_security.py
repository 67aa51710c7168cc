"""Account security: staff always use the login code, security changes need the password and are
announced, throttles cannot be turned against the owner, password resets cost the same whether or
not the account exists, ended sessions end their access tokens, one birth-date rule."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from accounts.cookies import issue_tokens
from phb import afterresponse
from phb.middleware import register_after_response, unregister_after_response
from phb.zones import today_at
from tests.factories import PASSWORD, make_hospital_admin
from tests.helpers import admin_form_data, client_for

pytestmark = pytest.mark.django_db


def _login(email: str, password: str, address: str):
    client = client_for(None)
    return client.post("/api/login/", {"email": email, "password": password}, format="json",
                       HTTP_X_FORWARDED_FOR=address)


# --- Staff and security settings ---------------------------------------------------------------
@pytest.mark.parametrize("role", ["doctor", "hospital_admin"])
def test_staff_cannot_turn_off_the_login_code(role, doctor, hospital_admin):
    user = doctor if role == "doctor" else hospital_admin
    response = client_for(user).patch("/api/profile/", {"otp_required_for_login": False,
                                                        "current_password": PASSWORD}, format="json")
    assert response.status_code == 400 and "otp_required_for_login" in response.json()["errors"]
    user.refresh_from_db()
    assert user.otp_required_for_login is True


def test_staff_sign_in_with_the_code_even_when_their_flag_is_off(doctor):
    type(doctor).objects.filter(pk=doctor.pk).update(otp_required_for_login=False)  # set before the rule existed
    response = _login(doctor.email, PASSWORD, "10.0.0.1")
    assert response.status_code == 200 and response.json()["require_otp"] is True
    assert "access_token" not in response.cookies
    assert client_for(doctor).get("/api/profile/").json()["otp_required_for_login"] is True


def test_a_patient_turns_off_the_code_only_with_her_password_and_is_emailed(patient, django_capture_on_commit_callbacks):
    client = client_for(patient)
    missing = client.patch("/api/profile/", {"otp_required_for_login": False}, format="json")
    wrong = client.patch("/api/profile/", {"otp_required_for_login": False, "current_password": "nope"}, format="json")
    for refused in (missing, wrong):
        assert refused.status_code == 400 and "current_password" in refused.json()["errors"]
    patient.refresh_from_db()
    assert patient.otp_required_for_login is True and mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        done = client.patch("/api/profile/", {"otp_required_for_login": False, "current_password": PASSWORD},
                            format="json")
    assert done.status_code == 200 and done.json()["otp_required_for_login"] is False
    assert [m.subject for m in mail.outbox] == ["Your PHB sign-in security changed"]
    assert mail.outbox[0].to == [patient.email]
    # Sending the unchanged value with other fields needs no password and sends nothing.
    again = client.patch("/api/profile/", {"otp_required_for_login": False, "city": "Kano"}, format="json")
    assert again.status_code == 200 and len(mail.outbox) == 1


def _signed_in_with_password_alone(user):
    """A browser signed in as ``user`` whose code is off: the password step set the cookies."""
    client = client_for(None)
    answer = client.post("/api/login/", {"email": user.email, "password": PASSWORD}, format="json")
    assert answer.status_code == 200 and "user" in answer.json()  # no code asked
    return client


@pytest.mark.parametrize("change", [{"role": "pharmacist"}, {"role": "doctor"}, {"is_staff": "on"}])
def test_making_an_account_staff_ends_the_sessions_it_opened_without_the_code(change, patient, staff_client,
                                                                               django_capture_on_commit_callbacks):
    type(patient).objects.filter(pk=patient.pk).update(otp_required_for_login=False)
    browser = _signed_in_with_password_alone(patient)
    assert browser.get("/api/profile/").status_code == 200
    url = f"/admin/accounts/user/{patient.pk}/change/"
    with django_capture_on_commit_callbacks(execute=True):
        saved = staff_client.post(url, {**admin_form_data(staff_client.get(url)), **change})
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    assert browser.get("/api/profile/").status_code == 401
    assert browser.post("/api/token/refresh/").status_code == 401
    again = _login(patient.email, PASSWORD, "10.0.0.2")
    assert again.status_code == 200 and again.json()["require_otp"] is True  # now with the code


def test_other_saves_of_an_account_keep_its_sessions(patient, doctor):
    for user in (patient, doctor):
        client = client_for(user)
        loaded = type(user).objects.get(pk=user.pk)
        loaded.city = "Kano"
        loaded.save()
        deferred = type(user).objects.only("id", "role").get(pk=user.pk)
        deferred.role = user.role  # the same role, loaded without is_staff
        deferred.save(update_fields=["role"])
        assert client.get("/api/profile/").status_code == 200


# --- Throttling ---------------------------------------------------------------------------------
@override_settings(TRUSTED_PROXY_COUNT=1, LOGIN_RATE_PER_ACCOUNT="5/900", LOGIN_FAILURES_PER_ACCOUNT="1000/3600")
def test_a_stranger_guessing_cannot_lock_the_owner_out(patient):
    attacker = [_login(patient.email, f"guess-{i}", "203.0.113.7").status_code for i in range(8)]
    assert attacker[:5] == [401] * 5 and attacker[5:] == [429] * 3
    assert _login(patient.email, PASSWORD, "203.0.113.7").status_code == 429  # the guesser stays stopped
    owner = _login(patient.email, PASSWORD, "198.51.100.20")
    assert owner.status_code == 200 and owner.json()["require_otp"] is True


@override_settings(TRUSTED_PROXY_COUNT=1, LOGIN_RATE_PER_ACCOUNT="5/900", LOGIN_FAILURES_PER_ACCOUNT="6/3600")
def test_guessing_spread_over_many_addresses_hits_the_account_ceiling_but_not_known_addresses(patient):
    assert _login(patient.email, PASSWORD, "198.51.100.20").status_code == 200  # the owner's usual address
    spread = [_login(patient.email, f"guess-{i}", f"203.0.113.{i}").status_code for i in range(10)]
    assert spread[:6] == [401] * 6 and spread[6:] == [429] * 4
    assert _login(patient.email, PASSWORD, "203.0.113.200").status_code == 429  # right password, new address
    assert _login(patient.email, PASSWORD, "198.51.100.20").status_code == 200  # the owner still gets in


@override_settings(TRUSTED_PROXY_COUNT=1, LOGIN_RATE_PER_ACCOUNT="3/900", CODE_CHECK_RATE_PER_ACCOUNT="3/900")
def test_password_and_code_checks_have_separate_budgets(patient, django_capture_on_commit_callbacks):
    address = "198.51.100.20"
    client = client_for(None)
    for _ in range(3):
        client.post("/api/verify-login-otp/", {"email": patient.email, "otp": "000000"}, format="json",
                    HTTP_X_FORWARDED_FOR=address)
    spent = client.post("/api/verify-login-otp/", {"email": patient.email, "otp": "000000"}, format="json",
                        HTTP_X_FORWARDED_FOR=address)
    assert spent.status_code == 429
    with django_capture_on_commit_callbacks(execute=True):
        assert _login(patient.email, PASSWORD, address).status_code == 200  # codes spent, passwords not
    wrong = [_login(patient.email, "wrong", "198.51.100.30").status_code for _ in range(4)]
    assert wrong[-1] == 429
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    verify = client_for(None).post("/api/verify-login-otp/", {"email": patient.email, "otp": code}, format="json",
                                   HTTP_X_FORWARDED_FOR="198.51.100.30")
    assert verify.status_code == 200  # passwords spent at that address, codes not


@override_settings(TRUSTED_PROXY_COUNT=1, REGISTRATION_RATE_PER_IP="2/3600")
def test_registration_is_limited_per_address():
    def register(i: int, address: str) -> int:
        body = {"full_name": "New Person", "email": f"new{i}@example.test", "password": "Sturdy-pass-123",
                "date_of_birth": "1990-01-01", "consent_terms": True, "consent_hipaa": True,
                "consent_data_processing": True}
        return client_for(None).post("/api/registration/", body, format="json",
                                     HTTP_X_FORWARDED_FOR=address).status_code

    assert [register(i, "203.0.113.9") for i in range(3)] == [201, 201, 429]
    assert register(9, "203.0.113.10") == 201


# --- Password reset: the same work whoever asks -----------------------------------------------
def _work_before_the_answer(url: str, body: dict) -> tuple[int, list[str], int]:
    """(status, tables the queries touched, jobs left for after the response), as the response left."""
    seen: dict = {}

    def hook(request, response, duration_ms):
        seen["sql"] = [q["sql"] for q in queries.captured_queries]
        seen["deferred"] = afterresponse.pending()

    register_after_response(hook)
    try:
        with CaptureQueriesContext(connection) as queries:
            response = client_for(None).post(url, body, format="json")
    finally:
        unregister_after_response(hook)
    touched = sorted({word.strip('"') for sql in seen["sql"] for word in sql.split() if word.startswith('"accounts_')})
    return response.status_code, touched, seen["deferred"]


def test_patient_reset_does_the_same_work_for_known_and_unknown_emails(patient, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        known = _work_before_the_answer("/api/password/reset/", {"email": patient.email})
    unknown = _work_before_the_answer("/api/password/reset/", {"email": "nobody@example.test"})
    assert known == unknown == (200, [], 1)  # no account lookup before the answer; one job after it
    assert [m.to for m in mail.outbox] == [[patient.email]]  # the job did run, for the real account only


def test_admin_reset_does_the_same_work_for_known_and_unknown_admins(hospital, django_capture_on_commit_callbacks):
    admin = make_hospital_admin(hospital=hospital)
    url = "/api/hospitals/admin/reset-password/request/"
    with django_capture_on_commit_callbacks(execute=True):
        known = _work_before_the_answer(url, {"email": admin.email, "hospital_code": hospital.code})
    unknown = _work_before_the_answer(url, {"email": "nobody@example.test", "hospital_code": hospital.code})
    assert known == unknown == (200, [], 1)
    assert [m.to for m in mail.outbox] == [[admin.email]]


# --- Ended sessions end their access tokens ---------------------------------------------------------
def _with_tokens(user):
    refresh = issue_tokens(user=user)
    client = client_for(None)
    client.cookies[settings.AUTH_COOKIE_ACCESS] = str(refresh.access_token)
    client.cookies[settings.AUTH_COOKIE_REFRESH] = str(refresh)
    return client, str(refresh.access_token), str(refresh)


def _bearer(access: str) -> int:
    return client_for(None).get("/api/profile/", HTTP_AUTHORIZATION=f"Bearer {access}").status_code


def test_logout_ends_the_access_token(patient):
    client, access, refresh = _with_tokens(patient)
    assert _bearer(access) == 200
    assert client.post("/api/logout/").status_code == 200
    assert _bearer(access) == 401
    again = client_for(None)
    again.cookies[settings.AUTH_COOKIE_REFRESH] = refresh
    assert again.post("/api/token/refresh/").status_code == 401


def test_logout_with_only_the_access_cookie_ends_it(patient):
    client = client_for(patient)
    access = client.cookies[settings.AUTH_COOKIE_ACCESS].value
    assert client.post("/api/logout/").status_code == 200
    assert _bearer(access) == 401


def test_password_change_ends_other_sessions_and_keeps_this_one(patient):
    _, other_access, _ = _with_tokens(patient)
    client, _, _ = _with_tokens(patient)
    changed = client.post("/api/password/change/", {"current_password": PASSWORD, "new_password": "Fresh-pass-456",
                                                    "confirm_password": "Fresh-pass-456"}, format="json")
    assert changed.status_code == 200
    assert _bearer(other_access) == 401
    assert client.get("/api/profile/").status_code == 200  # the new cookies of this session


def test_password_reset_ends_access_tokens(patient, django_capture_on_commit_callbacks):
    _, access, _ = _with_tokens(patient)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(None).post("/api/password/reset/", {"email": patient.email}, format="json")
    token = mail.outbox[-1].body.split("token=")[1].split()[0]
    done = client_for(None).post("/api/password/reset/confirm/", {
        "token": token, "new_password": "Fresh-pass-456", "confirm_password": "Fresh-pass-456"}, format="json")
    assert done.status_code == 200
    assert _bearer(access) == 401


# --- One birth-date rule --------------------------------------------------------------------------
def _day_after_years_ago(years: int) -> str:
    """The day after the date ``years`` ago (28 February stands for 29 February in a common year)."""
    today = today_at()
    day = 28 if (today.month, today.day) == (2, 29) else today.day
    then = today.replace(year=today.year - years, day=day)
    return (then + timedelta(days=1)).isoformat()


@pytest.mark.parametrize("born", ["0001-01-01", _day_after_years_ago(17),
                                  (today_at() + timedelta(days=1)).isoformat()])
def test_registration_and_profile_refuse_the_same_birth_dates(patient, born):
    body = {"full_name": "New Person", "email": "born@example.test", "password": "Sturdy-pass-123",
            "date_of_birth": born, "consent_terms": True, "consent_hipaa": True, "consent_data_processing": True}
    registered = client_for(None).post("/api/registration/", body, format="json")
    patched = client_for(patient).patch("/api/profile/", {"date_of_birth": born}, format="json")
    assert registered.status_code == patched.status_code == 400
    assert "date_of_birth" in registered.json()["errors"] and "date_of_birth" in patched.json()
    assert registered.json()["date_of_birth"] == patched.json()["date_of_birth"]


def test_an_adult_birth_date_is_accepted_by_both(patient):
    assert client_for(patient).patch("/api/profile/", {"date_of_birth": "1990-05-01"}, format="json").status_code == 200


@override_settings(LOGIN_RATE_PER_ACCOUNT="3/900")
def test_a_signed_in_session_cannot_guess_the_password_faster_than_a_login(patient):
    client = client_for(patient)
    answers = [client.patch("/api/profile/", {"otp_required_for_login": False, "current_password": f"guess-{i}"},
                            format="json").status_code for i in range(3)]
    answers.append(client.post("/api/password/change/", {"current_password": "guess-x", "new_password": "Fresh-pass-456",
                                                         "confirm_password": "Fresh-pass-456"}, format="json").status_code)
    assert answers == [400, 400, 400, 429]


def test_a_profile_form_without_the_code_flag_is_refused_not_read_as_turning_it_off(patient):
    # A form cannot leave a boolean out: an absent checkbox reads as false. The profile takes JSON only.
    client = client_for(patient)
    response = client.patch("/api/profile/", {"city": "Kano"}, format="multipart")
    assert response.status_code == 415
    assert "message" in response.json()
    patient.refresh_from_db()
    assert patient.otp_required_for_login is True
    assert client.patch("/api/profile/", {"city": "Kano"}, format="json").status_code == 200
