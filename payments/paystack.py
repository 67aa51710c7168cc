"""Paystack over HTTP (httpx): transaction/initialize, transaction/verify, refunds, webhooks.

- Base URL from ``PAYSTACK_BASE_URL`` (the real API by default; the local stand-in in development
  and tests), Bearer secret key, short connect and read timeouts.
- Retries: ``verify`` is a read and is retried on transport errors, 429 and 5xx. ``initialize`` and
  ``refund`` change state at Paystack, so they are retried only when the connection itself failed
  (nothing reached Paystack); a timeout after sending is reported, never blindly repeated, and
  marked ``maybe_applied`` (as is a 5xx answer to them): Paystack may have acted on it.
- One call, retries included, ends within ``PAYSTACK_CALL_BUDGET`` seconds (each attempt's timeouts
  are cut to what is left, and no retry starts without time for it), so a hung Paystack is a 502
  before gunicorn's worker timeout kills the request.
- Every failure becomes :class:`payments.gateway.GatewayError`; the views turn it into a 502.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any
from urllib.parse import quote

import httpx

from payments.gateway import (
    GatewayError,
    InitializeResult,
    RefundResult,
    Verification,
    WebhookEvent,
    parse_signed_event,
)
from phb.netguard import check_outbound
from phb.numbers import whole_number

logger = logging.getLogger(__name__)

_clients: dict[tuple[str, float, float], httpx.Client] = {}
_clients_lock = threading.Lock()
_RETRY_STATUSES = {429, 500, 502, 503, 504}
# A retry starts only with at least this long left in the call's budget.
_MIN_ATTEMPT_SECONDS = 1.0


def _guard(request: httpx.Request) -> None:
    check_outbound("paystack")


def _client_for(base_url: str, connect_timeout: float, read_timeout: float) -> httpx.Client:
    """One pooled client per process and configuration (httpx clients are thread-safe)."""
    key = (base_url, connect_timeout, read_timeout)
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = httpx.Client(
                    base_url=base_url,
                    timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
                    limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
                    headers={"Accept": "application/json", "User-Agent": "phb-backend"},
                    event_hooks={"request": [_guard]},
                )
                _clients[key] = client
    return client


class PaystackGateway:
    name = "paystack"

    def __init__(self, *, base_url: str, secret_key: str, connect_timeout: float = 3.0,
                 read_timeout: float = 10.0, retries: int = 2, backoff: float = 0.2,
                 budget: float = 20.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret_key = secret_key
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.budget = max(0.1, budget)

    # --- operations -----------------------------------------------------------------------
    def initialize(self, *, email: str, amount: int, currency: str, reference: str,
                   callback_url: str, metadata: dict[str, Any]) -> InitializeResult:
        body = {
            "email": email,
            "amount": int(amount),
            "currency": currency,
            "reference": reference,
            "callback_url": callback_url,
            "metadata": metadata,
            "channels": ["card"],
        }
        data = self._call("POST", "/transaction/initialize", operation="initialize", json=body, idempotent=False)
        try:
            return InitializeResult(
                authorization_url=str(data["authorization_url"]),
                access_code=str(data["access_code"]),
                reference=str(data.get("reference") or reference),
            )
        except (KeyError, TypeError) as exc:
            raise GatewayError("Paystack returned an unexpected initialize response.", operation="initialize") from exc

    def verify(self, *, reference: str) -> Verification:
        data = self._call("GET", f"/transaction/verify/{quote(reference, safe='')}", operation="verify", idempotent=True)
        try:
            return Verification(
                reference=str(data.get("reference") or reference),
                status=str(data["status"]).lower(),
                amount=int(data["amount"]),
                currency=str(data.get("currency") or "").upper(),
                transaction_id=str(data.get("id") or ""),
                gateway_response=str(data.get("gateway_response") or "")[:200],
                channel=str(data.get("channel") or "")[:32],
                paid_at=data.get("paid_at") or data.get("paidAt"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise GatewayError("Paystack returned an unexpected verify response.", operation="verify") from exc

    def refund(self, *, reference: str, amount: int | None = None, note: str = "") -> RefundResult:
        body: dict[str, Any] = {"transaction": reference}
        if amount is not None:
            body["amount"] = int(amount)
        if note:
            body["merchant_note"] = note[:200]
        data = self._call("POST", "/refund", operation="refund", json=body, idempotent=False)
        return _refund_result(data, default_amount=amount)

    def fetch_refund(self, *, refund_id: str) -> RefundResult:
        if whole_number(refund_id) is None:
            raise GatewayError("Unknown refund.", operation="fetch_refund", retryable=False)
        data = self._call("GET", f"/refund/{refund_id}", operation="fetch_refund", idempotent=True)
        return _refund_result(data, default_amount=None)

    def list_refunds(self, *, transaction: str) -> list[RefundResult]:
        """The refunds of one transaction (``GET /refund?transaction=``: its id, or its reference)."""
        data = self._call("GET", f"/refund?transaction={quote(transaction, safe='')}&perPage=100",
                          operation="list_refunds", idempotent=True, shape=list)
        return [_refund_result(item, default_amount=None) for item in data if isinstance(item, dict)]

    def parse_webhook(self, *, raw_body: bytes, signature: str | None) -> WebhookEvent:
        return parse_signed_event(raw_body=raw_body, signature=signature, secret_key=self.secret_key)

    # --- transport ------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, operation: str, idempotent: bool,
              json: dict[str, Any] | None = None, shape: type = dict) -> Any:
        if not self.secret_key:
            raise GatewayError("Payments are not configured.", operation=operation, retryable=False)
        client = _client_for(self.base_url, self.connect_timeout, self.read_timeout)
        headers = {"Authorization": f"Bearer {self.secret_key}"}
        attempt = 0
        deadline = time.monotonic() + self.budget
        while True:
            started = time.perf_counter()
            try:
                response = client.request(method, path, json=json, headers=headers, timeout=self._timeout(deadline))
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Nothing reached Paystack: safe to try again whatever the operation.
                if attempt < self.retries and self._time_for_retry(deadline, attempt + 1):
                    attempt += 1
                    self._sleep(attempt)
                    continue
                self._log(operation, "unreachable", started, attempt)
                raise GatewayError("Could not reach Paystack.", operation=operation) from exc
            except httpx.TransportError as exc:
                if idempotent and attempt < self.retries and self._time_for_retry(deadline, attempt + 1):
                    attempt += 1
                    self._sleep(attempt)
                    continue
                self._log(operation, "transport_error", started, attempt)
                raise GatewayError("Paystack did not answer in time.", operation=operation,
                                   maybe_applied=not idempotent) from exc

            retry_after = response.headers.get("Retry-After")
            if (response.status_code in _RETRY_STATUSES and idempotent and attempt < self.retries
                    and self._time_for_retry(deadline, attempt + 1, retry_after)):
                attempt += 1
                self._sleep(attempt, retry_after)
                continue
            self._log(operation, response.status_code, started, attempt)
            return self._unwrap(response, operation, shape=shape, idempotent=idempotent)

    def _unwrap(self, response: httpx.Response, operation: str, *, shape: type = dict,
                idempotent: bool = True) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise GatewayError(
                "Paystack returned an unreadable response.", operation=operation,
                status_code=response.status_code, retryable=response.status_code >= 500,
                maybe_applied=not idempotent and (response.status_code < 400 or response.status_code >= 500),
            )
        if response.status_code >= 400 or body.get("status") is not True:
            raise GatewayError(
                str(body.get("message") or "Paystack refused the request.")[:200],
                operation=operation,
                status_code=response.status_code,
                provider_code=str(body.get("code") or "")[:64],
                retryable=response.status_code >= 500 or response.status_code == 429,
                maybe_applied=not idempotent and response.status_code >= 500,
            )
        data = body.get("data")
        return data if isinstance(data, shape) else shape()

    def _timeout(self, deadline: float) -> httpx.Timeout:
        """This attempt's timeouts: the configured ones, cut to what is left of the call's budget."""
        left = max(0.1, deadline - time.monotonic())
        return httpx.Timeout(min(self.read_timeout, left), connect=min(self.connect_timeout, left))

    def _delay(self, attempt: int, retry_after: str | None = None) -> float:
        delay = self.backoff * (2 ** (attempt - 1))
        seconds = whole_number(retry_after)
        if seconds is not None:
            delay = max(delay, min(float(seconds), 2.0))
        return min(delay, 2.0)

    def _time_for_retry(self, deadline: float, attempt: int, retry_after: str | None = None) -> bool:
        return deadline - time.monotonic() - self._delay(attempt, retry_after) >= _MIN_ATTEMPT_SECONDS

    def _sleep(self, attempt: int, retry_after: str | None = None) -> None:
        time.sleep(self._delay(attempt, retry_after))

    @staticmethod
    def _log(operation: str, outcome: object, started: float, retries: int) -> None:
        logger.info(
            "paystack call",
            extra={
                "event": "paystack_call",
                "operation": operation,
                "outcome": str(outcome),
                "retries": retries,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )


def _refund_result(data: dict[str, Any], *, default_amount: int | None) -> RefundResult:
    """``POST /refund`` nests the transaction as an object, ``GET /refund/:id`` and ``GET /refund``
    give its id."""
    transaction = data.get("transaction")
    transaction_id = transaction.get("id") if isinstance(transaction, dict) else transaction
    try:
        return RefundResult(
            refund_id=str(data.get("id") or ""),
            status=str(data.get("status") or "pending").lower(),
            amount=int(data.get("amount") or default_amount or 0),
            currency=str(data.get("currency") or "").upper(),
            transaction_id=str(transaction_id or ""),
        )
    except (TypeError, ValueError) as exc:
        raise GatewayError("Paystack returned an unexpected refund response.", operation="refund") from exc
