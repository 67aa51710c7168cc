"""``manage.py tracking_activity`` counts the days of the tracking area's own zone, whichever side
of UTC it lies, for per-day entries as for timed ones."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from tests.tracking.conftest import WH
from tracking.fields import local_today, local_zone
from tracking.population import activity_counts


def _at(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute)).replace(tzinfo=local_zone())


@pytest.mark.parametrize("zone, hour", [
    ("Africa/Lagos", 0),          # +1: the first hour of the day is still yesterday in UTC
    ("Asia/Tokyo", 3),            # +9
    ("Pacific/Honolulu", 20),     # -10: the evening is already tomorrow in UTC
])
def test_per_day_entries_count_on_their_local_day(api, settings, zone, hour):
    settings.TRACKING_TIME_ZONE = zone
    today = local_today()
    for offset in (0, 1, 2):
        day = (today - timedelta(days=offset)).isoformat()
        assert api.post(f"{WH}/logs/", {"date": day, "mood": "good"}, format="json").status_code == 201
    assert api.post(f"{WH}/cycle-days/", {"date": today.isoformat(), "periodDay": True},
                    format="json").status_code == 201
    moment = _at(today, hour, 30)
    assert activity_counts(days=1, now=moment)["daily_log"] == 1, "today's log is today's"
    assert activity_counts(days=1, now=moment)["cycle_day"] == 1
    assert activity_counts(days=2, now=moment)["daily_log"] == 2
    assert activity_counts(days=3, now=moment)["daily_log"] == 3


def test_timed_entries_count_from_the_local_midnight_of_the_first_day(api, settings):
    settings.TRACKING_TIME_ZONE = "Pacific/Honolulu"
    today = local_today() - timedelta(days=1)  # a whole day that has passed
    for minutes_after_midnight in (5, 23 * 60 + 50):
        start = _at(today, 0) + timedelta(minutes=minutes_after_midnight)
        api.post(f"{WH}/kick-sessions/", {"date": start.isoformat(), "kicks": 10, "duration": 60}, format="json")
    late_evening = _at(today, 23, 55)
    assert activity_counts(days=1, now=late_evening)["kick_session"] == 2
    assert activity_counts(days=1, now=_at(today + timedelta(days=1), 0, 10))["kick_session"] == 0
