"""Refunds: the policy applied when the appointments side cancels a paid appointment, and the
refunds a hospital administrator gives.

- Cancelled by the patient at least ``PAYMENTS_REFUND_WINDOW_HOURS`` (24) before the start: full refund.
- Cancelled by the patient later than that: no refund (recorded on the payment with the reason).
  A move she made inside that window does not buy a new one: the start she moved away from
  stays the deadline's anchor (``Appointment.late_change_from``, kept by ``appointments.moving``).
- Cancelled by the hospital (a doctor or admin) or by the system: full refund, whatever the time;
  the patient did not choose to give up the appointment.
- Cancelled by the patient while its time is the hospital's (a doctor proposed it, or asked for a
  new one and she has not chosen it yet: ``Appointment.time_set_by_hospital``): full refund,
  whatever the time; the hospital changed what she paid for.

The receiver runs after the cancellation committed (``appointment_cancelled`` is sent on commit);
it never raises into the cancelling request: a provider failure is recorded and retried later.

A hospital administrator may refund a completed payment for an appointment at her hospital, in
full or in part, whether or not it was cancelled (:func:`refund_by_hospital`). Both paths take the
same claim on the payment's row (``services.payment_refund_claim``), so a payment is refunded at
most once, whichever asks first; the provider is asked after the claim committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from appointments.models import Appointment, AppointmentStatus
from payments.models import EventSource, Payment, PaymentEvent, PaymentStatus
from payments.selectors import payment_for_appointment
from payments.services import payment_refund_claim, payment_refund_start, payment_request_refund, to_minor
from phb.api.errors import ApiError, Conflict
from phb.logs import user_reference

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefundDecision:
    refund: bool
    reason: str


def refund_decision(*, appointment, cancelled_by, now: datetime | None = None) -> RefundDecision:
    now = now or timezone.now()
    window = timedelta(hours=settings.PAYMENTS_REFUND_WINDOW_HOURS)
    by_patient = cancelled_by is not None and getattr(cancelled_by, "pk", None) == appointment.patient_id
    if not by_patient:
        return RefundDecision(True, "The hospital cancelled the appointment: full refund.")
    if appointment.time_set_by_hospital:
        return RefundDecision(True, "The hospital changed the appointment's time: full refund.")
    if appointment.late_cancel_from - now >= window:
        return RefundDecision(
            True, f"Cancelled at least {settings.PAYMENTS_REFUND_WINDOW_HOURS} hours before the appointment: full refund."
        )
    return RefundDecision(
        False, f"Cancelled less than {settings.PAYMENTS_REFUND_WINDOW_HOURS} hours before the appointment: no refund."
    )


def refund_on_cancel(sender, *, appointment, cancelled_by=None, reason: str = "", **kwargs) -> None:
    payment = payment_for_appointment(appointment=appointment)
    if payment is None or payment.status != PaymentStatus.COMPLETED:
        return
    decision = refund_decision(appointment=appointment, cancelled_by=cancelled_by)
    if not decision.refund:
        with transaction.atomic():
            PaymentEvent.objects.create(
                payment=payment, kind="refund_not_eligible", source=EventSource.SIGNAL,
                from_status=payment.status, to_status=payment.status, message=decision.reason[:255],
            )
            Payment.objects.filter(pk=payment.pk, status=PaymentStatus.COMPLETED).update(
                status_reason=decision.reason[:255]
            )
        logger.info("no refund under the policy", extra={"event": "refund_not_eligible", "payment_id": str(payment.pk)})
        return
    try:
        payment_refund_start(payment=payment, reason=decision.reason, source=EventSource.SIGNAL)
    except Exception:
        logger.exception("refund on cancel failed", extra={"event": "refund_on_cancel_failed",
                                                           "payment_id": str(payment.pk)})


HOSPITAL_REFUND_REASON = "Refunded by the hospital."


def partial_refund_allowed(*, payment: Payment) -> bool:
    """Whether part of ``payment`` may be refunded: a payment is refunded once, so only when nothing
    can still owe the patient all of it. Its appointment was seen (completed) or missed (no-show),
    or was cancelled and the policy recorded that no refund is due. While it is open, or
    cancelled with the policy's refund still to come, a hospital's cancellation owes a full
    refund, which a partial one would take the place of."""
    status = Appointment.objects.filter(pk=payment.appointment_id).values_list("status", flat=True).first()
    if status in (AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW):
        return True
    return status == AppointmentStatus.CANCELLED and payment.events.filter(kind="refund_not_eligible").exists()


def _not_refundable(payment: Payment) -> Conflict | None:
    """The 409 for a payment no longer completed (its refund began, or it was never paid); None
    while it is completed."""
    status = Payment.objects.filter(pk=payment.pk).values_list("status", flat=True).get()
    if status == PaymentStatus.COMPLETED:
        return None
    return Conflict(f"Only a completed payment can be refunded; this one is {PaymentStatus(status).label.lower()}.",
                    code="not_refundable")


def refund_by_hospital(*, payment: Payment, actor: User, amount: Decimal | None = None, reason: str = "") -> Payment:
    """Refund ``payment`` (completed; in the caller's hospital's scope, see
    ``selectors.payments_refundable_by``): all that was paid, or ``amount`` of it (major units, as
    the frontend sends money) where :func:`partial_refund_allowed`. The event names ``actor``. 409
    when the payment is not completed (never paid, or its refund already began) or a part is
    asked for too early; 400 for an amount above what was paid."""
    try:
        amount_minor = to_minor(amount) if amount is not None else None
    except ValueError as exc:
        raise ApiError("amount has more than two decimal places.", code="invalid_amount") from exc
    reason = (reason or "").strip() or HOSPITAL_REFUND_REASON
    if amount_minor is not None and amount_minor < payment.refundable_minor \
            and not partial_refund_allowed(payment=payment):
        raise _not_refundable(payment) or Conflict(
            "Part of a payment can be refunded once its appointment was seen or missed, or cancelled with no refund "
            "due. Until then a cancellation by the hospital owes the patient all of it: refund it in full, or later.",
            code="partial_refund_not_allowed")
    if not payment_refund_claim(payment_id=payment.pk, reason=reason, source=EventSource.ADMIN,
                                amount_minor=amount_minor, actor=actor):
        raise _not_refundable(payment) or Conflict("The payment's refund began meanwhile.", code="not_refundable")
    logger.info("refund started by the hospital", extra={"event": "refund_by_hospital", "payment_id": str(payment.pk),
                                                          "actor_ref": user_reference(actor.pk)})
    return payment_request_refund(payment_id=payment.pk, source=EventSource.ADMIN)
