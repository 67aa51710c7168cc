"""W13 as the fertility tracker page reads it (FertilityTracker.tsx): one object, not a list."""

from __future__ import annotations

from datetime import timedelta

from tests.tracking.conftest import WH
from tracking.fields import local_today


def test_the_fertility_page_reads_its_overview_and_the_entries(api):
    today = local_today()
    start = today - timedelta(days=20)
    api.post(f"{WH}/cycles/", {"cycle_start_date": start.isoformat(), "flow_intensity": "medium",
                               "is_regular": True, "is_current_cycle": True}, format="json")
    api.put(f"{WH}/profile/", {"average_cycle_length": 30}, format="json")
    # The calendar's "Mark Ovulation" (no cycle day) and a day logged with its cycle day.
    api.post(f"{WH}/fertility/", {"date": (start + timedelta(days=15)).isoformat(), "ovulation_test_taken": True,
                                  "ovulation_test_result": "positive", "basal_body_temperature": 36.8,
                                  "cervical_mucus": "egg-white"}, format="json")
    api.post(f"{WH}/fertility/", {"date": (start + timedelta(days=2)).isoformat(), "cycle_day": 3,
                                  "basal_body_temperature": 36.4, "temperature_time": "06:30"}, format="json")

    answer = api.get(f"{WH}/fertility/").json()
    assert answer["success"] is True and answer["total_count"] == 2
    data = answer["fertility_data"]
    # What the page reads: fertilityData.length, .cycle_day, .fertile_window.start/end, .ovulation_day, ...
    assert data["length"] == 2 and len(data["entries"]) == 2
    assert data["cycle_day"] == 21 == api.get(f"{WH}/profile/").json()["profile"]["current_cycle_day"]
    assert data["cycle_length"] == 30 and data["ovulation_day"] == 16
    assert data["fertile_window"] == {"start": 11, "end": 17, "peak": 16}
    assert "prediction_accuracy" in data
    assert data["temperature_readings"] == [
        {"day": 3, "date": (start + timedelta(days=2)).isoformat(), "time": "06:30", "temperature": 36.4},
        {"day": 16, "date": (start + timedelta(days=15)).isoformat(), "time": "", "temperature": 36.8},
    ]
    assert data["cervical_mucus"] == [{"day": 16, "date": (start + timedelta(days=15)).isoformat(),
                                       "type": "egg_white", "notes": ""}]
    assert data["entries"][1]["ovulation_test_result"] == "positive"


def test_nothing_logged_is_length_zero(api):
    data = api.get(f"{WH}/fertility/").json()["fertility_data"]
    assert data["length"] == 0 and data["entries"] == [] and data["temperature_readings"] == []
    assert data["cycle_day"] is None and data["fertile_window"] == {"start": 9, "end": 15, "peak": 14}
