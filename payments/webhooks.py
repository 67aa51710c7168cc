"""Paystack webhooks: each event handled once (deduplicated on its id), through the same
verification and refund paths as the patient's own calls.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from payments.gateway import WebhookEvent
from payments.models import (
    SETTLED_STATUSES,
    EventSource,
    Payment,
    PaymentEvent,
)
from payments.services import (
    needs_refund_request,
    payment_apply_refund,
    payment_fetch_refund,
    payment_find_refund,
    payment_verify,
    record_event,
)

logger = logging.getLogger(__name__)


# --- webhooks ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WebhookOutcome:
    result: str  # processed | duplicate | ignored
    provider_calls: int = 0


def _dedupe_key(event: WebhookEvent) -> str:
    key = f"{event.event}:{event.reference}"
    refund = event.data.get("id") if event.data.get("id") is not None else event.data.get("refund_reference")
    if event.event.startswith("refund.") and refund is not None:
        key = f"{key}:{refund}"
    return key[:160]


def _mark_handled(payment: Payment, event: WebhookEvent, key: str) -> None:
    try:
        with transaction.atomic():
            record_event(payment, kind="webhook_handled", source=EventSource.WEBHOOK, provider_status=event.event[:32],
                   dedupe_key=key)
    except IntegrityError:
        pass  # a concurrent delivery of the same event got there first


def webhook_handle(*, event: WebhookEvent) -> WebhookOutcome:
    """Act on a signature-checked provider event. Redeliveries are answered from the database."""
    if not event.reference or not (event.event == "charge.success" or event.event.startswith("refund.")):
        logger.info("webhook ignored", extra={"event": "webhook_ignored", "webhook_event": event.event[:48]})
        return WebhookOutcome("ignored")
    payment = Payment.objects.filter(reference=event.reference).first()
    if payment is None:
        logger.info("webhook for an unknown reference", extra={"event": "webhook_unknown_reference",
                                                                "webhook_event": event.event[:48]})
        return WebhookOutcome("ignored")
    key = _dedupe_key(event)
    if PaymentEvent.objects.filter(dedupe_key=key).exists():
        logger.info("duplicate webhook", extra={"event": "webhook_duplicate", "payment_id": str(payment.pk)})
        return WebhookOutcome("duplicate")

    if event.event.startswith("refund."):
        # Like charges, refunds are never taken from the payload: ask the provider about it.
        refund_id = event.data.get("id")
        if refund_id is None or refund_id == "":
            # Paystack's refund events name the transaction, not the refund: find it at the provider.
            refund = payment_find_refund(payment=payment, amount=event.data.get("amount"),
                                         status=str(event.data.get("status") or ""))
        else:
            refund = payment_fetch_refund(payment=payment, refund_id=str(refund_id))
        if refund is None:
            logger.warning("refund webhook for a refund that is not this payment's",
                           extra={"event": "webhook_refund_unmatched", "payment_id": str(payment.pk)})
        else:
            payment_apply_refund(payment_id=payment.pk, refund=refund, source=EventSource.WEBHOOK,
                                 kind=event.event)
        _mark_handled(payment, event, key)
        return WebhookOutcome("processed", provider_calls=1)

    # charge.success: never trust the payload; re-verify with the provider before giving value.
    if payment.status in SETTLED_STATUSES and not needs_refund_request(payment):
        _mark_handled(payment, event, key)
        return WebhookOutcome("duplicate")
    payment = payment_verify(payment=payment, source=EventSource.WEBHOOK)
    if payment.status in SETTLED_STATUSES:
        # Only a settled outcome closes the event: if the provider did not (yet) confirm the charge,
        # the next delivery verifies again.
        _mark_handled(payment, event, key)
    return WebhookOutcome("processed", provider_calls=1)
