"""Places in slots: the locks and counters every path that takes or gives back a place uses
(holds in ``booking``, moves in ``moving``, cancellations in ``services``, the demo data).

Lock order is always: the patient's user row, then slot rows (by primary key), then holds. The
slot row is locked with ``select_for_update`` and its counter changed with ``F()`` updates; the
check constraint ``in_use <= capacity`` on :class:`~appointments.models.Slot` refuses any write
that would overbook, whatever the caller did. Every function here runs inside the caller's
transaction.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F

from accounts.models import User
from appointments.models import LIVE_STATUSES, Appointment, BookingHold, HoldState, Slot
from hospitals.models import Department
from phb.api.errors import Conflict

logger = logging.getLogger(__name__)


class SlotUnavailable(Conflict):
    """The slot has no place left (or the hold that had one expired and it was given away)."""

    def __init__(self, message: str = "This time slot is fully booked. Please choose another time.", **extra) -> None:
        super().__init__(message, code="slot_unavailable", **extra)


def lock_patient(patient: User) -> None:
    """Serialize one patient's bookings so the overlap check cannot race with itself."""
    User.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True).first()


def ensure_slot(*, department: Department, start: datetime, end: datetime, capacity: int) -> None:
    """The slot row of ``department`` at ``start`` exists (created empty if it did not)."""
    Slot.objects.bulk_create(
        [Slot(department=department, start=start, end=end, capacity=capacity, in_use=0)], ignore_conflicts=True
    )


def lock_slot(*, department: Department, start: datetime, end: datetime, capacity: int) -> Slot:
    """The slot row of ``department`` at ``start``, created if needed, locked."""
    ensure_slot(department=department, start=start, end=end, capacity=capacity)
    return Slot.objects.select_for_update().get(department=department, start=start)


def sweep_expired(slot: Slot, now: datetime) -> None:
    """Give back the places of holds on ``slot`` that expired. Caller holds the slot lock."""
    expired = list(
        BookingHold.objects.filter(slot=slot, state=HoldState.HELD, expires_at__lte=now).values_list("pk", flat=True)
    )
    if not expired:
        return
    BookingHold.objects.filter(pk__in=expired).update(state=HoldState.EXPIRED, updated_at=now)
    Slot.objects.filter(pk=slot.pk).update(in_use=F("in_use") - len(expired))
    slot.in_use -= len(expired)
    logger.info("booking holds expired", extra={"event": "holds_expired", "count": len(expired)})


def take_place(slot: Slot, *, capacity: int, now: datetime) -> None:
    """Take one place in the locked ``slot`` or raise :class:`SlotUnavailable`."""
    sweep_expired(slot, now)
    if slot.in_use >= capacity:
        raise SlotUnavailable()
    try:
        with transaction.atomic():
            Slot.objects.filter(pk=slot.pk).update(in_use=F("in_use") + 1, capacity=capacity)
    except IntegrityError as exc:  # the constraint: something wrote around the lock
        raise SlotUnavailable() from exc
    slot.in_use += 1
    slot.capacity = capacity


def release_place(*, slot_id: int | None) -> None:
    """Give back one place (an appointment left its slot)."""
    if slot_id is None:
        return
    Slot.objects.filter(pk=slot_id, in_use__gt=0).update(in_use=F("in_use") - 1)


def ensure_patient_free(
    *, patient: User, start: datetime, end: datetime, now: datetime,
    exclude_appointment: uuid.UUID | None = None, exclude_hold: uuid.UUID | None = None,
) -> None:
    """Refuse (409) when the patient already has an appointment or a live hold overlapping
    ``start``–``end``. Caller holds the patient's lock (:func:`lock_patient`)."""
    overlapping = Appointment.objects.filter(
        patient=patient, status__in=LIVE_STATUSES, start__lt=end, end__gt=start
    )
    if exclude_appointment:
        overlapping = overlapping.exclude(pk=exclude_appointment)
    if overlapping.exists():
        raise Conflict("You already have an appointment at this time.", code="overlapping_appointment")
    holds = BookingHold.objects.filter(
        patient=patient, state=HoldState.HELD, expires_at__gt=now, start__lt=end, end__gt=start
    )
    if exclude_hold:
        holds = holds.exclude(pk=exclude_hold)
    if holds.exists():
        raise Conflict(
            "You already have a booking in progress at this time. Finish or cancel it first.",
            code="overlapping_appointment",
        )
