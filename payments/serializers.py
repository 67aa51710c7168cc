"""Input validation and response payloads for the payment endpoints (contract §4, Y1–Y4, and the
payment and refund endpoints the frontend's service has commented out)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from payments.checkout import BookingRequest
from payments.models import Payment, PaymentStatus
from payments.services import from_minor
from phb.api import serializers
from phb.api.fields import TextOrIntegerField, check_calendar_range
from phb.api.schema import documented
from phb.api.timestamps import iso


class SymptomInput(serializers.Serializer):
    body_part_id = TextOrIntegerField(max_length=64, required=False, allow_blank=True)
    body_part_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    symptom_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class InitializeInput(serializers.Serializer):
    """The whole booking (payment-first). ``amount`` is read and ignored: the server prices it."""

    required_one_of = (("chief_complaint", "symptoms_data"),)  # phb.api.schema

    amount = serializers.JSONField(required=False)
    payment_method = serializers.ChoiceField(choices=["card"], required=False, default="card", error_messages={
        "invalid_choice": "Only card payments are available."})
    payment_provider = serializers.ChoiceField(choices=["paystack"], required=False, default="paystack",
                                               error_messages={"invalid_choice": "Only Paystack is available."})
    appointment_id = serializers.CharField(required=False, allow_blank=True, allow_null=True)

    hospital_id = serializers.IntegerField(min_value=1)
    department_id = serializers.IntegerField(min_value=1)
    appointment_date = documented(serializers.CharField, {"type": "string", "format": "date-time", "maxLength": 40})(
        max_length=40)
    appointment_type = serializers.CharField(max_length=32, required=False, default="consultation")
    priority = serializers.ChoiceField(choices=["normal", "urgent", "emergency"], required=False, default="normal")
    chief_complaint = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    symptoms_data = SymptomInput(many=True, required=False, max_length=50)
    medical_history = serializers.CharField(max_length=5000, required=False, allow_blank=True, allow_null=True)
    allergies = serializers.CharField(max_length=5000, required=False, allow_blank=True, allow_null=True)
    current_medications = serializers.CharField(max_length=5000, required=False, allow_blank=True, allow_null=True)
    duration = serializers.IntegerField(required=False, min_value=1, max_value=240)
    is_insurance_based = serializers.BooleanField(required=False, default=False)
    insurance_details = serializers.DictField(required=False, default=dict)

    def validate_appointment_date(self, value: str) -> datetime:
        return wall_clock(value)

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("chief_complaint", "").strip() and not attrs.get("symptoms_data"):
            raise serializers.ValidationError({"chief_complaint": ["Describe the reason for the appointment."]})
        if len(str(attrs.get("insurance_details") or {})) > 5000:
            raise serializers.ValidationError({"insurance_details": ["Too large."]})
        return attrs

    def booking(self) -> BookingRequest:
        data = self.validated_data
        details = {
            "chief_complaint": data.get("chief_complaint", ""),
            "symptoms_data": [dict(item) for item in data.get("symptoms_data", [])],
            "medical_history": data.get("medical_history") or "",
            "allergies": data.get("allergies") or "",
            "current_medications": data.get("current_medications") or "",
            "is_insurance_based": data.get("is_insurance_based", False),
            "insurance_details": data.get("insurance_details") or {},
        }
        return BookingRequest(
            hospital_id=data["hospital_id"],
            department_id=data["department_id"],
            start_local=data["appointment_date"],
            priority=data.get("priority", "normal"),
            appointment_type=data.get("appointment_type") or "consultation",
            details=details,
        )


def wall_clock(value: str) -> datetime:
    """The booking page sends the hospital's local wall-clock time labelled ``Z`` (contract §3.2):
    the offset is dropped, not converted, and a naive datetime on the hospital clock is returned."""
    text = (value or "").strip()
    if text.endswith(("Z", "z")):
        text = text[:-1]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise serializers.ValidationError("Use an ISO date-time such as 2025-01-31T09:30:00Z.") from exc
    if len(text) <= 10:
        raise serializers.ValidationError("A time is required as well as the date.")
    check_calendar_range(parsed)
    return parsed.replace(tzinfo=None)


def money(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


MESSAGES = {
    PaymentStatus.INITIALIZED: "The payment has not started yet.",
    PaymentStatus.PENDING: "The payment has not been completed yet.",
    PaymentStatus.ABANDONED: "The payment was not completed.",
    PaymentStatus.FAILED: "The payment failed.",
    PaymentStatus.COMPLETED: "Payment successful. Your appointment is booked.",
    PaymentStatus.REFUND_PENDING: "The payment is being refunded.",
    PaymentStatus.REFUNDED: "The payment was refunded.",
    PaymentStatus.REFUND_FAILED: "The refund failed; our staff will follow up.",
    PaymentStatus.WAIVED: "No payment was needed.",
    PaymentStatus.EXPIRED: "The booking window closed before the payment was made.",
}


def verify_payload(payment: Payment) -> dict:
    """Y3: the frontend requires truthy ``payment_id``, ``status`` and ``amount``."""
    completed = payment.status in (PaymentStatus.COMPLETED, PaymentStatus.WAIVED)
    message = payment.status_reason or MESSAGES.get(payment.status, "")
    if payment.status == PaymentStatus.COMPLETED:
        message = MESSAGES[PaymentStatus.COMPLETED]
    paid_minor = payment.paid_amount_minor
    body = {
        "success": completed,
        "payment_id": str(payment.pk),
        "id": str(payment.pk),
        "reference": payment.reference,
        "provider_reference": payment.reference,
        "status": payment.status,
        "amount": money(payment.amount),
        "currency": payment.currency,
        "completed_at": iso(payment.completed_at),
        "appointment_id": payment.appointment.appointment_id if payment.appointment_id else None,
        "message": message,
        "verification_data": {
            "provider": payment.provider,
            "paid_amount": money(from_minor(paid_minor)) if paid_minor is not None else None,
            "paid_currency": payment.paid_currency or None,
            "paid_at": iso(payment.paid_at),
            "channel": payment.channel or None,
            "refund_reason": payment.refund_reason or None,
        },
    }
    if not completed:
        body["error"] = message
    return body


def history_item(payment: Payment) -> dict:
    summary = payment.booking_summary or {}
    return {
        "id": str(payment.pk),
        "reference": payment.reference,
        "amount": money(payment.amount),
        "currency": payment.currency,
        "status": payment.status,
        "status_reason": payment.status_reason,
        "payment_method": "card" if payment.provider != "none" else "none",
        "payment_provider": payment.provider,
        "created_at": iso(payment.created_at),
        "completed_at": iso(payment.completed_at),
        "refunded_at": iso(payment.refunded_at),
        "appointment_id": payment.appointment.appointment_id if payment.appointment_id else None,
        "appointment_data": {
            "type": summary.get("type"),
            "date": summary.get("date"),
            "time": summary.get("time"),
            "department": summary.get("department"),
            "hospital": summary.get("hospital"),
        },
    }


class RefundInput(serializers.Serializer):
    """A hospital's refund: ``amount`` in major units (naira), as the frontend sends money; all that
    was paid when left out."""

    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"), required=False,
                                      allow_null=True)
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


def payment_detail(payment: Payment) -> dict:
    """One payment as the frontend's ``PaymentTransaction`` reads it (its history item, the
    provider's transaction id, what was refunded and why)."""
    refunded = payment.refund_amount_minor
    return {
        **history_item(payment),
        "transaction_id": payment.provider_transaction_id or payment.reference,
        "refund_amount": money(from_minor(refunded)) if refunded is not None else None,
        "refund_reason": payment.refund_reason or None,
    }
