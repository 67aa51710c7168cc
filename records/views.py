"""HTTP endpoints of the medical-records area (contract §2: M1–M4, M7–M18).

Views parse input, call services and selectors, and shape the answer. Every response carrying
PHI writes an audit row first.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.codes import code_pending
from accounts.models import CodePurpose, User
from admissions.history import admissions_in_record
from phb import filetypes, metrics
from phb.api import pagination, serializers
from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.parsers import JSONParser
from phb.api.views import ApiView, ScopedAPIView
from records import documents, presenters, selectors, services
from records.audit import audit_record
from records.export import record_pdf
from records.gate import record_access_error, require_med_session, token_of
from records.models import AccessConsent, ConsentStatus, EntryKind, PatientDocument
from records.sessions import MedAccessError

logger = logging.getLogger("records.views")
AREA = "MedicalRecords"


def _accessed() -> None:
    metrics.record("MedicalRecordAccess", area=AREA)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# --- M1, M2: the patient's gate (a clinician uses the same screens to enter a patient's code) ---
class _OtpRequestInput(serializers.Serializer):
    patient_id = serializers.CharField(required=False, allow_blank=True)


class MedAccessCodeRequestView(ApiView):
    """M1: email a code that opens the caller's record (for a clinician with a pending
    access request: make sure the patient has a live code)."""

    access = Access.OWN
    parser_classes = [JSONParser]  # an empty body or a JSON object

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


def _token_body(granted: services.Granted, *, token_key: str) -> dict[str, Any]:
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
        return Response(_token_body(granted, token_key="med_access_token"))


class MedAccessEndView(ApiView):
    """End every medical-access session the caller holds (sign out of records everywhere)."""

    access = Access.OWN
    parser_classes = [JSONParser]

    def post(self, request: Request) -> Response:
        _ = request.data  # no field is read, but a body other than JSON is a 415 like everywhere else
        removed = services.med_access_end(user=request.user, request=request)
        return Response({"status": "success", "ended_sessions": removed})


# --- M3, M4, export: the record ------------------------------------------------------------
def _subject_of(request: Request, session) -> User:
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
        patient = _subject_of(request, session)
        page, profile, entries = _record_page(request, patient)
        audit_record(actor=request.user, patient=patient, action="read", object_type="medical_record",
                     object_id=str(patient.pk), request=request)
        _accessed()
        if session.kind == "clinician":
            body = presenters.clinician_record(patient=patient, profile=profile, entries=entries)
            body["admissions"] = admissions_in_record(patient=patient)
            return page.response(body)
        if request.query_params.get("view") == "list":
            return page.response({"status": "success",
                                  "records": [presenters.entry_list_item(e, n) for e, n in entries],
                                  "expires_in": session.expires_in})
        data = presenters.patient_profile_form(patient=patient, profile=profile, entries=entries)
        data["admissions"] = admissions_in_record(patient=patient)
        return page.response({"status": "success", "data": data, "expires_in": session.expires_in})


def _record_page(request: Request, patient: User):
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
                "interaction_date": _iso(entry.occurred_on),
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
        _accessed()
        return page.response({"status": "success", "data": {"interactions": interactions}})


class MedicalRecordExportView(ApiView):
    """The record as a PDF, behind the same gate as M3."""

    access = Access.OWN

    def get(self, request: Request) -> HttpResponse:
        session = require_med_session(request)
        patient = _subject_of(request, session)
        profile, entries = selectors.record_of(patient=patient)
        pdf = record_pdf(patient=patient, profile=profile, entries=entries)
        audit_record(actor=request.user, patient=patient, action="export", object_type="medical_record",
                     object_id=str(patient.pk), request=request)
        _accessed()
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
        return page.response({"status": "success", "access_logs": [_event(e, actors) for e in page.items]})


def _event(event, actors: dict[str, User] | None = None) -> dict[str, Any]:
    actor = (actors or {}).get(str(event.actor_id)) if event.actor_id else None
    staff = getattr(actor, "staff", None) if actor is not None else None
    return {
        "id": str(event.id),
        "accessed_at": _iso(event.occurred_at),
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "actor_id": str(event.actor_id) if event.actor_id else None,
        "actor_role": event.actor_role,
        "actor_name": (actor.full_name if actor is not None else "") if event.actor_role != "patient" else "You",
        "hospital_name": staff.hospital.name if staff is not None else "",
        "ip_address": event.ip_address,
        "request_id": event.request_id,
    }


def _consent(consent: AccessConsent, *, for_patient: bool) -> dict[str, Any]:
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
        "requested_at": _iso(consent.requested_at),
        "granted_at": _iso(consent.granted_at),
        "expires_at": _iso(consent.expires_at),
        "revoked_at": _iso(consent.revoked_at),
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
        return page.response({"status": "success", "consents": [_consent(c, for_patient=True) for c in page.items]})


class PatientConsentRevokeView(ApiView):
    access = Access.OWN

    def post(self, request: Request, consent_id) -> Response:
        consent = services.consent_revoke(patient=request.user, consent_id=consent_id, request=request)
        return Response({"status": "success", "message": "Access revoked.",
                         "consent": _consent(consent, for_patient=True)})


# --- M7–M10: patient documents -----------------------------------------------------------------
def _file(doc: PatientDocument) -> dict[str, Any]:
    return {
        "file_id": str(doc.id),
        "display_name": doc.display_name,
        "original_extension": f".{doc.extension}",
        "content_type": doc.content_type.split(";")[0],
        "size": doc.size,
        "size_display": presenters.human_size(doc.size),
        "created_at": _iso(doc.created_at),
        "file_path": f"/api/secure/files/{doc.id}/preview/",
    }


class _DocumentsView(ScopedAPIView):
    access = Access.OWN

    def scoped_queryset(self, user: Any):
        return selectors.documents_of(fetched_by=user)


class DocumentListView(_DocumentsView):
    """M7."""

    def get(self, request: Request) -> Response:
        page = pagination.paginate(request, self.scoped_queryset(request.user), spec=pagination.DOCUMENTS)
        audit_record(actor=request.user, patient=request.user, action="list", object_type="document",
                     object_id="", request=request)
        return page.response({"success": True, "data": {"files": [_file(d) for d in page.items]}})


class DocumentPreviewView(_DocumentsView):
    """M8: the bytes, streamed from S3 in chunks."""

    @extend_schema(responses={(200, media): bytes for media in sorted(
        {kind.content_type.split(";")[0] for kind in filetypes.ALL_TYPES})},
        summary="M8 the document's bytes (in its own content type)")
    def get(self, request: Request, file_id) -> StreamingHttpResponse:
        doc: PatientDocument = self.get_scoped_object(request, pk=file_id)
        opened = documents.document_open(document=doc)
        audit_record(actor=request.user, patient=request.user, action="read", object_type="document",
                     object_id=str(doc.pk), request=request)
        _accessed()
        response = StreamingHttpResponse(opened.chunks, content_type=doc.content_type)
        if opened.length is not None:
            response["Content-Length"] = str(opened.length)
        safe_name = doc.display_name.replace('"', "")
        response["Content-Disposition"] = f'inline; filename="{safe_name}"'
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store, private"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


class _DocumentUploadInput(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(), min_length=1,
                                  max_length=settings.PATIENT_UPLOAD_MAX_FILES)


class DocumentUploadView(ApiView):
    """M9: multipart, repeated field ``files``."""

    access = Access.OWN

    @extend_schema(request={"multipart/form-data": _DocumentUploadInput}, responses={201: dict},
                   summary="M9 upload documents (201 when at least one was kept)")
    def post(self, request: Request) -> Response:
        limit = settings.PATIENT_UPLOAD_MAX_FILES * (settings.PATIENT_UPLOAD_MAX_BYTES + 64 * 1024)
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise ApiError("The upload is too large.", status_code=413, code="too_large", success=False,
                           successful_uploads=0)
        files = request.FILES.getlist("files") if hasattr(request, "FILES") else []
        try:
            result = documents.documents_upload(patient=request.user, files=files, request=request)
        except ApiError as exc:
            exc.extra.setdefault("success", False)
            exc.extra.setdefault("successful_uploads", 0)
            raise
        body = {
            "success": bool(result.documents),
            "successful_uploads": len(result.documents),
            "failed_uploads": result.failures,
            "files": [_file(d) for d in result.documents],
        }
        if not result.documents:
            message = result.failures[0]["error"] if result.failures else "Nothing was uploaded."
            return Response({**body, "message": message, "error": message, "detail": message,
                             "code": "upload_refused"}, status=400)
        if result.failures:
            body["error"] = f"{len(result.failures)} file(s) were refused."
        return Response(body, status=201)


class DocumentDeleteView(_DocumentsView):
    """M10."""

    def delete(self, request: Request, file_id) -> Response:
        doc: PatientDocument = self.get_scoped_object(request, pk=file_id)
        documents.document_delete(document=doc, actor=request.user, request=request)
        return Response({"success": True, "message": "Document deleted."})

    post = delete


# --- M11–M18: clinicians -----------------------------------------------------------------------
class _ClinicianPatientView(ApiView):
    """Resolves the patient for a clinician; anyone without a relationship gets a 404."""

    access = Access.STAFF

    def patient_for(self, request: Request, patient_ref: Any, *, require_appointment: bool = False) -> User:
        user: User = request.user
        if not user.is_doctor:
            raise ApiError("Not found.", status_code=404, code="not_found")
        patient = selectors.patient_lookup(clinician=user, patient_ref=patient_ref)
        if not selectors.clinician_has_relationship(clinician=user, patient=patient,
                                                     require_appointment=require_appointment):
            raise ApiError("Not found.", status_code=404, code="not_found")
        return patient


class _AccessRequestInput(serializers.Serializer):
    patient_id = serializers.CharField()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255)
    access_duration = serializers.CharField(required=False, allow_blank=True, max_length=16)
    appointment_id = serializers.CharField(required=False, allow_blank=True, max_length=64)


class LegacyAccessRequestView(_ClinicianPatientView):
    """M11."""

    def post(self, request: Request) -> Response:
        data = _AccessRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        if not request.user.is_doctor:
            raise ApiError("Not found.", status_code=404, code="not_found")
        consent = services.consent_request(
            clinician=request.user, patient_ref=data.validated_data["patient_id"],
            reason=data.validated_data.get("reason", ""), duration=data.validated_data.get("access_duration"),
            appointment=data.validated_data.get("appointment_id"), request=request,
        )
        return Response(_requested(consent), status=201)


def _requested(consent: AccessConsent) -> dict[str, Any]:
    return {
        "status": "pending",
        "message": "A code was sent to the patient's email. Enter it to open the record.",
        "requires_otp": True,
        "consent_id": str(consent.pk),
        "patient_id": str(consent.patient_id),
        "access_duration_seconds": consent.duration_seconds,
        "request_expires_at": _iso(consent.request_expires_at),
    }


class _AccessVerifyInput(serializers.Serializer):
    patient_id = serializers.CharField()
    otp = serializers.CharField(trim_whitespace=True, allow_blank=True, max_length=32)


class LegacyAccessVerifyView(ApiView):
    """M12: ``{access_token, expires_in}`` for the doctor once the patient's code is entered."""

    access = Access.STAFF

    def post(self, request: Request) -> Response:
        data = _AccessVerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        if not request.user.is_doctor:
            raise ApiError("Not found.", status_code=404, code="not_found")
        granted = services.consent_grant_with_code(
            clinician=request.user, code=data.validated_data["otp"],
            patient_ref=data.validated_data["patient_id"], request=request,
        )
        body = _token_body(granted, token_key="access_token")
        body["med_access_token"] = granted.token
        return Response(body)


def _read_for_clinician(request: Request, patient: User) -> Response:
    page, profile, entries = _record_page(request, patient)
    audit_record(actor=request.user, patient=patient, action="read", object_type="medical_record",
                 object_id=str(patient.pk), request=request)
    _accessed()
    return page.response(presenters.clinician_record(patient=patient, profile=profile, entries=entries))


class LegacyRecordView(ApiView):
    """M13: ``GET /api/medical-records/{recordId}/`` (the record id is the patient's id) with
    the medical-access token of a consented clinician (or of the patient themself)."""

    access = Access.OWN | Access.STAFF

    def get(self, request: Request, record_id) -> Response:
        session = require_med_session(request)
        if session.subject_id != str(record_id):
            raise ApiError("Not found.", status_code=404, code="not_found")
        patient = _subject_of(request, session)
        return _read_for_clinician(request, patient)


class MedicalAccessStatusView(_ClinicianPatientView):
    """M14."""

    def get(self, request: Request, patient_id, appointment_id: str) -> Response:
        patient = self.patient_for(request, patient_id)
        consent = selectors.live_consent(clinician=request.user, patient_id=patient.pk)
        return Response({
            "has_access": consent is not None,
            "expires_at": _iso(consent.expires_at) if consent else None,
            "consent_id": str(consent.pk) if consent else None,
        })


class ClinicianAccessLogsView(_ClinicianPatientView):
    """M15: the clinician's own reads and writes of this patient's record."""

    def get(self, request: Request, patient_id) -> Response:
        patient = self.patient_for(request, patient_id)
        page = pagination.paginate(request, selectors.access_log_by_clinician(clinician=request.user, patient=patient),
                                   spec=pagination.AUDIT_EVENTS)
        return page.response({"access_logs": [_event(e) for e in page.items]})


class ClinicianConsentsView(_ClinicianPatientView):
    """M16."""

    def get(self, request: Request, patient_id) -> Response:
        patient = self.patient_for(request, patient_id)
        page = pagination.paginate(request, selectors.consents_between(clinician=request.user, patient=patient),
                                   spec=pagination.CONSENTS)
        return page.response({"consents": [_consent(c, for_patient=False) for c in page.items]})


class _ProfessionalRequestInput(serializers.Serializer):
    appointment_id = serializers.CharField(required=False, allow_blank=True, max_length=64)
    access_reason = serializers.CharField(required=False, allow_blank=True, max_length=255)
    access_type = serializers.ChoiceField(choices=["medical_records"], required=False)
    access_duration = serializers.CharField(required=False, allow_blank=True, max_length=16)


class ClinicianAccessRequestView(_ClinicianPatientView):
    """M17: then the patient's code is entered through M2 (or M12)."""

    def post(self, request: Request, patient_id) -> Response:
        data = _ProfessionalRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        self.patient_for(request, patient_id, require_appointment=True)
        consent = services.consent_request(
            clinician=request.user, patient_ref=patient_id, reason=data.validated_data.get("access_reason", ""),
            duration=data.validated_data.get("access_duration"),
            appointment=data.validated_data.get("appointment_id"), request=request,
        )
        return Response(_requested(consent), status=201)


class _EntryInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EntryKind.values)
    title = serializers.CharField(max_length=200)
    date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.CharField(required=False, allow_blank=True, max_length=20)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    details = serializers.DictField(required=False)
    appointment_id = serializers.CharField(required=False, allow_blank=True, max_length=64)

    def validate_details(self, value: dict) -> dict:
        if len(value) > 30 or any(not isinstance(v, (str, int, float, bool, type(None))) for v in value.values()):
            raise serializers.ValidationError("details must be a flat object of at most 30 simple values.")
        if any(isinstance(v, str) and len(v) > 500 for v in value.values()):
            raise serializers.ValidationError("details values are at most 500 characters; use notes for text.")
        return value

    def validate(self, attrs: dict) -> dict:
        if attrs["date"] > timezone.localdate() + timedelta(days=1):
            raise serializers.ValidationError({"date": ["The date cannot be in the future."]})
        return attrs


class ClinicianPatientRecordView(_ClinicianPatientView):
    """M18: the record, for a clinician holding the patient's live consent (403 otherwise);
    POST adds a clinical entry (appointment or consent required)."""

    def get(self, request: Request, patient_id) -> Response:
        patient = self.patient_for(request, patient_id)
        if not selectors.clinician_can_access_patient(clinician=request.user, patient=patient):
            record_access_error("no_consent")
            raise ApiError("The patient has not granted you access to their record.", status_code=403,
                           code=MedAccessError.REQUIRED, requires_otp=True)
        return _read_for_clinician(request, patient)

    def post(self, request: Request, patient_id) -> Response:
        patient = self.patient_for(request, patient_id)
        data = _EntryInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        entry = services.entry_create(
            clinician=request.user, patient=patient, kind=v["kind"], title=v["title"], occurred_on=v["date"],
            end_on=v.get("end_date"), status=v.get("status", ""), notes=v.get("notes", ""),
            details=v.get("details") or {}, appointment=v.get("appointment_id"), request=request,
        )
        return Response(presenters.entry_list_item(entry, v.get("notes", "")), status=201)


class _ProfileInput(serializers.Serializer):
    blood_type = serializers.ChoiceField(choices=["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-", ""], required=False)
    genotype = serializers.ChoiceField(choices=["AA", "AS", "AC", "SS", "SC", "CC", ""], required=False)
    height_cm = serializers.DecimalField(max_digits=5, decimal_places=1, min_value=Decimal("20"), max_value=Decimal("300"),
                                         required=False, allow_null=True)
    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=1, min_value=Decimal("0.5"), max_value=Decimal("700"),
                                         required=False, allow_null=True)
    allergies = serializers.ListField(child=serializers.CharField(max_length=100), max_length=50, required=False)
    chronic_conditions = serializers.ListField(child=serializers.CharField(max_length=100), max_length=50,
                                               required=False)
    emergency_contact_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    emergency_contact_phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    last_visit_date = serializers.DateField(required=False, allow_null=True)


class ClinicianPatientProfileView(_ClinicianPatientView):
    def patch(self, request: Request, patient_id) -> Response:
        patient = self.patient_for(request, patient_id)
        data = _ProfileInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        profile = services.profile_update(clinician=request.user, patient=patient, data=data.validated_data,
                                          request=request)
        return Response({
            "status": "success",
            "patient_id": str(patient.pk),
            "blood_type": profile.blood_type,
            "genotype": profile.genotype,
            "allergies": profile.allergies,
            "chronic_conditions": profile.chronic_conditions,
            "last_visit_date": _iso(profile.last_visit_date),
            "updated_at": _iso(profile.updated_at),
        })



