"""A goal's notes, streaks and icon, as the goals page reads them (W15–W17, the dashboard)."""

from __future__ import annotations

import importlib
import random
from contextlib import contextmanager
from datetime import date, timedelta
from unittest import mock

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from phb.zones import today_in, zone_named
from tests.helpers import assert_private, client_for
from tests.tracking.conftest import WH
from tests.zone_days import zone_on_another_day
from tracking import services
from tracking.fields import local_today
from tracking.goals import streaks, streaks_of
from tracking.models import GoalProgress, HealthGoal


def _goal(api, **body):
    created = api.post(f"{WH}/goals/", {"title": "Daily Steps", "category": "fitness", "target_value": 10000,
                                        "unit": "steps", "frequency": "daily", **body}, format="json")
    assert created.status_code == 201, created.json()
    return created.json()["goal"]


@contextmanager
def _on(day: date):
    """Updates made inside the block are made on ``day`` (the log's date and the goal's run)."""
    with mock.patch("tracking.services.local_today", return_value=day):
        yield


def _update_on(goal_id: str, day: date, **data) -> HealthGoal:
    with _on(day):
        return services.goal_update(goal=HealthGoal.objects.get(pk=goal_id), data=data)


def _check_ins(goal_id: str, *days_ago: int, note: str = "") -> None:
    """Check-ins made through the service, oldest first, on the days that many days ago."""
    today = local_today()
    for n in sorted(days_ago, reverse=True):
        _update_on(goal_id, today - timedelta(days=n), current_value=1, **({"notes": note} if note else {}))


def test_notes_are_a_list_oldest_first_and_the_latest_is_last(api):
    goal = _goal(api)
    assert goal["notes"] == [] and goal["streak"] == 0 and goal["best_streak"] == 0
    url = f"{WH}/goals/{goal['id']}/"
    first = api.put(url, {"goal_id": goal["id"], "current_value": 1, "notes": "Felt great"}, format="json")
    assert first.status_code == 200 and first.json()["goal"]["notes"] == ["Felt great"]
    api.put(url, {"goal_id": goal["id"], "current_value": 2, "notes": "Tired today"}, format="json")
    api.put(url, {"goal_id": goal["id"], "current_value": 3}, format="json")  # the +1 button: no note
    api.put(url, {"goal_id": goal["id"], "current_value": 3, "notes": ""}, format="json")
    for shown in (api.get(url).json()["goal"], api.get(f"{WH}/goals/").json()["goals"][0]):
        assert shown["notes"] == ["Felt great", "Tired today"], shown["notes"]
        assert shown["notes"][-1] == "Tired today"
        assert shown["current_value"] == 3 and shown["streak"] == 1 and shown["best_streak"] == 1
    # A note given with the goal starts its notes; a note is still one string in the body.
    noted = _goal(api, notes="Start slowly")
    assert noted["notes"] == ["Start slowly"] and noted["streak"] == 0
    assert api.put(url, {"notes": ["a", "list"]}, format="json").status_code == 400


def test_streak_and_best_streak_over_a_history_with_a_break(api, mother):
    goal = _goal(api)
    # Today and the two days before; a missed day; then a run of five days.
    _check_ins(goal["id"], 8, 7, 6, 5, 4)
    _update_on(goal["id"], local_today() - timedelta(days=3), notes="rest day")
    _check_ins(goal["id"], 2, 1, 0)
    shown = api.get(f"{WH}/goals/{goal['id']}/").json()["goal"]
    assert (shown["streak"], shown["best_streak"]) == (3, 5), "a note alone is not a check-in"
    assert shown["notes"] == ["rest day"]


def test_a_streak_lasts_through_the_current_period_and_ends_after_a_missed_one(api):
    yesterday = _goal(api, title="Yesterday")
    _check_ins(yesterday["id"], 1, 2)
    lapsed = _goal(api, title="Lapsed")
    _check_ins(lapsed["id"], 2, 3, 4)
    shown = {g["title"]: g for g in api.get(f"{WH}/goals/").json()["goals"]}
    assert (shown["Yesterday"]["streak"], shown["Yesterday"]["best_streak"]) == (2, 2)
    assert (shown["Lapsed"]["streak"], shown["Lapsed"]["best_streak"]) == (0, 3)


def test_streaks_count_the_goals_own_periods():
    today = date(2025, 3, 12)  # a Wednesday
    # Weekly: two check-ins in this week and one in each of the two weeks before count three weeks.
    weekly = [date(2025, 3, 10), date(2025, 3, 11), date(2025, 3, 4), date(2025, 2, 24), date(2025, 2, 3)]
    assert streaks(weekly, frequency="weekly", today=today).streak == 3
    assert streaks(weekly, frequency="Weekly", today=today).best_streak == 3
    # Monthly, across a year's end, last month's run still going.
    monthly = [date(2024, 12, 30), date(2025, 1, 2), date(2025, 2, 27)]
    assert (streaks(monthly, frequency="monthly", today=today).streak,
            streaks(monthly, frequency="monthly", today=today).best_streak) == (3, 3)
    # Any other frequency counts days; a check-in dated after today is not counted.
    days = [date(2025, 3, 10), date(2025, 3, 11), date(2025, 3, 13)]
    assert (streaks(days, frequency="", today=today).streak, streaks(days, frequency="", today=today).best_streak) == (2, 2)
    assert streaks([], frequency="daily", today=today).best_streak == 0


def test_the_list_reads_notes_and_streaks_in_a_fixed_number_of_queries(api):
    def list_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = api.get(f"{WH}/goals/")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    def add_goals(n: int) -> None:
        for i in range(n):
            goal = _goal(api, title=f"Goal {i}")
            _check_ins(goal["id"], 0, 1, 3, note=f"note {i}")

    add_goals(2)
    few = list_queries()
    add_goals(6)
    assert list_queries() == few
    goals = api.get(f"{WH}/goals/").json()["goals"]
    assert len(goals) == 8 and all(g["streak"] == 2 and g["best_streak"] == 2 for g in goals)
    assert all(len(g["notes"]) == 3 for g in goals)


def test_icon_follows_the_category(api):
    assert _goal(api)["icon"] == "👟"
    assert _goal(api, category="wellness")["icon"] == "🧘‍♀️"
    assert _goal(api, category="reproductive")["icon"] == "💊"
    assert _goal(api, category="nutrition")["icon"] == "🥗"
    assert _goal(api, category="")["icon"] == "🎯"


def test_the_dashboard_goals_carry_the_same_shape(api):
    goal = _goal(api)
    api.put(f"{WH}/goals/{goal['id']}/", {"goal_id": goal["id"], "current_value": 5, "notes": "Felt great"},
            format="json")
    shown = api.get(f"{WH}/dashboard/").json()["dashboard"]["active_goals"][0]
    assert shown["notes"] == ["Felt great"] and shown["streak"] == 1 and shown["icon"] == "👟"


def test_another_user_and_anonymous_get_none_of_a_goals_notes(api, mother, stranger):
    goal = _goal(api)
    api.put(f"{WH}/goals/{goal['id']}/", {"goal_id": goal["id"], "current_value": 5, "notes": "private"},
            format="json")
    assert_private(f"{WH}/goals/{goal['id']}/", owner=mother, stranger=stranger, owner_status=200)
    assert_private(f"{WH}/goals/{goal['id']}/", stranger=stranger, method="put",
                   data={"current_value": 9, "notes": "not theirs"})
    other = client_for(stranger)
    assert other.get(f"{WH}/goals/").json()["goals"] == []
    theirs = _goal(other)
    assert theirs["notes"] == [] and theirs["streak"] == 0
    assert [g["id"] for g in other.get(f"{WH}/goals/").json()["goals"]] == [theirs["id"]]
    assert other.get(f"{WH}/dashboard/").json()["dashboard"]["active_goals"][0]["notes"] == []
    anonymous = client_for(None).get(f"{WH}/goals/")
    assert anonymous.status_code == 401 and "goals" not in anonymous.json()
    mine = api.get(f"{WH}/goals/{goal['id']}/").json()["goal"]
    assert mine["notes"] == ["private"] and mine["current_value"] == 5


def test_a_goals_earlier_note_becomes_the_first_of_its_notes(mother):
    migration = importlib.import_module("tracking.migrations.0006_goal_progress")
    goal = HealthGoal.objects.create(user=mother, title="Sleep", notes="before the log")
    HealthGoal.objects.create(user=mother, title="No note")
    migration.notes_into_the_log(apps, None)
    assert list(GoalProgress.objects.values_list("goal_id", "note", "value")) == [(goal.pk, "before the log", None)]


@pytest.mark.parametrize("frequency", ["daily", "weekly", "monthly"])
def test_a_check_in_today_starts_a_streak_of_one(api, frequency):
    goal = _goal(api, frequency=frequency)
    shown = api.put(f"{WH}/goals/{goal['id']}/", {"current_value": 1}, format="json").json()["goal"]
    assert (shown["streak"], shown["best_streak"]) == (1, 1)


def test_the_kept_run_is_the_run_of_the_whole_log(api, mother):
    """Check-ins on random days, in order and out of it (a day before the run: the log is read
    again), with frequency changes between them: the streaks shown are always those of the whole
    log, and so is what the migration computes from it."""
    rng = random.Random(7)
    goal = _goal(api)
    today = local_today()
    day = today - timedelta(days=400)
    for _ in range(120):
        day = min(today, day + timedelta(days=rng.choice([0, 1, 1, 1, 2, 3, 9, 31])))
        when = day - timedelta(days=rng.choice([0, 0, 0, 0, 0, 0, 5, 40]))
        data = {"current_value": 1}
        if rng.random() < 0.08:
            data["frequency"] = rng.choice(["daily", "weekly", "monthly", "Weekly", ""])
        if rng.random() < 0.3:
            data["notes"] = f"note {_}"
        kept = _update_on(goal["id"], when, **data)
        logged = GoalProgress.objects.filter(goal_id=goal["id"], value__isnull=False).values_list("date", flat=True)
        for shown_on in (today, when, when + timedelta(days=8)):
            expected = streaks(list(logged), frequency=kept.frequency, today=max(shown_on, max(logged)))
            got = streaks_of(kept.run, frequency=kept.frequency, today=max(shown_on, max(logged)))
            assert got == expected, (kept.frequency, shown_on)
    shown = api.get(f"{WH}/goals/{goal['id']}/").json()["goal"]
    expected = streaks(list(logged), frequency=kept.frequency, today=today)
    assert (shown["streak"], shown["best_streak"]) == (expected.streak, expected.best_streak)
    assert expected.best_streak >= 3
    notes = list(GoalProgress.objects.filter(goal_id=goal["id"]).exclude(note="").order_by("id")
                 .values_list("note", flat=True))
    assert shown["notes"] == notes[-20:] and len(notes) > 20

    migration = importlib.import_module("tracking.migrations.0007_goal_run_and_recent_notes")
    HealthGoal.objects.filter(pk=goal["id"]).update(streak_last_period=None, streak_length=0, best_streak=0,
                                                    recent_notes=[])
    migration.runs_and_notes_from_the_log(apps, None)
    assert api.get(f"{WH}/goals/{goal['id']}/").json()["goal"] == shown


def test_a_page_of_goals_reads_none_of_their_logs(api):
    goal = _goal(api)
    _check_ins(goal["id"], 2, 1, 0, note="kept")
    with CaptureQueriesContext(connection) as ctx:
        listed = api.get(f"{WH}/goals/").json()["goals"]
        api.get(f"{WH}/goals/{goal['id']}/")
        api.get(f"{WH}/dashboard/")
    assert listed[0]["streak"] == 3 and listed[0]["notes"] == ["kept"] * 3
    assert not [q["sql"] for q in ctx.captured_queries if "goalprogress" in q["sql"]]


def test_the_goals_log_is_read_only_in_the_admin():
    from django.contrib import admin as django_admin

    model_admin = django_admin.site._registry[GoalProgress]
    request = mock.Mock()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no concurrent writers")
def test_updates_at_once_are_all_kept_on_the_goal(mother):
    """Eight updates of one goal at once, each with its note: the goal keeps every note (each
    update reads what the goal keeps under the row's lock, after the one before committed)."""
    from tests.concurrency import race

    goal = services.goal_create(user=mother, data={"title": "Walk", "frequency": "daily"})

    def update(i: int) -> int:
        services.goal_update(goal=HealthGoal.objects.get(pk=goal.pk), data={"current_value": i, "notes": f"n{i}"})
        return i

    assert race(update, range(8)) == list(range(8))
    kept = HealthGoal.objects.get(pk=goal.pk)
    assert sorted(kept.recent_notes) == [f"n{i}" for i in range(8)]
    assert (kept.streak_length, kept.best_streak) == (1, 1)
    assert GoalProgress.objects.filter(goal=goal).count() == 8


def test_a_goal_starts_on_the_local_day_not_utcs(api, settings):
    settings.TRACKING_TIME_ZONE = zone_on_another_day()
    goal = _goal(api)
    assert goal["start_date"] == today_in(zone_named(settings.TRACKING_TIME_ZONE)).isoformat()
