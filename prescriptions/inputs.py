"""Request bodies and query strings of the prescription endpoints."""

from __future__ import annotations

from appointments.serializers import FORM_MAX, FREQUENCY_MAX, STRENGTH_MAX
from phb.api import serializers
from prescriptions.models import RequestStatus, RequestType, Urgency

STATUS_CHOICES = [*RequestStatus.values, "ALL"]


class MedicationItemInput(serializers.Serializer):
    medication_id = serializers.CharField(required=False, allow_blank=True, max_length=64)
    medication_name = serializers.CharField(max_length=200)
    strength = serializers.CharField(required=False, allow_blank=True, max_length=STRENGTH_MAX)
    form = serializers.CharField(required=False, allow_blank=True, max_length=FORM_MAX)
    # The request form always sends 0: the quantity is the prescriber's to decide on approval.
    quantity = serializers.IntegerField(required=False, min_value=0, max_value=1000, default=0)
    dosage = serializers.CharField(required=False, allow_blank=True, max_length=500)
    is_repeat = serializers.BooleanField(required=False, default=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class RequestInput(serializers.Serializer):
    # The limits (1-10, at most 2 controlled) are checked by the service with their own messages;
    # 50 only bounds the work of parsing.
    medications = serializers.ListField(child=MedicationItemInput(), allow_empty=True, max_length=50)
    request_type = serializers.ChoiceField(choices=RequestType.choices)
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.ROUTINE)
    additional_notes = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    nominated_pharmacy_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class StatusQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=STATUS_CHOICES, required=False, allow_blank=True, default="")

    def validate_status(self, value: str) -> str:
        return "" if value in ("", "ALL") else value


class UpdateStatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["collected", "completed"])


class VerifyInput(serializers.Serializer):
    payload = serializers.DictField()
    signature = serializers.CharField(max_length=512)
    pharmacy_code = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=32)
    pharmacy_name = serializers.CharField(required=False, allow_blank=True, max_length=200)


class DispenseInput(serializers.Serializer):
    prescription_id = serializers.CharField(max_length=64)
    nonce = serializers.CharField(max_length=64)
    pharmacy_code = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    pharmacist_name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    verification_notes = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    payload = serializers.DictField(required=False)
    signature = serializers.CharField(required=False, max_length=512)


class ApprovedMedicationInput(serializers.Serializer):
    medication_name = serializers.CharField(max_length=200)
    strength = serializers.CharField(required=False, allow_blank=True, max_length=STRENGTH_MAX, default="")
    form = serializers.CharField(required=False, allow_blank=True, max_length=FORM_MAX, default="")
    # The request form always sends 0: the quantity is the prescriber's to decide on approval.
    quantity = serializers.IntegerField(required=False, min_value=0, max_value=1000, default=0)
    dosage_instructions = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    frequency = serializers.CharField(required=False, allow_blank=True, max_length=FREQUENCY_MAX, default="")
    refills_allowed = serializers.IntegerField(required=False, min_value=0, max_value=11, default=0)


class ApproveInput(serializers.Serializer):
    medications = serializers.ListField(child=ApprovedMedicationInput(), required=False, max_length=10, default=list)
    clinical_notes = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class RejectInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    requires_follow_up = serializers.BooleanField(required=False, default=False)


class TriageQuery(StatusQuery):
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False, allow_blank=True, default="")
    triage_category = serializers.CharField(required=False, allow_blank=True, max_length=24, default="")
    reviewed = serializers.BooleanField(required=False, allow_null=True, default=None)
    page = serializers.IntegerField(required=False, min_value=1, max_value=10000, default=1)
    per_page = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)


class PharmacistApproveInput(serializers.Serializer):
    pharmacist_notes = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    drug_interactions_checked = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    monitoring_requirements = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    approved_medications = serializers.ListField(child=serializers.DictField(), required=False, max_length=10)
    had_clinical_intervention = serializers.BooleanField(required=False, default=False)


class EscalateInput(serializers.Serializer):
    escalation_reason = serializers.CharField(max_length=2000)
    clinical_concerns = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    pharmacist_recommendation = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    pharmacist_notes = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    flagged_medications = serializers.ListField(child=serializers.CharField(max_length=200), required=False,
                                                max_length=10, default=list)
    had_clinical_intervention = serializers.BooleanField(required=False, default=False)


class PharmacistRejectInput(serializers.Serializer):
    rejection_reason = serializers.CharField(max_length=2000)
    pharmacist_notes = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    requires_appointment = serializers.BooleanField(required=False, default=False)
    had_clinical_intervention = serializers.BooleanField(required=False, default=False)


def valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
