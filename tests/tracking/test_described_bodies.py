"""The women's-health bodies as the API description states them, and the service keeping to it."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.tracking.conftest import WH


@pytest.fixture(scope="module")
def schemas():
    return SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]


def test_whole_numbers_and_decimals_carry_their_ranges(schemas):
    profile = schemas["ProfileInputRequest"]["properties"]
    assert profile["average_cycle_length"] == {"type": "number", "minimum": 15, "maximum": 60,
                                               "description": "Rounded to a whole number."}
    assert profile["height_cm"]["minimum"] == 50 and profile["height_cm"]["maximum"] == 250
    kicks = schemas["KickSessionInputRequest"]["properties"]["kicks"]
    assert (kicks["minimum"], kicks["maximum"]) == (0, 1000)


def test_enums_and_real_bodies_are_described(schemas):
    assert schemas["HealthGoalStatusEnum"]["enum"] == ["active", "completed", "paused", "cancelled"]
    assert "moderate" not in schemas["FlowIntensityEnum"]["enum"]
    assert schemas["BirthPlanInputRequest"]["required"] == ["sections"]
    assert schemas["SyncInputRequest"]["properties"]["items"]["maxItems"] == 500


def test_values_outside_the_description_are_refused(api):
    cycle = api.post(f"{WH}/cycles/", {"cycle_start_date": "2025-01-01", "flow_intensity": "Medium Flow"},
                     format="json")
    assert cycle.status_code == 400 and cycle.json()["message"].startswith("flow_intensity")
    goal = api.post(f"{WH}/goals/", {"title": "Walk", "status": "done"}, format="json")
    assert goal.status_code == 400 and goal.json()["message"].startswith("status")
    assert api.post(f"{WH}/goals/", {"title": "Walk", "status": "paused"}, format="json").status_code == 201
    assert api.put(f"{WH}/birth-plan/", {"sections": [], "dueDate": "2025-1-5"}, format="json").status_code == 400
    assert api.put(f"{WH}/birth-plan/", {"sections": [], "dueDate": "2025-01-05"}, format="json").status_code == 200


def test_form_bodies_are_refused(api):
    response = api.post(f"{WH}/goals/", {"title": "Walk", "target_value": "null"}, format="multipart")
    assert response.status_code == 415 and response.json()["message"]


def test_upserts_answer_200_as_described(api):
    first = api.post(f"{WH}/cycle-days/", {"date": "2025-01-02", "periodDay": True}, format="json")
    again = api.post(f"{WH}/cycle-days/", {"date": "2025-01-02", "periodDay": False}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert "200" in schema["paths"]["/api/womens-health/cycle-days/"]["post"]["responses"]
