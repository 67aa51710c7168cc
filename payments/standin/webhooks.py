"""Signed webhook deliveries to the configured receiver, as Paystack sends them."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

from payments.gateway import sign
from payments.standin.state import StandinState


def deliver_webhook(state: StandinState, event: str, data: dict[str, Any], *,
                    cancelled: threading.Event | None = None) -> int | None:
    """POST a signed event to the configured webhook URL; returns the receiver's status code.
    Nothing is sent once ``cancelled`` is set (the stand-in was reset since the work began)."""
    url = state.webhook_url
    if not url or (cancelled is not None and cancelled.is_set()):
        return None
    body = json.dumps({"event": event, "data": data}, separators=(",", ":")).encode()
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/json", "x-paystack-signature": sign(body, state.secret_key)},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError):
        status = 0
    with state.lock:
        state.deliveries.append({"event": event, "reference": data.get("reference") or data.get("transaction_reference"),
                                 "status": status})
    return status
