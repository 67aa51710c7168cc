"""HTTP endpoints for clinicians reading a patient's record (contract §2: M11–M18).

Access goes through the patient's consent or her code; every response carrying PHI writes an
audit row first.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from phb.api import pagination, serializers
from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.fields import JS_SAFE_INTEGER
from phb.api.views import ApiView
from phb.zones import today_at
from records import presenters, selectors, services
from records.audit import audit_record
from records.gate import require_consent, require_med_session
from records.models import AccessConsent, EntryKind
from records.views import consent_item, event_item, iso, record_accessed, record_page, subject_of, token_body


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
        "request_expires_at": iso(consent.request_expires_at),
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
        body = token_body(granted, token_key="access_token")
        body["med_access_token"] = granted.token
        return Response(body)


def _read_for_clinician(request: Request, patient: User) -> Response:
    page, profile, entries = record_page(request, patient)
    audit_record(actor=request.user, patient=patient, action="read", object_type="medical_record",
                 object_id=str(patient.pk), request=request)
    record_accessed()
    return page.response(presenters.clinician_record(patient=patient, profile=profile, entries=entries))


class LegacyRecordView(ApiView):
    """M13: ``GET /api/medical-records/{recordId}/`` (the record id is the patient's id) with
    the medical-access token of a consented clinician (or of the patient themself)."""

    access = Access.OWN | Access.STAFF

    def get(self, request: Request, record_id) -> Response:
        session = require_med_session(request)
        if session.subject_id != str(record_id):
            raise ApiError("Not found.", status_code=404, code="not_found")
        patient = subject_of(request, session)
        return _read_for_clinician(request, patient)


class MedicalAccessStatusView(_ClinicianPatientView):
    """M14."""

    def get(self, request: Request, patient_id, appointment_id: str) -> Response:
        patient = self.patient_for(request, patient_id)
        consent = selectors.live_consent(clinician=request.user, patient_id=patient.pk)
        return Response({
            "has_access": consent is not None,
            "expires_at": iso(consent.expires_at) if consent else None,
            "consent_id": str(consent.pk) if consent else None,
        })


class ClinicianAccessLogsView(_ClinicianPatientView):
    """M15: the clinician's own reads and writes of this patient's record."""

    def get(self, request: Request, patient_id) -> Response:
        patient = self.patient_for(request, patient_id)
        page = pagination.paginate(request, selectors.access_log_by_clinician(clinician=request.user, patient=patient),
                                   spec=pagination.AUDIT_EVENTS)
        return page.response({"access_logs": [event_item(e, viewer=request.user) for e in page.items]})


class ClinicianConsentsView(_ClinicianPatientView):
    """M16."""

    def get(self, request: Request, patient_id) -> Response:
        patient = self.patient_for(request, patient_id)
        page = pagination.paginate(request, selectors.consents_between(clinician=request.user, patient=patient),
                                   spec=pagination.CONSENTS)
        return page.response({"consents": [consent_item(c, for_patient=False) for c in page.items]})


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


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable_text(text: str) -> bool:
    """Text a JSON column keeps and every reader can write back: PostgreSQL's ``jsonb`` refuses
    a null character, and a lone surrogate cannot be written as UTF-8 (each read of the record
    would fail)."""
    return _UNSTORABLE.search(text) is None


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
        if any(len(k) > 100 or not _storable_text(k) for k in value):
            raise serializers.ValidationError("details names are at most 100 characters of text.")
        for v in value.values():
            if isinstance(v, str) and not _storable_text(v):
                raise serializers.ValidationError("details values cannot hold null or surrogate characters.")
            if isinstance(v, float) and not math.isfinite(v):
                raise serializers.ValidationError("details numbers must be finite.")
            if isinstance(v, int) and not isinstance(v, bool) and abs(v) > JS_SAFE_INTEGER:
                raise serializers.ValidationError(f"details whole numbers are at most {JS_SAFE_INTEGER} either way.")
        return value

    def validate(self, attrs: dict) -> dict:
        if attrs["date"] > today_at() + timedelta(days=1):
            raise serializers.ValidationError({"date": ["The date cannot be in the future."]})
        if attrs.get("end_date") is not None and attrs["end_date"] < attrs["date"]:
            raise serializers.ValidationError({"end_date": ["The end date cannot be before the date."]})
        return attrs


class ClinicianPatientRecordView(_ClinicianPatientView):
    """M18: the record, for a clinician holding the patient's live consent (403 otherwise);
    POST adds a clinical entry (appointment or consent required)."""

    def get(self, request: Request, patient_id) -> Response:
        patient = self.patient_for(request, patient_id)
        require_consent(clinician=request.user, patient=patient)
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

    def validate_last_visit_date(self, value):
        # As an encounter's date: a visit in the future would keep every later encounter from
        # moving the last visit forward (it never moves back).
        if value is not None and value > today_at() + timedelta(days=1):
            raise serializers.ValidationError("The date cannot be in the future.")
        return value


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
            "last_visit_date": iso(profile.last_visit_date),
            "updated_at": iso(profile.updated_at),
        })
