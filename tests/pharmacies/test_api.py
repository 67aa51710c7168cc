"""The pharmacy directory, nearby search and nominations, against ``services/pharmacyService.ts``."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pharmacies.models import Nomination, Pharmacy
from records.models import AuditEvent
from tests.helpers import client_for
from tests.pharmacies.factories import PharmacyFactory

pytestmark = pytest.mark.django_db

PHARMACY_KEYS = {"id", "phb_pharmacy_code", "name", "address_line_1", "city", "postcode", "phone",
                 "electronic_prescriptions_enabled", "opening_hours", "services_offered", "latitude", "longitude",
                 "is_active", "verified", "is_open", "distance", "full_address", "source", "pharmacy_id"}


def test_directory_search_and_shape(patient):
    PharmacyFactory(name="Alpha Chemists", city="Ikeja")
    PharmacyFactory(name="Beta Pharmacy", city="Yaba", electronic_prescriptions_enabled=False)
    PharmacyFactory(name="Closed Down", is_active=False)
    body = client_for(patient).get("/api/pharmacies/").json()
    assert body["success"] is True and body["count"] == 2
    assert PHARMACY_KEYS <= set(body["pharmacies"][0])
    assert client_for(patient).get("/api/pharmacies/", {"search": "alpha"}).json()["count"] == 1
    assert client_for(patient).get("/api/pharmacies/", {"city": "yaba"}).json()["count"] == 1
    assert client_for(patient).get("/api/pharmacies/", {"electronic_prescriptions": "true"}).json()["count"] == 1
    bad = client_for(patient).get("/api/pharmacies/", {"latitude": "100", "longitude": "0"})
    assert bad.status_code == 400 and "message" in bad.json()
    assert client_for(None).get("/api/pharmacies/").status_code == 401


def test_nearby_by_distance_across_the_antimeridian(patient):
    fiji_east = PharmacyFactory(name="East", latitude=-17.0, longitude=179.95)
    fiji_west = PharmacyFactory(name="West", latitude=-17.0, longitude=-179.9)
    PharmacyFactory(name="Far", latitude=-17.0, longitude=170.0)
    body = client_for(patient).get("/api/pharmacies/nearby/", {
        "latitude": -17.0, "longitude": 179.99, "radius": 25, "limit": 10}).json()
    assert [p["id"] for p in body["pharmacies"]] == [fiji_east.pk, fiji_west.pk]
    assert body["radius_km"] == 25 and body["count"] == 2
    assert body["pharmacies"][0]["distance"] < body["pharmacies"][1]["distance"] < 25


def test_nearby_near_the_pole(patient):
    across = PharmacyFactory(name="Across the pole", latitude=89.95, longitude=-170.0)
    PharmacyFactory(name="Too far south", latitude=89.0, longitude=10.0)
    body = client_for(patient).get("/api/pharmacies/nearby/", {"latitude": 89.95, "longitude": 10.0,
                                                                "radius": 20}).json()
    assert [p["id"] for p in body["pharmacies"]] == [across.pk]


def test_nearby_answers_in_the_same_number_of_queries_for_5_or_60_pharmacies(patient):
    def queries(count: int) -> int:
        Pharmacy.objects.all().delete()
        for i in range(count):
            PharmacyFactory(latitude=6.6 + i * 0.0005, longitude=3.35)
        client = client_for(patient)
        with CaptureQueriesContext(connection) as ctx:
            body = client.get("/api/pharmacies/nearby/", {"latitude": 6.6, "longitude": 3.35, "radius": 50,
                                                          "limit": 100}).json()
        assert body["count"] == count
        return len(ctx.captured_queries)

    assert queries(5) == queries(60)


def test_detail_with_distance(patient):
    pharmacy = PharmacyFactory(latitude=6.6, longitude=3.35)
    body = client_for(patient).get(f"/api/pharmacies/{pharmacy.pk}/", {"latitude": 6.6, "longitude": 3.36}).json()
    assert body["success"] is True and body["pharmacy"]["id"] == pharmacy.pk
    assert body["pharmacy"]["distance"] == pytest.approx(1.1, abs=0.05)
    assert client_for(patient).get("/api/pharmacies/999999/").status_code == 404
    assert client_for(patient).get("/api/pharmacies/abc/").status_code == 404


def test_nominate_change_remove_and_history(patient):
    first, second = PharmacyFactory(), PharmacyFactory()
    client = client_for(patient)
    assert client.get("/api/pharmacies/nominated/").json() == {"success": True, "has_nomination": False,
                                                               "nomination": None}
    made = client.post("/api/pharmacies/nominated/", {"pharmacy_id": first.pk, "nomination_type": "repeat"},
                       format="json").json()
    assert made["success"] is True and made["nomination"]["pharmacy"]["id"] == first.pk
    assert {"id", "user", "user_email", "user_hpn", "pharmacy", "nomination_type", "is_current", "nominated_at",
            "ended_at", "notes"} <= set(made["nomination"])
    client.post("/api/pharmacies/nominated/", {"pharmacy_id": second.pk}, format="json")
    current = client.get("/api/pharmacies/nominated/").json()
    assert current["has_nomination"] is True and current["nomination"]["pharmacy"]["id"] == second.pk
    assert Nomination.objects.filter(patient=patient, is_current=True).count() == 1
    removed = client.delete("/api/pharmacies/nominated/").json()
    assert removed["success"] is True and removed["has_nomination"] is False
    history = client.get("/api/pharmacies/nomination-history/").json()
    assert history["count"] == 2 and not any(n["is_current"] for n in history["nominations"])
    assert {"id", "pharmacy_name", "pharmacy_code", "nomination_type", "is_current", "nominated_at",
            "ended_at"} <= set(history["nominations"][0])
    assert AuditEvent.objects.filter(action="pharmacy_nominated", actor_id=patient.pk).count() == 2


def test_nomination_refusals(patient, doctor):
    paper_only = PharmacyFactory(electronic_prescriptions_enabled=False)
    client = client_for(patient)
    refused = client.post("/api/pharmacies/nominated/", {"pharmacy_id": paper_only.pk}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "not_nominatable"
    assert client.post("/api/pharmacies/nominated/", {"pharmacy_id": 999999}, format="json").status_code == 404
    assert client.post("/api/pharmacies/nominated/", {}, format="json").status_code == 400
    assert client.post("/api/pharmacies/nominated/", {"practice_page_id": "practice-1"},
                       format="json").status_code == 404
    assert client_for(doctor).post("/api/pharmacies/nominated/", {"pharmacy_id": PharmacyFactory().pk},
                                   format="json").status_code == 403


def test_nominatable_lists_own_city_first(patient):
    patient.city, patient.state = "Yaba", "lagos"
    patient.save()
    PharmacyFactory(name="A Ikeja", city="Ikeja")
    yaba = PharmacyFactory(name="Z Yaba", city="Yaba")
    PharmacyFactory(name="Paper", electronic_prescriptions_enabled=False)
    body = client_for(patient).get("/api/practice-pages/nominatable-pharmacies/").json()
    assert body["count"] == 2 and body["pharmacies"][0]["id"] == yaba.pk
    assert body["user_location"] == {"city": "Yaba", "state": "lagos"}
