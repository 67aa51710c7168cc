"""Password resets: the patient's emailed link, and the hospital admin's reset confirmed with an
emailed code (token -> code -> second token -> new password). Each reset is spent exactly once;
a new password ends every session of the account (``User.save``)."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.codes import CodeRejected, code_refuse_unmatched, code_verify
from accounts.models import CodePurpose, PasswordResetToken, User
from accounts.services import code_send
from phb import metrics
from phb.api.errors import ApiError
from phb.notify import send_email_after_commit

logger = logging.getLogger("accounts")


def _reset_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _may_reset(user: User) -> bool:
    """Whether ``user`` may reset her password: an active account, not staff of a deactivated
    hospital (``hospitals.selectors.works_at_inactive_hospital``), who would be refused at sign-in."""
    from hospitals.selectors import works_at_inactive_hospital

    if not user.is_active:
        return False
    if works_at_inactive_hospital(user=user):
        logger.info("password reset refused: hospital deactivated", extra={"event": "reset_hospital_inactive"})
        return False
    return True


def password_reset_request(*, email: str) -> None:
    """Email a reset link if the account exists and may reset (``_may_reset``). Callers answer
    the same either way."""
    user = User.objects.filter(email=(email or "").strip().lower(), is_active=True).first()
    if user is None or not _may_reset(user):
        return
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        PasswordResetToken.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
        PasswordResetToken.objects.create(
            user=user, token_hash=_reset_hash(token), expires_at=now + settings.PASSWORD_RESET_TOKEN_TTL
        )
        link = f"{settings.FRONTEND_URL}/reset-password?token={token}"
        send_email_after_commit(
            to=user.email,
            subject="Reset your PHB password",
            body=f"Use this link within the hour to choose a new password:\n\n{link}\n\n"
            "If you did not ask for this, ignore this email.",
            kind="password_reset",
            holds_secret=True,
        )


def password_reset_confirm(*, token: str, new_password: str) -> User:
    found = PasswordResetToken.objects.select_related("user").filter(token_hash=_reset_hash(token or "")).first()
    if found is None or found.requires_code or not _may_reset(found.user):  # left unspent
        raise ApiError("This reset link is invalid or has expired.", code="invalid_token")
    return _reset_spend(found=found, new_password=new_password, message="This reset link is invalid or has expired.")


def _reset_spend(*, found: PasswordResetToken, new_password: str, message: str) -> User:
    """Set the new password and spend the reset, exactly once even when two requests race."""
    now = timezone.now()
    if found.used_at is not None or found.expires_at <= now:
        raise ApiError(message, code="invalid_token")
    password_validation.validate_password(new_password, found.user)
    password_hash = make_password(new_password)
    with transaction.atomic():
        spent = PasswordResetToken.objects.filter(pk=found.pk, used_at__isnull=True, expires_at__gt=now).update(
            used_at=now
        )
        if not spent:
            raise ApiError(message, code="invalid_token")
        user = found.user
        user.password = password_hash
        user.save(update_fields=["password"])  # ends every session (User.save)
    return user


# Hospital-admin reset: token -> emailed code -> second token -> new password.
_CODE_RESET_INVALID = "This password reset request is invalid or has expired. Start again."


# A request that matched no admin: its token is remembered (in the shared cache, for as long as a
# real one lives) so that the code step answers it as it answers a real admin's wrong code; a newer
# request with the same details supersedes it, as a real admin's newer request supersedes hers.
_UNMATCHED_KEY = "admin-reset-unmatched:{}"
_UNMATCHED_LATEST_KEY = "admin-reset-unmatched-latest:{}"


def _email_hash(email: str) -> str:
    return _reset_hash((email or "").strip().lower())


def password_reset_code_start(*, user: User | None, token: str | None = None, email: str = "",
                              hospital_code: str = "") -> str:
    """Open a code-verified reset for ``user`` under ``token`` and email the code; return the token.

    ``user=None`` (no such admin; ``email`` and ``hospital_code`` as asked for) returns a token of
    the same shape that nothing will accept, and its code step answers as a wrong code does
    (:func:`_unmatched_code_refuse`), so neither step tells whether the details match an admin.
    """
    token = token or secrets.token_urlsafe(32)
    if user is None:
        ttl = int(settings.PASSWORD_RESET_TOKEN_TTL.total_seconds())
        details = _reset_hash(f"{(email or '').strip().lower()}|{(hospital_code or '').strip().lower()}")
        cache.set(_UNMATCHED_KEY.format(_reset_hash(token)),
                  {"email": _email_hash(email), "details": details, "at": timezone.now().timestamp()}, timeout=ttl)
        cache.set(_UNMATCHED_LATEST_KEY.format(details), _reset_hash(token), timeout=ttl)
        return token
    now = timezone.now()
    with transaction.atomic():
        PasswordResetToken.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
        reset = PasswordResetToken.objects.create(
            user=user, token_hash=_reset_hash(token), expires_at=now + settings.PASSWORD_RESET_TOKEN_TTL,
            requires_code=True,
        )
        code_send(user=user, purpose=CodePurpose.ADMIN_PASSWORD_RESET, subject=str(reset.pk))
    return token


def _code_reset_for(*, token: str, email: str, **lookup: str) -> PasswordResetToken:
    found = (
        PasswordResetToken.objects.select_related("user")
        .filter(token_hash=_reset_hash(token or ""), requires_code=True, **lookup)
        .first()
    )
    if (
        found is None
        or found.used_at is not None
        or found.expires_at <= timezone.now()
        or found.user.email != (email or "").strip().lower()
        or not _may_reset(found.user)  # left unspent
    ):
        raise ApiError(_CODE_RESET_INVALID, code="invalid_token")
    return found


def _unmatched_request(*, token: str, email: str) -> tuple[str, datetime] | None:
    """The cache key of the request that matched no admin under ``token`` for ``email``, and when it
    was made; None when there is none."""
    key = _UNMATCHED_KEY.format(_reset_hash(token or ""))
    kept = cache.get(key)
    if not kept or kept["email"] != _email_hash(email):
        return None
    if cache.get(_UNMATCHED_LATEST_KEY.format(kept["details"])) != _reset_hash(token or ""):
        return None  # superseded by a newer request with the same details
    return key, datetime.fromtimestamp(kept["at"], tz=UTC)


def _code_budget_of(*, email: str) -> object:
    """Whose wrong-code budget a refused code counts against: the account with this email where
    there is one (as a real admin's flows all count against hers, whatever hospital code each was
    opened with), the email otherwise."""
    account = User.objects.filter(email=(email or "").strip().lower()).values_list("pk", flat=True).first()
    return account if account is not None else f"unmatched:{_email_hash(email)}"


def _unmatched_code_refuse(*, key: str, issued_at: datetime, email: str, code: object) -> None:
    """Refuse ``code`` for a request that matched no admin as a wrong code of a real one is refused
    (:func:`accounts.codes.code_refuse_unmatched`): attempts counted per request, the wrong-code
    budget shared with the account of that email (:func:`_code_budget_of`)."""
    attempts_key = f"{key}:attempts"
    cache.add(attempts_key, 0, timeout=int(settings.PASSWORD_RESET_TOKEN_TTL.total_seconds()))
    code_refuse_unmatched(
        budget_id=_code_budget_of(email=email),
        purpose=CodePurpose.ADMIN_PASSWORD_RESET, code=code,
        issued_at=issued_at, attempts=lambda: cache.incr(attempts_key),
    )


def password_reset_code_verify(*, token: str, email: str, code: object) -> str:
    """Spend the emailed code and return the second token that completes the reset."""
    try:
        found = _code_reset_for(token=token, email=email)
    except ApiError:
        unmatched = _unmatched_request(token=token, email=email)
        if unmatched is None:
            raise
        found = None
    if found is not None and found.verified_at is not None:
        raise ApiError(_CODE_RESET_INVALID, code="invalid_token")
    try:
        if found is None:
            key, issued_at = unmatched
            _unmatched_code_refuse(key=key, issued_at=issued_at, email=email, code=code)
        code_verify(user=found.user, purpose=CodePurpose.ADMIN_PASSWORD_RESET, code=code, subject=str(found.pk))
    except CodeRejected as exc:
        logger.info("password reset code refused",
                    extra={"event": "code_refused", "purpose": "admin_password_reset", "reason": exc.reason})
        metrics.record("OTPVerificationFailure", area="Auth", dimensions={"Purpose": "admin_password_reset"})
        raise ApiError(exc.message, code=f"code_{exc.reason}", attempts_left=exc.attempts_left) from exc
    secondary = secrets.token_urlsafe(32)
    marked = PasswordResetToken.objects.filter(pk=found.pk, verified_at__isnull=True, used_at__isnull=True).update(
        verified_at=timezone.now(), secondary_hash=_reset_hash(secondary)
    )
    if not marked:
        raise ApiError(_CODE_RESET_INVALID, code="invalid_token")
    return secondary


def password_reset_code_complete(*, token: str, secondary_token: str, email: str, new_password: str) -> User:
    found = _code_reset_for(token=token, email=email, secondary_hash=_reset_hash(secondary_token or ""))
    user = _reset_spend(found=found, new_password=new_password, message=_CODE_RESET_INVALID)
    logger.info("password reset completed", extra={"event": "password_reset", "flow": "admin_code"})
    return user
