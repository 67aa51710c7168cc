"""Asking the provider for a refund, exactly once.

A ``refund_pending`` payment without the provider's refund id still needs its ``POST /refund``.
One caller wins a claim on the row (``refund_requested_at``) and asks, after the claim committed.

- The provider accepted: its refund id is recorded; the refund webhooks settle it.
- The provider refused it (a 4xx), or could not be reached at all (nothing was sent): the claim
  is given back, and the next verify call, webhook, reconciliation round or admin action asks again.
- The outcome is unknown (the request was sent and then timed out, the connection broke, or the
  provider answered with a server error): the provider may have made the refund. The claim is
  kept, so nothing asks again until it is older than ``REFUND_CLAIM_TIMEOUT``, by when the refund,
  if made, is listed by the provider.

Before asking again after any earlier attempt (a kept or abandoned claim, or a recorded failure),
the provider's refunds of the transaction are listed (``GET /refund?transaction=``) and a refund of
the same amount that did not fail is adopted instead of making a second one. A provider that cannot
list them is not asked to refund either: the claim is kept and the next round tries again.

A refund the provider accepted and then failed (``refund_failed``) is asked for again only by
:func:`payment_retry_failed_refund` (an operator's admin action, or reconciliation a bounded
number of times): under the row lock it moves back to ``refund_pending`` with the same amount
and reason, forgetting the failed refund's id, and commits; then the refund is requested as
above. One caller wins the move, so concurrent retries make one request.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from payments.gateway import GatewayError, RefundResult, get_gateway
from payments.models import Payment, PaymentStatus
from phb import metrics

logger = logging.getLogger(__name__)

# A refund claim older than this without the provider's answer is considered lost (process died,
# or the provider's answer never came); the refund is then looked up before it is asked for again.
REFUND_CLAIM_TIMEOUT = timedelta(minutes=10)
# A refund in one of these states will not pay anything out (Paystack's statuses).
DEAD_REFUND_STATUSES = ("failed", "reversed")
# What a failed earlier attempt leaves on the payment.
ATTEMPT_EVENT_KINDS = ("refund_request_failed", "refund_request_unconfirmed", "refund_retried")
# What a failed refund asked for again leaves on the payment.
RETRIED_EVENT_KIND = "refund_retried"
# ``refund_provider_id`` of a refund the provider accepted, or one started in its dashboard, whose
# answer did not name it: reconciliation finds it among the transaction's refunds.
REFUND_ACCEPTED_UNNAMED = "accepted"
REFUND_STARTED_UNNAMED = "provider"
UNNAMED_REFUND_IDS = (REFUND_ACCEPTED_UNNAMED, REFUND_STARTED_UNNAMED)


def needs_refund_request(payment: Payment) -> bool:
    if payment.status != PaymentStatus.REFUND_PENDING or payment.refund_provider_id:
        return False
    claimed = payment.refund_requested_at
    return claimed is None or claimed < timezone.now() - REFUND_CLAIM_TIMEOUT


def _existing_refund(*, payment: Payment) -> RefundResult | None:
    """A refund the provider already holds for ``payment``'s charge and amount (raises GatewayError)."""
    transaction_key = payment.provider_transaction_id or payment.reference
    for refund in get_gateway().list_refunds(transaction=transaction_key):
        if refund.status in DEAD_REFUND_STATUSES or not refund.refund_id:
            continue
        if refund.amount == payment.refund_amount_minor:
            return refund
    return None


def _record_accepted(*, payment: Payment, refund: RefundResult, source: str, kind: str) -> Payment:
    from payments.services import METRIC_AREA, payment_apply_refund, record_event

    Payment.objects.filter(pk=payment.pk).update(refund_provider_id=(refund.refund_id or REFUND_ACCEPTED_UNNAMED)[:64])
    record_event(payment, kind=kind, source=source, provider_status=refund.status,
                 amount_minor=refund.amount or payment.refund_amount_minor,
                 currency=refund.currency or payment.currency, message=payment.refund_reason)
    if kind == "refund_requested":
        metrics.record("RefundRequested", area=METRIC_AREA)
    logger.info("refund accepted by the provider", extra={"event": kind, "payment_id": str(payment.pk)})
    if refund.status in ("processed", "failed"):
        return payment_apply_refund(payment_id=payment.pk, refund=refund, source=source, kind=f"refund_{refund.status}")
    return Payment.objects.get(pk=payment.pk)


def _failed(*, payment: Payment, exc: GatewayError, source: str, kind: str, give_back: bool) -> Payment:
    from payments.services import failure_metric, record_event

    if give_back:
        Payment.objects.filter(pk=payment.pk, refund_provider_id="").update(refund_requested_at=None)
    record_event(payment, kind=kind, source=source, provider_status=exc.provider_code,
                 amount_minor=payment.refund_amount_minor, currency=payment.currency, message=exc.message)
    failure_metric("refund_request_failed")
    logger.warning("refund request failed at the provider",
                   extra={"event": kind, "payment_id": str(payment.pk),
                          "provider_status": exc.status_code, "provider_code": exc.provider_code})
    return Payment.objects.get(pk=payment.pk)


def payment_request_refund(*, payment_id: uuid.UUID, source: str) -> Payment:
    """Ask the provider to refund a ``refund_pending`` payment (see the module's rules). One caller
    wins the claim; a refund the provider may already have made is looked up, never made twice."""
    now = timezone.now()
    before = Payment.objects.filter(pk=payment_id).values_list("refund_requested_at", flat=True).first()
    claimed = Payment.objects.filter(
        Q(refund_requested_at__isnull=True) | Q(refund_requested_at__lt=now - REFUND_CLAIM_TIMEOUT),
        pk=payment_id, status=PaymentStatus.REFUND_PENDING, refund_provider_id="",
    ).update(refund_requested_at=now, updated_at=now)
    payment = Payment.objects.get(pk=payment_id)
    if not claimed:
        return payment
    tried_before = before is not None or payment.events.filter(kind__in=ATTEMPT_EVENT_KINDS).exists()
    if tried_before:
        try:
            existing = _existing_refund(payment=payment)
        except GatewayError as exc:
            # Not knowing whether a refund exists, ask for none: the claim stays, a later round looks again.
            return _failed(payment=payment, exc=exc, source=source, kind="refund_lookup_failed", give_back=False)
        if existing is not None:
            return _record_accepted(payment=payment, refund=existing, source=source, kind="refund_found")
    try:
        result = get_gateway().refund(reference=payment.reference, amount=payment.refund_amount_minor,
                                      note=payment.refund_reason)
    except GatewayError as exc:
        if exc.maybe_applied:
            return _failed(payment=payment, exc=exc, source=source, kind="refund_request_unconfirmed",
                           give_back=False)
        return _failed(payment=payment, exc=exc, source=source, kind="refund_request_failed", give_back=True)
    return _record_accepted(payment=payment, refund=result, source=source, kind="refund_requested")


def payment_retry_failed_refund(*, payment_id: uuid.UUID, source: str, actor: User | None = None) -> Payment | None:
    """Ask the provider again for the refund of a ``refund_failed`` payment (the same amount, for
    the same reason). None when the payment is not ``refund_failed`` (never failed, or a
    concurrent retry took it first): one caller wins, and only that one asks the provider."""
    from payments.services import record_event

    with transaction.atomic():
        locked = Payment.objects.select_for_update().filter(pk=payment_id).first()
        if locked is None or locked.status != PaymentStatus.REFUND_FAILED:
            return None
        locked.status = PaymentStatus.REFUND_PENDING
        locked.status_reason = "The refund failed at the payment provider and is being asked for again."
        locked.refund_provider_id = ""
        locked.refund_requested_at = None
        locked.save(update_fields=["status", "status_reason", "refund_provider_id", "refund_requested_at",
                                   "updated_at"])
        record_event(locked, kind=RETRIED_EVENT_KIND, source=source, from_status=PaymentStatus.REFUND_FAILED,
                     to_status=PaymentStatus.REFUND_PENDING, amount_minor=locked.refund_amount_minor,
                     currency=locked.currency, message="The failed refund is asked for again.", actor=actor)
    logger.info("failed refund asked for again", extra={"event": RETRIED_EVENT_KIND, "payment_id": str(payment_id),
                                                        "source": source})
    return payment_request_refund(payment_id=payment_id, source=source)
