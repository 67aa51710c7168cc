"""Values at the edges of what JSON and ISO-8601 can carry (an infinite number, a time whose offset
moves it past the calendar's first or last day, a type that is not text) are a 400 naming the
field, never a 500."""

from __future__ import annotations

import json

import pytest

from tests.tracking.conftest import WH

pytestmark = pytest.mark.django_db


def _post(api, path: str, body: dict, *, infinite: bool = False):
    raw = json.dumps(body)
    if infinite:  # what json.dumps writes for inf is not JSON; 1e400 is, and Python reads it as inf
        raw = raw.replace("Infinity", "1e400")
    return api.generic("POST", f"{WH}{path}", raw, content_type="application/json")


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/kick-sessions/", {"date": float("inf"), "kicks": 3, "duration": 60}, "date"),
    ("/kick-sessions/", {"date": -float("inf"), "kicks": 3, "duration": 60}, "date"),
    ("/kick-sessions/", {"date": "0001-01-01T00:00:00+01:00", "kicks": 3, "duration": 60}, "date"),
    ("/cycles/", {"cycle_start_date": "0001-01-01T00:00:00+01:00"}, "cycle_start_date"),
    ("/logs/", {"date": "9999-12-31T23:00:00-05:00"}, "date"),
])
def test_a_time_past_the_ends_of_the_calendar_is_a_400_naming_the_field(api, path, body, field):
    response = _post(api, path, body, infinite=True)
    assert response.status_code == 400, response.content[:300]
    assert response.json()["message"] and field in json.dumps(response.json())


@pytest.mark.parametrize("kind", [["kick_session"], {"a": 1}, 7, None])
def test_a_sync_item_whose_type_is_not_text_is_refused_alone(api, kind):
    response = _post(api, "/sync/", {"items": [{"client_id": "a1", "type": kind, "data": {}}]})
    assert response.status_code == 200, response.content[:300]
    (result,) = response.json()["results"]
    assert result["client_id"] == "a1" and result["status"] == "invalid" and "type" in result["message"]
