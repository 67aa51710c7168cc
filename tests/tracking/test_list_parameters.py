"""The women's-health lists' query parameters are in the API description, as the service reads them.

Without them the description said these lists take no parameters, so clients (and the schema
fuzzer) never learnt of the page size, offset, cursor, date range or goal status they read.
"""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.tracking.conftest import WH

READ = {
    "/api/womens-health/cycles/": {"limit": "integer", "offset": "integer"},
    "/api/womens-health/cycle-days/": {"start_date": "string", "end_date": "string"},
    "/api/womens-health/fertility/": {"start_date": "string", "end_date": "string"},
    "/api/womens-health/logs/": {"start_date": "string", "end_date": "string"},
    "/api/womens-health/goals/": {"status": "string", "limit": "integer", "cursor": "string"},
    "/api/womens-health/kick-sessions/": {"limit": "integer", "cursor": "string"},
    "/api/womens-health/contractions/": {"limit": "integer", "cursor": "string"},
    "/api/search-history/": {"limit": "integer"},
    "/api/search-history/trending/": {"days": "integer", "limit": "integer"},
}


@pytest.fixture(scope="module")
def paths():
    return SchemaGenerator().get_schema(request=None, public=True)["paths"]


@pytest.mark.parametrize("path", sorted(READ))
def test_each_list_describes_the_parameters_it_reads(paths, path):
    described = {p["name"]: p["schema"] for p in paths[path]["get"].get("parameters", []) if p["in"] == "query"}
    assert {name: schema["type"] for name, schema in described.items()} == READ[path]
    for name in ("start_date", "end_date"):
        if name in described:
            assert described[name]["format"] == "date"
    if path.endswith("/goals/"):
        assert sorted(described["status"]["enum"]) == ["active", "cancelled", "completed", "paused"]


def test_the_described_parameters_are_the_ones_read(api):
    for when in ("2025-01-02", "2025-01-03"):
        assert api.post(f"{WH}/cycles/", {"cycle_start_date": when}, format="json").status_code == 201
    page = api.get(f"{WH}/cycles/?limit=1&offset=1").json()
    assert (len(page["cycles"]), page["total_count"], page["has_more"]) == (1, 2, False)
    assert page["cycles"][0]["cycle_start_date"] == "2025-01-02"
    refused = api.get(f"{WH}/logs/?start_date=2025-02-01&end_date=2025-01-01")
    assert refused.status_code == 400 and refused.json()["message"].startswith("start_date")
    assert api.post(f"{WH}/goals/", {"title": "Walk", "status": "paused"}, format="json").status_code == 201
    assert api.get(f"{WH}/goals/?status=active").json()["total_count"] == 0
    assert api.get(f"{WH}/goals/?status=paused").json()["total_count"] == 1


@pytest.mark.parametrize("query", [
    "cycle-days/?start_date=", "fertility/?start_date=", "logs/?start_date=", "logs/?end_date=",
    "kick-sessions/?limit=", "contractions/?limit=", "cycles/?limit=", "cycles/?offset=", "goals/?status=",
])
def test_an_empty_value_is_refused_not_read_as_left_out(api, query):
    """The described parameters are dates, integers and a status; ``?start_date=`` is none of them."""
    response = api.get(f"{WH}/{query}")
    assert response.status_code == 400
    assert response.json()["message"]


@pytest.mark.parametrize("value", ["", "٣", "1_0", " 5", "5.0"])
def test_an_integer_is_ascii_digits(api, value):
    assert api.get(f"{WH}/kick-sessions/", {"limit": value}).status_code == 400
    assert api.get(f"{WH}/cycles/", {"offset": value}).status_code == 400


def test_integers_and_dates_as_the_frontend_sends_them(api):
    assert api.get(f"{WH}/cycles/?limit=10&offset=0").status_code == 200
    assert api.get(f"{WH}/kick-sessions/?limit=-3").status_code == 200  # clamped to 1
    assert api.get(f"{WH}/fertility/?start_date=2025-01-01&end_date=2025-03-01").status_code == 200
    assert api.get(f"{WH}/goals/").status_code == 200
