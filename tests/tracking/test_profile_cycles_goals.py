"""W4–W10, W15–W17, due date and birth plan over HTTP."""

from __future__ import annotations

import copy
from datetime import timedelta

from tests.tracking.conftest import WH
from tracking.birth_plan import SECTION_IDS
from tracking.fields import local_today


def test_profile_defaults_then_update(api):
    profile = api.get(f"{WH}/profile/").json()
    assert profile["success"] is True
    p = profile["profile"]
    assert p["average_cycle_length"] == 28 and p["pregnancy_status"] == "not_pregnant"
    assert p["pregnancy_week"] is None and p["current_pregnancy_week"] is None
    assert p["is_verified"] is True

    lmp = (local_today() - timedelta(days=9)).isoformat()
    saved = api.put(f"{WH}/profile/", {"average_cycle_length": 30, "last_menstrual_period": lmp,
                                       "weight_kg": 61.25, "allergies": ["penicillin"]}, format="json")
    assert saved.status_code == 200 and saved.json()["message"]
    p = saved.json()["profile"]
    assert p["current_cycle_day"] == 10
    assert p["estimated_next_period"] == (local_today() + timedelta(days=21)).isoformat()
    assert p["weight_kg"] == 61.3 and p["allergies"] == ["penicillin"]

    due = (local_today() + timedelta(days=140)).isoformat()
    p = api.post(f"{WH}/profile/", {"estimated_due_date": due}, format="json").json()["profile"]
    assert p["pregnancy_status"] == "pregnant" and p["current_pregnancy_week"] == 20 and p["pregnancy_week"] == 20

    bad = api.put(f"{WH}/profile/", {"average_cycle_length": 5}, format="json")
    assert bad.status_code == 400 and bad.json()["message"].startswith("average_cycle_length")


def test_cycles_create_list_delete_with_days(api):
    first = api.post(f"{WH}/cycles/", {"cycle_start_date": "2025-01-01", "flow_intensity": "medium",
                                       "is_regular": True, "is_current_cycle": True}, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["cycle"]["is_current_cycle"] is True and first.json()["message"]
    second = api.post(f"{WH}/cycles/", {"cycle_start_date": "2025-01-29", "flow_intensity": "heavy",
                                        "is_regular": True, "is_current_cycle": True}, format="json").json()["cycle"]
    api.post(f"{WH}/cycle-days/", {"date": "2025-01-02", "periodDay": True, "cervicalMucus": "dry"}, format="json")
    api.post(f"{WH}/cycle-days/", {"date": "2025-01-29", "periodDay": True, "temperature": 36.4}, format="json")
    api.post(f"{WH}/cycle-days/", {"date": "2025-02-03", "cervicalMucus": "egg-white"}, format="json")

    listed = api.get(f"{WH}/cycles/", {"limit": 20, "offset": 0}).json()
    assert listed["total_count"] == 2 and listed["has_more"] is False
    newest, oldest = listed["cycles"]
    assert newest["id"] == second["id"] and newest["cycle_end_date"] is None and newest["is_current_cycle"] is True
    assert oldest["cycle_end_date"] == "2025-01-28" and oldest["endDate"] == "2025-01-28", "ended the day before"
    assert oldest["is_current_cycle"] is False and oldest["cycle_length"] == 28
    assert [d["date"] for d in oldest["days"]] == ["2025-01-02"]
    assert [d["date"] for d in newest["days"]] == ["2025-01-29", "2025-02-03"]
    assert newest["startDate"] == "2025-01-29" and newest["period_length"] == 1

    page = api.get(f"{WH}/cycles/", {"limit": 1, "offset": 0}).json()
    assert page["has_more"] is True and len(page["cycles"]) == 1

    duplicate = api.post(f"{WH}/cycles/", {"cycle_start_date": "2025-01-29"}, format="json")
    assert duplicate.status_code == 409 and duplicate.json()["message"]

    one = api.get(f"{WH}/cycles/{oldest['id']}/").json()["cycle"]
    assert [d["date"] for d in one["days"]] == ["2025-01-02"]

    deleted = api.delete(f"{WH}/cycles/{oldest['id']}/")
    assert deleted.status_code == 200 and deleted.json() == {"success": True, "message": "Cycle deleted."}
    assert api.get(f"{WH}/cycles/").json()["total_count"] == 1
    assert api.delete(f"{WH}/cycles/{oldest['id']}/").status_code == 404


def test_goals_create_update_filter(api):
    created = api.post(f"{WH}/goals/", {"title": "Drink water", "description": "2 L a day", "category": "hydration",
                                        "target_value": 14, "unit": "days", "frequency": "daily", "is_active": True,
                                        "reminders_enabled": True}, format="json")
    assert created.status_code == 201, created.json()
    goal = created.json()["goal"]
    assert goal["unit"] == "days" and goal["unit_of_measurement"] == "days" and goal["status"] == "active"
    assert goal["progress_percentage"] == 0

    halfway = api.put(f"{WH}/goals/{goal['id']}/", {"goal_id": goal["id"], "current_value": 7, "notes": "on track"},
                      format="json").json()["goal"]
    assert halfway["progress_percentage"] == 50 and halfway["notes"] == ["on track"] and halfway["title"] == "Drink water"
    done = api.put(f"{WH}/goals/{goal['id']}/", {"current_value": 14}, format="json").json()["goal"]
    assert done["status"] == "completed" and done["is_completed"] is True and done["completed_at"]

    api.post(f"{WH}/goals/", {"title": "Walk", "target_value": 30, "unit": "minutes"}, format="json")
    assert api.get(f"{WH}/goals/").json()["total_count"] == 2
    active = api.get(f"{WH}/goals/", {"status": "active"}).json()
    assert [g["title"] for g in active["goals"]] == ["Walk"]
    assert api.get(f"{WH}/goals/", {"status": "nope"}).status_code == 400
    assert api.post(f"{WH}/goals/", {"description": "no title"}, format="json").status_code == 400


def test_a_goal_completed_by_a_mistyped_value_is_active_again_once_corrected(api):
    """The goals page's full update sends any value (HealthGoals.tsx): 100 for 10, then the fix."""
    goal = api.post(f"{WH}/goals/", {"title": "Fruits & Vegetables", "category": "nutrition", "target_value": 10,
                                     "unit": "servings", "frequency": "daily", "is_active": True,
                                     "reminders_enabled": True}, format="json").json()["goal"]
    typo = api.put(f"{WH}/goals/{goal['id']}/", {"goal_id": goal["id"], "current_value": 100}, format="json").json()
    assert typo["goal"]["status"] == "completed" and typo["goal"]["is_active"] is False

    fixed = api.put(f"{WH}/goals/{goal['id']}/", {"goal_id": goal["id"], "current_value": 5}, format="json").json()["goal"]
    assert fixed["status"] == "active" and fixed["is_completed"] is False and fixed["completed_at"] is None
    assert fixed["is_active"] is True and fixed["progress_percentage"] == 50
    assert [g["id"] for g in api.get(f"{WH}/dashboard/").json()["dashboard"]["active_goals"]] == [goal["id"]]

    done = api.put(f"{WH}/goals/{goal['id']}/", {"current_value": 10}, format="json").json()["goal"]
    raised = api.put(f"{WH}/goals/{goal['id']}/", {"target_value": 12}, format="json").json()["goal"]
    assert done["status"] == "completed" and raised["status"] == "active", "a raised target is not reached yet"
    kept = api.put(f"{WH}/goals/{goal['id']}/", {"current_value": 3, "status": "completed"}, format="json").json()
    assert kept["goal"]["status"] == "completed", "a status sent with the update is kept"


def test_dashboard(api):
    due = (local_today() + timedelta(days=100)).isoformat()
    api.put(f"{WH}/due-date/", {"due_date": due}, format="json")
    api.post(f"{WH}/cycles/", {"cycle_start_date": "2025-01-01"}, format="json")
    api.post(f"{WH}/goals/", {"title": "Sleep", "target_value": 8, "unit": "hours"}, format="json")
    api.post(f"{WH}/logs/", {"date": "2025-01-05", "mood": "good"}, format="json")
    api.post(f"{WH}/fertility/", {"date": "2025-01-14", "ovulation_test_taken": True}, format="json")
    response = api.get(f"{WH}/dashboard/")
    assert response.status_code == 200
    dashboard = response.json()["dashboard"]
    assert set(dashboard) >= {"profile", "current_cycle", "current_pregnancy", "recent_fertility_data", "active_goals",
                              "upcoming_screenings", "recent_health_logs", "summary"}
    assert dashboard["summary"] == {"total_cycles": 1, "total_pregnancies": 1, "active_goals_count": 1,
                                    "profile_completion": dashboard["profile"]["profile_completion"]}
    assert dashboard["current_pregnancy"]["pregnancy_week"] == 25
    assert dashboard["upcoming_screenings"][0]["week_to"] >= 25
    assert len(dashboard["recent_health_logs"]) == 1 and len(dashboard["recent_fertility_data"]) == 1


def test_due_date_put_get_clear(api):
    empty = api.get(f"{WH}/due-date/").json()
    assert empty["success"] is True and empty["due_date"] is None and empty["pregnancy_week"] is None
    due = local_today() + timedelta(days=280 - 12 * 7 - 3)
    saved = api.put(f"{WH}/due-date/", {"due_date": due.isoformat()}, format="json").json()
    assert saved["due_date"] == due.isoformat()
    assert saved["pregnancy_week"] == 12 and saved["pregnancy_day"] == 3 and saved["trimester"] == 1
    assert api.get(f"{WH}/due-date/").json()["pregnancy_week"] == 12
    assert api.get(f"{WH}/profile/").json()["profile"]["pregnancy_week"] == 12
    assert api.put(f"{WH}/due-date/", {"due_date": "2001-01-01"}, format="json").status_code == 400
    assert api.put(f"{WH}/due-date/", {"due_date": "12/03/2025"}, format="json").status_code == 400
    cleared = api.put(f"{WH}/due-date/", {"due_date": None}, format="json").json()
    assert cleared["due_date"] is None


def test_profile_refuses_a_due_date_long_past_as_the_due_date_endpoint_does(api):
    """A due date from years ago made the profile pregnant, at week 42, on the dashboard."""
    for method in ("put", "post"):
        response = getattr(api, method)(f"{WH}/profile/", {"estimated_due_date": "2003-05-01"}, format="json")
        assert response.status_code == 400, response.json()
        assert response.json()["message"].startswith("estimated_due_date") and "60 days ago" in response.json()["message"]
    too_old = (local_today() - timedelta(days=61)).isoformat()
    assert api.put(f"{WH}/profile/", {"estimated_due_date": too_old}, format="json").status_code == 400
    profile = api.get(f"{WH}/profile/").json()["profile"]
    assert profile["estimated_due_date"] is None and profile["pregnancy_status"] == "not_pregnant"
    assert api.get(f"{WH}/dashboard/").json()["dashboard"]["current_pregnancy"] is None
    recent = (local_today() - timedelta(days=60)).isoformat()
    saved = api.put(f"{WH}/profile/", {"estimated_due_date": recent}, format="json")
    assert saved.status_code == 200 and saved.json()["profile"]["estimated_due_date"] == recent
    assert api.put(f"{WH}/profile/", {"estimated_due_date": None}, format="json").status_code == 200


def _plan() -> dict:
    return {
        "name": "Ada",
        "dueDate": "2025-09-01",
        "careProvider": "Dr. Bello",
        "birthPlace": "hospital",
        "sections": [
            {"id": sid, "title": sid.replace("-", " ").title(),
             "options": [{"id": f"{sid}-1", "text": "Option one", "selected": True},
                         {"id": f"{sid}-2", "text": "Option two", "selected": False, "customOption": True}],
             "allowCustom": True, "customText": ""}
            for sid in SECTION_IDS
        ],
        "additionalNotes": "Dim lights",
    }


def test_birth_plan_put_get_and_validation(api):
    assert api.get(f"{WH}/birth-plan/").json() == {"success": True, "birth_plan": None}
    saved = api.put(f"{WH}/birth-plan/", _plan(), format="json")
    assert saved.status_code == 200, saved.json()
    plan = api.get(f"{WH}/birth-plan/").json()["birth_plan"]
    assert [s["id"] for s in plan["sections"]] == list(SECTION_IDS)
    assert plan["sections"][0]["options"][1]["customOption"] is True and plan["additionalNotes"] == "Dim lights"

    twice = copy.deepcopy(_plan())
    twice["sections"][1] = copy.deepcopy(twice["sections"][0])
    response = api.put(f"{WH}/birth-plan/", twice, format="json")
    assert response.status_code == 400 and "more than once: atmosphere" in response.json()["message"]


def test_birth_plan_takes_any_subset_and_reads_the_rest_back_empty(api):
    some = copy.deepcopy(_plan())
    some["sections"] = [some["sections"][5], some["sections"][0]]  # c-section, atmosphere
    saved = api.put(f"{WH}/birth-plan/", some, format="json")
    assert saved.status_code == 200, saved.json()
    plan = api.get(f"{WH}/birth-plan/").json()["birth_plan"]
    assert [s["id"] for s in plan["sections"]] == list(SECTION_IDS)
    by_id = {s["id"]: s for s in plan["sections"]}
    assert by_id["atmosphere"]["options"][0]["selected"] is True and len(by_id["c-section"]["options"]) == 2
    assert by_id["feeding"] == {"id": "feeding", "title": "Feeding Plans", "options": [], "customText": ""}
    none = {**copy.deepcopy(_plan()), "sections": []}
    assert api.put(f"{WH}/birth-plan/", none, format="json").status_code == 200
    assert all(s["options"] == [] for s in api.get(f"{WH}/birth-plan/").json()["birth_plan"]["sections"])


def test_birth_plan_names_unknown_and_repeated_sections(api):
    plan = copy.deepcopy(_plan())
    extra = copy.deepcopy(plan["sections"][0])
    plan["sections"] += [{**extra, "id": "water-birth"}, {**extra, "id": "lotus"}, copy.deepcopy(plan["sections"][2])]
    response = api.put(f"{WH}/birth-plan/", plan, format="json")
    assert response.status_code == 400
    message = response.json()["message"]
    assert "water-birth, lotus" in message and "more than once: pain-management" in message
    assert api.get(f"{WH}/birth-plan/").json()["birth_plan"] is None, "nothing saved"


def test_goal_delete_and_due_date_delete(api):
    goal = api.post(f"{WH}/goals/", {"title": "Rest"}, format="json").json()["goal"]
    assert api.delete(f"{WH}/goals/{goal['id']}/").status_code == 200
    assert api.get(f"{WH}/goals/{goal['id']}/").status_code == 404
    api.put(f"{WH}/due-date/", {"due_date": (local_today() + timedelta(days=50)).isoformat()}, format="json")
    cleared = api.delete(f"{WH}/due-date/")
    assert cleared.status_code == 200 and cleared.json()["due_date"] is None


def test_baby_name_favorites_and_shower_checklist(api, stranger):
    from tests.helpers import client_for

    assert api.get(f"{WH}/baby-names/favorites/").json() == {"success": True, "favorites": []}
    saved = api.put(f"{WH}/baby-names/favorites/", {"favorites": [12, 7, 12, 301]}, format="json")
    assert saved.status_code == 200 and saved.json()["favorites"] == [12, 7, 301]
    assert api.get(f"{WH}/baby-names/favorites/").json()["favorites"] == [12, 7, 301]
    assert api.put(f"{WH}/baby-names/favorites/", {"favorites": ["x"]}, format="json").status_code == 400

    checklist = [{"id": 1, "text": "Send invitations", "completed": False, "category": "invitations"},
                 {"id": "2", "text": "Order cake", "completed": True, "category": "food"}]
    saved = api.put(f"{WH}/baby-shower-checklist/", {"checklist": checklist}, format="json")
    assert saved.status_code == 200
    assert api.get(f"{WH}/baby-shower-checklist/").json()["checklist"] == [
        {"id": "1", "text": "Send invitations", "completed": False, "category": "invitations"},
        {"id": "2", "text": "Order cake", "completed": True, "category": "food"}]
    bad = api.put(f"{WH}/baby-shower-checklist/", {"checklist": [{**checklist[0], "category": "party"}]},
                  format="json")
    assert bad.status_code == 400
    assert client_for(stranger).get(f"{WH}/baby-shower-checklist/").json()["checklist"] == []
    assert client_for(None).get(f"{WH}/baby-names/favorites/").status_code == 401


def test_cycle_days_read_only_for_the_cycles_shown(api, mother, settings):
    """A page of cycles reads the days of those cycles; an open cycle shows a bounded window."""
    from tracking.dynamo import store

    settings.TRACKING_OPEN_CYCLE_DAYS = 40
    for start in ("2024-01-01", "2024-02-01", "2024-03-01"):
        api.post(f"{WH}/cycles/", {"cycle_start_date": start}, format="json")
    from tracking.models import MenstrualCycle

    MenstrualCycle.objects.filter(user=mother, cycle_start_date="2024-01-01").update(cycle_end_date="2024-01-31")
    MenstrualCycle.objects.filter(user=mother, cycle_start_date="2024-02-01").update(cycle_end_date="2024-02-29")
    for day in ("2024-01-05", "2024-02-03", "2024-03-02", "2024-04-09", "2024-04-10", "2024-09-01"):
        assert api.post(f"{WH}/cycle-days/", {"date": day, "periodDay": True}, format="json").status_code in (200, 201)

    spans = []
    real = store.query_all

    def counting(table, **kwargs):
        spans.append(kwargs["between"])
        return real(table, **kwargs)

    store.query_all = counting
    try:
        newest = api.get(f"{WH}/cycles/", {"limit": 1}).json()
        oldest = api.get(f"{WH}/cycles/", {"limit": 1, "offset": 2}).json()
    finally:
        store.query_all = real
    # The open cycle (from 2024-03-01) shows 40 days: 2024-03-02 and 2024-04-09, not 04-10 or 09-01.
    assert [d["date"] for d in newest["cycles"][0]["days"]] == ["2024-03-02", "2024-04-09"]
    assert [d["date"] for d in oldest["cycles"][0]["days"]] == ["2024-01-05"]
    assert spans == [("CDAY#2024-03-01", "CDAY#2024-04-09"), ("CDAY#2024-01-01", "CDAY#2024-01-31")]


def test_cycle_days_are_read_with_only_the_attributes_they_show(api, mother):
    """The days' Query projects what the payload reads; the answer is the same as from whole items."""
    from tracking.dynamo import keys, store
    from tracking.kinds import CYCLE_DAYS

    api.post(f"{WH}/cycles/", {"cycle_start_date": "2024-03-01"}, format="json")
    day = {"date": "2024-03-02", "periodDay": True, "cervicalMucus": "creamy", "temperature": 36.55,
           "notes": "cramps"}
    assert api.post(f"{WH}/cycle-days/", day, format="json").status_code in (200, 201)
    full = store.query_all(store.tracking_table(), pk=keys.user_pk(mother.pk), prefix=keys.CYCLE_DAY)
    assert len(full) == 1 and {"created_at", "updated_at", "ts"} <= set(full[0])
    shown = {"date": "2024-03-02", "periodDay": True, "cervicalMucus": "creamy", "temperature": 36.55,
             "notes": "cramps", "version": int(full[0]["version"])}
    assert CYCLE_DAYS.payload({k: v for k, v in full[0].items() if k in CYCLE_DAYS.payload_attributes}) \
        == CYCLE_DAYS.payload(full[0]) == shown

    projections = []

    def record(params, **_):
        projections.append(params.get("ProjectionExpression") and sorted(
            params["ExpressionAttributeNames"][name] for name in params["ProjectionExpression"].split(", ")))

    events = store.client().meta.events
    events.register("provide-client-params.dynamodb.Query", record)
    try:
        cycles = api.get(f"{WH}/cycles/").json()["cycles"]
        days = api.get(f"{WH}/cycle-days/", {"start_date": "2024-03-01", "end_date": "2024-03-31"}).json()
    finally:
        events.unregister("provide-client-params.dynamodb.Query", record)
    assert cycles[0]["days"] == [shown]
    assert [d for d in (days.get("days") if isinstance(days, dict) else days)] == [shown]
    assert projections == [sorted(CYCLE_DAYS.payload_attributes)] * 2
