"""The booking service: holds on a place while the patient pays, confirming them into
appointments, releasing them (the fee comes from ``fees``, the slot grid and its capacity from
``slot_grid``, the locks and place counters from ``slot_places``; moving a booked appointment is
``moving``).

Times: the frontend sends a local wall-clock time labelled ``Z``. Functions here take
``start_local``, a naive datetime on the hospital's wall clock, and store aware datetimes.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from appointments import rosters
from appointments.fees import fee_for, normalize_priority
from appointments.models import Appointment, AppointmentStatus, BookingHold, HoldState, PaymentStatus, Slot
from appointments.notifications import notify_booked
from appointments.scheduler import events as scheduling_events
from appointments.scheduler.memory import preferred_doctor, remembered
from appointments.slot_grid import slot_capacity, validate_start, wall_clock_of
from appointments.slot_places import (
    ensure_patient_free,
    lock_patient,
    lock_slot,
    release_place,
    sweep_expired,
    take_place,
)
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


def _failure(reason: str) -> None:
    metrics.record("BookingFailure", area=METRIC_AREA, dimensions={"Reason": reason})


def resolve_target(*, hospital_id, department_id) -> tuple[Hospital, Department]:
    """The active department asked for, and its hospital; 404 when there is none, 400 when it is
    not ``hospital_id``'s."""
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
    :class:`~appointments.slot_places.SlotUnavailable` when the slot is full.
    """
    try:
        hospital, department = resolve_target(hospital_id=hospital_id, department_id=department_id)
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
            lock_patient(patient)
            ensure_patient_free(patient=patient, start=start, end=end, now=now)
            slot = lock_slot(department=department, start=start, end=end, capacity=capacity)
            take_place(slot, capacity=capacity, now=now)
            hold = BookingHold.objects.create(
                patient=patient,
                hospital=hospital,
                department=department,
                slot=slot,
                start=start,
                end=end,
                priority=priority,
                appointment_type=(appointment_type or "consultation")[:32],
                details=clean_details(details),
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


def ensure_start_ahead(*, hold: BookingHold, now: datetime) -> None:
    """A booking is confirmed only for a time still to come (a payment can complete after it)."""
    if hold.start <= now:
        local = wall_clock_of(hold.start, hold.hospital)
        raise Conflict(f"The appointment time ({local:%d %b %Y %H:%M}) has already passed.", code="start_passed")


def hold_confirm(*, hold_id, payment_reference: str | None, recommendation: dict | None | object = READ_HERE
                 ) -> Appointment:
    """Turn a hold into an appointment (status ``pending``: waiting for a doctor to accept).

    Idempotent: a hold already confirmed returns its appointment. A hold that expired or was
    released takes a place again if one is free, else raises :class:`~appointments.slot_places.SlotUnavailable`.
    A hold whose start has passed is refused (409 ``start_passed``).
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
            lock_patient(hold.patient)
            slot = Slot.objects.select_for_update().get(pk=hold.slot_id)
            hold = BookingHold.objects.select_for_update().get(pk=hold.pk)
            if hold.state == HoldState.CONFIRMED and hold.appointment_id:
                return Appointment.objects.get(pk=hold.appointment_id)
            ensure_start_ahead(hold=hold, now=now)
            ensure_patient_free(patient=hold.patient, start=hold.start, end=hold.end, now=now, exclude_hold=hold.pk)
            start_local = wall_clock_of(hold.start, hold.hospital)
            if hold.state != HoldState.HELD:
                capacity = slot_capacity(department=hold.department, start_local=start_local)
                take_place(slot, capacity=capacity, now=now)
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
            release_place(slot_id=hold.slot_id)
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
            sweep_expired(slot, now)
            total += before - slot.in_use
    return total
