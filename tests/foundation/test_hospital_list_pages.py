"""The hospital lists answer bounded pages: a hospital admin's registrations (both paths), hospitals
near a point and the hospital search page by cursor with the true total; a department's detail lists
at most ``DEPARTMENT_STAFF_MAX`` active staff and counts them all; the department list is cut in the
database."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role, User
from hospitals import departments as dept
from hospitals.models import Department, HospitalRegistration, RegistrationStatus, StaffMember
from phb.api import pagination
from tests.factories import (
    DepartmentFactory,
    HospitalFactory,
    RegistrationFactory,
    UserFactory,
    make_hospital_admin,
    make_patient,
)
from tests.helpers import client_for
from tests.pages import walk

pytestmark = pytest.mark.django_db




def _bad_cursors_are_400(client, url: str) -> None:
    sep = "&" if "?" in url else "?"
    for cursor in ("not-a-cursor", pagination.encode_cursor(["x"]), "%00"):
        response = client.get(f"{url}{sep}cursor={cursor}")
        assert response.status_code == 400, (cursor, response.status_code)
        assert response.json()["message"]


# --- A hospital admin's registrations ------------------------------------------------------------
@pytest.fixture
def registrations(hospital):
    """Seven pending and two approved registrations at ``hospital``, one a minute, newest last."""
    start = timezone.now() - dt.timedelta(hours=1)
    made = []
    for i in range(9):
        status = RegistrationStatus.PENDING if i < 7 else RegistrationStatus.APPROVED
        registration = RegistrationFactory(hospital=hospital, status=status, is_primary=False)
        HospitalRegistration.objects.filter(pk=registration.pk).update(created_at=start + dt.timedelta(minutes=i))
        made.append(registration)
    # Two share a time: the id breaks the tie.
    HospitalRegistration.objects.filter(pk=made[3].pk).update(created_at=start + dt.timedelta(minutes=4))
    RegistrationFactory(hospital=HospitalFactory(), status=RegistrationStatus.PENDING, is_primary=False)
    return made


def _newest_first(hospital, status: str | None = None) -> list[str]:
    rows = HospitalRegistration.objects.filter(hospital=hospital)
    if status:
        rows = rows.filter(status=status)
    return [str(pk) for pk in rows.order_by("-created_at", "-id").values_list("pk", flat=True)]


@pytest.mark.parametrize("path, key", [("/api/hospitals/registrations/", None),
                                       ("/api/hospitals/admin/registrations/", lambda b: b["registrations"])])
def test_an_admins_registrations_page_by_cursor(hospital, hospital_admin, registrations, path, key):
    client = client_for(hospital_admin)
    expected = _newest_first(hospital, RegistrationStatus.PENDING)
    assert len(expected) == 7

    first = client.get(f"{path}?status=pending")
    assert "Link" not in first.headers and first.headers["X-Total-Count"] == "7"
    assert first.headers["X-Page-Size"] == str(pagination.HOSPITAL_REGISTRATIONS.default) == "500"
    body = first.json()
    if key is None:
        assert isinstance(body, list)  # the bare array the registrations page reads
    else:
        assert set(body) == {"registrations"}
    assert [r["id"] for r in (body if key is None else key(body))] == expected

    items, responses = walk(client, f"{path}?status=pending&limit=3", key=key)
    assert [r["id"] for r in items] == expected  # newest first, each once
    assert [len(r.json() if key is None else key(r.json())) for r in responses] == [3, 3, 1]
    assert all(r.headers["X-Total-Count"] == "7" for r in responses)
    assert responses[0].headers["X-Next-Cursor"] in responses[0].headers["Link"]
    assert "status=pending" in responses[0].headers["Link"]

    every, _ = walk(client, f"{path}?limit=4", key=key)
    assert [r["id"] for r in every] == _newest_first(hospital)
    _bad_cursors_are_400(client, f"{path}?status=pending")


def test_registration_cursors_reach_no_one_elses_rows(hospital, hospital_admin, registrations, patient):
    path = "/api/hospitals/registrations/"
    cursor = client_for(hospital_admin).get(f"{path}?status=pending&limit=2").headers["X-Next-Cursor"]
    other_admin = make_hospital_admin(hospital=HospitalFactory())
    assert client_for(other_admin).get(f"{path}?status=pending&cursor={cursor}").json() == []
    assert client_for(other_admin).get(f"/api/hospitals/admin/registrations/?cursor={cursor}").json() == {
        "registrations": []}
    # A patient reads her own registrations at the same path, whatever the cursor.
    own = client_for(patient).get(f"{path}?cursor={cursor}").json()
    assert [r["id"] for r in own["registrations"]] == [str(patient.hospital_registrations.get().pk)]
    assert own["count"] == 1
    assert client_for(patient).get(f"{path}?limit=abc").status_code == 400  # as on every paged list
    assert client_for(None).get(f"{path}?cursor={cursor}").status_code == 401
    assert client_for(patient).get(f"/api/hospitals/admin/registrations/?cursor={cursor}").json() == {
        "registrations": []}
    assert client_for(None).get(f"/api/hospitals/admin/registrations/?cursor={cursor}").status_code == 401


# --- Hospitals near a point ----------------------------------------------------------------------
ORIGIN = (6.45, 3.40)


def _km_east(km: float) -> str:
    """The longitude ``km`` east of ORIGIN on its parallel."""
    return f"{ORIGIN[1] + km / (111.19 * math.cos(math.radians(ORIGIN[0]))):.6f}"


@pytest.fixture
def nearby(db):
    """Seven hospitals 1 to 7 km east of ORIGIN (created farthest first), one twin of the 4 km one at
    the same spot, one 40 km away and one closed."""
    lat = f"{ORIGIN[0]:.6f}"
    for km in range(7, 0, -1):
        HospitalFactory(name=f"Near {km}", latitude=lat, longitude=_km_east(km))
    HospitalFactory(name="Near 4 twin", latitude=lat, longitude=_km_east(4))
    HospitalFactory(name="Far", latitude=lat, longitude=_km_east(40))
    HospitalFactory(name="Closed", latitude=lat, longitude=_km_east(2), is_active=False)


def test_nearby_hospitals_page_nearest_first_with_the_true_count(nearby):
    client = client_for(UserFactory())
    url = f"/api/hospitals/nearby/?latitude={ORIGIN[0]}&longitude={ORIGIN[1]}&radius=10"
    first = client.get(url)
    body = first.json()
    assert set(body) == {"hospitals", "message", "location"}
    assert body["message"] == "8 hospitals within 10 km"
    names = [h["name"] for h in body["hospitals"]]
    assert names[:3] == ["Near 1", "Near 2", "Near 3"] and names[-3:] == ["Near 5", "Near 6", "Near 7"]
    assert set(names) == {f"Near {k}" for k in range(1, 8)} | {"Near 4 twin"}
    distances = [h["distance_km"] for h in body["hospitals"]]
    assert distances == sorted(distances) and distances[0] == pytest.approx(1.0, abs=0.02)
    assert first.headers["X-Total-Count"] == "8" and "Link" not in first.headers
    assert first.headers["X-Page-Size"] == str(pagination.HOSPITALS_NEARBY.default)

    items, responses = walk(client, url + "&limit=3", key=lambda b: b["hospitals"])
    assert [h["id"] for h in items] == [h["id"] for h in body["hospitals"]]  # every one once, same order
    assert len(responses) == 3 and all(r.headers["X-Total-Count"] == "8" for r in responses)
    assert all(r.json()["message"] == "8 hospitals within 10 km" for r in responses)
    assert all(set(r.json()) == {"hospitals", "message", "location"} for r in responses)
    across, _ = walk(client, url + "&limit=4", key=lambda b: b["hospitals"])  # the twins straddle the pages
    assert [h["id"] for h in across] == [h["id"] for h in body["hospitals"]]
    assert client.get(url + "&limit=100000").headers["X-Page-Size"] == str(pagination.HOSPITALS_NEARBY.maximum)
    _bad_cursors_are_400(client, url)
    cursor = responses[0].headers["X-Next-Cursor"]
    assert client_for(None).get(f"{url}&cursor={cursor}").status_code == 401


def test_nearby_cuts_the_page_in_the_database(nearby):
    client = client_for(UserFactory())
    url = f"/api/hospitals/nearby/?latitude={ORIGIN[0]}&longitude={ORIGIN[1]}&radius=50&limit=2"
    with CaptureQueriesContext(connection) as queries:
        body = client.get(url).json()
    assert [h["name"] for h in body["hospitals"]] == ["Near 1", "Near 2"]
    assert body["message"] == "9 hospitals within 50 km"
    page = [q["sql"] for q in queries.captured_queries if "LIMIT 3" in q["sql"] and "hospitals_hospital" in q["sql"]]
    assert page, [q["sql"] for q in queries.captured_queries]


# --- Hospital search -----------------------------------------------------------------------------
def test_hospital_search_pages_with_the_true_total(db):
    for i in (5, 3, 7, 1, 6, 2, 4):
        HospitalFactory(name=f"Lagos General {i}", state="lagos")
    HospitalFactory(name="Lagos General 4", state="lagos")  # the same name: the id breaks the tie
    HospitalFactory(name="Kano Central", state="kano")
    HospitalFactory(name="Lagos Closed", state="lagos", is_active=False)
    client = client_for(UserFactory())

    first = client.get("/api/hospitals/search/?q=lagos")
    body = first.json()
    assert set(body) == {"hospitals", "total", "message"}
    assert body["total"] == 8 and body["message"] == "8 found" and len(body["hospitals"]) == 8
    assert first.headers["X-Page-Size"] == str(pagination.HOSPITAL_SEARCH.default) == "50"
    assert "Link" not in first.headers

    items, responses = walk(client, "/api/hospitals/search/?q=lagos&limit=3", key=lambda b: b["hospitals"])
    assert [h["id"] for h in items] == [h["id"] for h in body["hospitals"]]
    assert [h["name"] for h in items] == sorted(h["name"] for h in items)
    assert len(responses) == 3
    assert all(r.json()["total"] == 8 and r.headers["X-Total-Count"] == "8" for r in responses)
    assert client.get("/api/hospitals/search/?q=lagos&limit=500").headers["X-Page-Size"] == "200"  # clamped
    assert client.get("/api/hospitals/search/?q=lagos&limit=0").headers["X-Page-Size"] == "1"
    _bad_cursors_are_400(client, "/api/hospitals/search/?q=lagos")
    cursor = responses[0].headers["X-Next-Cursor"]
    assert client_for(None).get(f"/api/hospitals/search/?q=lagos&cursor={cursor}").status_code == 401


# --- Departments ---------------------------------------------------------------------------------
def _staff(department: Department, count: int, *, active: bool = True, prefix: str = "Staff") -> None:
    users = User.objects.bulk_create([
        User(email=f"{prefix.lower()}{i}.{department.pk}@example.test", full_name=f"{prefix} {i:04d}",
             role=Role.DOCTOR, is_active=active) for i in range(count)])
    StaffMember.objects.bulk_create([StaffMember(user=u, hospital=department.hospital, department=department)
                                     for u in users])


def test_department_detail_lists_at_most_the_maximum_and_counts_every_active_member(hospital_admin, department):
    _staff(department, dept.DEPARTMENT_STAFF_MAX + 5)
    _staff(department, 2, active=False, prefix="Aaron")  # would sort first
    body = client_for(hospital_admin).get(f"/api/hospitals/departments/{department.pk}/detail/").json()
    assert body["staff_count"] == dept.DEPARTMENT_STAFF_MAX + 5 == body["department"]["current_staff_count"]
    assert len(body["staff"]) == dept.DEPARTMENT_STAFF_MAX
    assert all(s["is_active"] for s in body["staff"])
    assert [s["name"] for s in body["staff"]] == [f"Staff {i:04d}" for i in range(dept.DEPARTMENT_STAFF_MAX)]


def test_department_detail_staff_agree_with_the_count(hospital_admin, department, doctor):
    _staff(department, 1, active=False)
    body = client_for(hospital_admin).get(f"/api/hospitals/departments/{department.pk}/detail/").json()
    assert body["staff_count"] == 1 == len(body["staff"])
    assert body["staff"][0]["name"] == doctor.full_name


def test_department_list_is_cut_in_the_database(hospital_admin, hospital):
    for name in ("Radiology", "Cardiology", "Oncology", "Neurology", "Surgery"):
        DepartmentFactory(hospital=hospital, name=name)
    DepartmentFactory(hospital=HospitalFactory(), name="Elsewhere")
    client = client_for(hospital_admin)
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/api/hospitals/departments/?limit=2&page=2").json()
    assert [d["name"] for d in body["departments"]] == ["Oncology", "Radiology"]
    assert (body["total"], body["page"], body["limit"]) == (5, 2, 2)
    listed = [q["sql"] for q in queries.captured_queries
              if q["sql"].startswith("SELECT") and 'FROM "hospitals_department"' in q["sql"]
              and "COUNT(" not in q["sql"].upper()]
    assert listed and all("LIMIT 2 OFFSET 2" in sql for sql in listed), listed
    assert [d["name"] for d in client.get("/api/hospitals/departments/?limit=2&page=3").json()["departments"]] == [
        "Surgery"]


def _a_hospitals_departments(hospital) -> list[int]:
    """Five active departments of ``hospital`` (created out of order), one closed, and another
    hospital's; the active ones' ids by name."""
    made = [DepartmentFactory(hospital=hospital, name=name)
            for name in ("Radiology", "Cardiology", "Oncology", "Neurology", "Surgery")]
    DepartmentFactory(hospital=hospital, name="Anaesthesia", is_active=False)  # would sort first
    DepartmentFactory(hospital=HospitalFactory(), name="Burns")
    return [d.pk for d in sorted(made, key=lambda d: d.name)]


@pytest.mark.parametrize("caller", ["patient", "doctor"])
def test_a_hospitals_departments_page_by_name(hospital, department, patient, doctor, caller):
    """P1 (the booking page: the caller's primary hospital) and D17 (referral targets: any hospital)."""
    department.delete()
    expected = _a_hospitals_departments(hospital)
    path = "/api/departments/" if caller == "patient" else f"/api/departments/{hospital.pk}/"
    client = client_for(patient if caller == "patient" else doctor)

    first = client.get(path)
    assert "Link" not in first.headers and first.headers["X-Total-Count"] == "5"
    assert first.headers["X-Page-Size"] == str(pagination.DEPARTMENTS.default) == "500"
    body = first.json()
    assert body["status"] == "success" and [d["id"] for d in body["departments"]] == expected
    assert ("hospital" in body) == (caller == "patient")

    items, responses = walk(client, f"{path}?limit=2", key="departments")
    assert [d["id"] for d in items] == expected  # by name, each once
    assert [len(r.json()["departments"]) for r in responses] == [2, 2, 1]
    assert all(r.headers["X-Total-Count"] == "5" for r in responses)
    assert all(r.json()["status"] == "success" for r in responses)
    _bad_cursors_are_400(client, path)


def test_department_cursors_reach_no_other_hospitals_departments(hospital, department, doctor):
    department.delete()
    _a_hospitals_departments(hospital)
    elsewhere = HospitalFactory()
    theirs = [DepartmentFactory(hospital=elsewhere, name=name).pk for name in ("Dermatology", "Urology")]
    cursor = client_for(doctor).get(f"/api/departments/{hospital.pk}/?limit=2").headers["X-Next-Cursor"]
    # After "Neurology" in another hospital: only that hospital's departments past the cursor.
    body = client_for(doctor).get(f"/api/departments/{elsewhere.pk}/?cursor={cursor}").json()
    assert [d["id"] for d in body["departments"]] == theirs[1:]
    stranger = make_patient(hospital=elsewhere)
    mine = client_for(stranger).get(f"/api/departments/?cursor={cursor}").json()
    assert [d["id"] for d in mine["departments"]] == theirs[1:] and mine["hospital"]["id"] == elsewhere.pk
    assert client_for(None).get(f"/api/departments/?cursor={cursor}").status_code == 401
    assert client_for(None).get(f"/api/departments/{hospital.pk}/?cursor={cursor}").status_code == 401


def test_a_departments_doctors_page_by_name(hospital_admin, department, doctor):
    """The new-admission modal's doctors (a bare array), paged by full name, the modal's path
    without a trailing slash included."""
    User.objects.filter(pk=doctor.pk).update(full_name="Zara Last")
    _staff(department, 4)
    _staff(department, 2, active=False, prefix="Aaron")  # would sort first
    _staff(DepartmentFactory(hospital=department.hospital), 3, prefix="Other")
    expected = [f"Staff {i:04d}" for i in range(4)] + ["Zara Last"]
    client = client_for(hospital_admin)
    for path in (f"/api/doctors/department/{department.pk}", f"/api/doctors/department/{department.pk}/"):
        first = client.get(path)
        assert "Link" not in first.headers and first.headers["X-Total-Count"] == "5"
        assert first.headers["X-Page-Size"] == str(pagination.DEPARTMENT_DOCTORS.default) == "200"
        assert [d["full_name"] for d in first.json()] == expected

        items, responses = walk(client, f"{path}?limit=2")
        assert [d["full_name"] for d in items] == expected
        assert [len(r.json()) for r in responses] == [2, 2, 1]
        _bad_cursors_are_400(client, path)

    cursor = client.get(f"/api/doctors/department/{department.pk}?limit=2").headers["X-Next-Cursor"]
    outsider = make_hospital_admin(hospital=HospitalFactory())
    response = client_for(outsider).get(f"/api/doctors/department/{department.pk}?cursor={cursor}")
    assert response.status_code == 404 and response.json()["message"]
    assert client_for(None).get(f"/api/doctors/department/{department.pk}?cursor={cursor}").status_code == 401
