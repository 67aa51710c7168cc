"""One-time codes: format, single use, expiry, lockout, purpose binding, atomic attempts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.codes import CodeRejected, code_issue, code_pending, code_verify
from accounts.models import CodePurpose, OneTimeCode
from tests.concurrency import race
from tests.factories import UserFactory


@pytest.fixture
def user(db):
    return UserFactory()


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_code_is_stored_only_as_keyed_hash(user):
    code = code_issue(user=user, purpose=CodePurpose.LOGIN)
    assert len(code) == 6 and code.isascii() and code.isdigit()
    row = OneTimeCode.objects.get(user=user)
    assert code not in row.code_hash
    assert len(row.code_hash) == 64


def test_right_code_once_then_refused(user):
    code = code_issue(user=user, purpose=CodePurpose.LOGIN)
    code_verify(user=user, purpose=CodePurpose.LOGIN, code=code)
    with pytest.raises(CodeRejected) as exc:
        code_verify(user=user, purpose=CodePurpose.LOGIN, code=code)
    assert exc.value.reason == "missing"


@pytest.mark.parametrize("bad", ["１２３４５６", "١٢٣٤٥٦", "12345", "1234567", " 123456", "12a456", 123456, None])
def test_only_six_ascii_digits_accepted(user, bad):
    code_issue(user=user, purpose=CodePurpose.LOGIN)
    with pytest.raises(CodeRejected) as exc:
        code_verify(user=user, purpose=CodePurpose.LOGIN, code=bad)
    assert exc.value.reason == "malformed"


def test_full_width_version_of_the_right_code_is_refused(user):
    code = code_issue(user=user, purpose=CodePurpose.LOGIN)
    full_width = "".join(chr(0xFF10 + int(d)) for d in code)
    with pytest.raises(CodeRejected):
        code_verify(user=user, purpose=CodePurpose.LOGIN, code=full_width)
    code_verify(user=user, purpose=CodePurpose.LOGIN, code=code)


def test_lockout_after_five_wrong_attempts_even_for_the_right_code(user):
    code = code_issue(user=user, purpose=CodePurpose.LOGIN)
    reasons = []
    for _ in range(5):
        with pytest.raises(CodeRejected) as exc:
            code_verify(user=user, purpose=CodePurpose.LOGIN, code=_wrong(code))
        reasons.append(exc.value.reason)
    assert reasons == ["invalid"] * 4 + ["locked"]
    with pytest.raises(CodeRejected) as exc:
        code_verify(user=user, purpose=CodePurpose.LOGIN, code=code)
    assert exc.value.reason == "locked"
    assert code_pending(user=user, purpose=CodePurpose.LOGIN) is None
    fresh = code_issue(user=user, purpose=CodePurpose.LOGIN)
    code_verify(user=user, purpose=CodePurpose.LOGIN, code=fresh)


def test_expired_code_refused(user):
    code = code_issue(user=user, purpose=CodePurpose.LOGIN)
    OneTimeCode.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(CodeRejected) as exc:
        code_verify(user=user, purpose=CodePurpose.LOGIN, code=code)
    assert exc.value.reason == "expired"


def test_code_lifetime_is_five_minutes(user):
    code_issue(user=user, purpose=CodePurpose.LOGIN)
    row = OneTimeCode.objects.get(user=user)
    assert timedelta(seconds=295) <= row.expires_at - row.created_at <= timedelta(seconds=300)


def test_purpose_bound(user):
    login_code = code_issue(user=user, purpose=CodePurpose.LOGIN)
    code_issue(user=user, purpose=CodePurpose.MEDICAL_RECORDS)
    with pytest.raises(CodeRejected):
        code_verify(user=user, purpose=CodePurpose.MEDICAL_RECORDS, code=login_code)


def test_other_users_code_is_useless(user):
    other = UserFactory()
    code = code_issue(user=other, purpose=CodePurpose.LOGIN)
    code_issue(user=user, purpose=CodePurpose.LOGIN)
    with pytest.raises(CodeRejected):
        code_verify(user=user, purpose=CodePurpose.LOGIN, code=code) if code != "x" else None


def test_new_code_supersedes_the_old_one(user):
    first = code_issue(user=user, purpose=CodePurpose.LOGIN)
    second = code_issue(user=user, purpose=CodePurpose.LOGIN)
    if first != second:
        with pytest.raises(CodeRejected):
            code_verify(user=user, purpose=CodePurpose.LOGIN, code=first)
    code_verify(user=user, purpose=CodePurpose.LOGIN, code=second)


@pytest.mark.django_db(transaction=True)
def test_attempt_counter_is_atomic_across_threads():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises the whole database)")
    user = UserFactory()
    code = code_issue(user=user, purpose=CodePurpose.LOGIN)

    def guess(_) -> str:
        try:
            code_verify(user=user, purpose=CodePurpose.LOGIN, code=_wrong(code))
        except CodeRejected as exc:
            return exc.reason
        return "accepted"

    outcomes = race(guess, range(20))
    assert OneTimeCode.objects.get(user=user).attempts == 5
    compared = [o for o in outcomes if o == "invalid"] + [o for o in outcomes if o == "locked"]
    assert len(compared) == 20
    assert outcomes.count("invalid") <= 5
