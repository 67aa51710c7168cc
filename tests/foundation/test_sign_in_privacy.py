"""Checking a login code and asking for a new one take no password, so their answers must not tell
who has an account: an email nobody has, an inactive account and an account without a live code
are answered alike, after the same work (``accounts.services.login_verify_code``); a resend's
lookup and email run after its answer (``accounts.services.login_code_resend_for``)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from accounts.codes import code_issue
from accounts.models import CodePurpose
from tests.factories import PASSWORD, UserFactory
from tests.helpers import answered_before_work, client_for

pytestmark = pytest.mark.django_db

VERIFY_URLS = {
    "/api/verify-login-otp/": lambda email, code: {"email": email, "otp": code},
    "/api/hospitals/admin/verify-2fa/": lambda email, code: {"email": email, "verification_code": code,
                                                             "remember_device": False},
}


def _answer(url: str, email: str, code: str) -> tuple[int, dict, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client_for(None).post(url, VERIFY_URLS[url](email, code), format="json")
    tables = [word.strip('"') for q in queries.captured_queries for word in q["sql"].split()
              if word.startswith('"accounts_')]
    return response.status_code, response.json(), sorted(set(tables))


@pytest.mark.parametrize("url", list(VERIFY_URLS))
@pytest.mark.parametrize("code", ["123456", "12a"])
def test_code_checks_answer_alike_whether_or_not_the_account_exists(url, code):
    without_code = UserFactory()
    spent = UserFactory()
    code_issue(user=spent, purpose=CodePurpose.LOGIN)
    type(spent).objects.filter(pk=spent.pk).update(is_active=False)  # an inactive account with a live code
    expired = UserFactory()
    code_issue(user=expired, purpose=CodePurpose.LOGIN, not_after=None)
    expired.one_time_codes.update(expires_at=expired.date_joined)

    answers = {who: _answer(url, email, code) for who, email in {
        "nobody": "nobody-at-all@example.test",
        "no code": without_code.email,
        "inactive": spent.email,
        "expired code": expired.email,
    }.items()}
    assert len({repr(a) for a in answers.values()}) == 1, answers
    status, body, _ = answers["nobody"]
    assert status == 400 and body["message"]


def test_the_owner_still_signs_in_with_her_code(django_capture_on_commit_callbacks):
    user = UserFactory()
    code = code_issue(user=user, purpose=CodePurpose.LOGIN)
    wrong = "000000" if code != "000000" else "111111"
    refused = client_for(None).post("/api/verify-login-otp/", {"email": user.email, "otp": wrong}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "code_invalid"
    signed_in = client_for(None).post("/api/verify-login-otp/", {"email": user.email, "otp": code}, format="json")
    assert signed_in.status_code == 200 and signed_in.json()["user_data"]["email"] == user.email
    again = client_for(None).post("/api/verify-login-otp/", {"email": user.email, "otp": code}, format="json")
    assert again.status_code == 400 and again.json()["code"] == "code_expired"


# --- Asking for a new code ---------------------------------------------------------------------
def _resend(email: str, address: str) -> tuple[int, dict, list[str], int]:
    """(status, body, account tables read, jobs left for after the response) as the response left."""
    response, tables, deferred = answered_before_work(lambda: client_for(None).post(
        "/api/resend-otp/", {"email": email}, format="json", HTTP_X_FORWARDED_FOR=address))
    return response.status_code, response.json(), tables, deferred


@override_settings(TRUSTED_PROXY_COUNT=1, OTP_REQUEST_RATE_PER_ACCOUNT="2/900")
def test_a_resend_answers_alike_and_at_the_same_cost_whether_or_not_a_sign_in_is_on(
        django_capture_on_commit_callbacks):
    user = UserFactory(otp_required_for_login=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(None).post("/api/login/", {"email": user.email, "password": PASSWORD},
                                     format="json").json()["require_otp"]
    sent = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        # From many addresses, past the account's own resend budget (two a quarter hour).
        signing_in = [_resend(user.email, f"203.0.113.{n}") for n in range(4)]
    nobody = [_resend("nobody-at-all@example.test", f"198.51.100.{n}") for n in range(4)]
    answers = {(status, repr(body), repr(tables), deferred) for status, body, tables, deferred in signing_in + nobody}
    assert answers == {(200, repr(nobody[0][1]), "[]", 1)}  # no account looked up before the answer
    assert len(mail.outbox) == sent + 2  # the budget still holds: two new codes went, to the account
    assert {m.to[0] for m in mail.outbox} == {user.email}
