"""What the stand-in holds in memory, and a transaction as Paystack reports it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

# A test card, as Paystack reports it. The backend must never store or log these fields.
_TEST_AUTHORIZATION = {
    "authorization_code": "AUTH_standin",
    "bin": "408408",
    "last4": "4081",
    "exp_month": "12",
    "exp_year": "2030",
    "channel": "card",
    "card_type": "visa",
    "bank": "TEST BANK",
    "country_code": "NG",
    "brand": "visa",
    "reusable": True,
    "signature": "SIG_standin",
}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class StandinState:
    def __init__(self, *, secret_key: str, webhook_url: str = "", public_url: str = "") -> None:
        self.lock = threading.Lock()
        self.secret_key = secret_key
        self.webhook_url = webhook_url
        self.public_url = public_url
        self.refund_webhook_delay = 0.2
        self.refund_outcome = "processed"
        self.transactions: dict[str, dict[str, Any]] = {}
        self.by_access_code: dict[str, str] = {}
        self.by_id: dict[int, str] = {}
        self.refunds: dict[int, dict[str, Any]] = {}
        self.stats: dict[str, int] = {}
        self.faults: dict[str, dict[str, Any]] = {}
        self.deliveries: list[dict[str, Any]] = []
        self.pending = 0  # background deliveries (refund settlements, async webhooks) not yet finished
        self._cancel = threading.Event()  # set by reset(): background work started before it stops
        self._next_id = int(time.time()) * 10

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def background(self, target: Callable[..., Any], *args: Any) -> None:
        """Run ``target(*args, cancelled=event)`` in a daemon thread, counted in :attr:`pending`
        until it returns. ``event`` is set by the next :meth:`reset`: work started before a reset
        waits on it instead of sleeping and delivers nothing after it."""
        with self.lock:
            self.pending += 1
            cancelled = self._cancel

        def run() -> None:
            try:
                if not cancelled.is_set():
                    target(*args, cancelled=cancelled)
            finally:
                with self.lock:
                    self.pending -= 1

        threading.Thread(target=run, daemon=True).start()

    def count(self, operation: str) -> None:
        with self.lock:
            self.stats[operation] = self.stats.get(operation, 0) + 1

    def take_fault(self, operation: str) -> dict[str, Any] | None:
        with self.lock:
            fault = self.faults.get(operation)
            if not fault or fault["count"] <= 0:
                return None
            fault["count"] -= 1
            return dict(fault)

    def reset(self) -> None:
        with self.lock:
            self._cancel.set()
            self._cancel = threading.Event()
            self.stats.clear()
            self.faults.clear()
            self.deliveries.clear()


def _transaction_data(tx: dict[str, Any]) -> dict[str, Any]:
    data = {
        "id": tx["id"],
        "domain": "test",
        "status": tx["status"],
        "reference": tx["reference"],
        "amount": tx["paid_amount"] if tx["paid_amount"] is not None else tx["amount"],
        "message": None,
        "gateway_response": tx["gateway_response"],
        "paid_at": tx["paid_at"],
        "created_at": tx["created_at"],
        "channel": "card",
        "currency": tx["paid_currency"] or tx["currency"],
        "metadata": tx["metadata"],
        "fees": 0,
        "customer": {"email": tx["email"], "customer_code": "CUS_standin"},
        "requested_amount": tx["amount"],
    }
    if tx["status"] == "success":
        data["authorization"] = dict(_TEST_AUTHORIZATION)
    return data
