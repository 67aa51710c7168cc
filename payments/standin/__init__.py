"""A local Paystack stand-in: the same HTTP API, in memory, for development and tests.

Speaks ``POST /transaction/initialize``, ``GET /transaction/verify/:reference`` and ``POST /refund``, ``GET /refund/:id``
with Bearer secret-key authentication and Paystack's response envelopes. A test checkout page
(``/checkout/:access_code``) marks a transaction paid (or failed, or paid with another amount or
currency) and sends the signed ``charge.success`` webhook to the configured URL; refunds are
answered ``pending`` and followed by signed ``refund.pending`` / ``refund.processed`` webhooks.

Control endpoints for tests and benchmarks (no authentication, loopback only):
``GET /_standin/health``, ``GET /_standin/stats`` (calls per operation, deliveries, and ``pending``: background deliveries
not yet finished), ``POST /_standin/reset`` (also cancels the background deliveries still to come),
``POST /_standin/config`` ``{"webhook_url", "refund_webhook_delay", "refund_outcome"}``,
``POST /_standin/faults`` ``{"operation", "status", "count", "delay"}`` (the next ``count`` calls of
that operation answer ``status`` or wait ``delay`` seconds first),
``GET /_standin/transactions/:reference``, ``POST /_standin/transactions/:reference/webhook``
(deliver the current ``charge.*`` event again; answers the receiver's status).

Run: ``python -m payments.standin --port 8765 --webhook-url http://127.0.0.1:8000/api/payments/webhook/``
with the secret key in ``PAYSTACK_STANDIN_SECRET_KEY``. Imports nothing from Django.
"""

from __future__ import annotations

from payments.standin.cli import main
from payments.standin.handler import Handler
from payments.standin.process import sidecar, start_standin_process
from payments.standin.server import StandinServer, serve
from payments.standin.state import StandinState
from payments.standin.webhooks import deliver_webhook

__all__ = [
    "Handler", "StandinServer", "StandinState", "deliver_webhook", "main", "serve", "sidecar", "start_standin_process",
]
