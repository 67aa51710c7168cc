"""``GET /api/admissions/wards/`` is paged: a bare array of the hospital's wards by department,
then name (50 by default, at most 100), each with all its beds, which a ward holds a bounded
number of (``WARD_MAX_BEDS``)."""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ValidationError

from admissions.models import Bed, Ward
from phb.api import pagination
from tests.admissions.helpers import ward
from tests.factories import DepartmentFactory, HospitalFactory, make_hospital_admin
from tests.helpers import client_for
from tests.pages import walk

pytestmark = pytest.mark.django_db

URL = "/api/admissions/wards/"
WARD_KEYS = {"id", "name", "code", "ward_type", "floor", "wing", "is_active", "is_icu", "department",
             "department_name", "beds"}
BED_KEYS = {"id", "number", "bed_identifier", "status", "features"}



@pytest.fixture
def wards(department):
    """Seven wards over two departments (names out of creation order), with 1 to 12 beds; and
    another hospital's ward."""
    second = DepartmentFactory(hospital=department.hospital)
    for n, (dept, name) in enumerate([(second, "Zeta"), (department, "Maple"), (second, "Alder"),
                                      (department, "Birch"), (department, "Cedar"), (second, "Elm"),
                                      (department, "Aspen")]):
        ward(dept, code=f"W{n}", name=name, beds=1 + n * 2 - (n // 3))
    ward(DepartmentFactory(hospital=HospitalFactory()), code="FAR", beds=4)
    return Ward.objects.filter(hospital=department.hospital).order_by("department_id", "name", "id")


def test_pages_cover_every_ward_once_in_order_with_all_their_beds(wards, hospital_admin):
    client = client_for(hospital_admin)
    first = client.get(URL)
    assert first.status_code == 200 and "Link" not in first.headers
    assert first.headers["X-Total-Count"] == "7"
    assert first.headers["X-Page-Size"] == str(pagination.ADMISSION_WARDS.default) == "50"
    body = first.json()
    assert [w["code"] for w in body] == [w.code for w in wards]
    assert all(set(w) == WARD_KEYS and all(set(b) == BED_KEYS for b in w["beds"]) for w in body)
    for shown in body:
        numbers = list(Bed.objects.filter(ward_id=shown["id"]).values_list("number", flat=True))
        assert [b["number"] for b in shown["beds"]] == sorted(numbers, key=lambda n: (len(n), n))

    items, responses = walk(client, f"{URL}?limit=3")
    assert [len(r.json()) for r in responses] == [3, 3, 1]
    assert items == body  # the same wards, beds and order, nothing lost or repeated
    assert all(r.headers["X-Total-Count"] == "7" for r in responses)
    assert "Link" not in responses[-1].headers and "X-Next-Cursor" not in responses[-1].headers


def test_limit_is_clamped_and_bad_cursors_are_a_400(wards, hospital_admin):
    client = client_for(hospital_admin)
    assert client.get(f"{URL}?limit=100000").headers["X-Page-Size"] == str(pagination.ADMISSION_WARDS.maximum)
    for query in ("cursor=not-a-cursor", "cursor=%00", "cursor=WyJ4Il0", "limit=abc"):
        response = client.get(f"{URL}?{query}")
        assert response.status_code == 400, query
        assert response.json()["message"], query


def test_a_cursor_never_shows_another_hospitals_wards(wards, hospital_admin, patient):
    cursor = client_for(hospital_admin).get(f"{URL}?limit=2").headers["X-Next-Cursor"]
    outsider = make_hospital_admin(hospital=HospitalFactory())
    assert client_for(outsider).get(URL).json() == []
    assert client_for(outsider).get(f"{URL}?cursor={cursor}").json() == []
    far = make_hospital_admin(hospital=Ward.objects.get(code="FAR").hospital)
    assert [w["code"] for w in client_for(far).get(f"{URL}?cursor={cursor}").json()] == ["FAR"]  # its own
    for who, status in ((patient, 404), (None, 401)):
        assert client_for(who).get(URL).status_code == status
        assert client_for(who).get(f"{URL}?cursor={cursor}").status_code == status


def test_a_ward_holds_a_bounded_number_of_beds(monkeypatch, hospital_admin, hospital):
    """The department form cannot grow a ward past the maximum, nor can the admin site."""
    import admissions.capacity
    import admissions.models

    monkeypatch.setattr(admissions.capacity, "WARD_MAX_BEDS", 5)
    monkeypatch.setattr(admissions.models, "WARD_MAX_BEDS", 5)
    client = client_for(hospital_admin)
    form = {"name": "Paediatrics", "department_type": "medical", "total_beds": 4}
    created = client.post("/api/hospitals/departments/create/", form, format="json")
    assert created.status_code == 201, created.content
    url = f"/api/hospitals/departments/{created.json()['department']['id']}/update/"
    refused = client.patch(url, {"total_beds": 6}, format="json")
    assert refused.status_code == 409 and "at most 5" in refused.json()["message"]
    assert client.patch(url, {"total_beds": 5}, format="json").status_code == 200
    full = Ward.objects.get(department_id=created.json()["department"]["id"])
    assert full.beds.count() == 5
    with pytest.raises(ValidationError):
        Bed(ward=full, number="99").full_clean()
    Bed(ward=ward(DepartmentFactory(hospital=hospital), code="OK", beds=4), number="5").full_clean()


def test_a_ward_over_the_maximum_is_cut_at_it_and_logged(monkeypatch, department, hospital_admin, caplog):
    import admissions.selectors
    import admissions.views

    ward(department, code="BIG", beds=4)
    monkeypatch.setattr(admissions.selectors, "WARD_MAX_BEDS", 3)
    monkeypatch.setattr(admissions.views, "WARD_MAX_BEDS", 3)
    with caplog.at_level(logging.WARNING):
        body = client_for(hospital_admin).get(URL).json()
    assert [b["number"] for b in body[0]["beds"]] == ["1", "2", "3"]
    assert any(getattr(r, "event", "") == "ward_over_bed_limit" for r in caplog.records)
