"""One-time codes: issue and verify, safely across workers and machines.

- The code is ``secrets.randbelow(10**6)`` formatted to 6 ASCII digits; only an HMAC-SHA256
  keyed with ``OTP_PEPPER`` over (user, purpose, subject, code) is stored.
- Accepted input is exactly ``[0-9]{6}``: full-width and other Unicode digits are refused.
- Single use, ``OTP_TTL_SECONDS`` of life, ``OTP_MAX_ATTEMPTS`` wrong attempts then locked until
  a new code is issued. Each attempt first takes a slot with one conditional ``UPDATE``
  (``attempts < max``), so parallel guesses on several workers cannot exceed the limit.
- Purpose-bound (and optionally subject-bound): a login code cannot open medical records.
- Wrong codes also count per account and purpose family across every address
  (``accounts.throttles.code_failure_slot``): past the budget no code of the family is compared.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import CodePurpose, OneTimeCode, User
from accounts.throttles import code_failure_slot

_CODE_FORMAT = re.compile(r"[0-9]{6}")


class CodeRejected(Exception):
    """A code was refused. ``reason``: malformed, missing, expired, locked or invalid."""

    def __init__(self, reason: str, message: str, *, attempts_left: int | None = None,
                 compared: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.attempts_left = attempts_left
        self.compared = compared  # a wrong code was compared (counts against the account's budget)


@dataclass(frozen=True)
class PendingCode:
    expires_at: object
    attempts_left: int


def _digest(*, user_id: object, purpose: str, subject: str, code: str) -> str:
    message = f"{user_id}|{purpose}|{subject}|{code}".encode()
    return hmac.new(settings.OTP_PEPPER.encode(), message, hashlib.sha256).hexdigest()


def code_issue(
    *, user: User, purpose: CodePurpose | str, subject: str = "", started_at: datetime | None = None,
    not_after: datetime | None = None,
) -> str:
    """Create a fresh code (superseding earlier live ones) and return it in plain text once.

    ``started_at``: when the step that asked for it happened (now unless a resend carries an
    earlier step's time forward); ``not_after``: the code expires then at the latest."""
    code = f"{secrets.randbelow(10**6):06d}"
    now = timezone.now()
    expires_at = now + timedelta(seconds=settings.OTP_TTL_SECONDS)
    if not_after is not None:
        expires_at = min(expires_at, not_after)
    with transaction.atomic():
        OneTimeCode.objects.filter(
            user=user, purpose=purpose, subject=subject, used_at__isnull=True, expires_at__gt=now
        ).update(expires_at=now)
        OneTimeCode.objects.create(
            user=user,
            purpose=purpose,
            subject=subject,
            code_hash=_digest(user_id=user.pk, purpose=str(purpose), subject=subject, code=code),
            expires_at=expires_at,
            started_at=started_at or now,
        )
    return code


def code_pending(*, user: User, purpose: CodePurpose | str, subject: str = "") -> PendingCode | None:
    found = (
        OneTimeCode.objects.filter(
            user=user, purpose=purpose, subject=subject, used_at__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("-created_at")
        .first()
    )
    if found is None or found.attempts >= settings.OTP_MAX_ATTEMPTS:
        return None
    return PendingCode(expires_at=found.expires_at, attempts_left=settings.OTP_MAX_ATTEMPTS - found.attempts)


def code_verify(*, user: User, purpose: CodePurpose | str, code: object, subject: str = "") -> None:
    """Return on success (the code is then spent); raise :class:`CodeRejected` otherwise."""
    _checked_within_budget(budget_id=user.pk, purpose=purpose, code=code,
                           compare=lambda: _code_compare(user=user, purpose=purpose, code=code, subject=subject))


def code_refuse_unmatched(*, budget_id: str, purpose: CodePurpose | str, code: object, issued_at: datetime,
                          attempts: Callable[[], int]) -> NoReturn:
    """Refuse ``code`` for a flow that matched no account, exactly as :func:`code_verify` refuses
    a wrong code of one (the same checks in the same order, the same budget under ``budget_id``):
    so a step that takes a code tells nobody whether the details it was opened with match an
    account. ``attempts`` counts this one and returns the attempts made so far."""

    def compare() -> NoReturn:
        if timezone.now() >= issued_at + timedelta(seconds=settings.OTP_TTL_SECONDS):
            raise CodeRejected("expired", "This code has expired. Request a new code.")
        made = attempts()
        if made > settings.OTP_MAX_ATTEMPTS:
            raise CodeRejected("locked", "Too many wrong attempts. Request a new code.", attempts_left=0)
        _refuse_wrong(left=settings.OTP_MAX_ATTEMPTS - made)

    _checked_within_budget(budget_id=budget_id, purpose=purpose, code=code, compare=compare)
    raise AssertionError("unreachable: compare always refuses")


def _checked_within_budget(*, budget_id: object, purpose: CodePurpose | str, code: object,
                           compare: Callable[[], None]) -> None:
    if not isinstance(code, str) or not _CODE_FORMAT.fullmatch(code):
        raise CodeRejected("malformed", "Enter the 6-digit code we sent you.")
    refund = code_failure_slot(user_id=budget_id, purpose=str(purpose))  # 429 past the account's budget
    wrong = False
    try:
        compare()
    except CodeRejected as exc:
        wrong = exc.compared
        raise
    finally:
        if not wrong:  # right, or nothing compared: the slot goes back
            refund()


def _refuse_wrong(*, left: int) -> NoReturn:
    if left <= 0:
        raise CodeRejected("locked", "Too many wrong attempts. Request a new code.", attempts_left=0, compared=True)
    raise CodeRejected("invalid", f"Incorrect code. {left} attempt(s) left.", attempts_left=left, compared=True)


def _code_compare(*, user: User, purpose: CodePurpose | str, code: str, subject: str) -> None:
    max_attempts = settings.OTP_MAX_ATTEMPTS
    now = timezone.now()
    live = OneTimeCode.objects.filter(user=user, purpose=purpose, subject=subject, used_at__isnull=True)
    current = live.order_by("-created_at").first()
    if current is None:
        raise CodeRejected("missing", "No code is waiting for you. Request a new code.")
    if current.expires_at <= now:
        raise CodeRejected("expired", "This code has expired. Request a new code.")

    # Take an attempt slot atomically before comparing anything.
    taken = OneTimeCode.objects.filter(
        pk=current.pk, used_at__isnull=True, expires_at__gt=now, attempts__lt=max_attempts
    ).update(attempts=F("attempts") + 1)
    if not taken:
        current.refresh_from_db()
        if current.used_at is not None:
            raise CodeRejected("missing", "This code has already been used. Request a new code.")
        if current.expires_at <= timezone.now():
            raise CodeRejected("expired", "This code has expired. Request a new code.")
        raise CodeRejected("locked", "Too many wrong attempts. Request a new code.", attempts_left=0)

    expected = _digest(user_id=user.pk, purpose=str(purpose), subject=subject, code=code)
    if not hmac.compare_digest(expected, current.code_hash):
        current.refresh_from_db(fields=["attempts"])
        _refuse_wrong(left=max_attempts - current.attempts)

    spent = OneTimeCode.objects.filter(pk=current.pk, used_at__isnull=True).update(used_at=timezone.now())
    if not spent:
        raise CodeRejected("missing", "This code has already been used. Request a new code.")
