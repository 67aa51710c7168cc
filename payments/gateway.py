"""The payment gateway seen by the rest of the code: its operations and plain result objects.

The only implementation talks to Paystack over HTTP (``payments.paystack``); in development and
tests its base URL points at the local stand-in (``payments.standin``), which speaks the same API.
Amounts cross this boundary in the provider's minor unit (kobo for NGN), as integers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any, Protocol


class GatewayError(Exception):
    """The provider could not be reached or refused the call. ``retryable`` when trying later may help.
    ``maybe_applied`` when a call that changes state may have taken effect all the same (it was sent,
    then timed out, the connection broke, or the provider answered with a server error)."""

    def __init__(self, message: str, *, operation: str, status_code: int | None = None,
                 provider_code: str = "", retryable: bool = True, maybe_applied: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.status_code = status_code
        self.provider_code = provider_code
        self.retryable = retryable
        self.maybe_applied = maybe_applied


class BadSignature(Exception):
    """A webhook whose signature is missing or does not match the raw body."""


@dataclass(frozen=True)
class InitializeResult:
    authorization_url: str
    access_code: str
    reference: str


@dataclass(frozen=True)
class Verification:
    """What the provider says about one transaction (``status`` is the *payment's* status)."""

    reference: str
    status: str  # success | failed | abandoned | ongoing | pending | processing | queued | reversed
    amount: int  # minor unit
    currency: str
    transaction_id: str = ""
    gateway_response: str = ""
    channel: str = ""
    paid_at: str | None = None


@dataclass(frozen=True)
class RefundResult:
    refund_id: str
    status: str  # pending | processing | processed | failed | needs-attention
    amount: int
    currency: str
    transaction_id: str = ""  # the refunded transaction, as the provider numbers it


@dataclass(frozen=True)
class WebhookEvent:
    event: str
    reference: str
    data: dict[str, Any] = field(default_factory=dict)


class PaymentGateway(Protocol):
    name: str

    def initialize(self, *, email: str, amount: int, currency: str, reference: str,
                   callback_url: str, metadata: dict[str, Any]) -> InitializeResult: ...

    def verify(self, *, reference: str) -> Verification: ...

    def refund(self, *, reference: str, amount: int | None = None, note: str = "") -> RefundResult: ...

    def fetch_refund(self, *, refund_id: str) -> RefundResult: ...

    def list_refunds(self, *, transaction: str) -> list[RefundResult]: ...

    def parse_webhook(self, *, raw_body: bytes, signature: str | None) -> WebhookEvent: ...


def sign(raw_body: bytes, secret_key: str) -> str:
    """Paystack's webhook signature: hex HMAC-SHA512 of the raw body keyed with the secret key."""
    return hmac.new(secret_key.encode(), raw_body, hashlib.sha512).hexdigest()


def parse_signed_event(*, raw_body: bytes, signature: str | None, secret_key: str) -> WebhookEvent:
    """Check the signature over the exact bytes received (constant time), then parse them."""
    if not secret_key or not signature:
        raise BadSignature("missing signature")
    expected = sign(raw_body, secret_key)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise BadSignature("signature mismatch")
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("webhook body is not JSON") from exc
    if not isinstance(payload, dict):
        raise ValueError("webhook body is not an object")
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    event = str(payload.get("event", ""))
    return WebhookEvent(event=event, reference=_reference_of(event, data), data=data)


def _reference_of(event: str, data: dict[str, Any]) -> str:
    """The *transaction* reference: ``reference`` on ``charge.*``; on ``refund.*`` it is
    ``transaction_reference`` (or ``transaction.reference``)."""
    transaction = data.get("transaction") if isinstance(data.get("transaction"), dict) else {}
    if event.startswith("refund."):
        candidates = (data.get("transaction_reference"), transaction.get("reference"))
    else:
        candidates = (data.get("reference"), transaction.get("reference"))
    for value in candidates:
        if isinstance(value, str) and value:
            return value
    return ""


def get_gateway() -> PaymentGateway:
    """The configured gateway, built from settings on each call (cheap: the HTTP pool is shared)."""
    from django.conf import settings

    from payments.paystack import PaystackGateway

    return PaystackGateway(
        base_url=settings.PAYSTACK_BASE_URL,
        secret_key=settings.PAYSTACK_SECRET_KEY,
        connect_timeout=settings.PAYSTACK_CONNECT_TIMEOUT,
        read_timeout=settings.PAYSTACK_READ_TIMEOUT,
        retries=settings.PAYSTACK_MAX_RETRIES,
        budget=settings.PAYSTACK_CALL_BUDGET,
    )
