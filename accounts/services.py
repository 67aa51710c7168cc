"""Account writes: registration, login with a one-time code, sessions, password changes, profile
(password resets: ``accounts.password_resets``)."""

from __future__ import annotations

import logging
import math
import uuid
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.exceptions import Throttled
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.birthdates import birth_date_problem
from accounts.codes import code_issue, code_verify
from accounts.identifiers import sealed_identifiers
from accounts.models import CodePurpose, OneTimeCode, Role, User
from accounts.roles import is_staff_member
from accounts.throttles import throttle_code_request
from phb import metrics
from phb.api.errors import ApiError, ServiceUnavailable
from phb.notify import send_email_after_commit

logger = logging.getLogger("accounts")

CODE_EMAIL_SUBJECTS = {
    CodePurpose.LOGIN: "Your PHB login code",
    CodePurpose.MEDICAL_RECORDS: "Your PHB medical records access code",
    CodePurpose.CLINICIAN_ACCESS: "A clinician asked to see your medical record",
    CodePurpose.WOMENS_HEALTH: "Your PHB women's health verification code",
    CodePurpose.ADMIN_PASSWORD_RESET: "Your PHB password reset code",
}


@cache
def _dummy_password_hash() -> str:
    """A constant hash so unknown emails cost the same as known ones (made on first use, not at import)."""
    return make_password("not-a-real-password-but-same-cost")


def code_send(
    *, user: User, purpose: CodePurpose, subject: str = "", note: str = "", started_at: datetime | None = None,
    not_after: datetime | None = None,
) -> None:
    """Issue a code for ``purpose`` and email it to the user (after commit). ``started_at`` and
    ``not_after``: see :func:`accounts.codes.code_issue`."""
    code = code_issue(user=user, purpose=purpose, subject=subject, started_at=started_at, not_after=not_after)
    lifetime = settings.OTP_TTL_SECONDS
    if not_after is not None:
        lifetime = min(lifetime, int((not_after - timezone.now()).total_seconds()))
    minutes = max(1, math.ceil(lifetime / 60))
    body = f"Your PHB code is {code}. It expires in {minutes} minutes and can be used once.\n"
    if note:
        body += f"\n{note}\n"
    body += "\nIf you did not ask for this code, you can ignore this email."
    send_email_after_commit(to=user.email, subject=CODE_EMAIL_SUBJECTS[CodePurpose(purpose)], body=body,
                            kind=f"code_{purpose}", holds_secret=True)
    logger.info("one-time code issued", extra={"event": "code_issued", "purpose": str(purpose)})


def user_register(*, data: dict[str, Any]) -> User:
    now = timezone.now()
    fields = {
        k: data.get(k)
        for k in (
            "full_name", "gender", "date_of_birth", "phone", "country", "state", "city",
            "preferred_language", "secondary_languages", "custom_language",
        )
        if data.get(k) not in (None, "")
    }
    from records.crypto import EncryptionUnavailable

    user_id = uuid.uuid4()
    try:  # KMS: before the transaction opens
        fields.update(sealed_identifiers(user_id=user_id, values=data))
    except EncryptionUnavailable as exc:
        raise ServiceUnavailable("Registration is unavailable just now. Try again shortly.",
                                 code="encryption_unavailable") from exc
    password_hash = make_password(data["password"])  # hashing is slow: never inside the transaction
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                id=user_id,
                email=data["email"],
                password_hash=password_hash,
                role=Role.PATIENT,
                consent_terms_at=now,
                consent_hipaa_at=now,
                consent_data_processing_at=now,
                **fields,
            )
    except IntegrityError as exc:
        raise ApiError("An account with this email already exists.", code="email_taken") from exc
    logger.info("user registered", extra={"event": "user_registered"})
    return user


def login_check_password(*, email: str, password: str) -> User:
    """The user for these credentials, or an ApiError that does not say which part was wrong."""
    user = User.objects.filter(email=(email or "").strip().lower()).first()
    if user is None or not user.has_usable_password():  # no password to check (an invited admin's
        # before she chooses one) costs the same hashing as a wrong one
        check_password(password or "", _dummy_password_hash())
        raise ApiError("Invalid email or password.", status_code=401, code="invalid_credentials")
    if not user.check_password(password or "") or not user.is_active:
        raise ApiError("Invalid email or password.", status_code=401, code="invalid_credentials")
    hospital_active_check(user=user)
    return user


def hospital_active_check(*, user: User) -> None:
    """Refuse signing in (403) to the staff of a deactivated hospital, after their credentials
    were right: no code is sent and no session opened (``hospitals.selectors.works_at_inactive_hospital``)."""
    from accounts.authentication import HOSPITAL_INACTIVE, HOSPITAL_INACTIVE_CODE
    from hospitals.selectors import works_at_inactive_hospital

    if works_at_inactive_hospital(user=user):
        logger.info("sign-in refused: hospital deactivated", extra={"event": "sign_in_hospital_inactive"})
        raise ApiError(HOSPITAL_INACTIVE, status_code=403, code=HOSPITAL_INACTIVE_CODE)


# One answer for every email that has no live login code, whether or not an account has it.
_NO_LIVE_LOGIN_CODE = "This code has expired or has already been used. Request a new code."
_STAND_IN_NAMESPACE = uuid.UUID("5f0c7d0e-8f34-4b1e-9c55-6a0d2c1f3b7a")


def login_verify_code(*, email: str, code: object) -> User:
    """The account whose live login code this is (the code then spent), else an ApiError.

    The answers (and the work behind them) are the same for an email no active account has as
    for an account without a live code: checking codes, which takes no password, does not tell
    who has an account. An unknown email is checked as a stand-in account that has no codes."""
    from accounts.codes import CodeRejected

    address = (email or "").strip().lower()
    user = User.objects.filter(email=address, is_active=True).first()
    checked = user or User(id=uuid.uuid5(_STAND_IN_NAMESPACE, address), email=address)
    try:
        code_verify(user=checked, purpose=CodePurpose.LOGIN, code=code)
    except CodeRejected as exc:
        logger.info("login code refused", extra={"event": "code_refused", "purpose": "login", "reason": exc.reason})
        metrics.record("OTPVerificationFailure", area="Auth", dimensions={"Purpose": "login"})
        if exc.reason in ("missing", "expired"):
            raise ApiError(_NO_LIVE_LOGIN_CODE, code="code_expired") from exc
        raise ApiError(exc.message, code=f"code_{exc.reason}") from exc
    if user is None:  # a stand-in has no codes; never reached
        raise ApiError(_NO_LIVE_LOGIN_CODE, code="code_expired")
    hospital_active_check(user=user)  # deactivated since the password step
    if not user.email_verified:
        user.email_verified = True
    user.last_login = timezone.now()
    user.save(update_fields=["email_verified", "last_login"])
    return user


def login_window_seconds() -> int:
    """How long after the password step a sign-in may go on asking for new login codes."""
    return 3 * settings.OTP_TTL_SECONDS


def login_code_resend(*, user: User) -> datetime | None:
    """Email a new login code while the sign-in whose password step sent the last one is in
    progress (that code unused, the step under ``login_window_seconds`` ago); return when the
    new code expires, or ``None`` when none was sent.

    The step's time is carried forward on the new code, never reset, and the code expires by
    the window's end: resends cannot keep a sign-in alive without the password again."""
    latest = (OneTimeCode.objects.filter(user=user, purpose=CodePurpose.LOGIN, subject="")
              .order_by("-created_at").first())
    if latest is None or latest.used_at is not None:
        return None
    started = latest.started_at or latest.created_at
    window_ends = started + timedelta(seconds=login_window_seconds())
    if window_ends <= timezone.now():
        return None
    throttle_code_request(user_id=user.pk, purpose="login-resend")
    code_send(user=user, purpose=CodePurpose.LOGIN, started_at=started, not_after=window_ends)
    return min(window_ends, timezone.now() + timedelta(seconds=settings.OTP_TTL_SECONDS))


def login_code_resend_for(*, email: str) -> None:
    """``/api/resend-otp/``, run after its answer: resend the login code of the active account
    with this email, if it has a sign-in in progress and is not staff of a deactivated hospital. The account's resend budget refuses in
    silence here, since the caller has had the same answer as for any other email."""
    from hospitals.selectors import works_at_inactive_hospital

    user = User.objects.filter(email=(email or "").strip().lower(), is_active=True).first()
    if user is None:
        return
    if works_at_inactive_hospital(user=user):  # deactivated since the password step
        logger.info("login code resend refused: hospital deactivated", extra={"event": "code_resend_hospital_inactive"})
        return
    try:
        login_code_resend(user=user)
    except Throttled:
        logger.info("login code resend refused", extra={"event": "code_resend_throttled"})


def sessions_end(*, user: User) -> None:
    """End every session of ``user`` now: access and refresh tokens issued so far are refused,
    and, once the transaction commits, the medical-access sessions she holds are deleted."""
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])
    refresh_tokens_revoke(user=user)
    transaction.on_commit(partial(med_sessions_end, user_id=str(user.pk)))


def med_sessions_end(*, user_id: str) -> int:
    """Delete every medical-access session the account holds (DynamoDB: never inside a
    transaction). A failure is logged and does not fail the sign-out or password change."""
    from records.sessions import sessions_revoke

    try:
        return sessions_revoke(holder=user_id)
    except Exception as exc:  # noqa: BLE001  (DynamoDB or the network: the caller has finished)
        logger.warning("medical access sessions not revoked at session end",
                       extra={"event": "med_sessions_revoke_failed", "error": type(exc).__name__})
        metrics.record("MedSessionRevokeFailure", area="Auth")
        return 0


def refresh_tokens_revoke(*, user: User) -> int:
    """Blacklist every outstanding refresh token of ``user`` (logout everywhere)."""
    revoked = 0
    for token in OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now()):
        _, created = BlacklistedToken.objects.get_or_create(token=token)
        revoked += int(created)
    return revoked


def password_change(*, user: User, current_password: str, new_password: str) -> None:
    if not user.check_password(current_password or ""):
        raise ApiError("Your current password is incorrect.", code="wrong_password",
                       current_password=["Your current password is incorrect."])
    password_validation.validate_password(new_password, user)
    password_hash = make_password(new_password)
    with transaction.atomic():
        user.password = password_hash
        user.save(update_fields=["password"])  # ends every session (User.save)
        _security_notice(user=user, what="Your password was changed and every other session was signed out.")


PROFILE_EDITABLE = (
    "phone", "country", "state", "city", "date_of_birth", "gender", "preferred_language",
    "secondary_languages", "custom_language", "otp_required_for_login", "address", "full_name",
    "contact_preferences",
)


SECURITY_SETTINGS = ("otp_required_for_login",)


def profile_update(*, user: User, data: dict[str, Any]) -> User:
    """A8. Staff cannot turn off the login code; changing a security setting takes the current
    password and is announced by email."""
    security = {key: data[key] for key in SECURITY_SETTINGS if key in data and data[key] != getattr(user, key)}
    if security.get("otp_required_for_login") is False and is_staff_member(user):
        message = "Staff always sign in with an emailed code; it cannot be turned off."
        raise ApiError(message, code="staff_code_required", otp_required_for_login=[message],
                       errors={"otp_required_for_login": [message]})
    if security and not user.check_password(data.get("current_password") or ""):
        message = "Enter your current password to change your sign-in security."
        raise ApiError(message, code="password_required", current_password=[message],
                       errors={"current_password": [message]})
    changed = []
    for key, value in data.items():
        if key not in PROFILE_EDITABLE or (key in SECURITY_SETTINGS and key not in security):
            continue
        if key == "date_of_birth" and value is not None and value != user.date_of_birth:
            problem = birth_date_problem(value)
            if problem:
                raise ApiError(problem, code="invalid", date_of_birth=[problem], errors={"date_of_birth": [problem]})
        setattr(user, key, value)
        changed.append(key)
    with transaction.atomic():
        if changed:
            user.save(update_fields=changed)
        if security:
            _security_notice(user=user, what="The emailed sign-in code was " + (
                "turned on." if user.otp_required_for_login else "turned off: you now sign in with your password alone."))
    if security:
        logger.info("security setting changed", extra={"event": "security_setting_changed",
                                                        "settings": sorted(security)})
    return user


def _security_notice(*, user: User, what: str) -> None:
    send_email_after_commit(
        to=user.email, subject="Your PHB sign-in security changed",
        body=f"{what}\n\nIf this was not you, reset your password now and contact your hospital.",
        kind="security_notice",
    )


def onboarding_complete(*, user: User, completed: bool = True) -> User:
    user.has_completed_onboarding = bool(completed)
    user.save(update_fields=["has_completed_onboarding"])
    return user
