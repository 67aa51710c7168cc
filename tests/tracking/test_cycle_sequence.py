"""Cycles stay in sequence when a period is logged afterwards or deleted (W9, W10, as the calendar sends them)."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import pytest

from tests.helpers import client_for
from tests.tracking.conftest import WH
from tracking.fields import local_today

CALENDAR = {"flow_intensity": "medium", "is_regular": True, "is_current_cycle": True}  # CycleCalendar.tsx's body


def _cycles(api):
    listed = api.get(f"{WH}/cycles/", {"limit": 20, "offset": 0}).json()["cycles"]
    return [(c["cycle_start_date"], c["cycle_end_date"], c["is_current_cycle"]) for c in listed]


def test_a_period_logged_afterwards_ends_where_the_next_cycle_starts(api):
    api.post(f"{WH}/cycles/", {"cycle_start_date": "2025-03-01", **CALENDAR}, format="json")
    late = api.post(f"{WH}/cycles/", {"cycle_start_date": "2025-02-01", **CALENDAR}, format="json")
    assert late.status_code == 201, late.json()
    assert late.json()["cycle"]["is_current_cycle"] is False and late.json()["cycle"]["cycle_length"] == 28
    assert _cycles(api) == [("2025-03-01", None, True), ("2025-02-01", "2025-02-28", False)]
    profile = api.get(f"{WH}/profile/").json()["profile"]
    assert profile["last_menstrual_period"] == "2025-03-01"


def test_a_period_logged_between_two_cycles_splits_the_earlier_one(api):
    for start in ("2025-01-01", "2025-01-29"):
        api.post(f"{WH}/cycles/", {"cycle_start_date": start, **CALENDAR}, format="json")
    api.post(f"{WH}/cycles/", {"cycle_start_date": "2025-01-15", **CALENDAR}, format="json")
    assert _cycles(api) == [("2025-01-29", None, True), ("2025-01-15", "2025-01-28", False),
                            ("2025-01-01", "2025-01-14", False)]
    api.post(f"{WH}/cycle-days/", {"date": "2025-01-20", "periodDay": True}, format="json")
    days = {c["cycle_start_date"]: [d["date"] for d in c["days"]] for c in api.get(f"{WH}/cycles/").json()["cycles"]}
    assert days == {"2025-01-29": [], "2025-01-15": ["2025-01-20"], "2025-01-01": []}, "the day is in one cycle"


def test_a_past_cycle_may_not_end_inside_the_next_one(api):
    api.post(f"{WH}/cycles/", {"cycle_start_date": "2025-03-01", **CALENDAR}, format="json")
    overlapping = api.post(f"{WH}/cycles/", {"cycle_start_date": "2025-02-01", "cycle_end_date": "2025-03-05",
                                             **CALENDAR}, format="json")
    assert overlapping.status_code == 400 and overlapping.json()["message"].startswith("cycle_end_date")
    assert _cycles(api) == [("2025-03-01", None, True)]


def test_deleting_a_period_marked_by_mistake_undoes_it(api):
    """The calendar colours period days from the profile's last period: a deleted cycle no longer counts."""
    today = local_today()
    real, wrong = today - timedelta(days=10), today - timedelta(days=2)
    api.post(f"{WH}/cycles/", {"cycle_start_date": real.isoformat(), **CALENDAR}, format="json")
    mistake = api.post(f"{WH}/cycles/", {"cycle_start_date": wrong.isoformat(), **CALENDAR}, format="json").json()
    assert api.get(f"{WH}/profile/").json()["profile"]["last_menstrual_period"] == wrong.isoformat()

    assert api.delete(f"{WH}/cycles/{mistake['cycle']['id']}/").status_code == 200
    assert _cycles(api) == [(real.isoformat(), None, True)], "the cycle it ended runs on and is current again"
    profile = api.get(f"{WH}/profile/").json()["profile"]
    assert profile["last_menstrual_period"] == real.isoformat() and profile["current_cycle_day"] == 11
    dashboard = api.get(f"{WH}/dashboard/").json()["dashboard"]
    assert dashboard["current_cycle"]["cycle_start_date"] == real.isoformat()
    assert dashboard["profile"]["last_menstrual_period"] == real.isoformat()

    only = api.get(f"{WH}/cycles/").json()["cycles"][0]
    api.delete(f"{WH}/cycles/{only['id']}/")
    profile = api.get(f"{WH}/profile/").json()["profile"]
    assert profile["last_menstrual_period"] is None and profile["current_cycle_day"] is None
    assert profile["estimated_next_period"] is None


def test_deleting_a_cycle_between_two_gives_its_days_to_the_one_before(api):
    for start in ("2025-01-01", "2025-01-29", "2025-02-26"):
        api.post(f"{WH}/cycles/", {"cycle_start_date": start, **CALENDAR}, format="json")
    middle = next(c for c in api.get(f"{WH}/cycles/").json()["cycles"] if c["cycle_start_date"] == "2025-01-29")
    api.delete(f"{WH}/cycles/{middle['id']}/")
    assert _cycles(api) == [("2025-02-26", None, True), ("2025-01-01", "2025-02-25", False)]
    assert api.get(f"{WH}/profile/").json()["profile"]["last_menstrual_period"] == "2025-02-26"


def _wait_until_a_query_waits_on_a_lock(timeout: float = 10.0) -> None:
    from django.db import connection

    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the second write never waited")


@pytest.mark.django_db(transaction=True)
def test_two_periods_logged_at_once_stay_in_sequence(mother):
    """Two past periods marked at the same moment (two tabs): the second reads the cycles the first left."""
    from django.db import connection, transaction

    from tracking import services

    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the row lock is exercised on PostgreSQL")
    services.cycle_create(user=mother, data={"cycle_start_date": date(2025, 3, 1), "is_current_cycle": True})
    first_written, release = threading.Event(), threading.Event()
    errors = []

    def first():
        try:
            with transaction.atomic():
                services.cycle_create(user=mother, data={"cycle_start_date": date(2025, 2, 1), "is_current_cycle": True})
                first_written.set()
                release.wait(10)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    def second():
        try:
            services.cycle_create(user=mother, data={"cycle_start_date": date(2025, 1, 15), "is_current_cycle": True})
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert first_written.wait(10)
    two = threading.Thread(target=second)
    two.start()
    _wait_until_a_query_waits_on_a_lock()
    release.set()
    one.join()
    two.join()
    assert errors == []
    assert _cycles(client_for(mother)) == [("2025-03-01", None, True), ("2025-02-01", "2025-02-28", False),
                                           ("2025-01-15", "2025-01-31", False)]
