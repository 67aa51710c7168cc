"""The refund policy, applied when the appointments side cancels a paid appointment.

- Cancelled by the patient at least ``PAYMENTS_REFUND_WINDOW_HOURS`` (24) before the start: full refund.
- Cancelled by the patient later than that: no refund (recorded on the payment with the reason).
- Cancelled by the hospital (a doctor or admin) or by the system: full refund, whatever the time;
  the patient did not choose to give up the appointment.

The receiver runs after the cancellation committed (``appointment_cancelled`` is sent on commit);
it never raises into the cancelling request: a provider failure is recorded and retried later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from payments.models import EventSource, Payment, PaymentEvent, PaymentStatus
from payments.selectors import payment_for_appointment
from payments.services import payment_refund_start

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
    if appointment.start - now >= window:
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
