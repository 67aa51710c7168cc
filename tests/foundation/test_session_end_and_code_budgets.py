"""Every password change ends the account's sessions (the Django admin's form included) and the
refresh view refuses a token issued under an older password; login codes are resent only within
the window of the password step; wrong codes are capped per account across addresses; ending
the sessions deletes the medical-access sessions too (``accounts.services``, ``accounts.codes``,
``accounts.throttles``)."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core import mail
from django.db import connection
from django.db.models import F
from django.test import override_settings
from rest_framework.exceptions import Throttled

from accounts.codes import CodeRejected, code_issue, code_verify
from accounts.cookies import issue_tokens
from accounts.models import CodePurpose, OneTimeCode, User
from tests.concurrency import race
from tests.factories import PASSWORD, UserFactory, make_hospital_admin
from tests.helpers import client_for
from tests.records.conftest import MED_HEADER, RECORD_URL, open_record, send  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db
REFRESH = "/api/token/refresh/"
NEW_PASSWORD = "N3w-Operator-Set-pw!"


def _last_code(to: str) -> str:
    messages = [m for m in mail.outbox if to in m.to]
    assert messages, "no email sent"
    return re.search(r"\b(\d{6})\b", messages[-1].body).group(1)


def _with_refresh_cookie(user: User):
    client = client_for(None)
    client.cookies[settings.AUTH_COOKIE_REFRESH] = str(issue_tokens(user=user))
    return client


# --- 1. a password change ends every session, wherever it is made --------------------------
def test_the_admin_password_form_ends_the_accounts_sessions(staff_client, django_capture_on_commit_callbacks):
    account = UserFactory()
    old_refresh = _with_refresh_cookie(account)
    old_access = client_for(account)
    with django_capture_on_commit_callbacks(execute=True):
        answer = staff_client.post(f"/admin/accounts/user/{account.pk}/password/",
                                   {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert answer.status_code == 302, answer.status_code
    account.refresh_from_db()
    assert account.check_password(NEW_PASSWORD)

    refreshed = old_refresh.post(REFRESH)
    assert refreshed.status_code == 401 and refreshed.json()["message"]
    assert settings.AUTH_COOKIE_ACCESS not in refreshed.cookies or not refreshed.cookies[settings.AUTH_COOKIE_ACCESS].value
    assert old_access.get("/api/profile/").status_code == 401


def test_the_refresh_view_refuses_a_token_issued_under_an_older_password():
    account = UserFactory()
    old_refresh = _with_refresh_cookie(account)
    # A hash written without a save (no other session end): the token's password claim alone.
    User.objects.filter(pk=account.pk).update(password=make_password(NEW_PASSWORD))

    refreshed = old_refresh.post(REFRESH)
    assert refreshed.status_code == 401 and refreshed.json()["message"]


def test_saving_a_set_password_ends_the_sessions_and_other_saves_do_not():
    account = UserFactory()
    before = account.token_version
    account.full_name = "Renamed"
    account.save()
    assert User.objects.get(pk=account.pk).token_version == before

    loaded = User.objects.get(pk=account.pk)
    loaded.set_password(NEW_PASSWORD)
    loaded.save()
    assert User.objects.get(pk=account.pk).token_version == before + 1
    assert loaded.token_version == before + 1
    assert _with_refresh_cookie(account).post(REFRESH).status_code == 401


# --- 2. resends are counted from the password step ------------------------------------------
def _move_clock(user: User, *, minutes: int) -> None:
    """As if ``minutes`` had passed: every time stored for the account's codes moves back."""
    back = timedelta(minutes=minutes)
    OneTimeCode.objects.filter(user=user).update(
        created_at=F("created_at") - back, expires_at=F("expires_at") - back, started_at=F("started_at") - back
    )


def test_a_resend_after_the_password_steps_window_is_refused_and_its_code_dies_with_the_window(send):  # noqa: F811
    user = UserFactory(otp_required_for_login=True)
    client = client_for(None)
    assert send(client, "post", "/api/login/", {"email": user.email, "password": PASSWORD}).json()["require_otp"]

    _move_clock(user, minutes=14)  # 14 minutes after the password step: a resend is still allowed
    assert send(client, "post", "/api/resend-otp/", {"email": user.email}).status_code == 200
    resent = _last_code(user.email)
    latest = OneTimeCode.objects.filter(user=user).latest("created_at")
    first = OneTimeCode.objects.filter(user=user).earliest("created_at")
    assert latest.started_at == first.started_at  # carried forward, not reset
    assert latest.expires_at <= first.created_at + timedelta(minutes=15)  # dies with the window

    _move_clock(user, minutes=2)  # 16 minutes after the password step
    sent = len(mail.outbox)
    answer = send(client, "post", "/api/resend-otp/", {"email": user.email})
    assert answer.status_code == 200  # the same answer as ever, but no code
    assert len(mail.outbox) == sent and OneTimeCode.objects.filter(user=user).count() == 2

    used = client_for(None).post("/api/verify-login-otp/", {"email": user.email, "otp": resent}, format="json")
    assert used.status_code == 400 and used.json()["code"] == "code_expired"
    assert settings.AUTH_COOKIE_ACCESS not in used.cookies


def test_no_resend_once_the_sign_in_is_complete(send):  # noqa: F811
    user = UserFactory(otp_required_for_login=True)
    client = client_for(None)
    send(client, "post", "/api/login/", {"email": user.email, "password": PASSWORD})
    signed_in = client.post("/api/verify-login-otp/", {"email": user.email, "otp": _last_code(user.email)},
                            format="json")
    assert signed_in.status_code == 200
    sent = len(mail.outbox)
    assert send(client_for(None), "post", "/api/resend-otp/", {"email": user.email}).status_code == 200
    assert len(mail.outbox) == sent


# --- 3. wrong codes per account, whatever the address ---------------------------------------
@override_settings(CODE_FAILURES_PER_ACCOUNT="20/3600", CODE_CHECK_RATE_PER_ACCOUNT="15/900")
def test_wrong_reset_codes_from_many_addresses_stop_at_the_accounts_budget(send, hospital):  # noqa: F811
    admin = make_hospital_admin(hospital=hospital)
    answers = []
    for n in range(8):
        address = f"10.0.0.{n + 1}"
        client = client_for(None)
        opened = send(client, "post", "/api/hospitals/admin/reset-password/request/",
                      {"email": admin.email, "hospital_code": hospital.code}, REMOTE_ADDR=address)
        token, real = opened.json()["token"], _last_code(admin.email)
        for guess in range(3):
            wrong = f"{(int(real) + 1 + guess) % 10**6:06d}"
            answers.append(client.post("/api/hospitals/admin/reset-password/verify/",
                                       {"token": token, "verification_code": wrong, "email": admin.email},
                                       format="json", REMOTE_ADDR=address))
    statuses = [a.status_code for a in answers]
    assert statuses[:20] == [400] * 20 and set(statuses[20:]) == {429}, statuses
    refused = answers[-1]
    assert int(refused["Retry-After"]) > 0 and refused.json()["message"]

    right = client.post("/api/hospitals/admin/reset-password/verify/",
                        {"token": token, "verification_code": real, "email": admin.email},
                        format="json", REMOTE_ADDR="10.0.0.99")
    assert right.status_code == 429  # not even the right code is checked until the window ends


@override_settings(CODE_FAILURES_PER_ACCOUNT="4/3600")
def test_wrong_login_codes_from_many_addresses_stop_at_the_accounts_budget(send):  # noqa: F811
    user = UserFactory(otp_required_for_login=True)
    for n in range(4):
        send(client_for(None), "post", "/api/login/", {"email": user.email, "password": PASSWORD},
             REMOTE_ADDR=f"10.1.0.{n + 1}")
        real = _last_code(user.email)
        wrong = f"{(int(real) + 1) % 10**6:06d}"
        answer = client_for(None).post("/api/verify-login-otp/", {"email": user.email, "otp": wrong},
                                       format="json", REMOTE_ADDR=f"10.1.0.{n + 1}")
        assert answer.status_code == 400, answer.json()
    send(client_for(None), "post", "/api/login/", {"email": user.email, "password": PASSWORD},
         REMOTE_ADDR="10.1.0.9")
    refused = client_for(None).post("/api/verify-login-otp/", {"email": user.email, "otp": _last_code(user.email)},
                                    format="json", REMOTE_ADDR="10.1.0.9")
    assert refused.status_code == 429 and refused.json()["message"]
    # another family of codes keeps its own budget
    assert send(client_for(user), "post", "/api/patient/medical-record/request-otp/", {}).status_code == 200
    opened = client_for(user).post("/api/patient/medical-record/verify-otp/", {"otp": _last_code(user.email)},
                                     format="json")
    assert opened.status_code == 200, opened.json()


@override_settings(CODE_FAILURES_PER_ACCOUNT="2/3600")
def test_right_codes_do_not_use_the_wrong_code_budget(send):  # noqa: F811
    user = UserFactory(otp_required_for_login=True)
    for _ in range(4):
        send(client_for(None), "post", "/api/login/", {"email": user.email, "password": PASSWORD})
        answer = client_for(None).post("/api/verify-login-otp/", {"email": user.email, "otp": _last_code(user.email)},
                                       format="json")
        assert answer.status_code == 200
    send(client_for(None), "post", "/api/login/", {"email": user.email, "password": PASSWORD})
    wrong = f"{(int(_last_code(user.email)) + 1) % 10**6:06d}"
    statuses = [client_for(None).post("/api/verify-login-otp/", {"email": user.email, "otp": wrong},
                                      format="json").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]  # the two wrong codes the budget allows, then none


# --- 4. the medical-access sessions end with the account's sessions -------------------------
def test_signing_out_ends_the_medical_access_sessions(open_record, patient, send):  # noqa: F811
    client, token = open_record(patient)
    assert client.get(RECORD_URL, **{MED_HEADER: token}).status_code == 200

    assert send(_with_refresh_cookie(patient), "post", "/api/logout/").status_code == 200

    patient.refresh_from_db()
    again = client_for(patient)  # the next sign-in, the old token still in the browser
    refused = again.get(RECORD_URL, **{MED_HEADER: token})
    assert refused.status_code == 403 and refused.json()["code"] == "INVALID_MED_ACCESS"


def test_a_password_change_ends_the_medical_access_sessions(open_record, patient, send):  # noqa: F811
    client, token = open_record(patient)
    changed = send(client, "post", "/api/password/change/",
                   {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert changed.status_code == 200
    refused = client.get(RECORD_URL, **{MED_HEADER: token})  # the fresh cookies of the answer
    assert refused.status_code == 403 and refused.json()["code"] == "INVALID_MED_ACCESS"


def test_sign_out_works_when_the_medical_sessions_cannot_be_deleted(open_record, patient, send, caplog):  # noqa: F811
    _client, _token = open_record(patient)
    with override_settings(USER_SESSIONS_TABLE="phb-no-such-table"), caplog.at_level(logging.WARNING, "accounts"):
        answer = send(_with_refresh_cookie(patient), "post", "/api/logout/")
    assert answer.status_code == 200
    failures = [r for r in caplog.records if getattr(r, "event", "") == "med_sessions_revoke_failed"]
    assert failures and patient.email not in failures[0].getMessage()
    assert str(patient.pk) not in repr(failures[0].__dict__)


@pytest.mark.django_db(transaction=True)
@override_settings(CODE_FAILURES_PER_ACCOUNT="6/3600")
def test_parallel_wrong_codes_cannot_pass_the_accounts_budget():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises the whole database)")
    user = UserFactory()
    codes = {n: code_issue(user=user, purpose=CodePurpose.ADMIN_PASSWORD_RESET, subject=f"reset-{n}") for n in range(20)}

    def guess(n: int) -> str:
        try:
            code_verify(user=user, purpose=CodePurpose.ADMIN_PASSWORD_RESET, subject=f"reset-{n}",
                        code=f"{(int(codes[n]) + 1) % 10**6:06d}")
        except CodeRejected as exc:
            return exc.reason
        except Throttled:
            return "throttled"
        return "accepted"

    outcomes = race(guess, range(20))
    assert outcomes.count("invalid") == 6 and outcomes.count("throttled") == 14, outcomes


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                                     "django.contrib.auth.hashers.MD5PasswordHasher"])
def test_a_rehash_at_sign_in_keeps_the_accounts_other_sessions(django_user_model):
    """Newer hasher settings re-hash a right password when it is next checked: the password did not
    change, so the account's sessions go on."""
    from django.contrib.auth.hashers import make_password

    from tests.factories import PASSWORD, UserFactory

    user = UserFactory()
    django_user_model.objects.filter(pk=user.pk).update(password=make_password(PASSWORD, hasher="md5"))
    user = django_user_model.objects.get(pk=user.pk)
    version = user.token_version

    assert user.check_password(PASSWORD) is True

    stored = django_user_model.objects.get(pk=user.pk)
    assert not stored.password.startswith("md5$"), "the hash was upgraded"
    assert stored.token_version == version
    assert stored.check_password("not the password") is False
