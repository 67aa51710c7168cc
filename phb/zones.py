"""Local days of the places the service runs for.

Hospitals and pharmacies each keep a time zone (``time_zone``; Lagos by default). The server's
clock is UTC, so "today" at a hospital is a date on the hospital's own clock: in Lagos's first
hour of a day the UTC date is still yesterday's. Everything that shows or counts "today" for a
place (an accreditation that lasts until its expiry day, a guideline in effect from a date, a
pharmacist's reviews of the day, a patient's age, the day a patient registered) asks this module,
never ``timezone.localdate()`` or a UTC instant's ``.date()``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone


def zone_named(name: str | None) -> ZoneInfo:
    """The zone of that name; the default hospital zone when the name is empty or unknown."""
    return _zone(name or settings.DEFAULT_HOSPITAL_TIME_ZONE)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.DEFAULT_HOSPITAL_TIME_ZONE)


def zone_of(place: object | None) -> ZoneInfo:
    """The zone of a hospital or pharmacy (anything with ``time_zone``); the default for none."""
    return zone_named(getattr(place, "time_zone", None))


def today_in(zone: ZoneInfo, *, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(zone).date()


def today_at(place: object | None = None, *, now: datetime | None = None) -> date:
    """Today's date at ``place`` (the default hospital zone's when there is none)."""
    return today_in(zone_of(place), now=now)


def date_at(instant: datetime, place: object | None) -> date:
    """The date ``instant`` falls on at ``place``."""
    return instant.astimezone(zone_of(place)).date()


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a local day begins and ends (the next day's midnight)."""
    start = datetime.combine(day, time(0, 0)).replace(tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(0, 0)).replace(tzinfo=zone)
