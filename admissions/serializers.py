"""Input shapes: what NewAdmissionModal, PatientDetailModal and the admit/discharge buttons send."""

from __future__ import annotations

from datetime import date

from accounts.birthdates import MAX_AGE_YEARS, age_on
from admissions.models import AdmissionPriority, AdmissionStatus, AdmissionType, BedStatus, DischargeType
from phb.api import serializers
from phb.api.fields import CalendarDateField
from phb.api.schema import documented
from phb.numbers import MAX_ID  # a larger id is a 400, never a database error
from phb.zones import today_at


def _text(max_length: int, **kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, default="", **kwargs)


def _priority(value: str) -> None:
    """A plain string field (its name would clash with the appointments' priority enum in the schema)."""
    if value not in AdmissionPriority.values:
        raise serializers.ValidationError(f"priority must be one of {', '.join(AdmissionPriority.values)}.")


# Documented as a pattern, not an enum: an enum named "priority" would be merged with the
# appointments' priority enum in the schema's components.
PriorityField = documented(serializers.CharField, {
    "type": "string", "pattern": f"^({'|'.join(AdmissionPriority.values)})$",
    "description": f"One of {', '.join(AdmissionPriority.values)}.",
})


class TempPatientInput(serializers.Serializer):
    """The minimum identity of an unregistered person admitted in an emergency."""

    first_name = serializers.CharField(max_length=80)
    last_name = _text(80)
    age = serializers.IntegerField(min_value=0, max_value=150, required=False, allow_null=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    gender = _text(32)
    phone_number = _text(32)
    city = _text(64)
    address = _text(255)
    emergency_contact = _text(32)
    emergency_contact_name = _text(120)
    chief_complaint = _text(2000)
    allergies = _text(1000)
    current_medications = _text(1000)
    brief_history = _text(4000)
    insurance_provider = _text(120)
    insurance_id = _text(64)

    def validate_date_of_birth(self, value: date | None) -> date | None:
        if value is None:
            return value
        if value > today_at():
            raise serializers.ValidationError("The date of birth cannot be in the future.")
        if age_on(value, today_at()) > MAX_AGE_YEARS:
            raise serializers.ValidationError("Enter a real date of birth.")
        return value

    def validate(self, attrs: dict) -> dict:
        out = {k: v for k, v in attrs.items() if v not in ("", None)}
        if "date_of_birth" in out:
            out["date_of_birth"] = out["date_of_birth"].isoformat()
        return out


class _AdmissionBase(serializers.Serializer):
    hospital = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True)
    hospital_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True)
    reason_for_admission = serializers.CharField(max_length=2000)
    diagnosis = _text(4000)
    admission_type = serializers.ChoiceField(choices=AdmissionType.choices, required=False,
                                             default=AdmissionType.INPATIENT)
    is_icu_bed = serializers.BooleanField(required=False, default=False)
    expected_discharge_date = serializers.DateField(required=False, allow_null=True, default=None)
    additional_notes = _text(4000)
    assign_bed = serializers.BooleanField(required=False, default=False)
    bed_identifier = _text(40)
    bed_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None)

    def validate(self, attrs: dict) -> dict:
        given = [h for h in (attrs.get("hospital"), attrs.get("hospital_id")) if h is not None]
        attrs["hospital_ref"] = given[0] if given else None
        attrs["bed_ref"] = attrs.get("bed_id") or attrs.get("bed_identifier") or None
        return attrs


class AdmissionCreateInput(_AdmissionBase):
    patient = serializers.CharField(max_length=64)
    department = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    attending_doctor = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None)
    priority = PriorityField(required=False, default=AdmissionPriority.ELECTIVE, max_length=16,
                                     validators=[_priority])


class EmergencyAdmissionInput(_AdmissionBase):
    department_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    attending_doctor_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None)
    priority = PriorityField(required=False, default=AdmissionPriority.EMERGENCY, max_length=16,
                                     validators=[_priority])
    temp_patient_details = TempPatientInput()


class AdmissionAdmitInput(serializers.Serializer):
    bed_identifier = _text(40)
    bed_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None)
    admitted_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class AdmissionTransferInput(serializers.Serializer):
    required_one_of = (("bed_id", "bed_identifier", "is_icu_bed"),)  # phb.api.schema
    bed_identifier = _text(40)
    bed_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None)
    is_icu_bed = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict) -> dict:
        if not (attrs.get("bed_id") or attrs.get("bed_identifier")) and attrs.get("is_icu_bed") is None:
            raise serializers.ValidationError("Name the bed (bed_identifier or bed_id), or ask for is_icu_bed.")
        return attrs


class AdmissionDischargeInput(serializers.Serializer):
    discharge_summary = _text(10000, help_text="Required unless a summary was saved on the admission before "
                                               "(PATCH); with neither, the answer is 409 `summary_required`.")
    followup_instructions = serializers.CharField(max_length=10000, required=False, allow_blank=True, default=None,
                                                  allow_null=True)
    discharge_destination = _text(120)
    discharge_type = serializers.ChoiceField(choices=DischargeType.choices, required=False, allow_blank=True,
                                             default="")
    discharged_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class AdmissionCancelInput(serializers.Serializer):
    reason = _text(255)


class AdmissionPatchInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=AdmissionStatus.choices, required=False)
    diagnosis = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    bed_identifier = serializers.CharField(max_length=40, required=False, allow_blank=True, allow_null=True)
    is_icu_bed = serializers.BooleanField(required=False)
    discharge_summary = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    followup_instructions = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    reason_for_admission = serializers.CharField(max_length=2000, required=False)
    priority = PriorityField(required=False, max_length=16, validators=[_priority])
    expected_discharge_date = serializers.DateField(required=False, allow_null=True)
    additional_notes = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    attending_doctor = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True)

    def validate(self, attrs: dict) -> dict:
        if "additional_notes" in attrs:
            attrs["staff_notes"] = attrs.pop("additional_notes")
        if "attending_doctor" in attrs:
            attrs["attending_doctor_id"] = attrs.pop("attending_doctor")
        if attrs.get("bed_identifier") is None:
            attrs.pop("bed_identifier", None)
        return attrs


class AdmissionLinkPatientInput(serializers.Serializer):
    required_one_of = (("patient", "hpn"),)  # phb.api.schema
    patient = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    hpn = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        attrs["patient_ref"] = attrs.get("patient") or attrs.get("hpn")
        if not attrs["patient_ref"]:
            raise serializers.ValidationError("Name the patient (patient id or hpn).")
        return attrs


class AdmissionListInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=AdmissionStatus.choices, required=False, allow_blank=True, default="")
    since = CalendarDateField(required=False, allow_null=True, default=None)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=500)


class AdmissionBedStatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=[s for s in BedStatus.choices if s[0] != BedStatus.OCCUPIED])
