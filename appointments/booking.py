"""The one booking service: holds, confirming them, and moving an appointment between slots
(the fee comes from ``fees``, the slot grid and its capacity from ``slot_grid``).

Every path that takes or gives back a place in a slot goes through this module. Lock order is
always: the patient's user row, then slot rows (by primary key), then holds. The slot row is
locked with ``select_for_update`` and its counter changed with ``F()`` updates; the check
constraint ``in_use <= capacity`` on :class:`~appointments.models.Slot` refuses any write that
would overbook, whatever the caller did.

Times: the frontend sends a local wall-clock time labelled ``Z``. Functions here take
``start_local``, a naive datetime on the hospital's wall clock, and store aware datetimes.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from appointments import rosters
from appointments.fees import fee_for, normalize_priority
from appointments.models import (
    LIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    BookingHold,
    HoldState,
    PaymentStatus,
    Slot,
)
from appointments.notifications import notify_booked
from appointments.scheduler import events as scheduling_events
from appointments.scheduler.memory import preferred_doctor, remembered
from appointments.slot_grid import slot_capacity, validate_start, wall_clock_of
from hospitals.models import Department, Hospital
from hospitals.selectors import is_approved_patient
from phb import metrics
from phb.api.errors import ApiError, Conflict

logger = logging.getLogger(__name__)

METRIC_AREA = "Appointments"

DETAIL_FIELDS = (
    "chief_complaint",
    "symptoms_data",
    "medical_history",
    "allergies",
    "current_medications",
    "is_insurance_based",
    "insurance_details",
)


class SlotUnavailable(Conflict):
    """The slot has no place left (or the hold that had one expired and it was given away)."""

    def __init__(self, message: str = "This time slot is fully booked. Please choose another time.", **extra) -> None:
        super().__init__(message, code="slot_unavailable", **extra)


# --- Locks -----------------------------------------------------------------------------------
def _lock_patient(patient: User) -> None:
    """Serialize one patient's bookings so the overlap check cannot race with itself."""
    User.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True).first()


def _lock_slot(*, department: Department, start: datetime, end: datetime, capacity: int) -> Slot:
    Slot.objects.bulk_create(
        [Slot(department=department, start=start, end=end, capacity=capacity, in_use=0)], ignore_conflicts=True
    )
    return Slot.objects.select_for_update().get(department=department, start=start)


def _sweep_expired(slot: Slot, now: datetime) -> None:
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


def _take_place(slot: Slot, *, capacity: int, now: datetime) -> None:
    """Take one place in the locked ``slot`` or raise :class:`SlotUnavailable`."""
    _sweep_expired(slot, now)
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


def _ensure_patient_free(
    *, patient: User, start: datetime, end: datetime, now: datetime,
    exclude_appointment: uuid.UUID | None = None, exclude_hold: uuid.UUID | None = None,
) -> None:
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


def _failure(reason: str) -> None:
    metrics.record("BookingFailure", area=METRIC_AREA, dimensions={"Reason": reason})


# --- Holds -----------------------------------------------------------------------------------
def _resolve_target(*, hospital_id, department_id) -> tuple[Hospital, Department]:
    try:
        department = Department.objects.select_related("hospital").get(
            pk=int(department_id), is_active=True, hospital__is_active=True
        )
    except (Department.DoesNotExist, TypeError, ValueError) as exc:
        raise ApiError("Department not found.", status_code=404, code="department_not_found") from exc
    if hospital_id not in (None, "") and str(department.hospital_id) != str(hospital_id):
        raise ApiError("This department does not belong to the chosen hospital.", code="department_mismatch")
    return department.hospital, department


def clean_details(details: dict | None) -> dict:
    """The booking details a hold keeps (the known fields, sized)."""
    return _clean_details(details)


def _clean_details(details: dict | None) -> dict:
    details = details or {}
    out = {}
    for key in DETAIL_FIELDS:
        if key in details and details[key] is not None:
            out[key] = details[key]
    if not isinstance(out.get("symptoms_data", []), list):
        out["symptoms_data"] = []
    if not isinstance(out.get("insurance_details", {}), dict):
        out["insurance_details"] = {}
    for key in ("chief_complaint", "medical_history", "allergies", "current_medications"):
        if key in out:
            out[key] = str(out[key])[:5000]
    out["is_insurance_based"] = bool(out.get("is_insurance_based", False))
    return out


def hold_create(
    *,
    patient: User,
    hospital_id,
    department_id,
    start_local: datetime,
    priority: str,
    appointment_type: str = "consultation",
    details: dict | None = None,
) -> BookingHold:
    """Take a place in a slot for ``BOOKING_HOLD_MINUTES`` while the patient pays.

    Raises :class:`ApiError` with a clear message when refused (past, outside opening hours,
    not registered at the hospital, department closed that day, overlapping booking) and
    :class:`SlotUnavailable` when the slot is full.
    """
    try:
        hospital, department = _resolve_target(hospital_id=hospital_id, department_id=department_id)
        priority = normalize_priority(priority)
        now = timezone.now()
        start, end = validate_start(start_local=start_local, hospital=hospital, now=now)
        if not is_approved_patient(user=patient, hospital_id=hospital.pk):
            raise ApiError(
                "You are not an approved patient of this hospital. Register and wait for approval before booking.",
                status_code=403,
                code="not_registered",
            )
        capacity = slot_capacity(department=department, start_local=wall_clock_of(start, hospital))
        if capacity <= 0:
            raise ApiError("This department takes no appointments at that time.", code="department_closed")
        fee = fee_for(department=department, priority=priority)
        with transaction.atomic():
            _lock_patient(patient)
            _ensure_patient_free(patient=patient, start=start, end=end, now=now)
            slot = _lock_slot(department=department, start=start, end=end, capacity=capacity)
            _take_place(slot, capacity=capacity, now=now)
            hold = BookingHold.objects.create(
                patient=patient,
                hospital=hospital,
                department=department,
                slot=slot,
                start=start,
                end=end,
                priority=priority,
                appointment_type=(appointment_type or "consultation")[:32],
                details=_clean_details(details),
                fee_amount=fee,
                currency=settings.BOOKING_CURRENCY,
                expires_at=now + timedelta(minutes=settings.BOOKING_HOLD_MINUTES),
            )
    except ApiError as exc:
        _failure(exc.code)
        logger.info("booking hold refused", extra={"event": "hold_refused", "reason": exc.code})
        raise
    logger.info("booking hold created", extra={"event": "hold_created", "hold_id": str(hold.pk), "slot_id": slot.pk})
    return hold


READ_HERE = object()


def recommendation_for_hold(*, hold_id) -> dict | None:
    """The scheduler's remembered recommendation for the hold's patient and department (a cache
    read: callers that confirm a hold inside their own transaction read it before opening it)."""
    row = BookingHold.objects.filter(pk=hold_id).values("patient_id", "department_id").first() if hold_id else None
    return remembered(**row) if row else None


def hold_confirm(*, hold_id, payment_reference: str | None, recommendation: dict | None | object = READ_HERE
                 ) -> Appointment:
    """Turn a hold into an appointment (status ``pending``: waiting for a doctor to accept).

    Idempotent: a hold already confirmed returns its appointment. A hold that expired or was
    released takes a place again if one is free, else raises :class:`SlotUnavailable`.
    ``payment_reference`` None means the payment was waived. ``recommendation`` is what
    ``scheduler.memory.remembered`` returned for the hold's patient and department; a caller inside
    a transaction must pass it (the default reads the cache here, which only a caller without a
    transaction may do).
    """
    try:
        hold = BookingHold.objects.select_related("patient").get(pk=hold_id)
    except (BookingHold.DoesNotExist, ValueError, TypeError) as exc:
        raise ApiError("Booking not found.", status_code=404, code="hold_not_found") from exc
    if hold.state == HoldState.CONFIRMED and hold.appointment_id:
        return Appointment.objects.get(pk=hold.appointment_id)
    now = timezone.now()
    if recommendation is READ_HERE:
        recommendation = remembered(patient_id=hold.patient_id, department_id=hold.department_id)
    decision = scheduling_events.decision_context(hold=hold, day=wall_clock_of(hold.start, hold.hospital).date(),
                                                  now=now, memory=recommendation)
    prefer = preferred_doctor(hold=hold, memory=recommendation)
    try:
        with transaction.atomic():
            _lock_patient(hold.patient)
            slot = Slot.objects.select_for_update().get(pk=hold.slot_id)
            hold = BookingHold.objects.select_for_update().get(pk=hold.pk)
            if hold.state == HoldState.CONFIRMED and hold.appointment_id:
                return Appointment.objects.get(pk=hold.appointment_id)
            _ensure_patient_free(patient=hold.patient, start=hold.start, end=hold.end, now=now, exclude_hold=hold.pk)
            start_local = wall_clock_of(hold.start, hold.hospital)
            if hold.state != HoldState.HELD:
                capacity = slot_capacity(department=hold.department, start_local=start_local)
                _take_place(slot, capacity=capacity, now=now)
            doctor_id = rosters.pick_doctor(department=hold.department, start_local=start_local, start=hold.start,
                                            prefer=prefer)
            appointment = _create_appointment(hold, payment_reference=payment_reference, now=now,
                                              doctor_id=doctor_id)
            scheduling_events.record_booking(appointment=appointment, hold=hold, **decision)
            hold.state = HoldState.CONFIRMED
            hold.appointment = appointment
            hold.payment_reference = payment_reference or ""
            hold.save(update_fields=["state", "appointment", "payment_reference", "updated_at"])
    except ApiError as exc:
        _failure(exc.code)
        logger.info("booking confirm refused", extra={"event": "hold_confirm_refused", "reason": exc.code,
                                                      "hold_id": str(hold.pk)})
        raise
    metrics.record("BookingCompleted", area=METRIC_AREA, dimensions={"Priority": appointment.priority})
    if decision["followed"]:
        metrics.record("SchedulerRecommendationTaken", area="Scheduler")
    logger.info("booking completed", extra={"event": "booking_completed", "appointment_id": str(appointment.pk)})
    notify_booked(appointment)
    return appointment


def _create_appointment(hold: BookingHold, *, payment_reference: str | None, now: datetime,
                        doctor_id: uuid.UUID | None = None) -> Appointment:
    details = hold.details or {}
    for _ in range(5):
        try:
            with transaction.atomic():
                return Appointment.objects.create(
                    patient=hold.patient,
                    hospital=hold.hospital,
                    department=hold.department,
                    doctor_id=doctor_id,
                    slot_id=hold.slot_id,
                    start=hold.start,
                    end=hold.end,
                    status=AppointmentStatus.PENDING,
                    priority=hold.priority,
                    appointment_type=hold.appointment_type,
                    chief_complaint=details.get("chief_complaint", ""),
                    symptoms_data=details.get("symptoms_data", []),
                    medical_history=details.get("medical_history", ""),
                    allergies=details.get("allergies", ""),
                    current_medications=details.get("current_medications", ""),
                    is_insurance_based=details.get("is_insurance_based", False),
                    insurance_details=details.get("insurance_details", {}),
                    fee_amount=hold.fee_amount,
                    currency=hold.currency,
                    payment_status=PaymentStatus.PAID if payment_reference else PaymentStatus.WAIVED,
                    payment_reference=payment_reference or "",
                )
        except IntegrityError as exc:
            if "appointment_id" in str(exc):
                continue  # reference collision: draw another
            raise Conflict("You already have an appointment at this time.", code="overlapping_appointment") from exc
    raise Conflict("Could not allocate an appointment reference. Please retry.", code="retry")


def hold_release(*, hold_id) -> None:
    """Give back a hold's place (payment abandoned or failed). Does nothing to a confirmed hold."""
    try:
        hold = BookingHold.objects.only("pk", "slot_id", "state").get(pk=hold_id)
    except (BookingHold.DoesNotExist, ValueError, TypeError):
        return
    if hold.state != HoldState.HELD:
        return
    with transaction.atomic():
        Slot.objects.select_for_update().filter(pk=hold.slot_id).values_list("pk", flat=True).first()
        changed = BookingHold.objects.filter(pk=hold.pk, state=HoldState.HELD).update(
            state=HoldState.RELEASED, updated_at=timezone.now()
        )
        if changed:
            Slot.objects.filter(pk=hold.slot_id).update(in_use=F("in_use") - 1)
    logger.info("booking hold released", extra={"event": "hold_released", "hold_id": str(hold.pk)})


def release_expired_holds(*, now: datetime | None = None) -> int:
    """Sweep every expired hold (bookings also sweep their own slot lazily). Returns the count."""
    now = now or timezone.now()
    slot_ids = list(
        BookingHold.objects.filter(state=HoldState.HELD, expires_at__lte=now)
        .values_list("slot_id", flat=True)
        .distinct()
    )
    total = 0
    for slot_id in slot_ids:
        with transaction.atomic():
            slot = Slot.objects.select_for_update().get(pk=slot_id)
            before = slot.in_use
            _sweep_expired(slot, now)
            total += before - slot.in_use
    return total


# --- Moving an appointment -------------------------------------------------------------------
MOVABLE_STATUSES = (AppointmentStatus.PENDING, AppointmentStatus.CONFIRMED, AppointmentStatus.RESCHEDULED)


def appointment_move(*, appointment: Appointment, start_local: datetime, now: datetime | None = None) -> Appointment:
    """Move ``appointment`` to the slot starting at ``start_local`` (hospital wall clock), atomically.

    Takes the new place before giving back the old one, inside one transaction: on any refusal
    nothing changes. An appointment whose status no longer occupies a place (``rescheduled``)
    only takes the new place.
    """
    now = now or timezone.now()
    hospital = appointment.hospital
    department = appointment.department
    start, end = validate_start(start_local=start_local, hospital=hospital, now=now)
    capacity = slot_capacity(department=department, start_local=wall_clock_of(start, hospital))
    if capacity <= 0:
        raise ApiError("This department takes no appointments at that time.", code="department_closed")
    with transaction.atomic():
        _lock_patient(appointment.patient)
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if current.status not in MOVABLE_STATUSES:
            raise Conflict(
                f"A {current.status.replace('_', ' ')} appointment cannot be rescheduled.", code="invalid_transition"
            )
        if start == current.start and current.status != AppointmentStatus.RESCHEDULED:
            raise ApiError("The appointment is already at this time.", code="same_slot")
        _ensure_patient_free(
            patient=appointment.patient, start=start, end=end, now=now, exclude_appointment=appointment.pk
        )
        Slot.objects.bulk_create(
            [Slot(department=department, start=start, end=end, capacity=capacity, in_use=0)], ignore_conflicts=True
        )
        new_slot_id = Slot.objects.filter(department=department, start=start).values_list("pk", flat=True).get()
        ids = sorted({new_slot_id, current.slot_id} - {None})
        locked = {slot.pk: slot for slot in Slot.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
        new_slot = locked[new_slot_id]
        _take_place(new_slot, capacity=capacity, now=now)
        occupies_old = current.status != AppointmentStatus.RESCHEDULED
        if occupies_old and current.slot_id is not None:
            Slot.objects.filter(pk=current.slot_id, in_use__gt=0).update(in_use=F("in_use") - 1)
        current.previous_start = current.start
        current.doctor_id = rosters.pick_doctor(
            department=department, start_local=wall_clock_of(start, hospital), start=start,
            prefer=current.doctor_id, exclude_appointment=current.pk,
        ) or (None if rosters.has_roster(department=department) else current.doctor_id)
        current.start, current.end, current.slot_id = start, end, new_slot_id
        current.reschedule_count += 1
        if current.status == AppointmentStatus.RESCHEDULED:
            current.status = AppointmentStatus.CONFIRMED if current.doctor_id else AppointmentStatus.PENDING
        try:
            with transaction.atomic():
                current.save(update_fields=["start", "end", "slot", "reschedule_count", "previous_start", "status",
                                            "doctor", "updated_at"])
        except IntegrityError as exc:
            raise Conflict("You already have an appointment at this time.", code="overlapping_appointment") from exc
    logger.info("appointment moved", extra={"event": "appointment_moved", "appointment_id": str(appointment.pk)})
    return current
