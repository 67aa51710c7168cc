"""§7 search history: most recent first, case-insensitive duplicates collapse, newest 50 kept,
delete one or all; trending for hospital admins through the search-term index, no per-user data."""

from __future__ import annotations

import uuid

from tests.factories import make_patient
from tests.helpers import client_for
from tests.tracking.conftest import WH

URL = "/api/search-history/"


def test_add_dedupe_order_and_delete(api):
    assert api.get(URL).json() == {"success": True, "history": [], "total_count": 0}
    for term, ts in (("Diabetes symptoms", 1000), ("folic acid", 2000), ("  diabetes   SYMPTOMS ", 3000)):
        response = api.post(URL, {"term": term, "timestamp": 1_700_000_000_000 + ts}, format="json")
        assert response.status_code == 201, response.json()
    history = api.get(URL).json()["history"]
    assert history == [{"term": "diabetes SYMPTOMS", "timestamp": 1_700_000_003_000},
                       {"term": "folic acid", "timestamp": 1_700_000_002_000}]

    blank = api.post(URL, {"term": "   "}, format="json")
    assert blank.status_code == 200 and blank.json()["ignored"] is True
    assert len(api.get(URL).json()["history"]) == 2

    removed = api.delete(URL, {"term": "FOLIC ACID"}, format="json")
    assert removed.status_code == 200 and removed.json()["success"] is True
    assert [h["term"] for h in api.get(URL).json()["history"]] == ["diabetes SYMPTOMS"]
    api.post(URL, {"term": "iron"}, format="json")
    assert api.delete(f"{URL}?term=iron").status_code == 200
    assert [h["term"] for h in api.get(URL).json()["history"]] == ["diabetes SYMPTOMS"]

    cleared = api.delete(URL)
    assert cleared.status_code == 200
    assert api.get(URL).json()["history"] == []


def test_capped_at_newest_50(api):
    items = [{"client_id": f"s{i}", "type": "search", "data": {"term": f"term {i}", "timestamp": 1_700_000_000_000 + i}}
             for i in range(60)]
    # a sync does not trim; the history still shows only the newest 50 and the next search trims
    api.post(f"{WH}/sync/", {"items": items}, format="json")
    shown = api.get(URL).json()["history"]
    assert len(shown) == 50 and shown[0]["term"] == "term 59" and shown[-1]["term"] == "term 10"
    api.post(URL, {"term": "latest"}, format="json")
    full = api.get(URL, {"limit": 100}).json()["history"]
    assert len(full) == 50 and full[0]["term"] == "latest" and full[-1]["term"] == "term 11"
    assert len(api.get(URL, {"limit": 5}).json()["history"]) == 5


def test_older_synced_search_does_not_move_a_term_back(api):
    api.post(URL, {"term": "Nausea", "timestamp": 1_700_000_005_000}, format="json")
    api.post(f"{WH}/sync/", {"items": [{"client_id": "old", "type": "search",
                                        "data": {"term": "nausea", "timestamp": 1_700_000_001_000}}]}, format="json")
    assert api.get(URL).json()["history"] == [{"term": "Nausea", "timestamp": 1_700_000_005_000}]


def test_history_is_per_user(api, stranger):
    api.post(URL, {"term": "private thing"}, format="json")
    assert client_for(stranger).get(URL).json()["history"] == []
    client_for(stranger).delete(URL)
    assert len(api.get(URL).json()["history"]) == 1


def test_trending_for_hospital_admins_without_user_data(api, mother, hospital, hospital_admin):
    popular, rare = f"popular-{uuid.uuid4().hex[:8]}", f"rare-{uuid.uuid4().hex[:8]}"
    users = [mother, *[make_patient(hospital=hospital) for _ in range(3)]]
    for user in users:
        client_for(user).post(URL, {"term": popular.upper() if user == mother else popular}, format="json")
        client_for(user).post(URL, {"term": popular}, format="json")  # one user counts once
    client_for(users[1]).post(URL, {"term": rare}, format="json")

    response = client_for(hospital_admin).get(f"{URL}trending/", {"days": 7, "limit": 50})
    assert response.status_code == 200, response.json()
    body = response.json()
    found = {t["term"]: t["searches"] for t in body["trending"]}
    assert found.get(popular) == 4
    assert rare not in found, "a term fewer than SEARCH_TRENDING_MIN_USERS searched is never shown"
    assert body["window_days"] == 7 and body["min_users"] >= 2
    for entry in body["trending"]:
        assert set(entry) == {"term", "searches"}
    text = response.content.decode()
    assert str(mother.pk) not in text and "USER#" not in text

    refused = api.get(f"{URL}trending/")
    assert refused.status_code == 403 and refused.json()["message"]
    assert client_for(None).get(f"{URL}trending/").status_code == 401


def test_index_queries_follow_every_page_up_to_their_bound(api):
    from datetime import UTC, datetime

    from tracking.dynamo import keys, store

    terms = {f"paged-{n}-{uuid.uuid4().hex[:8]}" for n in range(5)}
    for term in terms:
        assert api.post(URL, {"term": term}, format="json").status_code in (200, 201)
    query = {"IndexName": keys.SEARCH_TERM_INDEX, "KeyConditionExpression": "#d = :d",
             "ExpressionAttributeNames": {"#d": "term_day"},
             "ExpressionAttributeValues": {":d": datetime.now(UTC).date().isoformat()}, "Limit": 2}

    pages = list(store.query_responses(store.search_table(), max_pages=50, **query))
    found = [item["term_norm"] for page in pages for item in page["Items"]]
    assert terms <= set(found) and len(pages) >= 3, "every page of the day is read, two items at a time"

    bounded = list(store.query_responses(store.search_table(), max_pages=2, **query))
    assert len(bounded) == 2 and sum(len(page["Items"]) for page in bounded) == 4
