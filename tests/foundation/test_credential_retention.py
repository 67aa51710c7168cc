"""Expired one-time codes, password-reset tokens and sessions are deleted after the retention
period (``accounts.retention``, ``manage.py purge_expired_credentials``); live and recent ones stay."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.codes import code_issue, code_verify
from accounts.models import CodePurpose, OneTimeCode, PasswordResetToken
from accounts.retention import purge_expired_credentials
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _code(user, *, expired_days_ago: float) -> OneTimeCode:
    expires = timezone.now() - timedelta(days=expired_days_ago)
    return OneTimeCode.objects.create(user=user, purpose=CodePurpose.LOGIN, code_hash="x" * 64,
                                      created_at=expires - timedelta(minutes=5), expires_at=expires)


def _token(user, *, expired_days_ago: float, n: int) -> PasswordResetToken:
    expires = timezone.now() - timedelta(days=expired_days_ago)
    return PasswordResetToken.objects.create(user=user, token_hash=f"{n:064d}", expires_at=expires)


def _session(key: str, *, expired_days_ago: float) -> Session:
    return Session.objects.create(session_key=key, session_data="e30=",
                                  expire_date=timezone.now() - timedelta(days=expired_days_ago))


def test_only_what_expired_before_the_retention_period_goes(settings):
    settings.CREDENTIALS_RETENTION_DAYS = 30
    user = UserFactory()
    old = [_code(user, expired_days_ago=days) for days in (31, 45, 400)]
    kept = [_code(user, expired_days_ago=days) for days in (29, 1, -0.01)]  # the last one is live
    old_tokens = [_token(user, expired_days_ago=31, n=1)]
    kept_tokens = [_token(user, expired_days_ago=2, n=2), _token(user, expired_days_ago=-1, n=3)]
    _session("a" * 32, expired_days_ago=1)
    _session("b" * 32, expired_days_ago=-1)
    counts = purge_expired_credentials(batch=2)  # more rows than a batch: batches until none is left
    assert counts == {"one_time_codes": 3, "password_reset_tokens": 1}
    assert set(OneTimeCode.objects.values_list("pk", flat=True)) == {c.pk for c in kept}
    assert set(PasswordResetToken.objects.values_list("pk", flat=True)) == {t.pk for t in kept_tokens}
    assert not OneTimeCode.objects.filter(pk__in=[c.pk for c in old]).exists()
    assert not PasswordResetToken.objects.filter(pk__in=[t.pk for t in old_tokens]).exists()
    assert list(Session.objects.values_list("session_key", flat=True)) == ["b" * 32]


def test_a_live_code_still_works_after_a_purge():
    user = UserFactory()
    _code(user, expired_days_ago=90)
    code = code_issue(user=user, purpose=CodePurpose.LOGIN)
    purge_expired_credentials(retention=timedelta(0))
    code_verify(user=user, purpose=CodePurpose.LOGIN, code=code)  # raises if refused
    assert OneTimeCode.objects.filter(user=user).count() == 1


def test_the_command_takes_days_and_prints_counts_only():
    user = UserFactory()
    _code(user, expired_days_ago=10)
    _code(user, expired_days_ago=3)
    out = StringIO()
    call_command("purge_expired_credentials", "--days", "7", stdout=out)
    assert out.getvalue().strip() == "one_time_codes=1 password_reset_tokens=0"
    assert OneTimeCode.objects.count() == 1
    assert user.email not in out.getvalue()
    with pytest.raises(CommandError):
        call_command("purge_expired_credentials", "--days", "-1")
