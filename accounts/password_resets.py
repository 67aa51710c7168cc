"""Password resets: the patient's emailed link, and the hospital admin's reset confirmed with an
emailed code (token -> code -> second token -> new password). Each reset is spent exactly once;
a new password ends every session of the account (``User.save``)."""

from __future__ import annotations

import hashlib
import logging
import secrets

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts.codes import code_verify
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


def password_reset_code_start(*, user: User | None, token: str | None = None) -> str:
    """Open a code-verified reset for ``user`` under ``token`` and email the code; return the token.

    ``user=None`` (no such admin) returns a token of the same shape that nothing will accept, so
    the answer never tells whether an account exists.
    """
    token = token or secrets.token_urlsafe(32)
    if user is None:
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


def password_reset_code_verify(*, token: str, email: str, code: object) -> str:
    """Spend the emailed code and return the second token that completes the reset."""
    from accounts.codes import CodeRejected

    found = _code_reset_for(token=token, email=email)
    if found.verified_at is not None:
        raise ApiError(_CODE_RESET_INVALID, code="invalid_token")
    try:
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
