"""Input validation of the appointment endpoints (contract §2.2, §3, §6.3); the shapes they answer
with are ``presenters``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appointments import slot_grid
from appointments.models import AppointmentStatus, Priority
from phb.api import serializers
from phb.api.fields import EARLIEST_DATE, LATEST_DATE, OUT_OF_RANGE, CalendarDateField
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


PROPOSED_TIME_HELP = (
    "The time the doctor proposes, as the dashboard sends it: an instant (`toISOString()`, UTC with "
    "`Z`, or any offset), read on the hospital's clock; a time without `Z` or offset is the "
    "hospital's wall clock."
)


class InstantField(serializers.CharField):
    """An ISO date-time that means an instant when it carries ``Z`` or an offset (aware), and the
    hospital's wall clock when it carries neither (naive)."""

    def to_internal_value(self, data: Any) -> datetime:
        text = super().to_internal_value(data).strip()
        try:
            value = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text)
        except ValueError as exc:
            raise serializers.ValidationError("Use an ISO date-time such as 2025-03-04T08:30:00.000Z.") from exc
        if not EARLIEST_DATE <= value.date() <= LATEST_DATE:
            raise serializers.ValidationError(OUT_OF_RANGE)
        return value


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
    proposed_time = InstantField(required=False, allow_null=True, help_text=PROPOSED_TIME_HELP)


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


# A prescribed medication's strength, form and frequency: its repeat request and its approval
# (``prescriptions.inputs``) take the same lengths.
STRENGTH_MAX, FORM_MAX, FREQUENCY_MAX = 100, 100, 200


class MedicationInput(serializers.Serializer):
    required_one_of = (("medication_name", "name"), ("patient_instructions", "instructions"))  # phb.api.schema
    medication_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    generic_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    strength = serializers.CharField(max_length=STRENGTH_MAX)
    form = serializers.CharField(max_length=FORM_MAX)
    route = serializers.CharField(max_length=100)
    dosage = serializers.CharField(max_length=200)
    frequency = serializers.CharField(max_length=FREQUENCY_MAX)
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
