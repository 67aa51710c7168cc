"""Reconciliation with Paystack for outcomes that never reached us (run every few minutes).

A patient who closes the checkout tab, a webhook lost for good, a refund Paystack has not settled:
each leaves a payment that nothing else would ever look at again. ``payments_reconcile`` asks
Paystack about each of them once their moment has passed and applies the answer through the same
services the verify endpoint and the webhook use, so a late charge still confirms the booking
(or is refunded when the slot is gone) and nothing is decided on our side alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from payments import services
from payments.gateway import GatewayError, RefundResult, get_gateway
from payments.models import COMPLETABLE_STATUSES, EventSource, Payment, PaymentStatus
from payments.refund_requests import RETRIED_EVENT_KIND, UNNAMED_REFUND_IDS, payment_retry_failed_refund

logger = logging.getLogger("payments")

# Not paid (yet): what reconciliation asks Paystack about once the booking window has closed.
UNPAID_STATUSES = (PaymentStatus.INITIALIZED, PaymentStatus.PENDING, PaymentStatus.ABANDONED, PaymentStatus.FAILED)
# An ``expired`` payment (its booking window closed, or a new checkout replaced it) whose Paystack
# checkout the patient may still have open and pay: asked about once per EXPIRED_RECHECK, until
# EXPIRED_CHECKOUT_LIFETIME after it was created. A charge found there completes the booking, or is
# refunded when it cannot be honoured any more.
EXPIRED_CHECKOUT_LIFETIME = timedelta(hours=72)
EXPIRED_RECHECK = timedelta(minutes=60)
# A refund that failed at Paystack (``refund_failed``) is asked for again by reconciliation at most
# REFUND_AUTO_RETRIES times in all (an operator's retries count too), each at least
# REFUND_RETRY_AFTER after it failed: a passing cause (the provider or the bank briefly failing, the
# balance short) clears by then, and one that does not is left to an operator, who retries it from
# the payment admin once it is dealt with.
REFUND_AUTO_RETRIES = 2
REFUND_RETRY_AFTER = timedelta(hours=6)


@dataclass
class ReconcileReport:
    checked: int = 0
    completed: int = 0
    expired: int = 0
    refunds_requested: int = 0
    refunds_settled: int = 0
    refunds_retried: int = 0
    provider_errors: int = 0

    def line(self) -> str:
        return (f"checked {self.checked}, completed {self.completed}, expired {self.expired}, "
                f"refunds requested {self.refunds_requested}, refunds settled {self.refunds_settled}, "
                f"failed refunds retried {self.refunds_retried}, provider errors {self.provider_errors}")


def _expire(payment: Payment) -> bool:
    """Close an unpaid payment whose booking window has passed. Conditional, so a charge completing
    at this very moment wins."""
    updated = Payment.objects.filter(pk=payment.pk, status=payment.status).update(
        status=PaymentStatus.EXPIRED, status_reason="The booking window closed before the payment was made.",
        updated_at=timezone.now(),
    )
    if updated:
        services.record_event(payment, kind="expired", source=EventSource.RECONCILE, from_status=payment.status,
                              to_status=PaymentStatus.EXPIRED)
    return bool(updated)


def _verify(payment: Payment, *, source: str, report: ReconcileReport) -> Payment | None:
    """Apply what Paystack says of an unpaid payment; None when Paystack could not be asked."""
    report.checked += 1
    if not payment.access_code:
        return payment  # Paystack never opened a checkout for it
    try:
        checked = services.payment_verify(payment=payment, source=source)
    except services.PaymentProviderError:
        report.provider_errors += 1
        return None
    report.completed += int(checked.status not in COMPLETABLE_STATUSES)
    return checked


def _reconcile_unpaid(payment: Payment, *, now: datetime, report: ReconcileReport) -> None:
    payment = _verify(payment, source=EventSource.RECONCILE, report=report)
    if payment is None or payment.status not in COMPLETABLE_STATUSES:
        return
    still_processing = payment.status == PaymentStatus.PENDING and payment.access_code
    processing_deadline = (payment.hold_expires_at or payment.created_at) + timedelta(
        hours=settings.PAYMENTS_PROCESSING_EXPIRY_HOURS
    )
    if still_processing and now < processing_deadline:
        return  # Paystack says the charge is still in flight (a bank transfer): ask again next round.
    if payment.status in UNPAID_STATUSES and _expire(payment):
        report.expired += 1


def _reconcile_expired(payment: Payment, *, report: ReconcileReport) -> None:
    """Look for a charge on an expired payment's checkout. Nothing else changes it: it stays
    ``expired`` until a charge is found (its last check is its ``updated_at``)."""
    report.checked += 1
    try:
        verification = get_gateway().verify(reference=payment.reference)
    except GatewayError:
        report.provider_errors += 1
        return
    if verification.status == "success":
        checked = services.payment_apply_verification(payment_id=payment.pk, verification=verification,
                                                      source=EventSource.RECONCILE)
        report.completed += int(checked.status not in COMPLETABLE_STATUSES)
        return
    Payment.objects.filter(pk=payment.pk, status=PaymentStatus.EXPIRED).update(updated_at=timezone.now())


def _reconcile_refund(payment: Payment, *, report: ReconcileReport, source: str = EventSource.RECONCILE) -> None:
    report.checked += 1
    if not payment.refund_provider_id:
        payment = services.payment_request_refund(payment_id=payment.pk, source=source)
        report.refunds_requested += int(bool(payment.refund_provider_id))
        return
    try:
        if payment.refund_provider_id in UNNAMED_REFUND_IDS:  # accepted without an id: find it by its charge
            refund = services.payment_find_refund(payment=payment, amount=payment.refund_amount_minor,
                                                  status="processed")
        else:
            refund = services.payment_fetch_refund(payment=payment, refund_id=payment.refund_provider_id)
    except services.PaymentProviderError:
        report.provider_errors += 1
        return
    if refund is None:
        return
    if payment.refund_provider_id in UNNAMED_REFUND_IDS:
        _name_refund(payment, refund)
    settled = services.payment_apply_refund(payment_id=payment.pk, refund=refund, source=source,
                                            kind=f"refund_{refund.status}")
    if settled.status != PaymentStatus.REFUND_PENDING:
        report.refunds_settled += 1


def _name_refund(payment: Payment, refund: RefundResult) -> None:
    """Keep the id of the refund found for a payment whose refund was accepted without one: the
    newest of the transaction's refunds of its amount is the one asked for last, so its outcome,
    a failure included, is its own and not that of a refund which failed before it was asked for
    again (``services.payment_apply_refund``)."""
    if not refund.refund_id or refund.amount not in (0, payment.refund_amount_minor):
        return
    named = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.REFUND_PENDING,
                                   refund_provider_id=payment.refund_provider_id).update(
        refund_provider_id=refund.refund_id[:64])
    if named:
        payment.refund_provider_id = refund.refund_id[:64]


def payments_check_now(*, payments: Iterable[Payment], source: str = EventSource.ADMIN) -> ReconcileReport:
    """Ask Paystack about these payments at once (an operator answering "I paid but see nothing"):
    unpaid ones are verified, unsettled refunds fetched or requested again. Nothing is expired."""
    report = ReconcileReport()
    for payment in payments:
        if payment.status in COMPLETABLE_STATUSES:
            _verify(payment, source=source, report=report)
        elif payment.status == PaymentStatus.REFUND_PENDING:
            _reconcile_refund(payment, report=report, source=source)
    return report


def payments_reconcile(*, now: datetime | None = None, limit: int = 200) -> ReconcileReport:
    """One round: unpaid payments past their hold, expired ones whose checkout may still be paid,
    refunds past their recheck time, failed refunds due another try. At most ``limit`` of each, oldest first, so one slow round
    never grows without bound."""
    now = now or timezone.now()
    report = ReconcileReport()
    window_closed = now - timedelta(minutes=settings.PAYMENTS_RECONCILE_GRACE_MINUTES)
    unpaid = (
        Payment.objects.filter(status__in=UNPAID_STATUSES)
        .filter(Q(hold_expires_at__lt=window_closed) | Q(hold_expires_at__isnull=True, created_at__lt=window_closed))
        .order_by("created_at")[:limit]
    )
    for payment in unpaid:
        _reconcile_unpaid(payment, now=now, report=report)
    expired = (
        Payment.objects.filter(status=PaymentStatus.EXPIRED, created_at__gt=now - EXPIRED_CHECKOUT_LIFETIME,
                               updated_at__lt=now - EXPIRED_RECHECK)
        .exclude(access_code="")
        .order_by("updated_at")[:limit]
    )
    for payment in expired:
        _reconcile_expired(payment, report=report)

    recheck_before = now - timedelta(minutes=settings.PAYMENTS_REFUND_RECHECK_MINUTES)
    refunds = (
        Payment.objects.filter(status=PaymentStatus.REFUND_PENDING)
        .filter(Q(refund_requested_at__lt=recheck_before) | Q(refund_requested_at__isnull=True))
        .order_by("updated_at")[:limit]
    )
    for payment in refunds:
        _reconcile_refund(payment, report=report)

    failed_refunds = (
        Payment.objects.filter(status=PaymentStatus.REFUND_FAILED, updated_at__lt=now - REFUND_RETRY_AFTER)
        .annotate(retries=Count("events", filter=Q(events__kind=RETRIED_EVENT_KIND)))
        .filter(retries__lt=REFUND_AUTO_RETRIES)
        .order_by("updated_at")[:limit]
    )
    for payment in failed_refunds:
        report.checked += 1
        retried = payment_retry_failed_refund(payment_id=payment.pk, source=EventSource.RECONCILE)
        report.refunds_retried += int(retried is not None)
    logger.info("payments reconciled", extra={
        "event": "payments_reconciled", "checked": report.checked, "completed": report.completed,
        "expired": report.expired, "refunds_requested": report.refunds_requested,
        "refunds_settled": report.refunds_settled, "refunds_retried": report.refunds_retried,
        "provider_errors": report.provider_errors,
    })
    return report
