"""Doctor rosters: who sees patients in which department and slot, and how many per slot.

A department with at least one active :class:`~appointments.models.RosterSession` takes the
capacity of each 30-minute slot from its roster: the sum of ``patients_per_slot`` over the
doctors rostered on that slot (weekly sessions, minus leave, plus extra sessions, minus doctors
who switched themselves unavailable). A department without a roster keeps the per-department
:class:`~appointments.models.SlotCapacity` behaviour.

Times here are naive hospital wall-clock datetimes, as in :mod:`appointments.slot_grid`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count

from appointments.models import (
    LIVE_STATUSES,
    Appointment,
    RosterException,
    RosterExceptionKind,
    RosterSession,
    StaffAvailability,
)
from hospitals.models import Department
from phb.zones import today_in, zone_of


@dataclass(frozen=True)
class Seat:
    """One doctor's places in one slot."""

    doctor_id: uuid.UUID
    patients_per_slot: int


def has_roster(*, department: Department) -> bool:
    return RosterSession.objects.filter(department=department, is_active=True).exists()


def _covers(start: time | None, end: time | None, slot_start: time, slot_end: time) -> bool:
    if start is None or end is None:
        return True
    return start <= slot_start and slot_end <= end


def _slot_minutes() -> timedelta:
    return timedelta(minutes=settings.BOOKING_SLOT_MINUTES)


def seats_of_days(*, department: Department, starts: list[datetime]) -> dict[datetime, list[Seat]]:
    """The doctors (and their places) of every slot start in ``starts`` (naive, on any days).

    Four queries whatever the number of slots and days.
    """
    days = sorted({start.date() for start in starts})
    if not days:
        return {}
    sessions = list(
        RosterSession.objects.filter(department=department, weekday__in={day.weekday() for day in days},
                                     is_active=True)
        .order_by("start_time", "doctor_id")
    )
    exceptions = list(RosterException.objects.filter(date__in=days).filter(
        doctor_id__in=[s.doctor_id for s in sessions] + list(
            RosterException.objects.filter(date__in=days, kind=RosterExceptionKind.EXTRA, department=department)
            .values_list("doctor_id", flat=True)
        )
    ))
    doctors = {s.doctor_id for s in sessions} | {e.doctor_id for e in exceptions}
    away = set(StaffAvailability.objects.filter(user_id__in=doctors, is_available=False).values_list("user_id", flat=True))
    out: dict[datetime, list[Seat]] = {}
    for day in days:
        weekly = [s for s in sessions if s.weekday == day.weekday()]
        leave = [e for e in exceptions if e.date == day and e.kind == RosterExceptionKind.LEAVE]
        extra = [e for e in exceptions
                 if e.date == day and e.kind == RosterExceptionKind.EXTRA and e.department_id == department.pk]
        for start in (start for start in starts if start.date() == day):
            out[start] = _seats(start, weekly=weekly, extra=extra, leave=leave, away=away)
    return out


def _seats(start: datetime, *, weekly: list, extra: list, leave: list, away: set) -> list[Seat]:
    slot_start, slot_end = start.time(), (start + _slot_minutes()).time()
    if slot_end == time(0):
        slot_end = time(23, 59, 59)
    seats: dict[uuid.UUID, int] = {}
    for rows in (weekly, extra):
        for row in rows:
            if row.doctor_id in away or not _covers(row.start_time, row.end_time, slot_start, slot_end):
                continue
            seats[row.doctor_id] = max(seats.get(row.doctor_id, 0), row.patients_per_slot)
    for row in leave:
        if row.doctor_id in seats and _overlaps(row.start_time, row.end_time, slot_start, slot_end):
            del seats[row.doctor_id]
    return [Seat(doctor_id=d, patients_per_slot=n) for d, n in sorted(seats.items(), key=lambda kv: str(kv[0]))]


def _overlaps(start: time | None, end: time | None, slot_start: time, slot_end: time) -> bool:
    if start is None or end is None:
        return True
    return start < slot_end and slot_start < end


def busy_elsewhere(*, doctor_id: uuid.UUID, department_id: int, day: date, start: time, end: time,
                   exclude: int | None = None) -> bool:
    """Whether the doctor is rostered in another department at some time of ``start``–``end`` on
    ``day`` (a weekly or an extra session there, not cancelled by her leave). Such a doctor would be
    counted in the places of two departments at once, and booked twice. ``exclude``: an extra
    session left out (the one being edited)."""
    weekly = RosterSession.objects.filter(doctor_id=doctor_id, weekday=day.weekday(), is_active=True,
                                          start_time__lt=end, end_time__gt=start)
    extra = RosterException.objects.filter(doctor_id=doctor_id, date=day, kind=RosterExceptionKind.EXTRA,
                                           start_time__lt=end, end_time__gt=start)
    if exclude is not None:
        extra = extra.exclude(pk=exclude)
    elsewhere = [(row.start_time, row.end_time) for qs in (weekly, extra)
                 for row in qs.exclude(department_id=department_id)]
    if not elsewhere:
        return False
    leave = list(RosterException.objects.filter(doctor_id=doctor_id, date=day, kind=RosterExceptionKind.LEAVE))
    moment = datetime.combine(day, start)
    while moment.time() < end and moment.date() == day:
        slot_start, slot_end = moment.time(), (moment + _slot_minutes()).time()
        slot_end = time(23, 59, 59) if slot_end == time(0) else slot_end
        if any(_overlaps(a, b, slot_start, slot_end) for a, b in elsewhere) and not any(
                _overlaps(e.start_time, e.end_time, slot_start, slot_end) for e in leave):
            return True
        moment += _slot_minutes()
    return False


def extras_elsewhere_on(*, doctor_id: uuid.UUID, department_id: int, weekday: int, start: time, end: time,
                        from_day: date) -> bool:
    """Whether the doctor has an extra session in another department on a ``weekday`` from
    ``from_day`` on that overlaps ``start``–``end`` (a new weekly session would double her)."""
    return RosterException.objects.filter(
        doctor_id=doctor_id, kind=RosterExceptionKind.EXTRA, date__gte=from_day, date__iso_week_day=weekday + 1,
        start_time__lt=end, end_time__gt=start,
    ).exclude(department_id=department_id).exists()


def off_grid(*, start: time, end: time) -> str | None:
    """Why a session or exception from ``start`` to ``end`` cannot be kept, or None: slots are laid
    on the hour and half hour, so its times are too (the API and the Django admin's forms)."""
    if start >= end:
        return "start_time must be before end_time."
    if any(value.second or value.microsecond or value.minute % 30 for value in (start, end)):
        return "Sessions start and end on the hour or half hour."
    return None


def doctor_lock(*, doctor_id: uuid.UUID) -> None:
    """Lock the doctor's row: her roster changes, from the API or the Django admin, are checked
    against her other sessions one at a time. Call inside the transaction that saves the change."""
    from accounts.models import User

    User.objects.select_for_update().filter(pk=doctor_id).values_list("pk", flat=True).first()


def session_clash(*, doctor_id: uuid.UUID, department: Department, weekday: int, start: time, end: time,
                  exclude: int | None = None) -> str | None:
    """Why an active weekly session of the doctor in ``department`` on ``weekday`` from ``start`` to
    ``end`` would double her, or None: another active weekly session of hers overlaps it (in any
    department), or one of her coming extra sessions in another department does. ``exclude``: the
    session being edited. The hospital admin's API and the Django admin's form both ask this,
    after :func:`doctor_lock`."""
    weekly = RosterSession.objects.filter(doctor_id=doctor_id, weekday=weekday, is_active=True,
                                          start_time__lt=end, end_time__gt=start)
    if exclude is not None:
        weekly = weekly.exclude(pk=exclude)
    if weekly.exists():
        return "This doctor already has a session at that time."
    today = today_in(zone_of(department.hospital))
    if extras_elsewhere_on(doctor_id=doctor_id, department_id=department.pk, weekday=weekday, start=start, end=end,
                           from_day=today):
        return "This doctor has an extra session in another department at that time."
    return None


def extra_clash(*, doctor_id: uuid.UUID, department_id: int, day: date, start: time, end: time,
                exclude: int | None = None) -> str | None:
    """Why an extra session of the doctor in this department on ``day`` would double her, or None
    (:func:`busy_elsewhere`). ``exclude``: the extra session being edited. Asked by the API and the
    Django admin's form, after :func:`doctor_lock`."""
    if busy_elsewhere(doctor_id=doctor_id, department_id=department_id, day=day, start=start, end=end,
                      exclude=exclude):
        return "This doctor is rostered in another department at that time: record her leave there first."
    return None


def seats_at(*, department: Department, start_local: datetime) -> list[Seat]:
    return seats_of_days(department=department, starts=[start_local])[start_local]


def capacity_at(*, department: Department, start_local: datetime) -> int | None:
    """Roster capacity of one slot, or None when the department has no roster."""
    if not has_roster(department=department):
        return None
    return sum(seat.patients_per_slot for seat in seats_at(department=department, start_local=start_local))


def doctor_loads(*, doctor_ids: list[uuid.UUID], start: datetime, exclude_appointment: uuid.UUID | None = None
                 ) -> dict[uuid.UUID, int]:
    """Live appointments of each doctor in the slot starting at the aware ``start``."""
    qs = Appointment.objects.filter(doctor_id__in=doctor_ids, start=start, status__in=LIVE_STATUSES)
    if exclude_appointment is not None:
        qs = qs.exclude(pk=exclude_appointment)
    return dict(qs.values_list("doctor_id").annotate(n=Count("id")))


def day_loads(*, doctor_ids: list[uuid.UUID], day_start: datetime, day_end: datetime) -> dict[uuid.UUID, int]:
    qs = Appointment.objects.filter(doctor_id__in=doctor_ids, start__gte=day_start, start__lt=day_end,
                                    status__in=LIVE_STATUSES)
    return dict(qs.values_list("doctor_id").annotate(n=Count("id")))


def free_seats(*, department: Department, start_local: datetime, start: datetime,
               exclude_appointment: uuid.UUID | None = None) -> list[tuple[uuid.UUID, int]]:
    """``(doctor_id, places left)`` of the doctors rostered on the slot who still have a place."""
    seats = seats_at(department=department, start_local=start_local)
    loads = doctor_loads(doctor_ids=[s.doctor_id for s in seats], start=start, exclude_appointment=exclude_appointment)
    return [(s.doctor_id, s.patients_per_slot - loads.get(s.doctor_id, 0))
            for s in seats if s.patients_per_slot - loads.get(s.doctor_id, 0) > 0]


def pick_doctor(*, department: Department, start_local: datetime, start: datetime,
                prefer: uuid.UUID | None = None, exclude_appointment: uuid.UUID | None = None) -> uuid.UUID | None:
    """The doctor who takes a booking of this slot; the caller holds the slot's row lock.

    ``prefer`` (the scheduler's choice, or the appointment's current doctor) wins when she still
    has a place; otherwise the doctor with the fewest bookings that day. None when the department
    has no roster or nobody rostered has a place left (the department queue then assigns one).
    """
    free = free_seats(department=department, start_local=start_local, start=start,
                      exclude_appointment=exclude_appointment)
    if not free:
        return None
    ids = [doctor_id for doctor_id, _ in free]
    if prefer is not None and prefer in ids:
        return prefer
    day_start = start - timedelta(hours=start_local.hour, minutes=start_local.minute)
    loads = day_loads(doctor_ids=ids, day_start=day_start, day_end=day_start + timedelta(days=1))
    return min(ids, key=lambda d: (loads.get(d, 0), str(d)))


def doctor_loads_between(*, doctor_ids: list[uuid.UUID], first: datetime, last: datetime
                         ) -> dict[tuple[uuid.UUID, datetime], int]:
    """Live appointments per (doctor, aware slot start) for the slots from ``first`` to ``last``: one query."""
    if not doctor_ids:
        return {}
    rows = (Appointment.objects.filter(doctor_id__in=doctor_ids, start__gte=first, start__lte=last,
                                       status__in=LIVE_STATUSES)
            .values_list("doctor_id", "start").annotate(n=Count("id")))
    return {(d, s): n for d, s, n in rows}


def doctor_loads_in(*, doctor_ids: list[uuid.UUID], starts: list[datetime]) -> dict[tuple[uuid.UUID, datetime], int]:
    """Live appointments per (doctor, aware slot start) over many slots: one query."""
    if not doctor_ids or not starts:
        return {}
    rows = (Appointment.objects.filter(doctor_id__in=doctor_ids, start__in=starts, status__in=LIVE_STATUSES)
            .values_list("doctor_id", "start").annotate(n=Count("id")))
    return {(d, s): n for d, s, n in rows}


def ensure_place_for(*, appointment: Appointment, doctor_id: uuid.UUID) -> None:
    """Before ``doctor_id`` takes over ``appointment`` (accepting it from the department queue): in a
    rostered department she must be rostered on its slot with a place left. Locks the slot row, as
    booking does, so two take-overs cannot both use her last place. Call inside a transaction."""
    from appointments.models import Slot
    from appointments.slot_grid import hospital_zone
    from phb.api.errors import Conflict

    department = appointment.department
    if appointment.doctor_id == doctor_id or not has_roster(department=department):
        return
    if appointment.slot_id:
        Slot.objects.select_for_update().filter(pk=appointment.slot_id).values_list("pk", flat=True).first()
    start_local = appointment.start.astimezone(hospital_zone(department.hospital)).replace(tzinfo=None)
    free = {d for d, _ in free_seats(department=department, start_local=start_local, start=appointment.start,
                                     exclude_appointment=appointment.pk)}
    if doctor_id not in free:
        raise Conflict("You have no free place in your roster at this time; the appointment stays with its doctor.",
                       code="doctor_slot_full")
