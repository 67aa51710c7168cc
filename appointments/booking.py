"""The one booking service: fees, slots, holds, and moving an appointment between slots.

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
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils import timezone

from accounts.models import User
from appointments import rosters
from appointments.models import (
    LIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    BookingHold,
    DepartmentFee,
    HoldState,
    PaymentStatus,
    Priority,
    Slot,
    SlotCapacity,
)
from appointments.notifications import notify_booked
from appointments.scheduler import events as scheduling_events
from appointments.scheduler.memory import preferred_doctor
from hospitals.models import Department, Hospital
from hospitals.selectors import is_approved_patient
from phb import metrics
from phb.api.errors import ApiError, Conflict
from phb.api.fields import EARLIEST_DATE, LATEST_DATE, OUT_OF_RANGE

logger = logging.getLogger(__name__)

METRIC_AREA = "Appointments"

# Fee table of the frontend (NGN): routine 2000, soon 3500, urgent 5000; specialist departments
# at least 7500, urgent specialist 10000. Priorities: routine=normal, soon=urgent, urgent=emergency.
DEFAULT_FEES = {
    Priority.NORMAL: Decimal("2000"),
    Priority.URGENT: Decimal("3500"),
    Priority.EMERGENCY: Decimal("5000"),
}
SPECIALIST_MINIMUM_FEE = Decimal("7500")
SPECIALIST_EMERGENCY_FEE = Decimal("10000")
SPECIALIST_KEYWORDS = (
    "cardiology",
    "neurology",
    "orthopedics",
    "oncology",
    "gastroenterology",
    "pulmonology",
    "endocrinology",
    "nephrology",
    "rheumatology",
    "dermatology",
)
PRIORITY_ALIASES = {"routine": Priority.NORMAL, "soon": Priority.URGENT, "normal": Priority.NORMAL,
                    "urgent": Priority.URGENT, "emergency": Priority.EMERGENCY}

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


# --- Fees ----------------------------------------------------------------------------------
def normalize_priority(value: str | None) -> str:
    priority = PRIORITY_ALIASES.get((value or "normal").strip().lower())
    if priority is None:
        raise ApiError("priority must be one of normal, urgent, emergency.", code="invalid_priority")
    return str(priority)


def is_specialist(department: Department) -> bool:
    name = department.name.lower()
    return any(keyword in name for keyword in SPECIALIST_KEYWORDS)


def default_fee(*, department: Department, priority: str) -> Decimal:
    base = DEFAULT_FEES[Priority(priority)]
    if not is_specialist(department):
        return base
    if priority == Priority.EMERGENCY:
        return SPECIALIST_EMERGENCY_FEE
    return max(base, SPECIALIST_MINIMUM_FEE)


def fee_for(*, department: Department, priority: str) -> Decimal:
    """The fee in NGN for ``department`` and ``priority``: an admin-set row, else the default table."""
    priority = normalize_priority(priority)
    row = DepartmentFee.objects.filter(department=department, priority=priority).only("amount").first()
    if row is not None:
        return row.amount
    return default_fee(department=department, priority=priority)


# --- Time and slots --------------------------------------------------------------------------
def hospital_zone(hospital: Hospital) -> ZoneInfo:
    try:
        return ZoneInfo(hospital.time_zone or settings.DEFAULT_HOSPITAL_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.DEFAULT_HOSPITAL_TIME_ZONE)


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def opening_time() -> time:
    return _clock(settings.BOOKING_OPENING_TIME)


def closing_time() -> time:
    return _clock(settings.BOOKING_CLOSING_TIME)


def slot_length() -> timedelta:
    return timedelta(minutes=settings.BOOKING_SLOT_MINUTES)


def slot_starts_of_day(day: date) -> list[datetime]:
    """Naive wall-clock starts of every slot of ``day``: 09:00, 09:30, ... 16:30 by default."""
    start = datetime.combine(day, opening_time())
    last = datetime.combine(day, closing_time()) - slot_length()
    out = []
    while start <= last:
        out.append(start)
        start += slot_length()
    return out


def wall_clock_from_iso(value: str) -> datetime:
    """Parse the frontend's ``YYYY-MM-DDTHH:MM:SSZ`` as a naive local wall-clock time.

    The frontend labels local wall-clock time with ``Z`` (it is not UTC), so any offset or ``Z``
    is dropped, not converted.
    """
    text = (value or "").strip()
    if not text:
        raise ApiError("appointment_date is required.", code="invalid_date")
    if text.endswith(("Z", "z")):
        text = text[:-1]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ApiError("appointment_date must be an ISO date-time such as 2025-01-31T09:30:00Z.",
                       code="invalid_date") from exc
    if not EARLIEST_DATE <= parsed.date() <= LATEST_DATE:
        raise ApiError(f"appointment_date: {OUT_OF_RANGE}", code="invalid_date", appointment_date=[OUT_OF_RANGE])
    return parsed.replace(tzinfo=None)


def local_to_aware(start_local: datetime, zone: ZoneInfo) -> datetime:
    if timezone.is_aware(start_local):
        start_local = start_local.replace(tzinfo=None)
    return start_local.replace(tzinfo=zone)


def capacity_for(*, department: Department, day: date, rows: list[SlotCapacity] | None = None) -> int:
    """Per-slot capacity for ``department`` on ``day``: weekday row, else every-day row, else the default."""
    if rows is None:
        rows = list(SlotCapacity.objects.filter(department=department))
    by_weekday = {row.weekday: row.capacity for row in rows}
    if day.weekday() in by_weekday:
        return by_weekday[day.weekday()]
    if None in by_weekday:
        return by_weekday[None]
    return settings.BOOKING_DEFAULT_SLOT_CAPACITY


def slot_capacity(*, department: Department, start_local: datetime) -> int:
    """Places in the slot starting at ``start_local``: the roster's sum, else the department's capacity."""
    roster = rosters.capacity_at(department=department, start_local=start_local)
    return capacity_for(department=department, day=start_local.date()) if roster is None else roster


def _local(start: datetime, hospital: Hospital) -> datetime:
    return start.astimezone(hospital_zone(hospital)).replace(tzinfo=None)


def validate_start(*, start_local: datetime, hospital: Hospital, now: datetime | None = None) -> tuple[datetime, datetime]:
    """Refuse a start that is off the slot grid, outside opening hours, in the past or too far ahead.

    Returns the aware (start, end).
    """
    if timezone.is_aware(start_local):
        start_local = start_local.replace(tzinfo=None)
    if start_local.second or start_local.microsecond or start_local.minute % settings.BOOKING_SLOT_MINUTES:
        raise ApiError(
            f"Appointments start on the hour or half hour (slots are {settings.BOOKING_SLOT_MINUTES} minutes).",
            code="invalid_slot",
        )
    opens = datetime.combine(start_local.date(), opening_time())
    closes = datetime.combine(start_local.date(), closing_time())
    if start_local < opens or start_local + slot_length() > closes:
        raise ApiError(
            f"The hospital books appointments between {settings.BOOKING_OPENING_TIME} and "
            f"{settings.BOOKING_CLOSING_TIME} local time.",
            code="outside_opening_hours",
        )
    zone = hospital_zone(hospital)
    start = local_to_aware(start_local, zone)
    now = now or timezone.now()
    if start <= now:
        raise ApiError("This time is in the past. Please choose a later slot.", code="slot_in_past")
    if start > now + timedelta(days=settings.BOOKING_MAX_DAYS_AHEAD):
        raise ApiError(
            f"Appointments can be booked at most {settings.BOOKING_MAX_DAYS_AHEAD} days ahead.",
            code="too_far_ahead",
        )
    return start, start + slot_length()


@dataclass(frozen=True)
class SlotView:
    start: datetime
    end: datetime
    capacity: int
    remaining: int
    past: bool


def slots_of_day(*, department: Department, day: date, now: datetime | None = None) -> list[SlotView]:
    """Every slot of ``day`` with its remaining capacity (live holds and booked appointments count)."""
    now = now or timezone.now()
    zone = hospital_zone(department.hospital)
    local_starts = slot_starts_of_day(day)
    if not local_starts:
        return []
    starts = [local_to_aware(s, zone) for s in local_starts]
    if rosters.has_roster(department=department):
        seats = rosters.seats_of_day(department=department, day=day, starts=local_starts)
        capacities = [sum(seat.patients_per_slot for seat in seats[s]) for s in local_starts]
    else:
        capacities = [capacity_for(department=department, day=day)] * len(starts)
    rows = {
        slot.start: slot
        for slot in Slot.objects.filter(department=department, start__gte=starts[0], start__lte=starts[-1])
    }
    stale = dict(
        BookingHold.objects.filter(
            slot__in=[s.pk for s in rows.values()], state=HoldState.HELD, expires_at__lte=now
        )
        .values_list("slot_id")
        .annotate(n=Count("id"))
    ) if rows else {}
    out = []
    for start, capacity in zip(starts, capacities, strict=True):
        row = rows.get(start)
        used = (row.in_use - stale.get(row.pk, 0)) if row else 0
        out.append(
            SlotView(
                start=start,
                end=start + slot_length(),
                capacity=capacity,
                remaining=max(0, capacity - used),
                past=start <= now,
            )
        )
    return out


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
        capacity = slot_capacity(department=department, start_local=_local(start, hospital))
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


def hold_confirm(*, hold_id, payment_reference: str | None) -> Appointment:
    """Turn a hold into an appointment (status ``pending``: waiting for a doctor to accept).

    Idempotent: a hold already confirmed returns its appointment. A hold that expired or was
    released takes a place again if one is free, else raises :class:`SlotUnavailable`.
    ``payment_reference`` None means the payment was waived.
    """
    try:
        hold = BookingHold.objects.select_related("patient").get(pk=hold_id)
    except (BookingHold.DoesNotExist, ValueError, TypeError) as exc:
        raise ApiError("Booking not found.", status_code=404, code="hold_not_found") from exc
    if hold.state == HoldState.CONFIRMED and hold.appointment_id:
        return Appointment.objects.get(pk=hold.appointment_id)
    now = timezone.now()
    decision = scheduling_events.decision_context(hold=hold, day=_local(hold.start, hold.hospital).date(), now=now)
    try:
        with transaction.atomic():
            _lock_patient(hold.patient)
            slot = Slot.objects.select_for_update().get(pk=hold.slot_id)
            hold = BookingHold.objects.select_for_update().get(pk=hold.pk)
            if hold.state == HoldState.CONFIRMED and hold.appointment_id:
                return Appointment.objects.get(pk=hold.appointment_id)
            _ensure_patient_free(patient=hold.patient, start=hold.start, end=hold.end, now=now, exclude_hold=hold.pk)
            start_local = _local(hold.start, hold.hospital)
            if hold.state != HoldState.HELD:
                capacity = slot_capacity(department=hold.department, start_local=start_local)
                _take_place(slot, capacity=capacity, now=now)
            doctor_id = rosters.pick_doctor(department=hold.department, start_local=start_local, start=hold.start,
                                            prefer=preferred_doctor(hold=hold))
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
    capacity = slot_capacity(department=department, start_local=_local(start, hospital))
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
            department=department, start_local=_local(start, hospital), start=start,
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

