"""A time zone whose date is not UTC's at this moment, whatever the hour the tests run at."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone


def zone_on_another_day() -> str:
    """UTC+14 is a day ahead from 10:00 UTC, UTC-12 a day behind until 12:00 UTC: one always differs."""
    now = timezone.now()
    for name in ("Pacific/Kiritimati", "Etc/GMT+12"):
        if now.astimezone(ZoneInfo(name)).date() != now.date():
            return name
    raise AssertionError(f"no zone on another day at {datetime.isoformat(now)}")
