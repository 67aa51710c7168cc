"""Payment-first booking: initialize, verify, complete exactly once, refund.

Flow
- :func:`payments.checkout.payment_initialize` takes the slot hold (appointments) and writes the payment in one
  transaction, then asks the provider for a checkout. With payments off or a zero fee it confirms
  the booking at once (``waived``).
- :func:`payment_verify` (the patient's verify call) and :func:`payments.webhooks.webhook_handle` (``charge.success``)
  both ask the provider for the transaction and go through :func:`payment_apply_verification`.
  Value is given only when the provider says ``success`` **and** the amount and currency are the
  server's own; the completion path locks the payment row and updates it conditionally, so any
  number of concurrent verify calls and webhook deliveries confirm one appointment once.
- A payment that arrives after its hold expired is confirmed if the slot still has room;
  otherwise (or when the amount or currency is wrong) it is refunded automatically, with the
  reason kept and the patient told.

Provider calls are never made inside a database transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import User
from appointments.booking import hold_confirm, hold_release, recommendation_for_hold
from appointments.models import Appointment
from appointments.models import PaymentStatus as AppointmentPayment
from payments.gateway import GatewayError, RefundResult, Verification, get_gateway
from payments.models import (
    COMPLETABLE_STATUSES,
    SETTLED_STATUSES,
    EventSource,
    Payment,
    PaymentEvent,
    PaymentStatus,
    Provider,
)
from payments.refund_requests import (
    REFUND_STARTED_UNNAMED,
    RETRIED_EVENT_KIND,
    UNNAMED_REFUND_IDS,
    needs_refund_request,
    payment_request_refund,
)
from phb import metrics
from phb.api.errors import ApiError
from phb.notify import send_email_after_commit
from phb.numbers import whole_number

logger = logging.getLogger(__name__)
T = TypeVar("T")

METRIC_AREA = "Payments"
MINOR_UNITS = Decimal(100)


class PaymentProviderError(ApiError):
    """The provider failed or refused: HTTP 502 with the usual JSON envelope."""

    def __init__(self, message: str = "The payment provider is unavailable. Please try again shortly.", **extra: Any) -> None:
        super().__init__(message, status_code=502, code="payment_provider_error", **extra)


def to_minor(amount: Decimal) -> int:
    minor = amount * MINOR_UNITS
    if minor != minor.to_integral_value():
        raise ValueError("amount has more than two decimal places")
    return int(minor)


def from_minor(minor: int) -> Decimal:
    return (Decimal(minor) / MINOR_UNITS).quantize(Decimal("0.01"))


def _money(minor: int | None, currency: str) -> str:
    return f"{currency} {from_minor(minor or 0):,.2f}"


# --- events ------------------------------------------------------------------------------------
def record_event(payment: Payment, *, kind: str, source: str, from_status: str = "", to_status: str = "",
           provider_status: str = "", amount_minor: int | None = None, currency: str = "",
           message: str = "", dedupe_key: str | None = None, actor: User | None = None) -> PaymentEvent:
    return PaymentEvent.objects.create(
        payment=payment, kind=kind, source=source, from_status=from_status, to_status=to_status,
        provider_status=provider_status[:32], amount_minor=amount_minor, currency=currency[:3],
        message=message[:255], dedupe_key=dedupe_key, actor=actor,
    )


def failure_metric(reason: str) -> None:
    metrics.record("PaymentFailure", area=METRIC_AREA, dimensions={"Reason": reason})


# --- verify and complete ---------------------------------------------------------------------------
def payment_verify(*, payment: Payment, source: str = EventSource.VERIFY) -> Payment:
    """Ask the provider about ``payment`` and apply the answer. Settled payments are answered from
    the database without a provider call."""
    if payment.status in SETTLED_STATUSES:
        if needs_refund_request(payment):
            return payment_request_refund(payment_id=payment.pk, source=source)
        return payment
    if not payment.access_code:
        # The provider never created a checkout for it (initialize failed or still running).
        return payment
    try:
        verification = get_gateway().verify(reference=payment.reference)
    except GatewayError as exc:
        logger.warning("payment verify failed at the provider",
                       extra={"event": "payment_verify_failed", "payment_id": str(payment.pk),
                              "provider_status": exc.status_code, "provider_code": exc.provider_code})
        raise PaymentProviderError() from exc
    return payment_apply_verification(payment_id=payment.pk, verification=verification, source=source)


def payment_apply_verification(*, payment_id: uuid.UUID, verification: Verification, source: str) -> Payment:
    v = verification
    if v.status == "success":
        return _complete_or_refund(payment_id=payment_id, verification=v, source=source)
    if v.status in ("failed", "reversed"):
        reason = f"The payment failed: {v.gateway_response or v.status}."
        return _set_unpaid_status(payment_id=payment_id, status=PaymentStatus.FAILED, verification=v,
                                  source=source, reason=reason, metric_reason="declined")
    if v.status == "abandoned":
        return _set_unpaid_status(payment_id=payment_id, status=PaymentStatus.ABANDONED, verification=v,
                                  source=source, reason="The payment was not completed.", metric_reason=None)
    return _set_unpaid_status(payment_id=payment_id, status=PaymentStatus.PENDING, verification=v, source=source,
                              reason="The payment is still being processed.", metric_reason=None)


def _set_unpaid_status(*, payment_id: uuid.UUID, status: str, verification: Verification, source: str,
                       reason: str, metric_reason: str | None) -> Payment:
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.status not in COMPLETABLE_STATUSES or payment.status == PaymentStatus.EXPIRED:
            # Settled, or expired: its booking window closed, and only a successful charge changes it.
            return payment
        previous = payment.status
        if previous == status and payment.status_reason == reason:
            return payment
        payment.status, payment.status_reason = status, reason[:255]
        payment.save(update_fields=["status", "status_reason", "updated_at"])
        record_event(payment, kind=f"provider_{verification.status}"[:48], source=source, from_status=previous,
               to_status=status, provider_status=verification.status, amount_minor=verification.amount,
               currency=verification.currency, message=reason)
    if metric_reason and previous != status:
        failure_metric(metric_reason)
    return payment


def _parse_paid_at(value: str | None) -> datetime:
    parsed = parse_datetime(value) if value else None
    return parsed or timezone.now()


def _complete_or_refund(*, payment_id: uuid.UUID, verification: Verification, source: str) -> Payment:
    v = verification
    refund_needed = False
    notify: tuple[str, str] | None = None
    # The scheduler's recommendation is in the cache: read before the payment's row is locked.
    recommendation = recommendation_for_hold(
        hold_id=Payment.objects.filter(pk=payment_id).values_list("hold_id", flat=True).first())
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.status not in COMPLETABLE_STATUSES:
            return payment  # already completed (or refunded) by a concurrent call: nothing to do
        previous = payment.status
        paid_fields = {
            "paid_amount_minor": v.amount, "paid_currency": v.currency[:3], "paid_at": _parse_paid_at(v.paid_at),
            "provider_transaction_id": v.transaction_id[:64], "channel": v.channel[:32],
        }
        mismatch = ""
        if v.currency != payment.currency:
            mismatch = (f"The payment was made in {v.currency or 'an unknown currency'}, "
                        f"not {payment.currency}.")
        elif v.amount != payment.amount_minor:
            mismatch = (f"The amount paid ({_money(v.amount, v.currency)}) does not match the fee "
                        f"({_money(payment.amount_minor, payment.currency)}).")
        if mismatch:
            reason = f"{mismatch} The booking was not confirmed and the payment will be refunded."
            changed = Payment.objects.filter(pk=payment.pk, status=previous).update(
                status=PaymentStatus.REFUND_PENDING, status_reason=reason[:255], refund_reason=mismatch[:255],
                refund_amount_minor=v.amount, updated_at=timezone.now(), **paid_fields,
            )
            if not changed:
                return Payment.objects.get(pk=payment.pk)
            record_event(payment, kind="amount_mismatch", source=source, from_status=previous,
                   to_status=PaymentStatus.REFUND_PENDING, provider_status=v.status, amount_minor=v.amount,
                   currency=v.currency, message=mismatch)
            hold_id = payment.hold_id
            transaction.on_commit(lambda: hold_release(hold_id=hold_id) if hold_id else None)
            refund_needed = True
            notify = ("Your PHB payment will be refunded", reason)
            failure_metric("currency_mismatch" if v.currency != payment.currency else "amount_mismatch")
        else:
            try:
                with transaction.atomic():
                    appointment = hold_confirm(hold_id=payment.hold_id, payment_reference=payment.reference,
                                               recommendation=recommendation)
            except ApiError as exc:
                # The hold expired and the slot filled up (or the patient booked that time elsewhere).
                why = str(exc.detail)
                reason = (f"Your payment arrived after the booking hold expired and the appointment could not be "
                          f"confirmed: {why} The payment will be refunded in full.")
                changed = Payment.objects.filter(pk=payment.pk, status=previous).update(
                    status=PaymentStatus.REFUND_PENDING, status_reason=reason[:255], refund_reason=why[:255],
                    refund_amount_minor=v.amount, updated_at=timezone.now(), **paid_fields,
                )
                if not changed:
                    return Payment.objects.get(pk=payment.pk)
                record_event(payment, kind="confirm_refused", source=source, from_status=previous,
                       to_status=PaymentStatus.REFUND_PENDING, provider_status=v.status, amount_minor=v.amount,
                       currency=v.currency, message=why)
                refund_needed = True
                notify = ("Your PHB payment will be refunded", reason)
                failure_metric(getattr(exc, "code", "confirm_refused")[:32])
            else:
                now = timezone.now()
                changed = Payment.objects.filter(pk=payment.pk, status=previous).update(
                    status=PaymentStatus.COMPLETED, status_reason="", appointment=appointment,
                    completed_at=now, updated_at=now, **paid_fields,
                )
                if not changed:
                    return Payment.objects.get(pk=payment.pk)
                record_event(payment, kind="completed", source=source, from_status=previous,
                       to_status=PaymentStatus.COMPLETED, provider_status=v.status, amount_minor=v.amount,
                       currency=v.currency, message=f"appointment {appointment.appointment_id}")
                transaction.on_commit(
                    lambda: metrics.record("PaymentSuccess", area=METRIC_AREA,
                                           dimensions={"Provider": Provider.PAYSTACK})
                )
        if notify and payment.patient.email:
            subject, body = notify
            send_email_after_commit(
                to=payment.patient.email, subject=subject,
                body=f"{body}\n\nPayment reference: {payment.reference}\n\nPHB", kind="payment_refund_automatic",
            )
    logger.info("payment verified", extra={"event": "payment_verified", "payment_id": str(payment_id),
                                           "refund_needed": refund_needed, "source": source})
    if refund_needed:
        return payment_request_refund(payment_id=payment_id, source=source)
    return Payment.objects.get(pk=payment_id)


# --- refunds -----------------------------------------------------------------------------------------
def payment_refund_claim(*, payment_id: uuid.UUID, reason: str, source: str, amount_minor: int | None = None,
                         actor: User | None = None) -> bool:
    """Move a completed payment to ``refund_pending`` under its row lock, with the amount to give
    back (``amount_minor``; all that was paid when None) and the reason. False when the payment is
    not completed any more (its refund began elsewhere, or it was never paid): one claim per
    payment, whoever asks. An amount above what was paid is refused (400) and changes nothing."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment_id)
        if locked.status != PaymentStatus.COMPLETED:
            return False
        paid = locked.refundable_minor
        if amount_minor is not None and not 0 < amount_minor <= paid:
            raise ApiError(f"The refund can be at most what was paid ({_money(paid, locked.currency)}).",
                           code="refund_amount_too_large")
        locked.status = PaymentStatus.REFUND_PENDING
        locked.status_reason = reason[:255]
        locked.refund_reason = reason[:255]
        locked.refund_amount_minor = paid if amount_minor is None else amount_minor
        locked.save(update_fields=["status", "status_reason", "refund_reason", "refund_amount_minor", "updated_at"])
        record_event(locked, kind="refund_started", source=source, from_status=PaymentStatus.COMPLETED,
                     to_status=PaymentStatus.REFUND_PENDING, amount_minor=locked.refund_amount_minor,
                     currency=locked.currency, message=reason, actor=actor)
    return True


def payment_refund_start(*, payment: Payment, reason: str, source: str) -> Payment:
    """Begin a full refund of a completed payment (the appointments side cancelled under the policy)."""
    if not payment_refund_claim(payment_id=payment.pk, reason=reason, source=source):
        return Payment.objects.get(pk=payment.pk)
    return payment_request_refund(payment_id=payment.pk, source=source)


def _refund_outcome(status: str) -> str:
    return status if status in ("processed", "failed") else "pending"


def refund_belongs_to(payment: Payment, refund: RefundResult) -> bool:
    """Whether the provider's refund is one of ``payment``'s (we asked for it, or it refunds our charge)."""
    if payment.refund_provider_id and refund.refund_id == payment.refund_provider_id:
        return True
    return bool(refund.transaction_id) and refund.transaction_id == payment.provider_transaction_id


def _ask_about_refunds(payment: Payment, call: Callable[[], T], *, failed: str) -> T | None:
    """``call`` to the provider about ``payment``'s refunds: None when it refuses for good (an
    unknown refund or transaction); a failure it may get over is logged as ``failed`` and raised as
    :class:`PaymentProviderError` (a 502, to retry)."""
    try:
        return call()
    except GatewayError as exc:
        if not exc.retryable:
            return None
        logger.warning(f"{failed.replace('_', ' ')} at the provider",
                       extra={"event": failed, "payment_id": str(payment.pk),
                              "provider_status": exc.status_code, "provider_code": exc.provider_code})
        raise PaymentProviderError() from exc


def payment_fetch_refund(*, payment: Payment, refund_id: str) -> RefundResult | None:
    """The provider's own account of a refund of ``payment``, or None when it is not one of its refunds."""
    refund = _ask_about_refunds(payment, lambda: get_gateway().fetch_refund(refund_id=refund_id),
                                failed="refund_fetch_failed")
    return refund if refund is not None and refund_belongs_to(payment, refund) else None


def payment_find_refund(*, payment: Payment, amount: object, status: str) -> RefundResult | None:
    """The provider's refund of ``payment`` a refund webhook is about when it does not give the
    refund's id (Paystack's ``refund.*`` events name the transaction and the processor's reference):
    among the transaction's refunds as the provider lists them (newest first), the one of the event's
    amount and status, preferring the refund we asked for. Only the provider's account is applied."""
    refunds = _ask_about_refunds(
        payment, lambda: get_gateway().list_refunds(transaction=payment.provider_transaction_id or payment.reference),
        failed="refund_list_failed")
    if refunds is None:
        return None
    amount_minor = amount if isinstance(amount, int) and not isinstance(amount, bool) else whole_number(amount)
    ranked = [(r.amount == amount_minor, _refund_outcome(r.status) == _refund_outcome(status),
               bool(payment.refund_provider_id) and r.refund_id == payment.refund_provider_id, -i, r)
              for i, r in enumerate(refunds) if r.refund_id]
    return max(ranked, key=lambda row: row[:4])[4] if ranked else None


def _earlier_refund(payment: Payment, refund: RefundResult) -> bool:
    """Whether ``refund`` is one that failed before the payment's refund was asked for again: not
    the refund it waits for now, on a payment whose failed refund was retried."""
    if refund.refund_id and refund.refund_id == payment.refund_provider_id:
        return False
    return payment.events.filter(kind=RETRIED_EVENT_KIND).exists()


def payment_apply_refund(*, payment_id: uuid.UUID, refund: RefundResult, source: str, kind: str) -> Payment:
    """Move a payment to what the provider says of one of its refunds (never on a payload alone)."""
    outcome = _refund_outcome(refund.status)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        previous = payment.status
        target = None
        if outcome == "processed" and previous in (PaymentStatus.REFUND_PENDING, PaymentStatus.COMPLETED,
                                                   PaymentStatus.REFUND_FAILED):
            target = PaymentStatus.REFUNDED
        elif outcome == "failed" and previous == PaymentStatus.REFUND_PENDING and not _earlier_refund(payment, refund):
            target = PaymentStatus.REFUND_FAILED
        elif outcome == "pending" and previous == PaymentStatus.COMPLETED:
            target = PaymentStatus.REFUND_PENDING  # a refund started from the provider's dashboard
        if target:
            payment.status = target
            fields = ["status", "updated_at"]
            if target == PaymentStatus.REFUNDED:
                payment.refunded_at = timezone.now()
                payment.status_reason = payment.refund_reason or "Refunded."
                if refund.amount:
                    payment.refund_amount_minor = refund.amount
                fields += ["refunded_at", "status_reason", "refund_amount_minor"]
                if payment.appointment_id and (payment.refund_amount_minor or 0) >= payment.refundable_minor:
                    # All of the fee went back: the appointment no longer reads as paid.
                    Appointment.objects.filter(pk=payment.appointment_id, payment_status=AppointmentPayment.PAID
                                               ).update(payment_status=AppointmentPayment.REFUNDED,
                                                        updated_at=payment.refunded_at)
            elif target == PaymentStatus.REFUND_FAILED:
                payment.status_reason = "The refund failed at the payment provider; our staff will follow up."
                fields += ["status_reason"]
            elif target == PaymentStatus.REFUND_PENDING and not payment.refund_reason:
                payment.refund_reason = "Refund started at the payment provider."
                payment.refund_provider_id = (refund.refund_id or REFUND_STARTED_UNNAMED)[:64]
                fields += ["refund_reason", "refund_provider_id"]
            payment.save(update_fields=fields)
        unnamed = ("", *UNNAMED_REFUND_IDS)
        if (previous == PaymentStatus.REFUND_PENDING and payment.refund_provider_id in unnamed and refund.refund_id
                and outcome != "failed" and refund.amount in (0, payment.refund_amount_minor)):
            # The refund asked for, whose answer never reached us or did not name it: known now, it is
            # not asked for again and can be looked up.
            Payment.objects.filter(pk=payment.pk, refund_provider_id__in=unnamed).update(
                refund_provider_id=refund.refund_id[:64])
            payment.refund_provider_id = refund.refund_id[:64]
        if target or source == EventSource.WEBHOOK:
            record_event(payment, kind=kind[:48], source=source, from_status=previous, to_status=target or previous,
                   provider_status=refund.status[:32], amount_minor=refund.amount or None,
                   currency=refund.currency)
    if target == PaymentStatus.REFUND_FAILED:
        failure_metric("refund_failed")
    return payment
