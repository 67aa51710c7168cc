"""A patient who starts paying again for a time she already holds.

The booking page starts a checkout each time the patient presses Proceed, also after she closed
the payment window without paying. Her own live hold for that time must not refuse her (the
booking rules refuse overlapping holds), and she must never end up holding two places:

- the same booking (department, start, priority, type) whose checkout is still open and has a
  while left to run: the same payment is answered again (Paystack resumes a checkout by its
  reference); the hold takes the latest details (symptoms, notes);
- anything else of hers at an overlapping time (another department, priority or type, a hold
  about to run out, one whose checkout never opened): that hold is released and its payment
  expired, so a new one starts. A charge that still arrives on the expired payment completes if
  the booking can still be honoured, and is refunded otherwise (``payments.services``);
- a checkout of hers still being opened by another request (a double click): wait, bounded, for
  it to open, then answer it (or, if it failed, start afresh).

Every decision is taken under the patient's row lock, in the same transaction that creates the
new hold, so two concurrent presses cannot both create one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from accounts.models import User
from appointments import booking as booking_rules
from appointments import fees, slot_grid
from appointments.booking import hold_release
from appointments.models import BookingHold, HoldState, Slot
from hospitals.models import Department
from payments.models import EventSource, Payment, PaymentStatus, Provider
from phb.api.errors import ApiError

logger = logging.getLogger(__name__)

# A checkout with less than this left on its hold is replaced rather than reopened.
REUSE_MIN_REMAINING = timedelta(minutes=2)
# How often a request looks again at a checkout another request of the patient is opening.
IN_FLIGHT_POLL_SECONDS = 0.1

T = TypeVar("T")


@dataclass(frozen=True)
class Reused:
    payment: Payment


def _in_flight_wait_seconds() -> float:
    """As long as opening a checkout may take (one provider call) and a little more."""
    return float(settings.PAYSTACK_CONNECT_TIMEOUT) + float(settings.PAYSTACK_READ_TIMEOUT) + 1.0


def _requested_start(*, department_id, start_local: datetime) -> tuple[datetime, datetime] | None:
    try:
        department = Department.objects.select_related("hospital").filter(pk=int(department_id)).first()
    except (TypeError, ValueError):
        return None
    if department is None:
        return None
    start = slot_grid.local_to_aware(start_local, slot_grid.hospital_zone(department.hospital))
    return start, start + slot_grid.slot_length()


def _own_live_hold(*, patient: User, start: datetime, end: datetime, now: datetime) -> BookingHold | None:
    """Her live hold overlapping ``start``–``end``, locked in the booking lock order
    (``appointments.slot_places``): the caller holds her row, then the hold's slot is locked, then
    the hold. The hold sweep and every booking path take the slot before the hold, so a hold
    expiring meanwhile makes one of them wait for the other, never a deadlock. A hold that was
    swept or released while its slot was being locked is passed over."""
    live = BookingHold.objects.filter(patient=patient, state=HoldState.HELD, expires_at__gt=now,
                                      start__lt=end, end__gt=start)
    passed_over: list = []
    while True:
        candidate = live.exclude(pk__in=passed_over).order_by("-created_at").values("pk", "slot_id").first()
        if candidate is None:
            return None
        Slot.objects.select_for_update().filter(pk=candidate["slot_id"]).values_list("pk", flat=True).first()
        hold = live.select_for_update().filter(pk=candidate["pk"]).first()
        if hold is not None:
            return hold
        passed_over.append(candidate["pk"])


def _payment_of(hold: BookingHold, *, patient: User) -> tuple[bool, Payment | None]:
    """The hold's payment, locked; ``busy`` when another transaction holds it (a webhook or a
    verification confirming it takes the payment's lock, then the patient's: waiting here would
    deadlock with it)."""
    try:
        with transaction.atomic():
            payment = (Payment.objects.select_for_update(nowait=True).filter(hold_id=hold.pk, patient=patient)
                       .order_by("-created_at").first())
    except DatabaseError:
        return True, None
    return False, payment


def _same_booking(hold: BookingHold, *, department_id, start: datetime, priority: str, appointment_type: str) -> bool:
    try:
        normalized = fees.normalize_priority(priority)
    except Exception:  # an invalid priority is refused when the new hold is created
        return False
    return (
        str(hold.department_id) == str(department_id)
        and hold.start == start
        and hold.priority == normalized
        and hold.appointment_type == (appointment_type or "consultation")[:32]
    )


def _expire(payment: Payment | None, *, reason: str) -> None:
    from payments.services import record_event

    if payment is None or payment.status not in (PaymentStatus.INITIALIZED, PaymentStatus.PENDING):
        return
    Payment.objects.filter(pk=payment.pk, status=payment.status).update(status=PaymentStatus.EXPIRED, status_reason=reason,
                                                 updated_at=timezone.now())
    record_event(payment, kind="replaced", source=EventSource.API, from_status=payment.status,
                 to_status=PaymentStatus.EXPIRED, message=reason)


def with_own_checkout(
    *, patient: User, department_id, start_local: datetime, priority: str, appointment_type: str,
    details: dict, start_new: Callable[[], T],
) -> Reused | T:
    """Answer the patient's open checkout for this same booking, or clear her way and call
    ``start_new`` (inside the same transaction, under her lock). Bounded: waits at most about
    one provider call for a checkout another request of hers is opening."""
    span = _requested_start(department_id=department_id, start_local=start_local)
    deadline = time.monotonic() + _in_flight_wait_seconds()
    while True:
        with transaction.atomic():
            User.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True).first()
            now = timezone.now()
            hold = _own_live_hold(patient=patient, start=span[0], end=span[1], now=now) if span else None
            if hold is None:
                return start_new()
            busy, payment = _payment_of(hold, patient=patient)
            opening = busy or (payment is not None and payment.status == PaymentStatus.INITIALIZED)
            if busy and time.monotonic() >= deadline:
                raise ApiError("Your previous payment for this time is still being confirmed. "
                               "Check your appointments in a moment.", status_code=503, code="payment_in_progress")
            if not (opening and time.monotonic() < deadline):
                same = _same_booking(hold, department_id=department_id, start=span[0], priority=priority,
                                     appointment_type=appointment_type)
                if (same and payment is not None and payment.provider == Provider.PAYSTACK
                        and payment.status == PaymentStatus.PENDING and payment.access_code
                        and hold.expires_at - now >= REUSE_MIN_REMAINING):
                    hold.details = booking_rules.clean_details(details)
                    hold.save(update_fields=["details", "updated_at"])
                    logger.info("checkout reopened", extra={"event": "checkout_reused", "payment_id": str(payment.pk)})
                    return Reused(payment=payment)
                _expire(payment, reason="Replaced by a new checkout for the same time.")
                hold_release(hold_id=hold.pk)
                logger.info("checkout replaced", extra={"event": "checkout_replaced", "hold_id": str(hold.pk)})
                return start_new()
        time.sleep(IN_FLIGHT_POLL_SECONDS)
