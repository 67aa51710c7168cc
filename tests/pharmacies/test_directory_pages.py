"""The pharmacy lists page: the directory (by name, or nearest first around a point), nearby,
the nominatable pharmacies (the caller's city first) and the nomination history. The first page
keeps its body, `count` is the number of rows of the whole list, and following `Link` returns
every row once in the list's order; nothing is cut silently."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pharmacies.models import Nomination, Pharmacy
from phb.api.pagination import NOMINATABLE_PHARMACIES, PHARMACIES, PHARMACIES_NEARBY, encode_cursor
from phb.geo import haversine_km
from tests.helpers import client_for
from tests.pages import walk
from tests.pharmacies.factories import PharmacyFactory

pytestmark = pytest.mark.django_db

HERE = (6.60, 3.35)


def _pharmacies(body) -> list[dict]:
    return body["pharmacies"]


def _ids(items) -> list[int]:
    return [i["id"] for i in items]


@pytest.fixture
def directory():
    """Seven pharmacies around HERE (two at the same distance, two with the same name), one
    closed down, one taking paper prescriptions only and one beyond every radius used here."""
    rows = [PharmacyFactory(name=name, latitude=HERE[0] + offset, longitude=HERE[1])
            for name, offset in (("Delta", 0.004), ("Alpha", 0.001), ("Echo", 0.002), ("Alpha", 0.003),
                                 ("Golf", 0.002), ("Bravo", 0.006), ("Foxtrot", 0.005))]
    PharmacyFactory(name="Closed", is_active=False)
    paper = PharmacyFactory(name="Paper", electronic_prescriptions_enabled=False, latitude=HERE[0] + 0.0005,
                            longitude=HERE[1])
    PharmacyFactory(name="Abroad", latitude=51.5, longitude=-0.12)
    return rows, paper


def test_the_directory_pages_by_name(patient, directory):
    rows, paper = directory
    everyone = sorted([*rows, paper, Pharmacy.objects.get(name="Abroad")], key=lambda p: (p.name, p.pk))
    client = client_for(patient)
    items, responses = walk(client, "/api/pharmacies/?limit=3", key=_pharmacies)
    assert _ids(items) == [p.pk for p in everyone]
    assert len(responses) == 3 and "Link" not in responses[-1].headers
    assert all(set(r.json()) == {"success", "count", "pharmacies"} and r.json()["count"] == 9 for r in responses)
    assert all(r.headers["X-Total-Count"] == "9" for r in responses)

    whole = client.get("/api/pharmacies/")
    assert whole.headers["X-Page-Size"] == str(PHARMACIES.default) and "Link" not in whole.headers
    assert _ids(whole.json()["pharmacies"]) == [p.pk for p in everyone] and whole.json()["count"] == 9

    searched, _ = walk(client, "/api/pharmacies/?search=alpha&limit=1", key=_pharmacies)
    assert [p["name"] for p in searched] == ["Alpha", "Alpha"]


def test_a_search_around_a_point_pages_nearest_first_with_the_true_count(patient, directory):
    rows, paper = directory
    near = sorted([*rows, paper], key=lambda p: (haversine_km(*HERE, p.latitude, p.longitude), p.pk))
    client = client_for(patient)
    url = f"/api/pharmacies/?latitude={HERE[0]}&longitude={HERE[1]}&radius=5"
    items, responses = walk(client, url + "&limit=3", key=_pharmacies)
    assert _ids(items) == [p.pk for p in near]
    assert all(r.json()["count"] == 8 and r.headers["X-Total-Count"] == "8" for r in responses)
    distances = [i["distance"] for i in items]
    assert distances == sorted(distances) and distances[-1] < 5
    first = responses[0].json()
    assert len(first["pharmacies"]) == 3 and first["count"] == 8  # the whole list's, not the page's

    whole = client.get(url + "&electronic_prescriptions=true").json()
    assert _ids(whole["pharmacies"]) == [p.pk for p in near if p != paper] and whole["count"] == 7


def test_nearby_pages_by_distance_and_counts_every_pharmacy_within_the_radius(patient, directory):
    rows, paper = directory
    near = sorted([*rows, paper], key=lambda p: (haversine_km(*HERE, p.latitude, p.longitude), p.pk))
    client = client_for(patient)
    url = f"/api/pharmacies/nearby/?latitude={HERE[0]}&longitude={HERE[1]}&radius=5"
    items, responses = walk(client, url + "&limit=3", key=_pharmacies)
    assert _ids(items) == [p.pk for p in near] and len(responses) == 3
    for response in responses:
        assert set(response.json()) == {"success", "count", "pharmacies", "radius_km"}
        assert response.json()["count"] == 8 and response.json()["radius_km"] == 5
    first = client.get(url)
    assert first.headers["X-Page-Size"] == str(PHARMACIES_NEARBY.default) == "20"
    assert client.get(url + "&limit=1000").headers["X-Page-Size"] == str(PHARMACIES_NEARBY.maximum)


def test_nearby_is_cut_in_the_database_not_after_loading_every_candidate(patient):
    Pharmacy.objects.bulk_create([Pharmacy(code=f"BULK{i:04d}", name=f"Bulk {i:04d}", address_line_1="1 Road",
                                           city="Ikeja", latitude=HERE[0] + i * 0.00001, longitude=HERE[1])
                                  for i in range(300)])
    client = client_for(patient)
    with CaptureQueriesContext(connection) as ctx:
        body = client.get("/api/pharmacies/nearby/", {"latitude": HERE[0], "longitude": HERE[1], "radius": 5,
                                                      "limit": 5}).json()
    assert len(body["pharmacies"]) == 5 and body["count"] == 300
    page_sql = [q["sql"] for q in ctx.captured_queries if '"pharmacies_pharmacy"."name"' in q["sql"]]
    assert len(page_sql) == 1 and "LIMIT 6" in page_sql[0], page_sql


def test_nominatable_puts_the_callers_city_first_before_the_page_is_cut(patient):
    patient.city = "Yaba"
    patient.save()
    # More pharmacies elsewhere, earlier by name, than a page holds: the caller's city still comes first.
    Pharmacy.objects.bulk_create([Pharmacy(code=f"IKJ{i:04d}", name=f"A Ikeja {i:04d}", address_line_1="1 Road",
                                           city="Ikeja") for i in range(NOMINATABLE_PHARMACIES.default + 5)])
    yaba = [PharmacyFactory(name=name, city=city) for name, city in (("Z Yaba", "Yaba"), ("M Yaba", "YABA"))]
    PharmacyFactory(name="0 Paper Yaba", city="Yaba", electronic_prescriptions_enabled=False)
    client = client_for(patient)

    first = client.get("/api/practice-pages/nominatable-pharmacies/")
    body = first.json()
    assert set(body) == {"success", "count", "pharmacies", "user_location"}
    assert _ids(body["pharmacies"][:2]) == [yaba[1].pk, yaba[0].pk]
    assert len(body["pharmacies"]) == NOMINATABLE_PHARMACIES.default
    assert body["count"] == NOMINATABLE_PHARMACIES.default + 7 and "Link" in first.headers

    items, responses = walk(client, "/api/practice-pages/nominatable-pharmacies/?limit=40", key=_pharmacies)
    assert len(items) == len(set(_ids(items))) == NOMINATABLE_PHARMACIES.default + 7
    names = [i["name"] for i in items]
    assert names[:2] == ["M Yaba", "Z Yaba"] and names[2:] == sorted(names[2:])
    assert "Link" not in responses[-1].headers


def test_nominatable_without_a_city_is_by_name(patient, directory):
    rows, _ = directory
    items, responses = walk(client_for(patient), "/api/practice-pages/nominatable-pharmacies/?limit=2",
                            key=_pharmacies)
    expected = sorted([*rows, Pharmacy.objects.get(name="Abroad")], key=lambda p: (p.name, p.pk))
    assert _ids(items) == [p.pk for p in expected] and len(responses) == 4
    assert all(r.json()["count"] == 8 and r.json()["user_location"] == {"city": None, "state": None}
               for r in responses)


def test_the_nomination_history_pages_newest_first(patient, other_patient):
    pharmacy = PharmacyFactory()
    now = timezone.now()
    made = [Nomination.objects.create(patient=patient, pharmacy=pharmacy, is_current=False,
                                      nominated_at=now - timedelta(days=i if i != 2 else 1)) for i in range(7)]
    made.sort(key=lambda n: (n.nominated_at, n.pk), reverse=True)
    client = client_for(patient)
    items, responses = walk(client, "/api/pharmacies/nomination-history/?limit=3", key=lambda b: b["nominations"])
    assert _ids(items) == [n.pk for n in made] and len(responses) == 3
    assert all(set(r.json()) == {"success", "count", "nominations"} and r.json()["count"] == 7 for r in responses)

    cursor = responses[0].headers["X-Next-Cursor"]
    stranger = client_for(other_patient).get(f"/api/pharmacies/nomination-history/?cursor={cursor}")
    assert stranger.status_code == 200 and stranger.json() == {"success": True, "count": 0, "nominations": []}
    assert client_for(None).get(f"/api/pharmacies/nomination-history/?cursor={cursor}").status_code == 401


@pytest.mark.parametrize("url", ["/api/pharmacies/", "/api/pharmacies/nomination-history/",
                                 "/api/practice-pages/nominatable-pharmacies/",
                                 f"/api/pharmacies/?latitude={HERE[0]}&longitude={HERE[1]}",
                                 f"/api/pharmacies/nearby/?latitude={HERE[0]}&longitude={HERE[1]}"])
def test_a_bad_cursor_is_a_400(patient, directory, url):
    join = "&" if "?" in url else "?"
    client = client_for(patient)
    for cursor in ("not-a-cursor", encode_cursor(["x"]), encode_cursor([1, 2, 3, 4]), encode_cursor(["x", "y"]),
                   encode_cursor(["x", "y", "z"])):
        response = client.get(f"{url}{join}cursor={cursor}")
        assert response.status_code == 400, (url, cursor, response.status_code)
        assert response.json()["message"]
    assert client_for(None).get(url).status_code == 401


def test_a_cursor_of_the_name_list_is_refused_by_the_distance_list(patient, directory):
    client = client_for(patient)
    cursor = client.get("/api/pharmacies/?limit=2").headers["X-Next-Cursor"]
    response = client.get(f"/api/pharmacies/?latitude={HERE[0]}&longitude={HERE[1]}&cursor={cursor}")
    assert response.status_code == 400 and response.json()["message"]
