"""Registration, profile, role, onboarding, passwords, throttling (contract A3, A6–A13)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import override_settings

from accounts.models import PasswordResetToken, User
from tests.factories import PASSWORD, UserFactory
from tests.helpers import client_for

REGISTRATION = {
    "full_name": "Ngozi Example",
    "email": "ngozi@example.test",
    "password": "Sup3r-secret-pass",
    "gender": "female",
    "date_of_birth": "1990-04-02",
    "phone": "+2348012345678",
    "country": "nigeria",
    "state": "lagos",
    "city": "ikeja",
    "preferred_language": "english",
    "secondary_languages": ["yoruba"],
    "nin": "12345678901",
    "consent_terms": True,
    "consent_hipaa": True,
    "consent_data_processing": True,
}


@pytest.mark.django_db
def test_registration_then_immediate_login():
    client = client_for(None)
    response = client.post("/api/registration/", REGISTRATION, format="json")
    assert response.status_code == 201, response.json()
    user = User.objects.get(email="ngozi@example.test")
    assert user.role == "patient" and not user.email_verified
    assert user.check_password("Sup3r-secret-pass")
    login = client.post("/api/login/", {"email": "ngozi@example.test", "password": "Sup3r-secret-pass"}, format="json")
    assert login.status_code == 200 and login.json()["require_otp"] is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change,field",
    [
        ({"consent_hipaa": False}, "consent_hipaa"),
        ({"date_of_birth": "2015-01-01"}, "date_of_birth"),
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"nin": "123"}, "nin"),
    ],
)
def test_registration_validation_errors_have_message_and_field(change, field):
    response = client_for(None).post("/api/registration/", {**REGISTRATION, **change}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["message"] and field in body["errors"] and isinstance(body[field], list)


@pytest.mark.django_db
def test_registration_cannot_grant_a_role():
    response = client_for(None).post("/api/registration/", {**REGISTRATION, "role": "hospital_admin"}, format="json")
    assert response.status_code == 201
    assert User.objects.get(email="ngozi@example.test").role == "patient"


@pytest.mark.django_db
def test_duplicate_email_is_refused_case_insensitively():
    UserFactory(email="ngozi@example.test")
    response = client_for(None).post("/api/registration/", {**REGISTRATION, "email": "NGOZI@example.test"}, format="json")
    assert response.status_code == 400
    assert "already exists" in response.json()["message"]


@pytest.mark.django_db
def test_profile_always_has_role_and_patch_updates(patient):
    client = client_for(patient)
    body = client.get("/api/profile/").json()
    assert body["role"] == "patient"
    assert body["primaryHospital"]["status"] == "approved"
    response = client.patch(
        "/api/profile/",
        {"city": "abuja", "date_of_birth": "", "otp_required_for_login": False, "role": "doctor", "secondary_languages": "",
         "current_password": PASSWORD},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["city"] == "abuja"
    assert response.json()["date_of_birth"] is None
    assert response.json()["role"] == "patient"
    patient.refresh_from_db()
    assert patient.otp_required_for_login is False and patient.role == "patient"


@pytest.mark.django_db
def test_profile_patch_bad_date_is_400_with_detail(patient):
    response = client_for(patient).patch("/api/profile/", {"date_of_birth": "31-31-2020"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"]


@pytest.mark.django_db
def test_role_and_onboarding(patient):
    client = client_for(patient)
    assert client.get("/api/user/role/").json() == {"role": "patient"}
    assert client.post("/api/onboarding/update/", {"has_completed_onboarding": True}, format="json").status_code == 200
    patient.refresh_from_db()
    assert patient.has_completed_onboarding


@pytest.mark.django_db
def test_password_change_checks_current_and_confirmation(patient):
    client = client_for(patient)
    wrong = client.post("/api/password/change/", {"current_password": "nope", "new_password": "An0ther-pass!",
                                                  "confirm_password": "An0ther-pass!"}, format="json")
    assert wrong.status_code == 400 and wrong.json()["current_password"]
    mismatch = client.post("/api/password/change/", {"current_password": PASSWORD, "new_password": "An0ther-pass!",
                                                     "confirm_password": "different-pass!"}, format="json")
    assert mismatch.status_code == 400 and mismatch.json()["confirm_password"]
    ok = client.post("/api/password/change/", {"current_password": PASSWORD, "new_password": "An0ther-pass!",
                                               "confirm_password": "An0ther-pass!"}, format="json")
    assert ok.status_code == 200
    patient.refresh_from_db()
    assert patient.check_password("An0ther-pass!")


@pytest.mark.django_db
def test_password_reset_same_answer_for_unknown_email_and_single_use_token(django_capture_on_commit_callbacks):
    user = UserFactory(email="reset@example.test")
    client = client_for(None)
    with django_capture_on_commit_callbacks(execute=True):
        unknown = client.post("/api/password/reset/", {"email": "nobody@example.test"}, format="json")
        known = client.post("/api/password/reset/", {"email": "reset@example.test"}, format="json")
    assert unknown.status_code == known.status_code == 200
    assert unknown.json() == known.json()
    assert len(mail.outbox) == 1
    token = re.search(r"token=([\w\-]+)", mail.outbox[0].body).group(1)
    stored = PasswordResetToken.objects.get(user=user)
    assert token not in stored.token_hash
    body = {"token": token, "new_password": "Brand-new-pass-1", "confirm_password": "Brand-new-pass-1"}
    assert client.post("/api/password/reset/confirm/", body, format="json").status_code == 200
    user.refresh_from_db()
    assert user.check_password("Brand-new-pass-1")
    again = client.post("/api/password/reset/confirm/", {**body, "new_password": "Other-pass-123", "confirm_password": "Other-pass-123"}, format="json")
    assert again.status_code == 400 and again.json()["message"]


@pytest.mark.django_db
def test_expired_reset_token_refused(django_capture_on_commit_callbacks):
    from django.utils import timezone

    UserFactory(email="late@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        client_for(None).post("/api/password/reset/", {"email": "late@example.test"}, format="json")
    token = re.search(r"token=([\w\-]+)", mail.outbox[0].body).group(1)
    PasswordResetToken.objects.update(expires_at=timezone.now())
    body = {"token": token, "new_password": "Brand-new-pass-1", "confirm_password": "Brand-new-pass-1"}
    assert client_for(None).post("/api/password/reset/confirm/", body, format="json").status_code == 400


@pytest.mark.django_db
def test_resend_only_when_a_login_is_in_progress(django_capture_on_commit_callbacks):
    UserFactory(email="resend@example.test")
    client = client_for(None)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/api/resend-otp/", {"email": "resend@example.test"}, format="json")
    assert len(mail.outbox) == 0
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/api/login/", {"email": "resend@example.test", "password": PASSWORD}, format="json")
    assert len(mail.outbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/resend-otp/", {"email": "resend@example.test"}, format="json")
    assert response.status_code == 200 and len(mail.outbox) == 2


@pytest.mark.django_db
def test_login_throttled_per_account_with_retry_after():
    UserFactory(email="busy@example.test")
    client = client_for(None)
    with override_settings(LOGIN_RATE_PER_ACCOUNT="3/600"):
        statuses = [
            client.post("/api/login/", {"email": "busy@example.test", "password": "wrong-pass"}, format="json").status_code
            for _ in range(4)
        ]
        last = client.post("/api/login/", {"email": "BUSY@example.test", "password": PASSWORD}, format="json")
    assert statuses == [401, 401, 401, 429]
    assert last.status_code == 429
    assert int(last["Retry-After"]) > 0
    assert last.json()["message"]


@pytest.mark.django_db
def test_login_throttled_per_ip_is_separate_and_generous():
    client = client_for(None)
    with override_settings(LOGIN_RATE_PER_IP="5/600", LOGIN_RATE_PER_ACCOUNT="100/600"):
        statuses = [
            client.post("/api/login/", {"email": f"n{i}@example.test", "password": "x-wrong-x"}, format="json").status_code
            for i in range(6)
        ]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429


@pytest.mark.django_db
def test_cross_origin_cookie_write_refused(patient):
    client = client_for(patient)
    evil = client.patch("/api/profile/", {"city": "x"}, format="json", HTTP_ORIGIN="https://evil.example")
    assert evil.status_code == 403
    allowed = client.patch("/api/profile/", {"city": "y"}, format="json", HTTP_ORIGIN="http://localhost:5173")
    assert allowed.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("origin", ["http://[::1", "http://[x]", "https://[::1]:99999999999", "http://\x00["])
def test_an_origin_that_is_not_a_url_is_a_foreign_one(patient, origin):
    response = client_for(patient).post("/api/onboarding/update/", {}, format="json", HTTP_ORIGIN=origin)
    assert response.status_code == 403, (origin, response.status_code, response.content[:200])
    assert response.json()["message"] == "Cross-origin request refused."


@pytest.mark.django_db
def test_cors_preflight_allows_frontend_headers():
    response = client_for(None).options(
        "/api/patient/medical-record/",
        HTTP_ORIGIN="http://localhost:5173",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-med-access-token,content-type",
    )
    assert response["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "x-med-access-token" in response["Access-Control-Allow-Headers"]
    other = client_for(None).options("/api/login/", HTTP_ORIGIN="https://evil.example",
                                     HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in other


@pytest.mark.django_db
def test_password_change_ends_other_sessions(patient):
    other_device = client_for(patient)
    this_device = client_for(patient)
    assert other_device.get("/api/profile/").status_code == 200
    response = this_device.post("/api/password/change/", {"current_password": PASSWORD, "new_password": "An0ther-pass!",
                                                          "confirm_password": "An0ther-pass!"}, format="json")
    assert response.status_code == 200
    assert other_device.get("/api/profile/").status_code == 401
    assert this_device.get("/api/profile/").status_code == 200  # fresh cookies came with the answer


@pytest.mark.django_db
def test_inactive_user_token_refused(patient):
    client = client_for(patient)
    patient.is_active = False
    patient.save(update_fields=["is_active"])
    assert client.get("/api/profile/").status_code == 401
