"""Hospital-admin password reset: request → verify (emailed code) → complete (contract §1.1)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail

from accounts.cookies import issue_tokens
from accounts.models import PasswordResetToken
from tests.factories import PASSWORD, HospitalFactory, UserFactory, make_hospital_admin
from tests.helpers import client_for

NEW_PASSWORD = "a-brand-new-Passw0rd"
REQUEST = "/api/hospitals/admin/reset-password/request/"
VERIFY = "/api/hospitals/admin/reset-password/verify/"
COMPLETE = "/api/hospitals/admin/reset-password/complete/"
pytestmark = pytest.mark.django_db


def _request(client, capture, *, email, hospital_code):
    sent_before = len(mail.outbox)
    with capture(execute=True):
        response = client.post(REQUEST, {"email": email, "hospital_code": hospital_code}, format="json")
    assert response.status_code == 200, response.content
    return response.json(), mail.outbox[sent_before:]


def _code_of(message) -> str:
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def _login_works(email: str, password: str, hospital_code: str) -> bool:
    response = client_for(None).post("/api/hospitals/admin/login/",
                                     {"email": email, "password": password, "hospital_code": hospital_code},
                                     format="json")
    return response.status_code == 200


def test_three_steps_set_a_new_password_and_sign_out_everywhere(django_capture_on_commit_callbacks, hospital):
    admin = make_hospital_admin(hospital=hospital)
    signed_in = client_for(None)
    signed_in.cookies[settings.AUTH_COOKIE_REFRESH] = str(issue_tokens(user=admin))
    assert signed_in.post("/api/token/refresh/").status_code == 200
    client = client_for(None)

    body, sent = _request(client, django_capture_on_commit_callbacks, email=admin.email.upper(),
                          hospital_code=hospital.code)
    assert len(sent) == 1 and sent[0].to == [admin.email]
    assert body["token"] not in sent[0].body, "the flow token is never emailed"

    verified = client.post(VERIFY, {"token": body["token"], "verification_code": _code_of(sent[0]),
                                    "email": admin.email, "hospital_code": hospital.code}, format="json")
    assert verified.status_code == 200, verified.content
    secondary = verified.json()["secondary_token"]
    assert verified.json()["token"] == body["token"] and secondary != body["token"]

    done = client.post(COMPLETE, {"token": body["token"], "secondary_token": secondary, "email": admin.email,
                                  "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}, format="json")
    assert done.status_code == 200, done.content
    assert _login_works(admin.email, NEW_PASSWORD, hospital.code)
    assert not _login_works(admin.email, PASSWORD, hospital.code)
    assert signed_in.post("/api/token/refresh/").status_code in (401, 403), "old refresh tokens are revoked"

    again = client.post(COMPLETE, {"token": body["token"], "secondary_token": secondary, "email": admin.email,
                                   "new_password": "yet-another-Passw0rd", "confirm_password": "yet-another-Passw0rd"},
                        format="json")
    assert again.status_code == 400 and again.json()["message"]
    assert _login_works(admin.email, NEW_PASSWORD, hospital.code), "a spent reset changes nothing"


def test_unknown_admin_wrong_hospital_and_patients_get_the_same_answer_and_no_email(
    django_capture_on_commit_callbacks, hospital
):
    admin = make_hospital_admin(hospital=hospital)
    patient = UserFactory()
    other_hospital = HospitalFactory()
    shapes = []
    for email, code in ((admin.email, other_hospital.code), (patient.email, hospital.code),
                        ("nobody@example.org", hospital.code)):
        body, sent = _request(client_for(None), django_capture_on_commit_callbacks, email=email, hospital_code=code)
        assert sent == []
        shapes.append((tuple(sorted(body)), len(body["token"]), body["message"]))
    real, sent = _request(client_for(None), django_capture_on_commit_callbacks, email=admin.email,
                          hospital_code=hospital.code)
    assert len(sent) == 1
    assert {*shapes} == {(tuple(sorted(real)), len(real["token"]), real["message"])}
    decoy_verify = client_for(None).post(VERIFY, {"token": "x" * 43, "verification_code": _code_of(sent[0]),
                                                  "email": admin.email}, format="json")
    assert decoy_verify.status_code == 400


def test_code_and_tokens_are_bound_to_their_flow(django_capture_on_commit_callbacks, hospital):
    admin = make_hospital_admin(hospital=hospital)
    other = make_hospital_admin(hospital=hospital)
    client = client_for(None)
    body, sent = _request(client, django_capture_on_commit_callbacks, email=admin.email, hospital_code=hospital.code)
    code = _code_of(sent[0])

    wrong_email = client.post(VERIFY, {"token": body["token"], "verification_code": code, "email": other.email},
                              format="json")
    assert wrong_email.status_code == 400
    skipped = client.post(COMPLETE, {"token": body["token"], "secondary_token": body["token"], "email": admin.email,
                                     "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}, format="json")
    assert skipped.status_code == 400, "no password change without the code step"
    link_form = client.post("/api/password/reset/confirm/", {"token": body["token"], "new_password": NEW_PASSWORD,
                                                             "confirm_password": NEW_PASSWORD}, format="json")
    assert link_form.status_code == 400, "the admin flow token is not a patient reset link"
    login_code = client.post("/api/verify-login-otp/", {"email": admin.email, "otp": code}, format="json")
    assert login_code.status_code == 400, "a reset code cannot sign in"

    mismatch = client.post(COMPLETE, {"token": body["token"], "secondary_token": "s", "email": admin.email,
                                      "new_password": NEW_PASSWORD, "confirm_password": "different-Passw0rd"},
                           format="json")
    assert mismatch.status_code == 400 and "confirm_password" in mismatch.json()
    assert _login_works(admin.email, PASSWORD, hospital.code)


def test_five_wrong_codes_lock_the_flow(django_capture_on_commit_callbacks, hospital):
    admin = make_hospital_admin(hospital=hospital)
    client = client_for(None)
    body, sent = _request(client, django_capture_on_commit_callbacks, email=admin.email, hospital_code=hospital.code)
    code = _code_of(sent[0])
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        refused = client.post(VERIFY, {"token": body["token"], "verification_code": wrong, "email": admin.email},
                              format="json")
        assert refused.status_code == 400
    right = client.post(VERIFY, {"token": body["token"], "verification_code": code, "email": admin.email},
                        format="json")
    assert right.status_code == 400 and right.json()["code"] == "code_locked"
    assert not PasswordResetToken.objects.filter(user=admin, verified_at__isnull=False).exists()


def test_a_new_request_supersedes_the_previous_flow(django_capture_on_commit_callbacks, hospital):
    admin = make_hospital_admin(hospital=hospital)
    client = client_for(None)
    first, first_sent = _request(client, django_capture_on_commit_callbacks, email=admin.email,
                                 hospital_code=hospital.code)
    _request(client, django_capture_on_commit_callbacks, email=admin.email, hospital_code=hospital.code)
    stale = client.post(VERIFY, {"token": first["token"], "verification_code": _code_of(first_sent[0]),
                                 "email": admin.email}, format="json")
    assert stale.status_code == 400


def _answers(client, token: str, email: str, codes: list[str]) -> list[tuple]:
    out = []
    for code in codes:
        response = client.post(VERIFY, {"token": token, "verification_code": code, "email": email}, format="json")
        body = response.json()
        out.append((response.status_code, body.get("code"), body.get("message"), body.get("attempts_left")))
    return out


def test_the_code_step_does_not_tell_whether_the_details_matched_an_admin(django_capture_on_commit_callbacks,
                                                                           hospital):
    """The code step answers a request that matched no admin (an unknown email, a patient's, an
    admin's with another hospital's code) exactly as it answers a real admin's request to someone
    without her code: malformed, wrong with the attempts left, then locked."""
    admin = make_hospital_admin(hospital=hospital)
    patient = UserFactory()
    other_hospital = HospitalFactory()
    wrong = ["12ab56"] + ["000000"] * 6
    seen = {}
    for name, (email, code) in {"admin": (admin.email, hospital.code),
                                "unknown": ("nobody@example.org", hospital.code),
                                "patient": (patient.email, hospital.code),
                                "other hospital": (admin.email, other_hospital.code)}.items():
        body, sent = _request(client_for(None), django_capture_on_commit_callbacks, email=email, hospital_code=code)
        if name == "admin":  # a guess that happens to be right would end the comparison
            assert _code_of(sent[0]) != "000000"
        seen[name] = _answers(client_for(None), body["token"], email, wrong)
    assert seen["admin"][1] == (400, "code_invalid", "Incorrect code. 4 attempt(s) left.", 4)
    assert seen["admin"][-1][1] == "code_locked"
    assert seen["unknown"] == seen["patient"] == seen["other hospital"] == seen["admin"], seen


def test_a_newer_request_supersedes_one_that_matched_no_admin_as_it_does_a_real_one(
    django_capture_on_commit_callbacks, hospital
):
    admin = make_hospital_admin(hospital=hospital)
    answers = {}
    for name, email in {"admin": admin.email, "unknown": "nobody@example.org"}.items():
        first, _ = _request(client_for(None), django_capture_on_commit_callbacks, email=email,
                            hospital_code=hospital.code)
        _request(client_for(None), django_capture_on_commit_callbacks, email=email, hospital_code=hospital.code)
        answers[name] = _answers(client_for(None), first["token"], email, ["000000"])
    assert answers["admin"] == answers["unknown"]
    assert answers["admin"][0][:2] == (400, "invalid_token")


def test_wrong_codes_of_an_unmatched_request_count_against_the_accounts_budget(
    django_capture_on_commit_callbacks, hospital, settings
):
    """An admin's requests opened with another hospital's code draw on her wrong-code budget, as
    her real ones do: past it her real request is not checked either (429), as an email matching
    no admin would be."""
    settings.CODE_FAILURES_PER_ACCOUNT = "4/3600"
    other_hospital = HospitalFactory()
    statuses = {}
    for name, email in {"admin": make_hospital_admin(hospital=hospital).email,
                        "unknown": "nobody@example.org"}.items():
        decoy, _ = _request(client_for(None), django_capture_on_commit_callbacks, email=email,
                            hospital_code=other_hospital.code)
        assert [a[0] for a in _answers(client_for(None), decoy["token"], email, ["000000"] * 4)] == [400] * 4
        real, _ = _request(client_for(None), django_capture_on_commit_callbacks, email=email,
                           hospital_code=hospital.code)
        statuses[name] = _answers(client_for(None), real["token"], email, ["000000"])[0][0]
    assert statuses == {"admin": 429, "unknown": 429}
