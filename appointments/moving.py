"""Moving an appointment to another slot (a reschedule, by the patient or accepted from a
doctor's proposal): the new place taken before the old one is given back, in one transaction,
under the locks of :mod:`appointments.slot_places`.

Times: ``start_local`` is a naive datetime on the hospital's wall clock (the frontend's time
labelled ``Z``); the appointment stores aware datetimes.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from appointments import rosters
from appointments.models import Appointment, AppointmentStatus, Slot
from appointments.slot_grid import slot_capacity, validate_start, wall_clock_of
from appointments.slot_places import ensure_patient_free, ensure_slot, lock_patient, release_place, take_place
from phb.api.errors import ApiError, Conflict

logger = logging.getLogger(__name__)

MOVABLE_STATUSES = (AppointmentStatus.PENDING, AppointmentStatus.CONFIRMED, AppointmentStatus.RESCHEDULED)


def late_change_from_after_move(*, appointment: Appointment, by_hospital: bool, now: datetime) -> datetime | None:
    """What ``late_change_from`` becomes when ``appointment`` moves (before its fields change).

    A patient's move inside the late-cancellation window (``PAYMENTS_REFUND_WINDOW_HOURS`` before
    the start she had) keeps that start as her deadline's anchor, so moving a booking she can no
    longer cancel with a refund does not buy a new window. A move made earlier, a move that answers
    the hospital's change of time, and the hospital's own move start afresh from the new time."""
    if by_hospital or appointment.time_set_by_hospital or appointment.status == AppointmentStatus.RESCHEDULED:
        return None
    anchor = appointment.late_cancel_from
    window = timedelta(hours=settings.PAYMENTS_REFUND_WINDOW_HOURS)
    return anchor if now > anchor - window else None


def appointment_move(*, appointment: Appointment, start_local: datetime, now: datetime | None = None,
                     by_hospital: bool = False) -> Appointment:
    """Move ``appointment`` to the slot starting at ``start_local`` (hospital wall clock), atomically.

    Takes the new place before giving back the old one, inside one transaction: on any refusal
    nothing changes. An appointment whose status no longer occupies a place (``rescheduled``)
    only takes the new place. ``by_hospital``: a doctor chose the time (her proposed time), not
    the patient (see :func:`late_change_from_after_move` for what each means to a refund).
    """
    now = now or timezone.now()
    hospital = appointment.hospital
    department = appointment.department
    start, end = validate_start(start_local=start_local, hospital=hospital, now=now)
    capacity = slot_capacity(department=department, start_local=wall_clock_of(start, hospital))
    if capacity <= 0:
        raise ApiError("This department takes no appointments at that time.", code="department_closed")
    with transaction.atomic():
        lock_patient(appointment.patient)
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if current.status not in MOVABLE_STATUSES:
            raise Conflict(
                f"A {current.status.replace('_', ' ')} appointment cannot be rescheduled.", code="invalid_transition"
            )
        if current.status == AppointmentStatus.CONFIRMED and current.start <= now and not by_hospital:
            # Its time has come: the consultation may have taken place (a doctor completes a confirmed
            # appointment without starting it), so it is completed, a no-show or cancelled, not moved.
            raise Conflict("This appointment's time has come, so it can no longer be rescheduled. "
                           "Contact the hospital if you could not attend.", code="start_passed")
        if start == current.start and current.status != AppointmentStatus.RESCHEDULED:
            raise ApiError("The appointment is already at this time.", code="same_slot")
        ensure_patient_free(
            patient=appointment.patient, start=start, end=end, now=now, exclude_appointment=appointment.pk
        )
        ensure_slot(department=department, start=start, end=end, capacity=capacity)
        new_slot_id = Slot.objects.filter(department=department, start=start).values_list("pk", flat=True).get()
        ids = sorted({new_slot_id, current.slot_id} - {None})
        locked = {slot.pk: slot for slot in Slot.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
        new_slot = locked[new_slot_id]
        take_place(new_slot, capacity=capacity, now=now)
        if current.status != AppointmentStatus.RESCHEDULED:  # a rescheduled appointment holds no place
            release_place(slot_id=current.slot_id)
        current.late_change_from = late_change_from_after_move(appointment=current, by_hospital=by_hospital, now=now)
        current.time_set_by_hospital = by_hospital
        current.previous_start = current.start
        current.doctor_id = rosters.pick_doctor(
            department=department, start_local=wall_clock_of(start, hospital), start=start,
            prefer=current.doctor_id, exclude_appointment=current.pk,
        ) or (None if rosters.has_roster(department=department) else current.doctor_id)
        current.start, current.end, current.slot_id = start, end, new_slot_id
        current.reschedule_count += 1
        if current.status == AppointmentStatus.RESCHEDULED:  # confirmed again only if a doctor had accepted it
            accepted = current.doctor_id and current.accepted_at
            current.status = AppointmentStatus.CONFIRMED if accepted else AppointmentStatus.PENDING
        try:
            with transaction.atomic():
                current.save(update_fields=["start", "end", "slot", "reschedule_count", "previous_start", "status",
                                            "doctor", "late_change_from", "time_set_by_hospital", "updated_at"])
        except IntegrityError as exc:
            raise Conflict("You already have an appointment at this time.", code="overlapping_appointment") from exc
    logger.info("appointment moved", extra={"event": "appointment_moved", "appointment_id": str(appointment.pk)})
    return current
