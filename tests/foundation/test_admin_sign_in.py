"""Operators sign in to the Django admin with a password and then the code emailed to them; a
password alone opens nothing (``accounts.admin_site``)."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client, override_settings

from accounts import admin_site
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"
CODE = "/admin/login/code/"
AUDIT = "/admin/records/auditevent/"


@pytest.fixture
def operator():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture(autouse=True)
def _emails_sent_at_commit(django_capture_on_commit_callbacks, monkeypatch):
    """The codes' emails go out once the request's writes commit, which the test's own transaction
    never does: each POST runs its commit callbacks as it ends."""
    original = Client.post

    def post(self, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return original(self, *args, **kwargs)

    monkeypatch.setattr(Client, "post", post)


def _code(to: str) -> str:
    messages = [m for m in mail.outbox if to in m.to]
    assert messages, "no email sent"
    return re.search(r"\b(\d{6})\b", messages[-1].body).group(1)


def _password_step(client: Client, email: str, password: str = PASSWORD, next_url: str = "/admin/"):
    return client.post(LOGIN, {"username": email, "password": password, "next": next_url})


def _signed_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def test_the_password_alone_opens_nothing_and_the_emailed_code_signs_in(operator):
    client = Client()

    step1 = _password_step(client, operator.email)

    assert step1.status_code == 302 and step1["Location"] == CODE
    assert not _signed_in(client)
    assert client.get(AUDIT)["Location"].startswith(LOGIN)
    assert mail.outbox[-1].subject == "Your PHB login code"

    page = client.get(CODE)
    assert page.status_code == 200 and b"6-digit code" in page.content

    step2 = client.post(CODE, {"code": _code(operator.email)})

    assert step2.status_code == 302 and step2["Location"] == "/admin/"
    assert _signed_in(client)
    assert client.get(AUDIT).status_code == 200


def test_the_session_key_changes_at_sign_in(operator):
    client = Client()
    _password_step(client, operator.email)
    before = client.session.session_key

    client.post(CODE, {"code": _code(operator.email)})

    assert client.session.session_key != before


def test_a_wrong_code_is_refused_and_the_right_one_still_works(operator):
    client = Client()
    _password_step(client, operator.email)
    code = _code(operator.email)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    refused = client.post(CODE, {"code": wrong})

    assert refused.status_code == 200 and b"errornote" in refused.content
    assert not _signed_in(client)
    assert client.post(CODE, {"code": code}).status_code == 302
    assert _signed_in(client)


def test_a_wrong_admin_code_counts_towards_the_code_failure_alarm(operator):
    """The HighCodeVerificationFailures alarm sums OTPVerificationFailure of PHB/Auth; a wrong code
    at the admin's sign-in (the most privileged accounts) was only logged."""
    from phb import metrics

    client = Client()
    _password_step(client, operator.email)
    code = _code(operator.email)
    with metrics.capture() as seen:
        client.post(CODE, {"code": f"{(int(code) + 1) % 10**6:06d}"})
    failures = [(d.namespace, d.dimensions) for d in seen if d.name == "OTPVerificationFailure"]
    assert failures == [("PHB/Auth", {"Purpose": "admin_login"})]
    with metrics.capture() as seen:
        assert client.post(CODE, {"code": code}).status_code == 302
    assert not [d for d in seen if d.name == "OTPVerificationFailure"]


def test_a_spent_code_does_not_sign_in_again(operator):
    first = Client()
    _password_step(first, operator.email)
    code = _code(operator.email)
    first.post(CODE, {"code": code})

    second = Client()
    _password_step(second, operator.email)
    mail.outbox.clear()
    assert second.post(CODE, {"code": code}).status_code == 200
    assert not _signed_in(second)


@pytest.mark.parametrize("who", ["wrong password", "patient", "inactive operator", "nobody"])
def test_no_code_is_sent_and_every_refusal_reads_the_same(who):
    user = {
        "patient": lambda: UserFactory(),
        "inactive operator": lambda: UserFactory(is_staff=True, is_active=False),
    }.get(who, lambda: UserFactory(is_staff=True))()
    email = "nobody@example.test" if who == "nobody" else user.email
    password = "not-the-password" if who == "wrong password" else PASSWORD
    client = Client()

    refused = _password_step(client, email, password)

    assert refused.status_code == 200
    assert b"Please enter the correct" in refused.content
    assert mail.outbox == []
    assert client.get(CODE)["Location"] == LOGIN


def test_the_email_is_read_in_any_case(operator):
    client = Client()
    assert _password_step(client, operator.email.upper())["Location"] == CODE


def test_the_code_step_without_a_password_step_goes_back_to_the_start():
    assert Client().get(CODE)["Location"] == LOGIN
    assert Client().post(CODE, {"code": "123456"})["Location"] == LOGIN


def test_the_code_step_ends_when_the_code_would_have_expired(operator, monkeypatch, settings):
    client = Client()
    _password_step(client, operator.email)
    code = _code(operator.email)
    later = time.time() + settings.OTP_TTL_SECONDS + 1
    monkeypatch.setattr(admin_site.time, "time", lambda: later)

    assert client.post(CODE, {"code": code})["Location"] == LOGIN
    assert not _signed_in(client)


def test_a_new_code_replaces_the_first(operator):
    client = Client()
    _password_step(client, operator.email)
    first = _code(operator.email)

    resent = client.post(CODE, {"resend": "1"})

    assert resent.status_code == 200 and b"We sent a new code." in resent.content
    second = _code(operator.email)
    if second != first:
        assert client.post(CODE, {"code": first}).status_code == 200
    assert client.post(CODE, {"code": second}).status_code == 302
    assert _signed_in(client)


@override_settings(LOGIN_RATE_PER_ACCOUNT="3/900")
def test_password_guesses_are_throttled_with_a_message_not_an_error(operator):
    client = Client()
    for _ in range(3):
        assert b"Please enter the correct" in _password_step(client, operator.email, "wrong-guess").content

    throttled = _password_step(client, operator.email)

    assert throttled.status_code == 200
    assert b"throttled" in throttled.content.lower() or b"try again" in throttled.content.lower()
    assert mail.outbox == []


@override_settings(CODE_CHECK_RATE_PER_ACCOUNT="2/900")
def test_code_guesses_are_throttled(operator):
    client = Client()
    _password_step(client, operator.email)
    code = _code(operator.email)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(2):
        client.post(CODE, {"code": wrong})

    throttled = client.post(CODE, {"code": code})

    assert throttled.status_code == 200
    assert not _signed_in(client)


@pytest.mark.parametrize("target,lands", [("/admin/records/auditevent/", "/admin/records/auditevent/"),
                                          ("https://evil.example/", "/admin/")])
def test_the_page_asked_for_is_where_the_code_lands_when_it_is_ours(operator, target, lands):
    client = Client()
    _password_step(client, operator.email, next_url=target)

    assert client.post(CODE, {"code": _code(operator.email)})["Location"] == lands


def test_no_code_or_email_reaches_a_log_line(operator, caplog):
    client = Client()
    with caplog.at_level("DEBUG"):
        _password_step(client, operator.email)
        code = _code(operator.email)
        client.post(CODE, {"code": code})
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert code not in text and operator.email not in text and PASSWORD not in text


def _sign_in(client: Client, operator) -> None:
    _password_step(client, operator.email)
    assert client.post(CODE, {"code": _code(operator.email)}).status_code == 302


def test_an_idle_session_ends_and_each_admin_page_moves_the_end_on(operator, monkeypatch, settings):
    from django.utils import timezone

    client = Client()
    _sign_in(client, operator)
    started = timezone.now()
    idle = timedelta(seconds=settings.ADMIN_SESSION_IDLE_SECONDS)

    monkeypatch.setattr(timezone, "now", lambda: started + idle - timedelta(seconds=30))
    assert _signed_in(client)
    monkeypatch.setattr(timezone, "now", lambda: started + 2 * idle - timedelta(seconds=60))
    assert _signed_in(client)  # the page before moved the end on
    monkeypatch.setattr(timezone, "now", lambda: started + 3 * idle)
    assert not _signed_in(client)


def test_a_session_ends_at_its_absolute_limit_however_busy(operator, monkeypatch, settings):
    client = Client()
    _sign_in(client, operator)
    later = time.time() + settings.ADMIN_SESSION_MAX_SECONDS + 1
    monkeypatch.setattr(admin_site.time, "time", lambda: later)

    assert client.get(AUDIT)["Location"].startswith(LOGIN)
    monkeypatch.undo()
    assert not _signed_in(client)  # signed out, not only refused


def test_a_new_code_gives_the_step_the_new_codes_time(operator, monkeypatch, settings):
    client = Client()
    _password_step(client, operator.email)
    halfway = time.time() + settings.OTP_TTL_SECONDS / 2
    monkeypatch.setattr(admin_site.time, "time", lambda: halfway)
    client.post(CODE, {"resend": "1"})
    code = _code(operator.email)
    past_the_first = halfway + settings.OTP_TTL_SECONDS * 0.75
    monkeypatch.setattr(admin_site.time, "time", lambda: past_the_first)

    assert client.post(CODE, {"code": code})["Location"] == "/admin/"
    monkeypatch.undo()
    assert _signed_in(client)


@override_settings(OTP_REQUEST_RATE_PER_ACCOUNT="1/900")
def test_resending_is_throttled_with_a_message(operator):
    client = Client()
    _password_step(client, operator.email)
    sent = len(mail.outbox)

    client.post(CODE, {"resend": "1"})
    again = client.post(CODE, {"resend": "1"})

    assert again.status_code == 200 and b"We sent a new code." not in again.content
    assert len(mail.outbox) == sent + 1
