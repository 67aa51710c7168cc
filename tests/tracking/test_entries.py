"""The DynamoDB-backed entries over HTTP against the moto server: kick sessions, contractions,
cycle days, daily logs (W18/W19), fertility (W13/W14) and weekly pregnancy entries (W11/W12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from phb.aws.clients import aws_resource, count_aws_calls
from tests.tracking.conftest import WH
from tracking.dynamo import keys

# DailyHealthLog.tsx:132-180: the exact body the form sends, values outside its own TS enums included.
W19_BODY = {
    "date": "2025-03-10",
    "symptoms": ["cramps", "bloating", "mood_swings", "food_cravings", "insomnia"],
    "mood": "neutral",
    "energy_level": "very_low",
    "sleep_duration_hours": 7.5,
    "sleep_quality": "fair",
    "exercise_performed": True,
    "exercise_duration_minutes": 30,
    "water_intake_liters": 2.25,
    "water_goal_met": True,
    "menstrual_flow": "very_heavy",
    "menstrual_cramps": True,
    "cramp_severity": "moderate",
    "breast_tenderness": False,
    "stress_level": "very_high",
    "anxiety_level": "mild",
    "sleep_bedtime": "22:30",
    "sleep_wake_time": "06:15",
    "exercise_intensity": "vigorous",
    "caffeine_intake_mg": 120,
    "headache": False,
    "nausea": True,
    "fatigue": True,
    "daily_notes": "Felt tired after lunch",
}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _stored(user, sk: str):
    from django.conf import settings

    table = aws_resource("dynamodb").Table(settings.PREGNANCY_TRACKING_TABLE)
    return table.get_item(Key={"pk": keys.user_pk(user.pk), "sk": sk}).get("Item")


# --- Kick sessions ---------------------------------------------------------------------------------
def test_kick_session_create_shape_and_completed(api, mother):
    response = api.post(f"{WH}/kick-sessions/", {"date": "2025-03-01T10:00:00.000Z", "kicks": 10, "duration": 754.4},
                        format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["success"] is True and body["queued"] is False
    session = body["kick_session"]
    assert set(session) == {"id", "date", "kicks", "duration", "completed"}
    assert session["date"] == "2025-03-01T10:00:00.000Z"
    assert session["kicks"] == 10 and session["duration"] == 754 and session["completed"] is True
    stored = _stored(mother, f"{keys.KICK}{session['id']}")
    assert isinstance(stored["ts"], Decimal) and stored["data_type"] == "KICK_SESSION"

    short = api.post(f"{WH}/kick-sessions/", {"date": 1740823200000, "kicks": 9, "duration": 600}, format="json")
    assert short.json()["kick_session"]["completed"] is False


def test_kick_session_validation(api):
    for body in ({"date": "yesterday", "kicks": 3, "duration": 10},
                 {"date": "2025-03-01T10:00:00Z", "kicks": -1, "duration": 10},
                 {"date": "2025-03-01T10:00:00Z", "kicks": 3, "duration": 999999},
                 {"date": "2999-01-01T00:00:00Z", "kicks": 3, "duration": 10},
                 {"kicks": 3, "duration": 10}):
        response = api.post(f"{WH}/kick-sessions/", body, format="json")
        assert response.status_code == 400, body
        assert response.json()["message"]


def test_kick_sessions_newest_first_with_cursor_paging(api):
    start = datetime(2025, 1, 1, 8, tzinfo=UTC)
    created = []
    for i in range(25):
        response = api.post(f"{WH}/kick-sessions/", {"date": _iso(start + timedelta(hours=i)), "kicks": i,
                                                     "duration": 60 + i}, format="json")
        created.append(response.json()["kick_session"]["id"])
    seen = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        body = api.get(f"{WH}/kick-sessions/", params).json()
        assert body["success"] is True
        seen.extend(body["kick_sessions"])
        pages += 1
        cursor = body["next_cursor"]
        assert body["has_more"] is (cursor is not None)
        if not cursor:
            break
    assert pages == 3
    assert [s["id"] for s in seen] == list(reversed(created)), "newest first, nothing skipped or repeated"
    assert [s["kicks"] for s in seen[:3]] == [24, 23, 22]


def test_latest_page_is_one_query(api):
    for i in range(3):
        api.post(f"{WH}/kick-sessions/", {"date": f"2025-02-0{i + 1}T09:00:00Z", "kicks": 12, "duration": 300},
                 format="json")
    with count_aws_calls() as calls:
        response = api.get(f"{WH}/kick-sessions/", {"limit": 50})
    assert len(response.json()["kick_sessions"]) == 3
    assert dict(calls) == {"dynamodb.Query": 1}


def test_kick_session_delete(api, mother):
    made = api.post(f"{WH}/kick-sessions/", {"date": "2025-03-02T10:00:00Z", "kicks": 4, "duration": 40},
                    format="json").json()["kick_session"]
    assert api.delete(f"{WH}/kick-sessions/{made['id']}/").status_code == 200
    assert _stored(mother, f"{keys.KICK}{made['id']}") is None
    assert api.delete(f"{WH}/kick-sessions/{made['id']}/").status_code == 404
    assert api.delete(f"{WH}/kick-sessions/not-a-valid-id/").status_code == 404


def test_client_id_makes_a_direct_post_idempotent(api):
    body = {"date": "2025-03-03T10:00:00Z", "kicks": 11, "duration": 500, "client_id": "ls-1740996000000"}
    first = api.post(f"{WH}/kick-sessions/", body, format="json")
    second = api.post(f"{WH}/kick-sessions/", body, format="json")
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["duplicate"] is True
    assert second.json()["kick_session"]["id"] == first.json()["kick_session"]["id"]
    listed = api.get(f"{WH}/kick-sessions/").json()["kick_sessions"]
    assert len(listed) == 1


# --- Contractions ----------------------------------------------------------------------------------
def test_contractions_derive_duration_interval_and_alert(api):
    base = int(datetime(2025, 4, 1, 3, 0, tzinfo=UTC).timestamp() * 1000)
    results = []
    # 4 contractions 4 minutes apart, each 70 s long
    for i in range(4):
        start = base + i * 240_000
        response = api.post(f"{WH}/contractions/", {"startTime": start, "endTime": start + 70_000}, format="json")
        assert response.status_code == 201, response.json()
        results.append(response.json())
    first = results[0]["contraction"]
    assert first["duration"] == 70 and first["interval"] is None and first["startTime"] == base
    assert [r["contraction"]["interval"] for r in results[1:]] == [240, 240, 240]
    # the first has no interval, so (as in the timer) the alert needs a fourth
    assert [r["alert"] for r in results] == [False, False, False, True]

    listed = api.get(f"{WH}/contractions/").json()
    assert listed["alert"] is True
    assert [c["interval"] for c in listed["contractions"]] == [None, 240, 240, 240], "oldest first"
    assert set(listed["contractions"][0]) == {"id", "startTime", "endTime", "duration", "interval"}

    # a short one breaks the pattern
    late = base + 4 * 240_000
    response = api.post(f"{WH}/contractions/", {"startTime": late, "endTime": late + 30_000}, format="json")
    assert response.json()["alert"] is False
    assert api.get(f"{WH}/contractions/").json()["alert"] is False


def test_contraction_backfill_finds_its_predecessor(api):
    base = int(datetime(2025, 4, 2, 3, 0, tzinfo=UTC).timestamp() * 1000)
    for i in (0, 2, 3, 4, 5):
        api.post(f"{WH}/contractions/", {"startTime": base + i * 600_000, "endTime": base + i * 600_000 + 50_000},
                 format="json")
    late_entry = api.post(f"{WH}/contractions/", {"startTime": base + 600_000, "endTime": base + 650_000},
                          format="json").json()
    assert late_entry["contraction"]["interval"] == 600
    intervals = [c["interval"] for c in api.get(f"{WH}/contractions/").json()["contractions"]]
    assert intervals == [None, 600, 600, 600, 600, 600]


def test_contraction_paging_and_validation(api):
    base = int(datetime(2025, 4, 3, 3, 0, tzinfo=UTC).timestamp() * 1000)
    for i in range(7):
        api.post(f"{WH}/contractions/", {"startTime": base + i * 100_000, "endTime": None}, format="json")
    page = api.get(f"{WH}/contractions/", {"limit": 3}).json()
    assert [c["interval"] for c in page["contractions"]] == [100, 100, 100]
    assert page["contractions"][0]["duration"] is None and page["contractions"][0]["endTime"] is None
    older = api.get(f"{WH}/contractions/", {"limit": 3, "cursor": page["next_cursor"]}).json()
    oldest = api.get(f"{WH}/contractions/", {"limit": 3, "cursor": older["next_cursor"]}).json()
    assert oldest["next_cursor"] is None
    assert [c["interval"] for c in oldest["contractions"]] == [None]
    starts = [c["startTime"] for p in (oldest, older, page) for c in p["contractions"]]
    assert starts == [base + i * 100_000 for i in range(7)]

    bad = api.post(f"{WH}/contractions/", {"startTime": base, "endTime": base - 1}, format="json")
    assert bad.status_code == 400 and "endTime" in bad.json()["message"]
    too_long = api.post(f"{WH}/contractions/", {"startTime": base, "endTime": base + 3_600_000}, format="json")
    assert too_long.status_code == 400


# --- Daily logs W18/W19 ------------------------------------------------------------------------------
def test_w19_accepts_what_the_form_sends_and_upserts_per_date(api, mother):
    created = api.post(f"{WH}/logs/", W19_BODY, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["success"] is True and body["action"] == "created" and body["message"]
    log = body["log"]
    assert log["date"] == "2025-03-10" and log["energy_level"] == "very_low" and log["cramp_severity"] == "moderate"
    assert log["sleep_duration_hours"] == 7.5 and log["water_intake_liters"] == 2.25
    stored = _stored(mother, f"{keys.DAILY_LOG}2025-03-10")
    assert stored["water_intake_liters"] == Decimal("2.25")

    updated = api.post(f"{WH}/logs/", {**W19_BODY, "mood": "excellent", "daily_notes": "Better", "caffeine_intake": 50,
                                       "caffeine_intake_mg": None}, format="json")
    assert updated.status_code == 200 and updated.json()["action"] == "updated"

    listed = api.get(f"{WH}/logs/", {"start_date": "2025-03-01", "end_date": "2025-03-31"}).json()
    assert listed["total_count"] == 1
    assert listed["logs"][0]["mood"] == "excellent" and listed["logs"][0]["daily_notes"] == "Better"
    assert listed["logs"][0]["caffeine_intake_mg"] is None

    # numbers from the sliders are fine; nonsense is refused with a message
    assert api.post(f"{WH}/logs/", {"date": "2025-03-11", "mood": 4, "stress_level": "3"}, format="json").status_code == 201
    bad = api.post(f"{WH}/logs/", {"date": "2025-03-12", "mood": "<script>"}, format="json")
    assert bad.status_code == 400 and bad.json()["message"].startswith("mood")
    assert api.post(f"{WH}/logs/", {"date": "2025-03-12", "sleep_bedtime": "25:00"}, format="json").status_code == 400


def test_w18_range_filters(api):
    for day in ("2025-05-01", "2025-05-15", "2025-06-01"):
        api.post(f"{WH}/logs/", {"date": day, "mood": "good"}, format="json")
    may = api.get(f"{WH}/logs/", {"start_date": "2025-05-01", "end_date": "2025-05-31"}).json()
    assert [log["date"] for log in may["logs"]] == ["2025-05-01", "2025-05-15"]
    assert api.get(f"{WH}/logs/", {"start_date": "2025-06-01", "end_date": "2025-05-01"}).status_code == 400
    assert api.get(f"{WH}/logs/", {"start_date": "garbage"}).status_code == 400


@pytest.mark.parametrize("path", ["logs", "fertility", "cycle-days"])
def test_a_range_ending_in_year_one_is_a_400(api, path):
    """Its default start would fall before the first day a date can hold."""
    response = api.get(f"{WH}/{path}/", {"end_date": "0001-01-01"})
    assert response.status_code == 400 and response.json()["message"] == "Dates must be YYYY-MM-DD."


def test_cycles_offset_beyond_every_cycle_is_an_empty_page(api):
    assert api.post(f"{WH}/cycles/", {"cycle_start_date": "2025-01-01"}, format="json").status_code == 201
    for offset in ("1", "100000000000000000000000"):
        body = api.get(f"{WH}/cycles/", {"offset": offset}).json()
        assert (body["cycles"], body["total_count"]) == ([], 1), offset
    everything = api.get(f"{WH}/cycles/", {"offset": "-5"}).json()  # read as 0: the first page
    assert (len(everything["cycles"]), everything["total_count"], everything["has_more"]) == (1, 1, False)


# --- Fertility W13/W14 ---------------------------------------------------------------------------
def test_fertility_merges_per_date(api):
    first = api.post(f"{WH}/fertility/", {"date": "2025-03-14", "cycle_day": 14, "basal_body_temperature": 36.71,
                                          "cervical_mucus": "egg-white"}, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["tracking"]["cervical_mucus"] == "egg_white"
    mark = api.post(f"{WH}/fertility/", {"date": "2025-03-14", "ovulation_test_taken": True,
                                         "ovulation_test_result": "positive"}, format="json")
    assert mark.status_code == 200
    merged = mark.json()["tracking"]
    assert merged["basal_body_temperature"] == 36.71 and merged["ovulation_test_result"] == "positive"
    listed = api.get(f"{WH}/fertility/", {"start_date": "2025-03-01", "end_date": "2025-03-31"}).json()
    assert listed["total_count"] == 1
    entry = listed["fertility_data"]["entries"][0]
    assert entry["cycle_day"] == 14 and entry["ovulation_test_taken"] is True


def test_a_future_ovulation_day_is_kept_as_a_prediction(api):
    """The cycle calendar marks an expected ovulation day ahead (CycleCalendar.tsx handleMarkOvulation)."""
    from tracking.fields import local_today

    ahead = (local_today() + timedelta(days=10)).isoformat()
    mark = api.post(f"{WH}/fertility/", {"date": ahead, "ovulation_test_taken": True,
                                         "ovulation_test_result": "positive"}, format="json")
    assert mark.status_code == 201, mark.json()
    assert mark.json()["success"] is True and mark.json()["tracking"]["is_prediction"] is True
    listed = api.get(f"{WH}/fertility/", {"start_date": ahead, "end_date": ahead}).json()["fertility_data"]["entries"]
    assert [(e["date"], e["is_prediction"], e["ovulation_test_result"]) for e in listed] == [(ahead, True, "positive")]
    observed = api.post(f"{WH}/fertility/", {"date": ahead, "basal_body_temperature": 36.6}, format="json")
    assert observed.status_code == 400 and "basal_body_temperature" in observed.json()["errors"]
    too_far = (local_today() + timedelta(days=400)).isoformat()
    assert api.post(f"{WH}/fertility/", {"date": too_far, "ovulation_test_taken": True}, format="json").status_code == 400
    past = api.post(f"{WH}/fertility/", {"date": "2025-03-14", "ovulation_test_taken": True}, format="json").json()
    assert past["tracking"]["is_prediction"] is False


# --- Pregnancy W11/W12 ----------------------------------------------------------------------------
def test_weekly_pregnancy_entries_and_record(api):
    assert api.get(f"{WH}/pregnancy/").json() == {"success": True, "pregnancy_record": None}
    body = {"pregnancy_week": 20, "current_weight_kg": 68.4, "belly_circumference_cm": 92, "baby_kicks_count": 14,
            "symptoms_experienced": ["morning_sickness", "back_pain"], "mood_rating": 7,
            "prenatal_vitamins_taken": True, "exercise_minutes": 25, "exercise_performed": True,
            "notes": "Good week", "data_completeness_score": 90}
    response = api.post(f"{WH}/pregnancy/", body, format="json")
    assert response.status_code == 201 and response.json()["success"] is True and response.json()["message"]
    record = api.get(f"{WH}/pregnancy/").json()["pregnancy_record"]
    for key in ("current_weight_kg", "belly_circumference_cm", "mood_rating", "prenatal_vitamins_taken",
                "exercise_minutes", "notes"):
        assert key in record
    assert record["current_weight_kg"] == 68.4 and record["pregnancy_week"] == 20
    again = api.post(f"{WH}/pregnancy/", {**body, "current_weight_kg": 69}, format="json")
    assert again.status_code == 200
    record = api.get(f"{WH}/pregnancy/").json()["pregnancy_record"]
    assert record["current_weight_kg"] == 69 and len(record["weekly_entries"]) == 1
    assert api.post(f"{WH}/pregnancy/", {**body, "pregnancy_week": 50}, format="json").status_code == 400


# The tracker page (PregnancyTracker.tsx) sends the profile's ``pregnancy_week``, 0 when it has none.
TRACKER_BODY = {"pregnancy_week": 0, "current_weight_kg": 0, "belly_circumference_cm": 0, "baby_kicks_count": 3,
                "symptoms_experienced": ["fatigue"], "mood_rating": 6, "prenatal_vitamins_taken": True,
                "exercise_minutes": 0, "exercise_performed": False, "notes": "", "data_completeness_score": 90}


def test_tracker_week_zero_without_a_pregnancy_is_a_clear_409(api):
    response = api.post(f"{WH}/pregnancy/", TRACKER_BODY, format="json")
    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "not_pregnant" and "due date" in response.json()["message"]
    assert api.get(f"{WH}/pregnancy/").json() == {"success": True, "pregnancy_record": None}


def test_tracker_week_zero_files_under_the_profiles_current_week(api):
    from tracking.fields import local_today

    due = local_today() + timedelta(days=280 - 20 * 7 - 3)  # 20 weeks and 3 days along
    assert api.put(f"{WH}/profile/", {"estimated_due_date": due.isoformat()}, format="json").status_code == 200
    profile = api.get(f"{WH}/profile/").json()["profile"]
    assert profile["pregnancy_status"] == "pregnant" and profile["pregnancy_week"] == 20
    response = api.post(f"{WH}/pregnancy/", TRACKER_BODY, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["entry"]["pregnancy_week"] == 20
    assert response.json()["entry"]["current_weight_kg"] is None, "the form's untouched 0 is not a weight"
    record = api.get(f"{WH}/pregnancy/").json()["pregnancy_record"]
    assert [e["pregnancy_week"] for e in record["weekly_entries"]] == [20]


@pytest.mark.parametrize("status", ["not_pregnant", "postpartum"])
def test_a_pregnancy_that_ended_shows_no_current_week(api, status):
    """After the profile says she is no longer pregnant (a loss, a birth), the tracker page and
    the dashboard no longer count weeks of a pregnancy from the due date still on file, and the
    page cannot file a weekly entry under that week either."""
    from tracking.fields import local_today

    due = local_today() + timedelta(days=280 - 14 * 7)
    assert api.put(f"{WH}/profile/", {"estimated_due_date": due.isoformat()}, format="json").status_code == 200
    assert api.get(f"{WH}/profile/").json()["profile"]["pregnancy_week"] == 14
    ended = api.put(f"{WH}/profile/", {"pregnancy_status": status}, format="json").json()["profile"]
    assert ended["pregnancy_status"] == status and ended["estimated_due_date"] == due.isoformat()
    assert ended["pregnancy_week"] is None and ended["current_pregnancy_week"] is None
    dashboard = api.get(f"{WH}/dashboard/").json()["dashboard"]
    assert dashboard["profile"]["current_pregnancy_week"] is None and dashboard["current_pregnancy"] is None
    week_zero = api.post(f"{WH}/pregnancy/", TRACKER_BODY, format="json")  # what the page then sends
    assert week_zero.status_code == 409 and week_zero.json()["code"] == "not_pregnant"


# --- Cycle days -------------------------------------------------------------------------------------
def test_cycle_days_carry_the_trackers_shape(api):
    day = {"date": "2025-03-02T23:00:00.000Z", "periodDay": True, "cervicalMucus": "egg_white",
           "temperature": 36.456, "notes": "light"}
    response = api.post(f"{WH}/cycle-days/", day, format="json")
    assert response.status_code == 201, response.json()
    first = response.json()["day"]
    assert first == {"date": "2025-03-03", "periodDay": True, "cervicalMucus": "egg-white",
                     "temperature": 36.46, "notes": "light", "version": first["version"]}, "local day in Lagos, rounded BBT"
    again = api.post(f"{WH}/cycle-days/", {"date": "2025-03-03", "periodDay": False}, format="json")
    assert again.status_code == 200 and again.json()["day"]["version"] > first["version"]
    listed = api.get(f"{WH}/cycle-days/", {"start_date": "2025-03-01", "end_date": "2025-03-31"}).json()
    assert listed["days"] == [{"date": "2025-03-03", "periodDay": False, "cervicalMucus": "unknown",
                               "temperature": None, "notes": "", "version": again.json()["day"]["version"]}]
    assert api.post(f"{WH}/cycle-days/", {"date": "2025-03-04", "cervicalMucus": "slimy"},
                    format="json").status_code == 400
    assert api.delete(f"{WH}/cycle-days/2025-03-03/").status_code == 200
    assert api.delete(f"{WH}/cycle-days/2025-03-03/").status_code == 404


def test_contraction_delete(api, mother):
    made = api.post(f"{WH}/contractions/", {"startTime": 1743476400000, "endTime": 1743476460000},
                    format="json").json()["contraction"]
    assert api.delete(f"{WH}/contractions/{made['id']}/").status_code == 200
    assert _stored(mother, f"{keys.CONTRACTION}{made['id']}") is None
    assert api.get(f"{WH}/contractions/").json()["contractions"] == []
    assert api.delete(f"{WH}/contractions/{made['id']}/").status_code == 404
