"""Payments for appointment bookings and the append-only log of everything that happened to them.

A :class:`Payment` is created when a booking is initialised (payment-first booking): it names the
slot hold taken for the booking, the fee the server computed and the provider reference. The
appointment exists only once the payment completes. Card data is never stored: the provider keeps
it, and only the status, amounts, channel and the provider's short gateway message are kept here.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from phb.jsonfield import JSONField


def new_reference() -> str:
    """A unique provider reference (Paystack allows letters, digits, ``-``, ``.`` and ``=``)."""
    return f"PHB-{secrets.token_hex(8).upper()}"


class PaymentStatus(models.TextChoices):
    INITIALIZED = "initialized", "Initialized"  # row written, provider not yet answered
    PENDING = "pending", "Pending"  # waiting for the patient to pay
    ABANDONED = "abandoned", "Abandoned"  # provider says not (yet) paid
    FAILED = "failed", "Failed"  # provider declined or could not start the payment
    COMPLETED = "completed", "Completed"  # verified, appointment confirmed
    REFUND_PENDING = "refund_pending", "Refund pending"
    REFUNDED = "refunded", "Refunded"
    REFUND_FAILED = "refund_failed", "Refund failed"
    WAIVED = "waived", "Waived"  # no payment needed; appointment created at once
    EXPIRED = "expired", "Expired"  # the booking window closed unpaid (a late charge still completes or refunds)


# A verified success may still complete a payment in these states.
COMPLETABLE_STATUSES = (
    PaymentStatus.INITIALIZED,
    PaymentStatus.PENDING,
    PaymentStatus.ABANDONED,
    PaymentStatus.FAILED,
    PaymentStatus.EXPIRED,
)
# Nothing the provider says about the charge changes these any more (refund events still apply).
SETTLED_STATUSES = (
    PaymentStatus.COMPLETED,
    PaymentStatus.REFUND_PENDING,
    PaymentStatus.REFUNDED,
    PaymentStatus.REFUND_FAILED,
    PaymentStatus.WAIVED,
)


class Provider(models.TextChoices):
    PAYSTACK = "paystack", "Paystack"
    NONE = "none", "None (waived)"


class Payment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.PAYSTACK)
    reference = models.CharField(max_length=100, unique=True, default=new_reference, editable=False)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.INITIALIZED)
    status_reason = models.CharField(max_length=255, blank=True, help_text="Why the payment is in this state")

    # What the server charges (never what the client sent).
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="NGN")
    amount_minor = models.PositiveBigIntegerField(help_text="amount in the currency's minor unit (kobo)")

    # The booking: the hold taken at initialize, the appointment once confirmed.
    hold_id = models.UUIDField(null=True, blank=True, db_index=True)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    appointment = models.ForeignKey(
        "appointments.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
    )
    booking_summary = JSONField(
        default=dict, blank=True,
        help_text="Non-clinical description of the booking: type, date, time, department, hospital",
    )

    # Provider side.
    access_code = models.CharField(max_length=100, blank=True)
    authorization_url = models.URLField(max_length=500, blank=True)
    provider_transaction_id = models.CharField(max_length=64, blank=True)
    channel = models.CharField(max_length=32, blank=True)
    paid_amount_minor = models.PositiveBigIntegerField(null=True, blank=True)
    paid_currency = models.CharField(max_length=3, blank=True)

    # Refunds.
    refund_amount_minor = models.PositiveBigIntegerField(null=True, blank=True)
    refund_reason = models.CharField(max_length=255, blank=True)
    refund_provider_id = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    refund_requested_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The payment history (``pagination.RECENT_FIRST``), in its order.
            models.Index(fields=["patient", "-created_at", "-id"], name="payment_patient_recent"),
            models.Index(fields=["status", "created_at"]),
            # The admin's changelist in its order, and its search by the provider's transaction id.
            models.Index(fields=["-created_at", "-id"], name="payment_recent"),
            models.Index(fields=["provider_transaction_id"], name="payment_provider_transaction"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_nonnegative"),
            # One completed payment per appointment, whatever raced.
            models.UniqueConstraint(
                fields=["appointment"],
                condition=Q(appointment__isnull=False) & ~Q(status__in=["refunded", "refund_failed", "refund_pending"]),
                name="payment_one_live_per_appointment",
            ),
        ]

    @property
    def refundable_minor(self) -> int:
        """What a refund may give back: what was paid, or what was charged where the provider did
        not say what was paid."""
        return self.paid_amount_minor or self.amount_minor

    def __str__(self) -> str:
        return self.reference


class EventSource(models.TextChoices):
    API = "api", "API request"
    VERIFY = "verify", "Verify call"
    WEBHOOK = "webhook", "Provider webhook"
    SIGNAL = "signal", "Appointment change"
    ADMIN = "admin", "Admin action"
    SYSTEM = "system", "System"
    RECONCILE = "reconcile", "Reconciliation job"


class PaymentEvent(models.Model):
    """One thing that happened to a payment: what, when, from which source. Append-only.

    ``dedupe_key`` is set for provider webhooks that have been acted on (``event:reference``), so a
    redelivery is recognised without asking the provider again.
    """

    id = models.BigAutoField(primary_key=True)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=48)
    source = models.CharField(max_length=16, choices=EventSource.choices)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    provider_status = models.CharField(max_length=32, blank=True)
    amount_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    message = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The staff member who did this (a hospital's refund); empty for the patient's and the system's events",
    )
    dedupe_key = models.CharField(max_length=160, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["payment", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.payment_id}"
