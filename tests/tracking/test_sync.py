"""POST /api/womens-health/sync/: idempotent on client_id, in order, in few DynamoDB calls."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from phb.aws.clients import count_aws_calls
from tests.helpers import client_for
from tests.tracking.conftest import WH

BASE = datetime(2025, 2, 1, 6, tzinfo=UTC)


def kick(i: int, prefix: str = "k") -> dict:
    moment = BASE + timedelta(minutes=17 * i)
    return {"client_id": f"{prefix}-{i}", "type": "kick_session",
            "data": {"date": moment.isoformat().replace("+00:00", "Z"), "kicks": 5 + i % 10, "duration": 120 + i}}


def sync(api, items):
    response = api.post(f"{WH}/sync/", {"items": items}, format="json")
    assert response.status_code in (200, 202), response.json()
    assert response.json()["success"] is True
    return response.json()


def all_kicks(api) -> list[dict]:
    out, cursor = [], None
    while True:
        body = api.get(f"{WH}/kick-sessions/", {"limit": 100, **({"cursor": cursor} if cursor else {})}).json()
        out.extend(body["kick_sessions"])
        cursor = body["next_cursor"]
        if not cursor:
            return out


def test_same_batch_twice_creates_nothing_new(api):
    items = [kick(i) for i in range(30)]
    first = sync(api, items)
    assert [r["status"] for r in first["results"]] == ["created"] * 30
    assert [r["client_id"] for r in first["results"]] == [f"k-{i}" for i in range(30)]
    ids = [r["id"] for r in first["results"]]
    second = sync(api, items)
    assert [r["status"] for r in second["results"]] == ["duplicate"] * 30
    assert [r["id"] for r in second["results"]] == ids, "a duplicate names the entry it duplicates"
    assert second["summary"] == {"created": 0, "duplicate": 30, "conflict": 0, "invalid": 0, "queued": 0,
                                 "failed": 0}
    assert len(all_kicks(api)) == 30


def test_overlapping_batches(api):
    sync(api, [kick(i) for i in range(0, 20)])
    result = sync(api, [kick(i) for i in range(10, 35)])
    statuses = [r["status"] for r in result["results"]]
    assert statuses == ["duplicate"] * 10 + ["created"] * 15
    kicks = all_kicks(api)
    assert len(kicks) == 35 and len({k["id"] for k in kicks}) == 35


def test_duplicate_client_ids_inside_one_batch(api):
    result = sync(api, [kick(1), kick(2), kick(1)])
    assert [r["status"] for r in result["results"]] == ["created", "created", "duplicate"]
    assert result["results"][2]["id"] == result["results"][0]["id"]
    assert len(all_kicks(api)) == 2


def test_mixed_types_invalid_items_and_order(api):
    items = [
        {"client_id": "c1", "type": "contraction", "data": {"startTime": 1738400000000, "endTime": 1738400065000}},
        {"client_id": "d1", "type": "daily_log", "base_version": 0,
         "data": {"date": "2025-02-01", "mood": "low", "symptoms": ["acne"]}},
        {"client_id": "d2", "type": "daily_log", "base_version": 0, "data": {"date": "2025-02-01", "mood": "good"}},
        {"client_id": "f1", "type": "fertility", "base_version": 0, "data": {"date": "2025-02-01", "cycle_day": 12}},
        {"client_id": "f2", "type": "fertility", "base_version": 0,
         "data": {"date": "2025-02-01", "ovulation_test_taken": True}},
        {"client_id": "w1", "type": "pregnancy_week", "base_version": 0,
         "data": {"pregnancy_week": 12, "current_weight_kg": 60}},
        {"client_id": "cd1", "type": "cycle_day", "base_version": 0, "data": {"date": "2025-02-01", "periodDay": True}},
        {"client_id": "s1", "type": "search", "data": {"term": "Folic acid", "timestamp": 1738400000000}},
        {"client_id": "bad1", "type": "kick_session", "data": {"date": "2025-02-01T10:00:00Z", "kicks": -3,
                                                               "duration": 10}},
        {"client_id": "bad2", "type": "teleport", "data": {}},
        {"type": "kick_session", "data": kick(1)["data"]},
        {"client_id": "bad space", "type": "kick_session", "data": kick(1)["data"]},
        {"client_id": "s2", "type": "search", "data": {"term": "   "}},
        "not an object",
    ]
    result = sync(api, items)
    statuses = [r["status"] for r in result["results"]]
    assert statuses == ["created"] * 8 + ["invalid"] * 6
    assert all(r["message"] for r in result["results"][8:])
    assert "kicks" in result["results"][8]["message"] and "type" in result["results"][9]["message"]

    log = api.get(f"{WH}/logs/", {"start_date": "2025-02-01", "end_date": "2025-02-01"}).json()["logs"][0]
    assert log["mood"] == "good" and log["symptoms"] is None, "the later daily log replaced the earlier one"
    tracking = api.get(f"{WH}/fertility/", {"start_date": "2025-02-01", "end_date": "2025-02-01"}).json()
    entry = tracking["fertility_data"]["entries"][0]
    assert entry["cycle_day"] == 12 and entry["ovulation_test_taken"] is True, "fertility entries merge"
    assert api.get("/api/search-history/").json()["history"] == [{"term": "Folic acid", "timestamp": 1738400000000}]
    assert api.get(f"{WH}/contractions/").json()["contractions"][0]["duration"] == 65

    again = sync(api, items)
    assert [r["status"] for r in again["results"]] == ["duplicate"] * 8 + ["invalid"] * 6


def test_a_resent_old_upsert_does_not_overwrite_a_newer_edit(api):
    old = {"client_id": "offline-log", "type": "daily_log", "base_version": 0,
           "data": {"date": "2025-02-10", "mood": "low"}}
    sync(api, [old])
    api.post(f"{WH}/logs/", {"date": "2025-02-10", "mood": "excellent"}, format="json")
    assert sync(api, [old])["results"][0]["status"] == "duplicate"
    log = api.get(f"{WH}/logs/", {"start_date": "2025-02-10", "end_date": "2025-02-10"}).json()["logs"][0]
    assert log["mood"] == "excellent"


def test_limits_and_shape(api):
    too_many = api.post(f"{WH}/sync/", {"items": [kick(i) for i in range(501)]}, format="json")
    assert too_many.status_code == 400 and "500" in too_many.json()["message"]
    assert api.post(f"{WH}/sync/", {"items": "nope"}, format="json").status_code == 400
    assert api.post(f"{WH}/sync/", {}, format="json").status_code == 400
    empty = api.post(f"{WH}/sync/", {"items": []}, format="json")
    assert empty.status_code == 200 and empty.json()["results"] == []


def test_500_new_items_of_every_kind_cost_at_most_25_dynamodb_calls(api):
    """New entries go 25 to a BatchWriteItem; entries kept per date go, each with its condition,
    100 to a TransactWriteItems, topped up with what would leave a BatchWriteItem part-filled."""
    items = [kick(i, "big") for i in range(460)] + [
        {"client_id": f"log-{i}", "type": "daily_log", "base_version": 0,
         "data": {"date": f"2025-01-{i + 1:02d}", "mood": "good"}}
        for i in range(20)
    ] + [{"client_id": f"s-{i}", "type": "search", "data": {"term": f"term {i}"}} for i in range(20)]
    with count_aws_calls() as calls:
        result = sync(api, items)
    assert result["summary"]["created"] == 500
    dynamodb = {k: v for k, v in calls.items() if k.startswith("dynamodb.")}
    assert sum(dynamodb.values()) <= 25, dynamodb
    assert "dynamodb.Scan" not in dynamodb
    logs = api.get(f"{WH}/logs/", {"start_date": "2025-01-01", "end_date": "2025-01-31"}).json()["logs"]
    synced = {r["id"]: r["version"] for r in result["results"] if r["client_id"].startswith("log-")}
    assert len(logs) == 20 and {log["date"]: log["version"] for log in logs} == synced
    assert all(version > 0 for version in synced.values())
    assert len(all_kicks(api)) == 460
    with count_aws_calls() as calls:
        again = sync(api, items)
    assert again["summary"]["duplicate"] == 500
    assert sum(v for k, v in calls.items() if k.startswith("dynamodb.")) <= 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_syncs_of_the_same_batch_create_each_entry_once(mother):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises the two requests; the race is exercised on PostgreSQL")
    items = [kick(i, "race") for i in range(120)]
    outcomes = []

    def run():
        try:
            outcomes.append(client_for(mother).post(f"{WH}/sync/", {"items": items}, format="json").json())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 2
    for outcome in outcomes:
        assert {r["status"] for r in outcome["results"]} <= {"created", "duplicate"}
    # both answers name the same entries (a racing pair may both say "created"), stored once
    assert [r["id"] for r in outcomes[0]["results"]] == [r["id"] for r in outcomes[1]["results"]]
    kicks = all_kicks(client_for(mother))
    assert len(kicks) == 120 and {k["id"] for k in kicks} == {r["id"] for r in outcomes[0]["results"]}


# The tracker page sends the profile's week, 0 when it has none; its offline copy sends the same body.
WEEK_ZERO = {"pregnancy_week": 0, "current_weight_kg": 0, "baby_kicks_count": 3, "mood_rating": 6}


def test_a_synced_week_zero_is_filed_under_the_current_week_as_the_endpoint_files_it(api):
    from tracking.fields import local_today

    due = local_today() + timedelta(days=280 - 20 * 7 - 3)  # 20 weeks and 3 days along
    assert api.put(f"{WH}/profile/", {"estimated_due_date": due.isoformat()}, format="json").status_code == 200
    result = sync(api, [{"client_id": "week-0", "type": "pregnancy_week", "base_version": 0, "data": WEEK_ZERO},
                        {"client_id": "week-none", "type": "pregnancy_week", "base_version": 0,
                         "data": {"baby_kicks_count": 4, "mood_rating": 7}}])
    assert [r["status"] for r in result["results"]] == ["created", "created"], result
    assert [r["id"] for r in result["results"]] == ["20", "20"]
    record = api.get(f"{WH}/pregnancy/").json()["pregnancy_record"]
    assert [e["pregnancy_week"] for e in record["weekly_entries"]] == [20]
    assert record["weekly_entries"][0]["baby_kicks_count"] == 4
    endpoint = api.post(f"{WH}/pregnancy/", WEEK_ZERO, format="json").json()
    assert endpoint["entry"]["pregnancy_week"] == 20, "the endpoint files it under the same week"


def test_a_synced_week_zero_without_a_pregnancy_is_invalid_with_the_endpoints_reason(api):
    result = sync(api, [{"client_id": "week-0", "type": "pregnancy_week", "base_version": 0, "data": WEEK_ZERO},
                        kick(1)])
    assert [r["status"] for r in result["results"]] == ["invalid", "created"]
    assert "no pregnancy" in result["results"][0]["message"]
    assert api.get(f"{WH}/pregnancy/").json()["pregnancy_record"] is None


def _profile_reads(api, items) -> tuple[int, dict]:
    """The sync's answer and how many times it read the pregnancy profile's table."""
    from django.test.utils import CaptureQueriesContext

    from tracking.models import WomensHealthProfile

    table = WomensHealthProfile._meta.db_table
    with CaptureQueriesContext(connection) as ctx:
        result = sync(api, items)
    return sum(1 for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")
               and f'"{table}"' in q["sql"].split(" WHERE ")[0]), result


def test_a_sync_of_many_week_zero_items_reads_the_pregnancy_profile_once(api):
    from tracking.fields import local_today

    due = local_today() + timedelta(days=280 - 20 * 7 - 3)
    assert api.put(f"{WH}/profile/", {"estimated_due_date": due.isoformat()}, format="json").status_code == 200
    week = {"type": "pregnancy_week", "base_version": 0}
    none, _ = _profile_reads(api, [kick(1), {**week, "client_id": "w-set", "data": {"pregnancy_week": 12}}])
    one, one_result = _profile_reads(api, [{**week, "client_id": "w-one", "data": WEEK_ZERO}])
    version = one_result["results"][0]["version"]
    many, result = _profile_reads(api, [{**week, "base_version": version, "client_id": f"w-{i}",
                                         "data": {**WEEK_ZERO, "mood_rating": 1 + i % 10}} for i in range(30)])
    assert one == many == none + 1, (none, one, many)
    assert [(r["status"], r["id"]) for r in result["results"]] == [("created", "20")] * 30, "each filed under week 20"
