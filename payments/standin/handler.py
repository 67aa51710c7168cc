"""The HTTP handler: control endpoints, the Paystack API and the test checkout page."""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from payments.standin.state import StandinState, _now, _transaction_data
from payments.standin.webhooks import deliver_webhook
from phb.numbers import whole_number

_REFERENCE = re.compile(r"[A-Za-z0-9.\-=]{1,100}")
_CURRENCIES = {"NGN", "GHS", "ZAR", "USD", "KES"}


class Handler(BaseHTTPRequestHandler):
    server_version = "PaystackStandin/1.0"
    protocol_version = "HTTP/1.1"

    @property
    def state(self) -> StandinState:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return

    # --- helpers ---------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _fail(self, status: int, message: str, code: str = "") -> None:
        body: dict[str, Any] = {"status": False, "message": message}
        if code:
            body["code"] = code
        self._json(status, body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json_body(self) -> dict[str, Any] | None:
        try:
            payload = json.loads(self._body() or b"{}")
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None

    def _authorized(self) -> bool:
        expected = f"Bearer {self.state.secret_key}"
        if not secrets.compare_digest(self.headers.get("Authorization", "").encode(), expected.encode()):
            self._fail(401, "Invalid key")
            return False
        return True

    def _apply_fault(self, operation: str) -> bool:
        """True when a configured fault answered the request."""
        fault = self.state.take_fault(operation)
        if not fault:
            return False
        if fault.get("delay"):
            time.sleep(float(fault["delay"]))
        if fault.get("status"):
            self._fail(int(fault["status"]), "Simulated failure")
            return True
        return False

    # --- routing ---------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        if path.rstrip("/") == "/refund":
            return self._list_refunds(parse_qs(urlsplit(self.path).query))
        if path == "/_standin/health":
            return self._json(200, {"status": "ok"})
        if path == "/_standin/stats":
            with self.state.lock:
                return self._json(200, {"calls": dict(self.state.stats), "deliveries": list(self.state.deliveries),
                                        "pending": self.state.pending})
        if path.startswith("/_standin/transactions/"):
            reference = path.removeprefix("/_standin/transactions/").strip("/")
            tx = self.state.transactions.get(reference)
            return self._json(200, _transaction_data(tx)) if tx else self._fail(404, "not found")
        if path.startswith("/transaction/verify/"):
            return self._verify(path.removeprefix("/transaction/verify/").strip("/"))
        if path.startswith("/refund/"):
            return self._fetch_refund(path.removeprefix("/refund/").strip("/"))
        if path.startswith("/checkout/"):
            return self._checkout_page(path.removeprefix("/checkout/").strip("/"))
        return self._fail(404, "Not found")

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        if path == "/transaction/initialize":
            return self._initialize()
        if path == "/refund":
            return self._refund()
        if path.startswith("/checkout/"):
            return self._checkout_submit(path.removeprefix("/checkout/").strip("/"))
        if path == "/_standin/reset":
            self._body()
            self.state.reset()
            return self._json(200, {"status": "ok"})
        if path == "/_standin/config":
            payload = self._json_body() or {}
            with self.state.lock:
                if "webhook_url" in payload:
                    self.state.webhook_url = str(payload["webhook_url"] or "")
                if "refund_webhook_delay" in payload:
                    self.state.refund_webhook_delay = float(payload["refund_webhook_delay"])
                if "refund_outcome" in payload:
                    self.state.refund_outcome = str(payload["refund_outcome"])
            return self._json(200, {"status": "ok"})
        if path == "/_standin/faults":
            payload = self._json_body() or {}
            with self.state.lock:
                self.state.faults[str(payload.get("operation"))] = {
                    "status": int(payload.get("status") or 0),
                    "count": int(payload.get("count") or 1),
                    "delay": float(payload.get("delay") or 0),
                }
            return self._json(200, {"status": "ok"})
        if path.startswith("/_standin/transactions/") and path.endswith("/webhook"):
            self._body()
            reference = path.removeprefix("/_standin/transactions/").removesuffix("/webhook").strip("/")
            tx = self.state.transactions.get(reference)
            if not tx:
                return self._fail(404, "not found")
            event = "charge.success" if tx["status"] == "success" else "charge.failed"
            status = deliver_webhook(self.state, event, _transaction_data(tx))
            return self._json(200, {"event": event, "delivered_status": status})
        return self._fail(404, "Not found")

    # --- the Paystack API ------------------------------------------------------------------
    def _initialize(self) -> None:
        self.state.count("initialize")
        payload = self._json_body()
        if not self._authorized() or self._apply_fault("initialize"):
            return None
        if payload is None:
            return self._fail(400, "Invalid JSON body")
        email = str(payload.get("email") or "")
        amount = payload.get("amount")
        currency = str(payload.get("currency") or "NGN").upper()
        reference = str(payload.get("reference") or f"T{secrets.token_hex(7)}")
        if "@" not in email:
            return self._fail(400, "Invalid Email Address Passed", "invalid_params")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            return self._fail(400, "Invalid Amount Sent", "invalid_params")
        if currency not in _CURRENCIES:
            return self._fail(400, "Currency not supported by merchant", "unsupported_currency")
        if not _REFERENCE.fullmatch(reference):
            return self._fail(400, "Invalid transaction reference", "invalid_reference")
        access_code = secrets.token_urlsafe(12).replace("_", "x").replace("-", "y")
        with self.state.lock:
            if reference in self.state.transactions:
                return self._fail(400, "Duplicate Transaction Reference", "duplicate_reference")
            tx_id = self.state.next_id()
            self.state.transactions[reference] = {
                "id": tx_id,
                "reference": reference,
                "access_code": access_code,
                "email": email,
                "amount": amount,
                "currency": currency,
                "callback_url": str(payload.get("callback_url") or ""),
                "metadata": payload.get("metadata") or {},
                "status": "abandoned",
                "gateway_response": "The transaction was not completed",
                "paid_at": None,
                "paid_amount": None,
                "paid_currency": None,
                "created_at": _now(),
                "refunded": 0,
            }
            self.state.by_access_code[access_code] = reference
            self.state.by_id[tx_id] = reference
        base = self.state.public_url or f"http://{self.headers.get('Host', '127.0.0.1')}"
        return self._json(200, {
            "status": True,
            "message": "Authorization URL created",
            "data": {"authorization_url": f"{base}/checkout/{access_code}", "access_code": access_code,
                     "reference": reference},
        })

    def _verify(self, reference: str) -> None:
        self.state.count("verify")
        if not self._authorized() or self._apply_fault("verify"):
            return None
        tx = self.state.transactions.get(reference)
        if tx is None:
            return self._fail(400, "Transaction reference not found", "transaction_not_found")
        with self.state.lock:
            data = _transaction_data(tx)
        return self._json(200, {"status": True, "message": "Verification successful", "data": data})

    def _refund(self) -> None:
        self.state.count("refund")
        payload = self._json_body() or {}
        if not self._authorized() or self._apply_fault("refund"):
            return None
        key = str(payload.get("transaction") or "")
        reference = key if key in self.state.transactions else self.state.by_id.get(whole_number(key))
        tx = self.state.transactions.get(reference or "")
        if tx is None:
            return self._fail(404, "Transaction not found", "transaction_not_found")
        with self.state.lock:
            paid = tx["paid_amount"] if tx["paid_amount"] is not None else tx["amount"]
            if tx["status"] != "success":
                return self._fail(400, "Cannot refund a transaction that was not successful", "invalid_params")
            remaining = paid - tx["refunded"]
            amount = payload.get("amount", remaining)
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0 or amount > remaining:
                message = "Transaction has been fully reversed" if remaining <= 0 else "Refund amount cannot be more than transaction amount"
                return self._fail(400, message, "invalid_params")
            tx["refunded"] += amount
            refund_id = self.state.next_id()
            refund = {"id": refund_id, "transaction": reference, "amount": amount,
                      "currency": tx["paid_currency"] or tx["currency"], "status": "pending", "createdAt": _now()}
            self.state.refunds[refund_id] = refund
            delay, outcome = self.state.refund_webhook_delay, self.state.refund_outcome
        self.state.background(self._settle_refund, refund_id, delay, outcome)
        return self._json(200, {
            "status": True,
            "message": "Refund has been queued for processing",
            "data": {"transaction": {"id": tx["id"], "reference": reference, "amount": paid},
                     "id": refund_id, "amount": amount, "currency": refund["currency"], "status": "pending",
                     "domain": "test", "refunded_by": "standin", "merchant_note": str(payload.get("merchant_note") or "")},
        })

    def _fetch_refund(self, refund_id: str) -> None:
        self.state.count("fetch_refund")
        if not self._authorized() or self._apply_fault("fetch_refund"):
            return None
        refund = self.state.refunds.get(whole_number(refund_id))
        if refund is None:
            return self._fail(404, "Refund not found", "not_found")
        with self.state.lock:
            tx = self.state.transactions[refund["transaction"]]
            data = {"id": refund["id"], "transaction": tx["id"], "amount": refund["amount"],
                    "currency": refund["currency"], "status": refund["status"], "domain": "test",
                    "createdAt": refund["createdAt"]}
        return self._json(200, {"status": True, "message": "Refund retrieved", "data": data})

    def _list_refunds(self, query: dict[str, list[str]]) -> None:
        """``GET /refund?transaction=``: the refunds of one transaction (its id or reference), newest first."""
        self.state.count("list_refunds")
        if not self._authorized() or self._apply_fault("list_refunds"):
            return None
        key = (query.get("transaction") or [""])[-1]
        reference = key if key in self.state.transactions else self.state.by_id.get(whole_number(key))
        with self.state.lock:
            tx = self.state.transactions.get(reference or "")
            found = [r for r in self.state.refunds.values() if tx is not None and r["transaction"] == reference]
            data = [{"id": r["id"], "transaction": tx["id"], "amount": r["amount"], "deducted_amount": r["amount"],
                     "currency": r["currency"], "status": r["status"], "domain": "test", "createdAt": r["createdAt"]}
                    for r in sorted(found, key=lambda r: r["id"], reverse=True)]
        return self._json(200, {"status": True, "message": "Refunds retrieved", "data": data,
                                "meta": {"total": len(data), "skipped": 0, "perPage": 100, "page": 1,
                                         "pageCount": 1}})

    def _settle_refund(self, refund_id: int, delay: float, outcome: str, *, cancelled: threading.Event) -> None:
        state = self.state
        refund = state.refunds[refund_id]
        tx = state.transactions[refund["transaction"]]

        def data(status: str) -> dict[str, Any]:
            return {"id": refund_id, "status": status, "transaction_reference": tx["reference"],
                    "refund_reference": f"RF{refund_id}", "amount": refund["amount"], "currency": refund["currency"],
                    "domain": "test", "customer": {"email": tx["email"]}}

        if cancelled.wait(delay / 2):
            return
        deliver_webhook(state, "refund.pending", data("pending"), cancelled=cancelled)
        if cancelled.wait(delay / 2):
            return
        with state.lock:
            refund["status"] = outcome
            if outcome == "failed":
                tx["refunded"] -= refund["amount"]
        deliver_webhook(state, f"refund.{outcome}", data(outcome), cancelled=cancelled)

    # --- test checkout ---------------------------------------------------------------------
    def _checkout_page(self, access_code: str) -> None:
        reference = self.state.by_access_code.get(access_code)
        tx = self.state.transactions.get(reference or "")
        if tx is None:
            return self._send(404, b"<h1>Unknown checkout</h1>", "text/html; charset=utf-8")
        esc = html.escape
        major = tx["amount"] / 100
        page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Test checkout</title></head>
<body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">
<h1>Paystack stand-in: test checkout</h1>
<p>Reference <code>{esc(tx['reference'])}</code>: {esc(tx['currency'])} {major:,.2f}. Status: <b>{esc(tx['status'])}</b></p>
<form method="post">
<input type="hidden" name="outcome" value="success"><button type="submit">Pay {esc(tx['currency'])} {major:,.2f}</button>
</form>
<form method="post"><input type="hidden" name="outcome" value="failed"><button type="submit">Decline</button></form>
<details><summary>Test options</summary><form method="post">
<label>Amount in kobo <input name="amount" value="{tx['amount']}"></label>
<label>Currency <input name="currency" value="{esc(tx['currency'])}"></label>
<input type="hidden" name="outcome" value="success"><button type="submit">Pay this amount</button></form></details>
<p>No real card is charged. This page exists only on the local stand-in.</p></body></html>"""
        return self._send(200, page.encode(), "text/html; charset=utf-8")

    def _checkout_submit(self, access_code: str) -> None:
        raw = self._body().decode("utf-8", "replace")
        form = {key: values[-1] for key, values in parse_qs(raw).items()}
        reference = self.state.by_access_code.get(access_code)
        tx = self.state.transactions.get(reference or "")
        if tx is None:
            return self._fail(404, "Unknown checkout")
        outcome = form.get("outcome", "success")
        with self.state.lock:
            if tx["status"] == "success":
                return self._fail(400, "Transaction already paid")
            if outcome == "success":
                tx["status"] = "success"
                tx["gateway_response"] = "Successful"
                tx["paid_at"] = _now()
                amount = form.get("amount", "")
                paid = whole_number(amount.strip())
                tx["paid_amount"] = tx["amount"] if paid is None else paid
                tx["paid_currency"] = (form.get("currency") or tx["currency"]).upper()
                event = "charge.success"
            else:
                tx["status"] = "failed"
                tx["gateway_response"] = "Declined"
                event = None
            data = _transaction_data(tx)
        mode = form.get("webhook", "sync")
        delivered: int | None = None
        if event and mode == "sync":
            delivered = deliver_webhook(self.state, event, data)
        elif event and mode == "async":
            self.state.background(deliver_webhook, self.state, event, data)
        if form.get("respond") == "json" or "application/json" in self.headers.get("Accept", ""):
            return self._json(200, {"reference": tx["reference"], "status": tx["status"], "webhook_status": delivered})
        callback = tx["callback_url"]
        if callback:
            joiner = "&" if "?" in callback else "?"
            location = f"{callback}{joiner}{urlencode({'trxref': tx['reference'], 'reference': tx['reference']})}"
            return self._send(303, b"", "text/plain", {"Location": location})
        return self._send(200, f"<p>Transaction {html.escape(tx['status'])}.</p>".encode(), "text/html; charset=utf-8")
