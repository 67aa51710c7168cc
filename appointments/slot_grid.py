"""Time and slots: the hospital's clock, the day's grid of slots, each slot's capacity (rostered
doctors, else the department's setting) and the check of a requested start time.

Times: the frontend sends a local wall-clock time labelled ``Z``. Functions here take
``start_local``, a naive datetime on the hospital's wall clock, and return aware datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from appointments import rosters
from appointments.models import (
    BookingHold,
    HoldState,
    Slot,
    SlotCapacity,
)
from hospitals.models import Department, Hospital
from phb.api.errors import ApiError
from phb.api.fields import EARLIEST_DATE, LATEST_DATE, OUT_OF_RANGE
from phb.zones import zone_of


# --- Time and slots --------------------------------------------------------------------------
def hospital_zone(hospital: Hospital) -> ZoneInfo:
    return zone_of(hospital)


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


def wall_clock_of(start: datetime, hospital: Hospital) -> datetime:
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


@dataclass(frozen=True)
class DayGrid:
    """What one read of a department's day found: whether the department has a roster, the roster's
    seats of each slot start (naive local; empty without a roster), and every slot as of ``now``.
    The slots page and the recommendation it marks share one read."""

    day: date
    now: datetime
    rostered: bool
    seats: dict[datetime, list[rosters.Seat]]
    slots: list[SlotView]


def read_day(*, department: Department, day: date, now: datetime | None = None) -> DayGrid:
    """Every slot of ``day`` with its remaining capacity (live holds and booked appointments count),
    and the roster's seats behind it."""
    return read_days(department=department, days=[day], now=now)[0]


def read_days(*, department: Department, days: list[date], now: datetime | None = None,
              rostered: bool | None = None) -> list[DayGrid]:
    """:func:`read_day` for each of ``days`` (in their order), in the same statements whatever their
    number: the roster's seats, the department's capacity, the slot rows and their stale holds.
    ``rostered``: whether the department has a roster, where the caller knows already."""
    now = now or timezone.now()
    zone = hospital_zone(department.hospital)
    if rostered is None:
        rostered = rosters.has_roster(department=department)
    local_of = {day: slot_starts_of_day(day) for day in days}
    every_local = [s for day in days for s in local_of[day]]
    if not every_local:
        return [DayGrid(day=day, now=now, rostered=rostered, seats={}, slots=[]) for day in days]
    seats: dict[datetime, list[rosters.Seat]] = {}
    capacity_rows: list[SlotCapacity] = []
    if rostered:
        seats = rosters.seats_of_days(department=department, starts=every_local)
    else:
        capacity_rows = list(SlotCapacity.objects.filter(department=department))
    rows = {
        slot.start: slot
        for slot in Slot.objects.filter(department=department,
                                        start__in=[local_to_aware(s, zone) for s in every_local])
    }
    stale = dict(
        BookingHold.objects.filter(
            slot__in=[s.pk for s in rows.values()], state=HoldState.HELD, expires_at__lte=now
        )
        .values_list("slot_id")
        .annotate(n=Count("id"))
    ) if rows else {}
    grids = []
    for day in days:
        local_starts = local_of[day]
        default = 0 if rostered else capacity_for(department=department, day=day, rows=capacity_rows)
        out = []
        for local in local_starts:
            start = local_to_aware(local, zone)
            capacity = sum(seat.patients_per_slot for seat in seats[local]) if rostered else default
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
        day_seats = {local: seats[local] for local in local_starts} if rostered else {}
        grids.append(DayGrid(day=day, now=now, rostered=rostered, seats=day_seats, slots=out))
    return grids


def slots_of_day(*, department: Department, day: date, now: datetime | None = None) -> list[SlotView]:
    """Every slot of ``day`` with its remaining capacity (:func:`read_day`)."""
    return read_day(department=department, day=day, now=now).slots
