"""HTTP endpoints of the patient's own record (contract §2: M1–M4): the code gate, the record, its
summary and export, the access log and her consents. Documents are in ``document_views``, the
clinicians' endpoints (M11–M18) in ``clinician_views``.

Views parse input, call services and selectors, and shape the answer. Every response carrying
PHI writes an audit row first.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.codes import code_pending
from accounts.models import CodePurpose, User
from admissions.history import admissions_in_record
from phb import metrics
from phb.api import pagination, serializers
from phb.api.access import Access
from phb.api.errors import ApiError, ServiceUnavailable
from phb.api.timestamps import iso
from phb.api.views import ApiView
from records import presenters, selectors, services
from records.audit import audit_record
from records.crypto import KeyServiceUnavailable
from records.export import record_pdf
from records.gate import record_access_error, require_med_session, token_of
from records.models import AccessConsent, ConsentStatus, EntryKind

AREA = "MedicalRecords"


def record_accessed() -> None:
    metrics.record("MedicalRecordAccess", area=AREA)


# --- M1, M2: the patient's gate (a clinician uses the same screens to enter a patient's code) ---
class _OtpRequestInput(serializers.Serializer):
    patient_id = serializers.CharField(required=False, allow_blank=True)


class MedAccessCodeRequestView(ApiView):
    """M1: email a code that opens the caller's record (for a clinician with a pending
    access request: make sure the patient has a live code)."""

    access = Access.OWN

    def post(self, request: Request) -> Response:
        data = _OtpRequestInput(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        patient_ref = data.validated_data.get("patient_id")
        user: User = request.user
        if user.is_doctor and (patient_ref or _has_pending_consent(user)):
            consent = services.consent_code_resend(clinician=user, patient_ref=patient_ref)
            if consent is None:
                raise ApiError("No pending access request for this patient. Request access first.",
                               code="no_pending_request")
            return Response({"status": "success", "message": "A verification code was sent to the patient's email.",
                             "expires_in": settings.OTP_TTL_SECONDS, "recipient": "patient"})
        message = services.med_access_code_request(user=user)
        return Response({"status": "success", "message": message, "expires_in": settings.OTP_TTL_SECONDS,
                         "recipient": "self"})


def _has_pending_consent(user: User) -> bool:
    return AccessConsent.objects.filter(
        clinician=user, status=ConsentStatus.PENDING, request_expires_at__gt=timezone.now()
    ).exists()


class _OtpVerifyInput(serializers.Serializer):
    otp = serializers.CharField(trim_whitespace=True, allow_blank=True, max_length=32)
    patient_id = serializers.CharField(required=False, allow_blank=True)


def token_body(granted: services.Granted, *, token_key: str) -> dict[str, Any]:
    expires_at = timezone.now() + timedelta(seconds=granted.expires_in)
    body = {
        "status": "success",
        "message": "Access granted.",
        token_key: granted.token,
        "expires_in": granted.expires_in,
        "expires_at": expires_at.isoformat(),
        "patient_id": granted.subject_id,
    }
    if granted.consent is not None:
        body["consent_id"] = str(granted.consent.pk)
    return body


class MedAccessCodeVerifyView(ApiView):
    """M2: trade a code for ``{med_access_token, expires_in}``."""

    access = Access.OWN

    def post(self, request: Request) -> Response:
        data = _OtpVerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        user: User = request.user
        code, patient_ref = data.validated_data["otp"], data.validated_data.get("patient_id")
        own_code_waiting = code_pending(user=user, purpose=CodePurpose.MEDICAL_RECORDS) is not None
        if user.is_doctor and (patient_ref or (not own_code_waiting and _has_pending_consent(user))):
            granted = services.consent_grant_with_code(clinician=user, code=code, patient_ref=patient_ref,
                                                       request=request)
        else:
            granted = services.med_access_verify(user=user, code=code, request=request)
        return Response(token_body(granted, token_key="med_access_token"))


class MedAccessEndView(ApiView):
    """End every medical-access session the caller holds (sign out of records everywhere)."""

    access = Access.OWN

    def post(self, request: Request) -> Response:
        _ = request.data  # no field is read, but a body other than JSON is a 415 like everywhere else
        removed = services.med_access_end(user=request.user, request=request)
        return Response({"status": "success", "ended_sessions": removed})


# --- M3, M4, export: the record ------------------------------------------------------------
def subject_of(request: Request, session) -> User:
    if session.subject_id == str(request.user.pk):
        return request.user
    patient = User.objects.filter(pk=session.subject_id, is_active=True).first()
    if patient is None:
        raise ApiError("Not found.", status_code=404, code="not_found")
    return patient


class MedicalRecordView(ApiView):
    """M3: the record behind the medical-access token. A patient gets the profile form
    (``?view=list`` for the list form); a clinician holding a consented session gets the
    patient's record object."""

    access = Access.OWN

    def get(self, request: Request) -> Response:
        session = require_med_session(request)
        patient = subject_of(request, session)
        page, profile, entries = record_page(request, patient)
        audit_record(actor=request.user, patient=patient, action="read", object_type="medical_record",
                     object_id=str(patient.pk), request=request)
        record_accessed()
        if session.kind == "clinician":
            body = presenters.clinician_record(patient=patient, profile=profile, entries=entries)
            body.update(admissions_in_record(patient=patient))
            return page.response(body)
        if request.query_params.get("view") == "list":
            return page.response({"status": "success",
                                  "records": [presenters.entry_list_item(e, n) for e, n in entries],
                                  "expires_in": session.expires_in})
        data = presenters.patient_profile_form(patient=patient, profile=profile, entries=entries)
        data.update(admissions_in_record(patient=patient))
        return page.response({"status": "success", "data": data, "expires_in": session.expires_in})


def record_page(request: Request, patient: User):
    """The profile and one page of entries (newest first), the page's headers leading to the next."""
    page = pagination.paginate(request, selectors.entries_of(patient=patient), spec=pagination.RECORD_ENTRIES,
                               columns=selectors.EntryRow.COLUMNS)
    return page, selectors.profile_of(patient=patient), selectors.with_notes(page.items)


class MedicalRecordSummaryView(ApiView):
    """M4: the caller's encounters. Doctors' notes only with a valid medical-access token."""

    access = Access.OWN

    def get(self, request: Request) -> Response:
        user: User = request.user
        with_notes = False
        if token_of(request):
            session = require_med_session(request)
            with_notes = session.kind == "patient"
        page = pagination.paginate(
            request, selectors.entries_of(patient=user).filter(kind=EntryKind.ENCOUNTER),
            spec=pagination.RECORD_ENTRIES, columns=selectors.EntryRow.COLUMNS,
        )
        interactions = []
        for entry, notes in selectors.with_notes(page.items):
            item = {
                "id": str(entry.id),
                "interaction_date": iso(entry.occurred_on),
                "formatted_date": entry.occurred_on.strftime("%d %B %Y"),
                "doctor_name": entry.provider_name,
                "hospital_name": entry.hospital.name if entry.hospital_id else "",
                "department_name": (entry.details or {}).get("department", ""),
                "interaction_type": (entry.details or {}).get("encounter_type", "") or entry.title,
            }
            if with_notes:
                item["doctor_notes"] = notes
            interactions.append(item)
        audit_record(actor=user, patient=user, action="read", object_type="record_summary",
                     object_id=str(user.pk), request=request)
        record_accessed()
        return page.response({"status": "success", "data": {"interactions": interactions}})


class MedicalRecordExportView(ApiView):
    """The record as a PDF, behind the same gate as M3."""

    access = Access.OWN

    def get(self, request: Request) -> HttpResponse:
        session = require_med_session(request)
        patient = subject_of(request, session)
        try:
            profile, entries = selectors.record_of(patient=patient)
        except KeyServiceUnavailable as exc:
            record_access_error("unavailable")
            raise ServiceUnavailable("Your record cannot be exported just now. Try again shortly.",
                                     code="encryption_unavailable") from exc
        pdf = record_pdf(patient=patient, profile=profile, entries=entries)
        audit_record(actor=request.user, patient=patient, action="export", object_type="medical_record",
                     object_id=str(patient.pk), request=request)
        record_accessed()
        response = HttpResponse(pdf, content_type="application/pdf")
        stamp = timezone.now().strftime("%Y%m%d")
        response["Content-Disposition"] = f'attachment; filename="medical-record-{stamp}.pdf"'
        response["Cache-Control"] = "no-store"
        return response


class AccessLogView(ApiView):
    """Who read or changed the caller's record."""

    access = Access.OWN

    def get(self, request: Request) -> Response:
        page = pagination.paginate(request, selectors.access_log_of_patient(fetched_by=request.user),
                                   spec=pagination.AUDIT_EVENTS)
        actors = selectors.actors_of(page.items)
        return page.response({"status": "success", "access_logs": [event_item(e, actors, viewer=request.user)
                                                                    for e in page.items]})


def event_item(event, actors: dict[str, User] | None = None, *, viewer: User) -> dict[str, Any]:
    """One audit event as its reader sees it. The network address is the reader's own only: a
    patient sees who opened her record and when, not the hospital's or an operator's addresses."""
    actor = (actors or {}).get(str(event.actor_id)) if event.actor_id else None
    staff = getattr(actor, "staff", None) if actor is not None else None
    return {
        "id": str(event.id),
        "accessed_at": iso(event.occurred_at),
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "actor_id": str(event.actor_id) if event.actor_id else None,
        "actor_role": event.actor_role,
        "actor_name": (actor.full_name if actor is not None else "") if event.actor_role != "patient" else "You",
        "hospital_name": staff.hospital.name if staff is not None else "",
        "ip_address": event.ip_address if event.actor_id == viewer.pk else None,
        "request_id": event.request_id,
    }


def consent_item(consent: AccessConsent, *, for_patient: bool) -> dict[str, Any]:
    now = timezone.now()
    status = consent.status
    if status == ConsentStatus.GRANTED and consent.expires_at and consent.expires_at <= now:
        status = "expired"
    if status == ConsentStatus.PENDING and consent.request_expires_at <= now:
        status = "expired"
    body = {
        "id": str(consent.id),
        "consent_id": str(consent.id),
        "patient_id": str(consent.patient_id),
        "clinician_id": str(consent.clinician_id),
        "hospital_name": consent.hospital.name if consent.hospital_id else "",
        "appointment_id": str(consent.appointment_ref) if consent.appointment_ref else None,
        "access_type": consent.access_type,
        "reason": consent.reason,
        "status": status,
        "is_active": consent.is_live(now),
        "duration_seconds": consent.duration_seconds,
        "requested_at": iso(consent.requested_at),
        "granted_at": iso(consent.granted_at),
        "expires_at": iso(consent.expires_at),
        "revoked_at": iso(consent.revoked_at),
    }
    if for_patient:
        body["clinician_name"] = consent.clinician.full_name
    return body


class PatientConsentsView(ApiView):
    """The caller's consents: who asked, who has access now, until when."""

    access = Access.OWN

    def get(self, request: Request) -> Response:
        page = pagination.paginate(request, selectors.consents_of_patient(fetched_by=request.user),
                                   spec=pagination.CONSENTS)
        return page.response({"status": "success", "consents": [consent_item(c, for_patient=True) for c in page.items]})


class PatientConsentRevokeView(ApiView):
    access = Access.OWN

    def post(self, request: Request, consent_id) -> Response:
        consent = services.consent_revoke(patient=request.user, consent_id=consent_id, request=request)
        return Response({"status": "success", "message": "Access revoked.",
                         "consent": consent_item(consent, for_patient=True)})
