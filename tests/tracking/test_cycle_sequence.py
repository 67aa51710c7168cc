"""Cycles stay in sequence when a period is logged afterwards (W9, as the calendar sends it)."""

from __future__ import annotations

from tests.tracking.conftest import WH

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
