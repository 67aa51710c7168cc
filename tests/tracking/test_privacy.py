"""Another patient and anonymous callers get nothing; cursors cannot cross partitions."""

from __future__ import annotations

import pytest
from django.core import signing

from phb.aws.clients import count_aws_calls
from tests.helpers import assert_private, client_for
from tests.tracking.conftest import WH
from tracking.dynamo.cursors import cursor_encode


@pytest.fixture
def owned(api):
    """One of everything, owned by ``mother``."""
    kick = api.post(f"{WH}/kick-sessions/", {"date": "2025-03-01T10:00:00Z", "kicks": 10, "duration": 60},
                    format="json").json()["kick_session"]
    contraction = api.post(f"{WH}/contractions/", {"startTime": 1740823200000, "endTime": 1740823260000},
                           format="json").json()["contraction"]
    cycle = api.post(f"{WH}/cycles/", {"cycle_start_date": "2025-02-01"}, format="json").json()["cycle"]
    goal = api.post(f"{WH}/goals/", {"title": "Walk", "target_value": 10}, format="json").json()["goal"]
    api.post(f"{WH}/cycle-days/", {"date": "2025-02-02", "periodDay": True}, format="json")
    api.post(f"{WH}/logs/", {"date": "2025-02-02", "mood": "good"}, format="json")
    api.post(f"{WH}/fertility/", {"date": "2025-02-02", "cycle_day": 2}, format="json")
    api.post(f"{WH}/pregnancy/", {"pregnancy_week": 10}, format="json")
    api.post("/api/search-history/", {"term": "iron tablets"}, format="json")
    return {"kick": kick, "contraction": contraction, "cycle": cycle, "goal": goal}


def test_object_endpoints_are_404_for_another_user_and_401_for_anonymous(owned, mother, stranger):
    assert_private(f"{WH}/cycles/{owned['cycle']['id']}/", owner=mother, stranger=stranger, owner_status=200)
    assert_private(f"{WH}/goals/{owned['goal']['id']}/", owner=mother, stranger=stranger, owner_status=200)
    assert_private(f"{WH}/goals/{owned['goal']['id']}/", stranger=stranger, method="put",
                   data={"current_value": 5})
    assert_private(f"{WH}/cycles/{owned['cycle']['id']}/", stranger=stranger, method="delete")
    assert_private(f"{WH}/kick-sessions/{owned['kick']['id']}/", stranger=stranger, method="delete")
    assert_private(f"{WH}/contractions/{owned['contraction']['id']}/", stranger=stranger, method="delete")
    assert_private(f"{WH}/cycle-days/2025-02-02/", stranger=stranger, method="delete")
    # still there for the owner after all those attempts
    api = client_for(mother)
    assert api.get(f"{WH}/goals/{owned['goal']['id']}/").json()["goal"]["current_value"] == 0
    assert len(api.get(f"{WH}/kick-sessions/").json()["kick_sessions"]) == 1
    assert len(api.get(f"{WH}/contractions/").json()["contractions"]) == 1
    assert api.get(f"{WH}/cycles/").json()["total_count"] == 1
    assert len(api.get(f"{WH}/cycle-days/", {"start_date": "2025-02-01", "end_date": "2025-02-28"}).json()["days"]) == 1


LISTS = [
    ("kick-sessions/", "kick_sessions", {}),
    ("contractions/", "contractions", {}),
    ("cycles/", "cycles", {}),
    ("cycle-days/", "days", {"start_date": "2025-02-01", "end_date": "2025-02-28"}),
    ("logs/", "logs", {"start_date": "2025-02-01", "end_date": "2025-02-28"}),
    ("goals/", "goals", {}),
]


def test_lists_show_another_user_nothing(owned, stranger):
    other = client_for(stranger)
    for path, key, params in LISTS:
        response = other.get(f"{WH}/{path}", params)
        assert response.status_code == 200, path
        assert response.json()[key] == [], path
    fertility = other.get(f"{WH}/fertility/", {"start_date": "2025-02-01", "end_date": "2025-02-28"}).json()
    assert fertility["fertility_data"]["entries"] == [] and fertility["total_count"] == 0
    assert other.get(f"{WH}/pregnancy/").json()["pregnancy_record"] is None
    assert other.get(f"{WH}/birth-plan/").json()["birth_plan"] is None
    assert other.get("/api/search-history/").json()["history"] == []
    dashboard = other.get(f"{WH}/dashboard/").json()["dashboard"]
    assert dashboard["recent_health_logs"] == [] and dashboard["summary"]["total_cycles"] == 0


ALL_PATHS = ["dashboard/", "profile/", "cycles/", "cycle-days/", "pregnancy/", "fertility/", "goals/", "logs/",
             "kick-sessions/", "contractions/", "due-date/", "birth-plan/", "baby-names/favorites/",
             "baby-shower-checklist/"]


@pytest.mark.parametrize("path", ALL_PATHS)
def test_anonymous_gets_401_on_every_endpoint(db, path):
    response = client_for(None).get(f"{WH}/{path}")
    assert response.status_code == 401 and "message" in response.json()


@pytest.mark.parametrize("path,method", [("sync/", "post"), ("kick-sessions/", "post"), ("logs/", "post"),
                                         ("due-date/", "put"), ("birth-plan/", "put")])
def test_anonymous_writes_get_401(db, path, method):
    response = getattr(client_for(None), method)(f"{WH}/{path}", {}, format="json")
    assert response.status_code == 401


def test_search_history_anonymous(db):
    assert client_for(None).get("/api/search-history/").status_code == 401
    assert client_for(None).post("/api/search-history/", {"term": "x"}, format="json").status_code == 401
    assert client_for(None).delete("/api/search-history/").status_code == 401


def _kicks(api, n: int) -> None:
    items = [{"client_id": f"p-{i}", "type": "kick_session",
              "data": {"date": f"2025-04-{i + 1:02d}T10:00:00Z", "kicks": i, "duration": 60}} for i in range(n)]
    api.post(f"{WH}/sync/", {"items": items}, format="json")


def test_a_cursor_cannot_move_a_caller_into_another_partition(api, mother, stranger):
    _kicks(api, 5)
    page = api.get(f"{WH}/kick-sessions/", {"limit": 2}).json()
    cursor = page["next_cursor"]
    assert cursor
    other = client_for(stranger)
    # the owner's cursor in another user's hands is refused
    stolen = other.get(f"{WH}/kick-sessions/", {"limit": 2, "cursor": cursor})
    assert stolen.status_code == 400 and stolen.json()["message"] == "Invalid cursor."
    # a tampered or forged cursor is refused
    assert other.get(f"{WH}/kick-sessions/", {"cursor": cursor[:-3] + "abc"}).status_code == 400
    forged = signing.dumps({"u": str(stranger.pk), "l": "kick", "k": "KICK#ZZZ"}, salt="another-salt")
    assert other.get(f"{WH}/kick-sessions/", {"cursor": forged}).status_code == 400
    # a cursor of another list cannot be replayed here
    contraction_cursor = cursor_encode(user_id=mother.pk, listing="contraction", sk="CONTR#01")
    assert api.get(f"{WH}/kick-sessions/", {"cursor": contraction_cursor}).status_code == 400
    # and even a validly signed cursor for the caller only ever reads the caller's partition
    own = cursor_encode(user_id=stranger.pk, listing="kick", sk="KICK#ZZZZZZZZZZZZZZZZZZZZZZZZZZ")
    with count_aws_calls() as calls:
        response = other.get(f"{WH}/kick-sessions/", {"cursor": own})
    assert response.status_code == 200 and response.json()["kick_sessions"] == []
    assert dict(calls) == {"dynamodb.Query": 1}


def test_no_request_path_scans(owned, api, mother):
    with count_aws_calls() as calls:
        for path, _key, params in LISTS:
            api.get(f"{WH}/{path}", params)
        api.get(f"{WH}/dashboard/")
        api.get(f"{WH}/pregnancy/")
        api.get("/api/search-history/")
    assert calls, "the reads did reach DynamoDB"
    assert not [name for name in calls if name.endswith(".Scan")]
    assert set(calls) <= {"dynamodb.Query", "dynamodb.GetItem"}
