"""The second factor in front of every record read: ``X-Med-Access-Token`` (or the legacy
``X-Medical-Record-Token``) must name a live session of the caller. Refusals are 403 with the
contract's codes; a clinician's session also needs its consent to be live, so revoking consent
ends access on the very next request."""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.utils import timezone

from phb import metrics
from phb.api.errors import ApiError, ServiceUnavailable
from records.models import AccessConsent, ConsentStatus
from records.selectors import clinician_can_access_patient
from records.sessions import MedAccessError, MedSession, session_check

logger = logging.getLogger("records.gate")

HEADERS = ("X-Med-Access-Token", "X-Medical-Record-Token")


def token_of(request: Any) -> str | None:
    for name in HEADERS:
        value = request.headers.get(name)
        if value:
            return value.strip()
    return None


# ``MedicalRecordAccessError`` carries a bounded ``Reason``. The gate asking for a code (no token
# yet, or an expired one) is routine traffic; the alarm watches only ALARMED_ACCESS_ERRORS.
ACCESS_ERROR_REASONS = ("verification_required", "expired", "invalid_token", "no_consent", "unavailable")
ALARMED_ACCESS_ERRORS = ("invalid_token", "no_consent", "unavailable")
_REASON_OF_CODE = {MedAccessError.REQUIRED: "verification_required", MedAccessError.EXPIRED: "expired",
                   MedAccessError.INVALID: "invalid_token"}


def record_access_error(reason: str) -> None:
    """Count one refused or failed medical record access under its reason."""
    metrics.record("MedicalRecordAccessError", area="MedicalRecords",
                   dimensions={"Reason": reason if reason in ACCESS_ERROR_REASONS else "invalid_token"})


def _refuse(code: str, message: str) -> ApiError:
    record_access_error(_REASON_OF_CODE.get(code, "invalid_token"))
    logger.info("medical access refused", extra={"event": "med_access_refused", "reason": code})
    return ApiError(message, status_code=403, code=code, requires_otp=True)


def require_consent(*, clinician: Any, patient: Any) -> None:
    """403 ``MED_ACCESS_REQUIRED`` (with ``requires_otp``) unless ``clinician`` holds the patient's
    live consent: what reading her record, or changing what it says, takes."""
    if not clinician_can_access_patient(clinician=clinician, patient=patient):
        record_access_error("no_consent")
        raise ApiError("The patient has not granted you access to their record.", status_code=403,
                       code=MedAccessError.REQUIRED, requires_otp=True)


def require_med_session(request: Any) -> MedSession:
    """The caller's live session, or a 403 (MED_ACCESS_REQUIRED / MED_ACCESS_EXPIRED / INVALID_MED_ACCESS)."""
    try:
        session = session_check(holder=request.user, token=token_of(request))
    except MedAccessError as exc:
        raise _refuse(exc.code, exc.message) from exc
    except (ClientError, BotoCoreError) as exc:
        record_access_error("unavailable")
        logger.warning("session store unavailable", extra={"event": "med_session_store_error"})
        raise ServiceUnavailable("Medical records are temporarily unavailable. Try again shortly.") from exc
    if session.kind == "patient":
        if session.subject_id != str(request.user.pk):
            raise _refuse(MedAccessError.INVALID, "Invalid medical records access token. Please verify again.")
        return session
    if session.kind == "clinician":
        consent = (
            AccessConsent.objects.filter(pk=session.consent_id, clinician=request.user, patient_id=session.subject_id)
            .only("status", "revoked_at", "expires_at")
            .first()
        )
        if consent is None or consent.status != ConsentStatus.GRANTED or consent.revoked_at is not None:
            raise _refuse(MedAccessError.INVALID, "Access to this record was revoked. Request access again.")
        if consent.expires_at is None or consent.expires_at <= timezone.now():
            raise _refuse(MedAccessError.EXPIRED, "Your medical records access has expired. Please verify again.")
        return session
    raise _refuse(MedAccessError.INVALID, "Invalid medical records access token. Please verify again.")
