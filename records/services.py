"""Writes of the medical-records area: the patient's gate, clinicians' consent, clinical
entries, and patient documents. Every PHI write and read goes through ``records.audit``."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.codes import CodeRejected, code_pending, code_verify
from accounts.models import CodePurpose, User
from accounts.services import code_send
from accounts.throttles import throttle_code_request
from phb import metrics
from phb.api.errors import ApiError, ServiceUnavailable
from records import sessions
from records.audit import audit_record
from records.crypto import EncryptionUnavailable
from records.gate import record_access_error, require_consent
from records.models import AccessConsent, ClinicalEntry, ConsentStatus, EntryKind, MedicalProfile
from records.selectors import clinician_has_relationship, patient_lookup

logger = logging.getLogger("records.services")

AREA = "MedicalRecords"
# How long a clinician's request waits for the patient's code.
CONSENT_REQUEST_TTL = timedelta(minutes=30)
CONSENT_MAX_SECONDS = 12 * 3600
_DURATION = re.compile(r"^\s*(\d{1,5})\s*([smhd]?)\s*$", re.IGNORECASE)


def _metric_failure(purpose: str) -> None:
    metrics.record("OTPVerificationFailure", area=AREA, dimensions={"purpose": purpose})


def _session_store_down(then: str) -> ServiceUnavailable:
    """The 503 of a session store (DynamoDB) that did not answer, counted like the gate's."""
    record_access_error("unavailable")
    logger.warning("session store unavailable", extra={"event": "med_session_store_error"})
    return ServiceUnavailable(f"Medical records are temporarily unavailable. {then}")


# --- The patient's gate (M1, M2) -------------------------------------------------------------
def med_access_code_request(*, user: User) -> str:
    """Email a MEDICAL_RECORDS code to ``user``. Rate limited per account."""
    throttle_code_request(user_id=user.pk, purpose="medical-records")
    code_send(user=user, purpose=CodePurpose.MEDICAL_RECORDS,
              note="Use it to open your medical records. PHB staff will never ask you for it.")
    return "A verification code has been sent to your email."


@dataclass(frozen=True)
class Granted:
    token: str
    expires_in: int
    subject_id: str
    consent: AccessConsent | None = None


def med_access_verify(*, user: User, code: object, request: Any = None) -> Granted:
    """Spend the caller's MEDICAL_RECORDS code and open a session on their own record."""
    try:
        code_verify(user=user, purpose=CodePurpose.MEDICAL_RECORDS, code=code)
    except CodeRejected as exc:
        _metric_failure("medical_records")
        logger.info("medical records code refused", extra={"event": "code_refused", "reason": exc.reason})
        raise ApiError(exc.message, code=f"code_{exc.reason}", attempts_left=exc.attempts_left) from exc
    try:
        token, _session = sessions.session_create(
            holder=user, subject=user, kind="patient", ttl_seconds=settings.MED_ACCESS_TOKEN_TTL_SECONDS
        )
    except (ClientError, BotoCoreError) as exc:  # the code is spent: a new one opens the record
        raise _session_store_down("Request a new code shortly.") from exc
    audit_record(actor=user, patient=user, action="access_granted", object_type="med_access_session",
                 object_id="", request=request)
    return Granted(token=token, expires_in=settings.MED_ACCESS_TOKEN_TTL_SECONDS,
                   subject_id=str(user.pk))


def med_access_end(*, user: User, request: Any = None) -> int:
    """End every medical-access session the caller holds (their own and, for clinicians, granted ones)."""
    try:
        removed = sessions.sessions_revoke(holder=user)
    except (ClientError, BotoCoreError) as exc:
        raise _session_store_down("Try again shortly.") from exc
    audit_record(actor=user, patient=user, action="access_ended", object_type="med_access_session",
                 object_id="", request=request)
    return removed


# --- Clinician consent (M11, M12, M17, and M1/M2 used by a clinician) -----------------------
def parse_duration(value: object) -> int:
    """'1h', '30m', '2d', '3600', 3600 -> seconds (bounded). Empty -> the default."""
    if value in (None, ""):
        return settings.CLINICIAN_ACCESS_TTL_SECONDS
    if isinstance(value, bool):
        raise ApiError("access_duration must look like '1h', '30m' or a number of seconds.", code="invalid")
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ApiError("access_duration must look like '1h', '30m' or a number of seconds.", code="invalid")
        amount, unit = int(match.group(1)), (match.group(2) or "s").lower()
        seconds = amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    if seconds < 60 or seconds > CONSENT_MAX_SECONDS:
        raise ApiError("access_duration must be between 1 minute and 12 hours.", code="invalid")
    return seconds


def _appointment_ref(*, clinician: User, patient: User, value: object) -> uuid.UUID | None:
    """The UUID of the patient's appointment named by ``value`` (its UUID or human id), if any,
    among the appointments the clinician may see (their hospital and department, or their own):
    another hospital's visit is not theirs to link a note or a consent to."""
    if value in (None, ""):
        return None
    from appointments.selectors import appointments_for_doctor

    text = str(value).strip()
    lookup = Q(appointment_id=text)
    try:
        lookup |= Q(id=uuid.UUID(text))
    except ValueError:
        pass
    found = appointments_for_doctor(fetched_by=clinician).filter(lookup, patient=patient).values_list(
        "id", flat=True).first()
    if found is None:
        raise ApiError("No such appointment for this patient.", status_code=404, code="not_found")
    return found


def consent_request(
    *, clinician: User, patient_ref: object, reason: str = "", duration: object = None,
    appointment: object = None, access_type: str = "medical_records", request: Any = None,
) -> AccessConsent:
    """A clinician with an appointment for the patient asks for access; the patient gets a code."""
    patient = patient_lookup(clinician=clinician, patient_ref=patient_ref)
    if not clinician_has_relationship(clinician=clinician, patient=patient, require_appointment=True):
        # Same answer as an unknown patient: do not reveal who is registered.
        raise ApiError("Patient not found.", status_code=404, code="not_found")
    seconds = parse_duration(duration)
    appointment_ref = _appointment_ref(clinician=clinician, patient=patient, value=appointment)
    now = timezone.now()
    staff = getattr(clinician, "staff", None)
    with transaction.atomic():
        AccessConsent.objects.filter(
            clinician=clinician, patient=patient, status=ConsentStatus.PENDING, request_expires_at__lte=now
        ).update(status=ConsentStatus.CANCELLED)
        pending = (
            AccessConsent.objects.select_for_update()
            .filter(clinician=clinician, patient=patient, status=ConsentStatus.PENDING)
            .first()
        )
        if pending is not None:
            raise ApiError(
                "Access already requested; ask the patient for the code sent to their email.",
                code="already_requested", consent_id=str(pending.pk), requires_otp=True,
            )
        try:
            consent = AccessConsent.objects.create(
                patient=patient, clinician=clinician, hospital=getattr(staff, "hospital", None),
                appointment_ref=appointment_ref, reason=(reason or "")[:255], access_type=access_type[:32],
                duration_seconds=seconds, request_expires_at=now + CONSENT_REQUEST_TTL,
            )
        except IntegrityError as exc:  # a parallel request won the race
            raise ApiError("Access already requested.", code="already_requested", requires_otp=True) from exc
        _send_consent_code(consent=consent, clinician=clinician)
    audit_record(actor=clinician, patient=patient, action="access_requested", object_type="consent",
                 object_id=str(consent.pk), request=request)
    return consent


def _send_consent_code(*, consent: AccessConsent, clinician: User) -> None:
    minutes = consent.duration_seconds // 60
    who = clinician.full_name or "A clinician"
    hospital = consent.hospital.name if consent.hospital_id else "your hospital"
    note = (
        f"{who} at {hospital} asked to see your medical record for {minutes} minutes. "
        "Give this code to them only if you agree. You can revoke access at any time from your account."
    )
    code_send(user=consent.patient, purpose=CodePurpose.CLINICIAN_ACCESS, subject=str(consent.pk), note=note)


def _pending_consents(
    *, clinician: User, patient_ref: object, now: datetime
) -> tuple[QuerySet[AccessConsent], User | None]:
    """The clinician's live pending requests (for the named patient, when one is named)."""
    qs = AccessConsent.objects.select_related("patient").filter(
        clinician=clinician, status=ConsentStatus.PENDING, request_expires_at__gt=now
    )
    if patient_ref in (None, ""):
        return qs, None
    patient = patient_lookup(clinician=clinician, patient_ref=patient_ref)
    return qs.filter(patient=patient), patient


def _outside_reach_is_not_found(*, clinician: User, patient: User | None) -> None:
    """With no pending request, a patient the clinician has no relationship with is answered as an
    unknown one (404), so that the answer does not tell who is registered."""
    if patient is not None and not clinician_has_relationship(clinician=clinician, patient=patient):
        raise ApiError("Patient not found.", status_code=404, code="not_found")


def consent_code_resend(*, clinician: User, patient_ref: object = None) -> AccessConsent | None:
    """Re-send the code of the clinician's pending request unless a live one is still waiting."""
    qs, patient = _pending_consents(clinician=clinician, patient_ref=patient_ref, now=timezone.now())
    consent = qs.select_related("hospital").order_by("-requested_at").first()
    if consent is None:
        _outside_reach_is_not_found(clinician=clinician, patient=patient)
        return None
    throttle_code_request(user_id=clinician.pk, purpose="clinician-access")
    if code_pending(user=consent.patient, purpose=CodePurpose.CLINICIAN_ACCESS, subject=str(consent.pk)) is None:
        _send_consent_code(consent=consent, clinician=clinician)
    return consent


def consent_grant_with_code(
    *, clinician: User, code: object, patient_ref: object = None, request: Any = None
) -> Granted:
    """The clinician enters the code the patient received: the consent is granted and a
    session bound to (clinician, patient, consent) is opened for the consent's duration."""
    qs, patient = _pending_consents(clinician=clinician, patient_ref=patient_ref, now=timezone.now())
    candidates = list(qs.order_by("-requested_at")[:5])
    if not candidates:
        _metric_failure("clinician_access")
        _outside_reach_is_not_found(clinician=clinician, patient=patient)
        raise ApiError("No pending access request: the code is invalid or has expired. Request access again.",
                       code="code_missing")
    last_error: CodeRejected | None = None
    for consent in candidates:
        try:
            code_verify(user=consent.patient, purpose=CodePurpose.CLINICIAN_ACCESS, code=code,
                        subject=str(consent.pk))
        except CodeRejected as exc:
            last_error = exc
            if exc.reason == "malformed":
                break
            continue
        return _consent_grant(consent=consent, clinician=clinician, request=request)
    _metric_failure("clinician_access")
    assert last_error is not None
    message = {
        "malformed": "Invalid code: enter the 6-digit code the patient received.",
        "locked": "Too many incorrect attempts: the code is now invalid. Request access again.",
        "missing": "The code is invalid or was already used. Request access again.",
    }.get(last_error.reason, last_error.message)
    if last_error.reason == "invalid":
        message = f"Incorrect code: invalid. {last_error.attempts_left} attempt(s) left."
    logger.info("clinician access code refused", extra={"event": "code_refused", "reason": last_error.reason})
    raise ApiError(message, code=f"code_{last_error.reason}", attempts_left=last_error.attempts_left)


def _consent_grant(*, consent: AccessConsent, clinician: User, request: Any) -> Granted:
    now = timezone.now()
    expires_at = now + timedelta(seconds=consent.duration_seconds)
    updated = AccessConsent.objects.filter(pk=consent.pk, status=ConsentStatus.PENDING).update(
        status=ConsentStatus.GRANTED, granted_at=now, expires_at=expires_at
    )
    if not updated:
        raise ApiError("This access request is no longer pending.", code="code_missing")
    audit_record(actor=clinician, patient=consent.patient, action="access_granted", object_type="consent",
                 object_id=str(consent.pk), request=request)
    try:
        token, _session = sessions.session_create(
            holder=clinician, subject=consent.patient, kind="clinician",
            ttl_seconds=consent.duration_seconds, consent_id=consent.pk,
        )
    except (ClientError, BotoCoreError) as exc:  # the consent holds: M18 opens the record without a token
        raise _session_store_down("Access was granted: open the patient's record shortly.") from exc
    consent.refresh_from_db()
    return Granted(token=token, expires_in=consent.duration_seconds,
                   subject_id=str(consent.patient_id), consent=consent)


def consent_revoke(*, patient: User, consent_id: object, request: Any = None) -> AccessConsent:
    """The patient ends a clinician's access (or withdraws a pending request) at once."""
    from records.selectors import consents_of_patient

    try:
        consent = consents_of_patient(fetched_by=patient).get(pk=consent_id)
    except (AccessConsent.DoesNotExist, ValueError, TypeError) as exc:
        raise ApiError("Not found.", status_code=404, code="not_found") from exc
    if consent.status not in (ConsentStatus.GRANTED, ConsentStatus.PENDING):
        raise ApiError("This access has already ended.", status_code=409, code="conflict")
    now = timezone.now()
    AccessConsent.objects.filter(pk=consent.pk).update(
        status=ConsentStatus.REVOKED, revoked_at=now, revoked_by=patient
    )
    try:
        sessions.sessions_revoke(holder=consent.clinician_id, consent_id=consent.pk)
    except (ClientError, BotoCoreError):
        # The revocation is the consent row, which every read of a clinician's session checks:
        # a session left in the store opens nothing.
        logger.warning("revoked consent's sessions not deleted", extra={"event": "consent_sessions_left",
                                                                        "consent": str(consent.pk)})
    audit_record(actor=patient, patient=patient, action="access_revoked", object_type="consent",
                 object_id=str(consent.pk), request=request)
    consent.refresh_from_db()
    return consent


# --- Clinical entries ----------------------------------------------------------------------
def _require_writer(*, clinician: User, patient: User) -> None:
    if not clinician.is_doctor:
        raise ApiError("Only clinicians write clinical entries.", status_code=403, code="permission_denied")
    if not clinician_has_relationship(clinician=clinician, patient=patient):
        raise ApiError("Patient not found.", status_code=404, code="not_found")


def entry_create(
    *, clinician: User, patient: User, kind: str, title: str, occurred_on: date, notes: str = "",
    status: str = "", details: dict | None = None, end_on: date | None = None, appointment: object = None,
    request: Any = None,
) -> ClinicalEntry:
    _require_writer(clinician=clinician, patient=patient)
    if kind not in EntryKind.values:
        raise ApiError(f"kind must be one of: {', '.join(EntryKind.values)}.", code="invalid")
    staff = getattr(clinician, "staff", None)
    now = timezone.now()
    entry = ClinicalEntry(
        patient=patient, kind=kind, title=title[:200], occurred_on=occurred_on, end_on=end_on,
        status=(status or "")[:20], details=details or {}, provider_name=clinician.full_name[:200],
        hospital=getattr(staff, "hospital", None),
        appointment_ref=_appointment_ref(clinician=clinician, patient=patient, value=appointment),
        created_at=now, created_by=clinician, updated_at=now, updated_by=clinician,
    )
    try:
        entry.notes = notes or ""
    except EncryptionUnavailable as exc:
        logger.warning("clinical notes could not be encrypted", extra={"event": "notes_encrypt_failed"})
        raise ServiceUnavailable("Clinical notes cannot be saved just now. Try again shortly.",
                                 code="encryption_unavailable") from exc
    with transaction.atomic():
        entry.save(force_insert=True)
        if kind == EntryKind.ENCOUNTER:
            profile, _ = MedicalProfile.objects.get_or_create(patient=patient)
            # Compared in the UPDATE, against the row as it stands once locked: an encounter
            # written at the same moment with a later date is never overwritten.
            MedicalProfile.objects.filter(pk=profile.pk).filter(
                Q(last_visit_date__isnull=True) | Q(last_visit_date__lt=occurred_on)
            ).update(last_visit_date=occurred_on, updated_at=now, updated_by=clinician)
    audit_record(actor=clinician, patient=patient, action="write", object_type="clinical_entry",
                 object_id=str(entry.pk), request=request)
    return entry


PROFILE_FIELDS = (
    "blood_type", "genotype", "height_cm", "weight_kg", "allergies", "chronic_conditions",
    "emergency_contact_name", "emergency_contact_phone", "last_visit_date",
)


def profile_update(*, clinician: User, patient: User, data: dict[str, Any], request: Any = None) -> MedicalProfile:
    """Change the patient's profile facts. Unlike adding an entry, this replaces what the record says
    (an allergy list sent replaces the stored one) and answers with the stored profile, so it takes
    what reading the record takes: the patient's live consent, not only an appointment."""
    _require_writer(clinician=clinician, patient=patient)
    require_consent(clinician=clinician, patient=patient)
    with transaction.atomic():
        profile, _ = MedicalProfile.objects.select_for_update().get_or_create(patient=patient)
        changed = []
        for key in PROFILE_FIELDS:
            if key in data:
                setattr(profile, key, data[key])
                changed.append(key)
        profile.updated_at = timezone.now()
        profile.updated_by = clinician
        profile.save(update_fields=[*changed, "updated_at", "updated_by"])
    audit_record(actor=clinician, patient=patient, action="write", object_type="medical_profile",
                 object_id=str(profile.pk), request=request)
    return profile
