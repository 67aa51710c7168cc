"""Input validation and the JSON shapes the frontend reads (contract §2.2, §3, §6.3)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from appointments import rows, slot_grid
from appointments.models import Appointment, AppointmentStatus, Prescription, Priority
from phb.api import serializers
from phb.api.fields import CalendarDateField
from phb.api.timestamps import iso
from phb.numbers import MAX_ID

WALL_CLOCK_HELP = (
    "Local wall-clock time at the hospital, in the hospital's time zone (Africa/Lagos by default). "
    "The frontend labels it with `Z`; the `Z` (or any offset) is ignored, not converted: "
    "`2025-03-04T09:30:00Z` means 09:30 at the hospital."
)


class WallClockField(serializers.CharField):
    """An ISO date-time read as the hospital's local wall clock (see ``WALL_CLOCK_HELP``)."""

    def to_internal_value(self, data: Any) -> datetime:
        text = super().to_internal_value(data)
        try:
            return slot_grid.wall_clock_from_iso(text)
        except Exception as exc:
            raise serializers.ValidationError(
                "Use an ISO date-time such as 2025-03-04T09:30:00Z (hospital local time)."
            ) from exc


# --- Inputs --------------------------------------------------------------------------------------
class SlotsInput(serializers.Serializer):
    department = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    date = CalendarDateField()


class ConflictInput(serializers.Serializer):
    department = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    date = CalendarDateField()
    time = serializers.RegexField(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", required=False, default="00:00")


class BookInput(serializers.Serializer):
    """A booking without payment (the payments area drives the paid path through the same service)."""

    required_one_of = (("department_id", "department"),)  # phb.api.schema

    hospital_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    hospital = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    department_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    department = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    appointment_date = WallClockField(help_text=WALL_CLOCK_HELP)
    priority = serializers.CharField(required=False, default=Priority.NORMAL)
    appointment_type = serializers.CharField(required=False, default="consultation", max_length=32)
    chief_complaint = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    symptoms_data = serializers.ListField(child=serializers.DictField(), required=False, default=list)
    medical_history = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    allergies = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    current_medications = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    is_insurance_based = serializers.BooleanField(required=False, default=False)
    insurance_details = serializers.DictField(required=False, default=dict)

    def validate(self, attrs):
        attrs["hospital_id"] = attrs.get("hospital_id") or attrs.get("hospital")
        attrs["department_id"] = attrs.get("department_id") or attrs.get("department")
        if not attrs["department_id"]:
            raise serializers.ValidationError({"department_id": ["This field is required."]})
        return attrs


class CancelInput(serializers.Serializer):
    required_one_of = (("reason", "cancellation_reason"),)  # phb.api.schema
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    cancellation_reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def validate(self, attrs):
        reason = (attrs.get("cancellation_reason") or attrs.get("reason") or "").strip()
        if not reason:
            raise serializers.ValidationError({"reason": ["A cancellation reason is required."]})
        return {"reason": reason}


class RescheduleInput(serializers.Serializer):
    appointment_date = WallClockField(help_text=WALL_CLOCK_HELP)


class AcceptInput(serializers.Serializer):
    proposed_time = WallClockField(required=False, allow_null=True, help_text=WALL_CLOCK_HELP)


class StatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=AppointmentStatus.choices)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10000, default="")
    medical_summary = serializers.JSONField(required=False, allow_null=True, default=None)
    cancellation_reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class NotesInput(serializers.Serializer):
    notes = serializers.CharField(max_length=10000, allow_blank=True)


class CompleteInput(serializers.Serializer):
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10000, default="")
    medical_summary = serializers.JSONField(required=False, allow_null=True, default=None)


class NotesEditInput(serializers.Serializer):
    general_notes = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    doctor_notes = serializers.CharField(required=False, allow_blank=True, max_length=10000)


class NoShowInput(serializers.Serializer):
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10000, default="")


class ReferInput(serializers.Serializer):
    referred_to_hospital = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID)
    referred_to_department = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID)
    referral_reason = serializers.CharField(max_length=2000)


class MedicationInput(serializers.Serializer):
    required_one_of = (("medication_name", "name"), ("patient_instructions", "instructions"))  # phb.api.schema
    medication_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    generic_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    strength = serializers.CharField(max_length=100)
    form = serializers.CharField(max_length=100)
    route = serializers.CharField(max_length=100)
    dosage = serializers.CharField(max_length=200)
    frequency = serializers.CharField(max_length=200)
    duration = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    patient_instructions = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    instructions = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    indication = serializers.CharField(max_length=500)

    def validate(self, attrs):
        name = (attrs.pop("medication_name", "") or attrs.pop("name", "")).strip()
        attrs.pop("name", None)
        if not name:
            raise serializers.ValidationError({"medication_name": ["This field is required."]})
        instructions = (attrs.pop("patient_instructions", "") or attrs.pop("instructions", "")).strip()
        attrs.pop("instructions", None)
        if not instructions:
            raise serializers.ValidationError({"patient_instructions": ["This field is required."]})
        attrs["medication_name"] = name
        attrs["patient_instructions"] = instructions
        return attrs


class PrescriptionInput(serializers.Serializer):
    medications = MedicationInput(many=True, allow_empty=False, max_length=20)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class AdminListInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=AppointmentStatus.choices, required=False)
    department_id = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    doctor_id = serializers.UUIDField(required=False)
    date_from = CalendarDateField(required=False)
    date_to = CalendarDateField(required=False)


class QueueInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=AppointmentStatus.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    start_date = CalendarDateField(required=False)
    end_date = CalendarDateField(required=False)
    doctor_id = serializers.UUIDField(required=False)


# --- Outputs -------------------------------------------------------------------------------------
def _zone(appointment: Appointment) -> ZoneInfo:
    return slot_grid.hospital_zone(appointment.hospital)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _doctor_name(appointment: Appointment) -> str:
    if appointment.doctor_id is None:
        return ""
    name = appointment.doctor.full_name or "Doctor"
    return name if name.lower().startswith("dr") else f"Dr. {name}"


def appointment_payload(appointment: Appointment) -> dict:
    """One appointment as the patient screens read it (P3/M5 list items and P4 detail)."""
    zone = _zone(appointment)
    local = appointment.start.astimezone(zone)
    local_end = appointment.end.astimezone(zone)
    doctor_name = _doctor_name(appointment)
    type_label = appointment.appointment_type.replace("_", " ").title()
    return {
        "id": str(appointment.id),
        "appointment_id": appointment.appointment_id,
        "appointment_date": local.isoformat(),
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "end_time": local_end.strftime("%H:%M"),
        "time_zone": zone.key,
        "formatted_date": local.strftime("%A, %d %B %Y"),
        "formatted_time": local.strftime("%I:%M %p").lstrip("0"),
        "formatted_date_time": f"{local.strftime('%A, %d %B %Y')} at {local.strftime('%I:%M %p').lstrip('0')}",
        "duration": appointment.duration_minutes,
        "appointment_type": appointment.appointment_type,
        "formatted_appointment_type": type_label,
        "status": appointment.status,
        "status_display": rows.status_label(appointment.status),
        "priority": appointment.priority,
        "formatted_priority": rows.priority_label(appointment.priority),
        "doctor_id": str(appointment.doctor_id) if appointment.doctor_id else None,
        "doctor_full_name": doctor_name,
        "doctor_name": doctor_name,
        "provider": doctor_name or rows.NO_DOCTOR_YET,
        "hospital_id": appointment.hospital_id,
        "hospital": appointment.hospital_id,
        "hospital_name": appointment.hospital.name,
        "location": appointment.hospital.name,
        "department_id": appointment.department_id,
        "department_name": appointment.department.name,
        "specialty": appointment.department.name,
        "chief_complaint": appointment.chief_complaint,
        "reason": appointment.chief_complaint,
        "symptoms_data": appointment.symptoms_data,
        "fee_amount": _money(appointment.fee_amount),
        "currency": appointment.currency,
        "payment_status": appointment.payment_status,
        "reschedule_count": appointment.reschedule_count,
        "cancellation_reason": appointment.cancellation_reason,
        "created_at": iso(appointment.created_at),
        "updated_at": iso(appointment.updated_at),
    }


def appointment_detail_payload(appointment: Appointment, prescriptions: list[Prescription]) -> dict:
    summary = dict(appointment.medical_summary or {})
    medications = [summary_medication(medication_payload(p, m, appointment=appointment))
                   for p in prescriptions for m in p.medications]
    return {
        **appointment_payload(appointment),
        "medical_history": appointment.medical_history,
        "allergies": appointment.allergies,
        "current_medications": appointment.current_medications,
        "medical_summary": {
            "diagnosis": summary.get("diagnosis", ""),
            "treatment": summary.get("treatment", ""),
            "follow_up": summary.get("follow_up", ""),
            "notes": summary.get("notes", ""),
            "prescriptions": medications,
            "vital_signs": summary.get("vital_signs") or {},
        },
        "referral": referral_payload(appointment),
    }


def summary_medication(item: dict) -> dict:
    """A medication of the appointment's summary, also under the names the summary lists it by
    (``name (dosage) - instructions``)."""
    return {**item, "name": item["medication_name"], "instructions": item["patient_instructions"]}


def referral_payload(appointment: Appointment) -> dict | None:
    if appointment.referred_at is None:
        return None
    return {
        "referred_to_hospital": appointment.referred_to_hospital_id,
        "referred_to_department": appointment.referred_to_department_id,
        "referral_reason": appointment.referral_reason,
        "referred_at": iso(appointment.referred_at),
    }


def doctor_appointment_payload(appointment: Appointment) -> dict:
    """The doctor's view: the patient item plus who the patient is and the clinical notes."""
    patient = appointment.patient
    return {
        **appointment_payload(appointment),
        "patient_id": str(patient.id),
        "patient_name": patient.full_name,
        "patient_full_name": patient.full_name,
        "patient_hpn": patient.hpn,
        "patient_gender": patient.gender,
        "patient_date_of_birth": patient.date_of_birth.isoformat() if patient.date_of_birth else None,
        "medical_history": appointment.medical_history,
        "allergies": appointment.allergies,
        "current_medications": appointment.current_medications,
        "general_notes": appointment.general_notes,
        "doctor_notes": appointment.doctor_notes,
        "medical_summary": appointment.medical_summary,
        "referral": referral_payload(appointment),
        "accepted_at": iso(appointment.accepted_at),
        "started_at": iso(appointment.started_at),
        "completed_at": iso(appointment.completed_at),
    }


def doctor_contact_payload(appointment: Appointment) -> dict:
    """D3 alone: how the patient is reached about the appointment (the detail page shows the
    address and warns where it is unverified, as notifications may not arrive). The lists leave
    it out."""
    return {"patient_email": appointment.patient.email, "email_verified": appointment.patient.email_verified}


def doctor_detail_nested(payload: dict) -> dict:
    """D3 also gives the appointment and the patient nested (what the reschedule page reads)."""
    return {
        "appointment_details": {
            key: payload[key]
            for key in ("appointment_id", "appointment_date", "formatted_date", "formatted_time",
                        "formatted_date_time", "hospital_name", "department_name", "status")
        },
        "patient_details": {"name": payload["patient_name"], "chief_complaint": payload["chief_complaint"]},
    }


def admin_appointment_payload(appointment: Appointment) -> dict:
    """O1 item."""
    local = appointment.start.astimezone(_zone(appointment))
    return {
        "id": str(appointment.id),
        "appointment_id": appointment.appointment_id,
        "patient_name": appointment.patient.full_name,
        "patient_full_name": appointment.patient.full_name,
        "doctor_name": _doctor_name(appointment),
        "doctor_full_name": _doctor_name(appointment),
        "doctor_id": str(appointment.doctor_id) if appointment.doctor_id else None,
        "department_name": appointment.department.name,
        "department_id": appointment.department_id,
        "appointment_date": local.date().isoformat(),
        "appointment_time": local.strftime("%H:%M"),
        "status": appointment.status,
        "priority": appointment.priority,
        "created_at": iso(appointment.created_at),
        "updated_at": iso(appointment.updated_at),
    }


def symptoms_text(symptoms: list) -> str:
    """The reported symptoms as one line of text, e.g. "Chest - Chest pain (since Monday); Head - Headache"."""
    parts = []
    for item in symptoms or []:
        if not isinstance(item, dict):
            continue
        name = str(item.get("symptom_name") or "").strip()
        if not name:
            continue
        place = str(item.get("body_part_name") or "").strip()
        text = f"{place} - {name}" if place else name
        description = str(item.get("description") or "").strip()
        parts.append(f"{text} ({description})" if description else text)
    return "; ".join(parts)


def summary_payload(appointment: Appointment) -> dict:
    """M6."""
    base = appointment_payload(appointment)
    return {
        "appointment_details": {
            "appointment_id": appointment.appointment_id,
            "doctor": base["doctor_full_name"],
            "date": base["date"],
            "time": base["time"],
            "formatted_date_time": base["formatted_date_time"],
            "hospital": base["hospital_name"],
            "department": base["department_name"],
            "type": base["formatted_appointment_type"],
            "priority": appointment.priority,
            "duration": base["duration"],
            "status": appointment.status,
        },
        "patient_details": {
            "name": appointment.patient.full_name,
            "chief_complaint": appointment.chief_complaint,
            "symptoms": symptoms_text(appointment.symptoms_data),
            "symptoms_data": appointment.symptoms_data,
            "medical_history": appointment.medical_history,
            "allergies": appointment.allergies,
            "current_medications": appointment.current_medications,
        },
        "important_notes": [
            "Please arrive 15 minutes before your appointment time.",
            "Bring a valid ID and your Health Personal Number (HPN).",
            "Cancelling at least 24 hours ahead gives a full refund of a paid fee; "
            "if the hospital cancels, the fee is always refunded in full.",
        ],
        "payment_info": {
            "payment_required": appointment.fee_amount > 0 and appointment.payment_status != "waived",
            "payment_status": appointment.payment_status,
            "amount": _money(appointment.fee_amount),
            "currency": appointment.currency,
            "is_insurance_based": appointment.is_insurance_based,
            "insurance_details": appointment.insurance_details,
        },
        "additional_info": {
            "notes": appointment.general_notes,
            "created_at": iso(appointment.created_at),
            "updated_at": iso(appointment.updated_at),
        },
    }


def medication_payload(prescription: Prescription, medication: dict, *, appointment: Appointment | None = None) -> dict:
    """One ``ApiMedication`` (contract §6.3)."""
    prescriber = prescription.prescriber
    prescriber_name = ""
    if prescriber is not None:
        prescriber_name = prescriber.full_name or "Doctor"
        if not prescriber_name.lower().startswith("dr"):
            prescriber_name = f"Dr. {prescriber_name}"
    appointment = appointment or prescription.appointment
    expired = prescription.expires_at <= timezone.now()
    return {
        "id": medication.get("id") or f"{prescription.id}",
        "prescription_id": str(prescription.id),
        "medication_name": medication.get("medication_name", ""),
        "generic_name": medication.get("generic_name", ""),
        "strength": medication.get("strength", ""),
        "form": medication.get("form", ""),
        "route": medication.get("route", ""),
        "dosage": medication.get("dosage", ""),
        "frequency": medication.get("frequency", ""),
        "duration": medication.get("duration", ""),
        "patient_instructions": medication.get("patient_instructions", ""),
        "indication": medication.get("indication", ""),
        "created_at": iso(prescription.issued_at),
        "updated_at": iso(prescription.issued_at),
        "expires_at": iso(prescription.expires_at),
        "prescriber_name": prescriber_name,
        "doctor_name": prescriber_name,
        "appointment_id": appointment.appointment_id if appointment else None,
        "appointment_date": appointment.start.astimezone(_zone(appointment)).isoformat() if appointment else None,
        "status": "expired" if expired and prescription.status == "active" else prescription.status,
    }


def prescription_payload(prescription: Prescription) -> dict:
    return {
        "id": str(prescription.id),
        "appointment_id": prescription.appointment.appointment_id if prescription.appointment_id else None,
        "issued_at": iso(prescription.issued_at),
        "expires_at": iso(prescription.expires_at),
        "status": prescription.status,
        "medications": [medication_payload(prescription, m) for m in prescription.medications],
    }
