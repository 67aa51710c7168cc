"""Signals other areas listen to. Both are sent only after the transaction commits.

- ``appointment_cancelled(sender=Appointment, appointment, cancelled_by, reason)``: payments refunds
  according to its policy.
- ``prescription_issued(sender=Prescription, prescription)``: storage renders and stores the PDF.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

appointment_cancelled = Signal()
prescription_issued = Signal()


def _send(signal: Signal, name: str, **kwargs) -> None:
    """Call every receiver; one failing receiver is logged and does not stop the others."""
    for receiver, result in signal.send_robust(**kwargs):
        if isinstance(result, Exception):
            logger.error(
                "signal receiver failed",
                exc_info=(type(result), result, result.__traceback__),
                extra={"event": "signal_receiver_failed", "signal": name,
                       "receiver": getattr(receiver, "__qualname__", repr(receiver))},
            )


def send_appointment_cancelled_after_commit(*, appointment, cancelled_by, reason: str) -> None:
    from appointments.models import Appointment

    transaction.on_commit(
        lambda: _send(
            appointment_cancelled, "appointment_cancelled",
            sender=Appointment, appointment=appointment, cancelled_by=cancelled_by, reason=reason,
        )
    )


def send_prescription_issued_after_commit(*, prescription) -> None:
    from appointments.models import Prescription

    transaction.on_commit(
        lambda: _send(prescription_issued, "prescription_issued", sender=Prescription, prescription=prescription)
    )
