"""The staff roster page's lists are paged: the staff (/api/staff/), the weekly roster sessions and
the dated roster exceptions. Following the cursor returns every row exactly once, in the list's
order; the first page keeps its body; ``total_staff`` counts the whole list."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appointments import staff
from appointments.models import RosterException, RosterSession
from hospitals.models import StaffMember
from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_hospital_admin
from tests.helpers import client_for, migrate_to_latest
from tests.pages import walk
from tests.plans import analyze, assert_read_in_index_order, page_plan

pytestmark = pytest.mark.django_db

STAFF_URL = "/api/staff/"
SESSIONS_URL = "/api/staff/roster/sessions/"
EXCEPTIONS_URL = "/api/staff/roster/exceptions/"



def _sessions(department, doctors, weekdays=(0, 2)) -> None:
    for doctor in doctors:
        for weekday in weekdays:
            RosterSession.objects.create(doctor=doctor, department=department, weekday=weekday,
                                         start_time=time(9), end_time=time(12))
            RosterSession.objects.create(doctor=doctor, department=department, weekday=weekday,
                                         start_time=time(8, 30), end_time=time(9))


# --- /api/staff/ -----------------------------------------------------------------------------------
def test_staff_pages_cover_every_member_once_by_name(hospital, department, hospital_admin):
    # Two doctors share a name: the member's id orders them.
    for name in ("Zainab Bello", "Ade Okafor", "Musa Idris", "Ade Okafor", "Chioma Eze", "Bola Ade"):
        make_doctor(department=DepartmentFactory(hospital=hospital), full_name=name)
    expected = [m.pk for m in StaffMember.objects.filter(hospital=hospital).order_by("user__full_name", "pk")]
    assert len(expected) == 7
    client = client_for(hospital_admin)

    items, responses = walk(client, f"{STAFF_URL}?limit=3", "staff_members")
    assert [i["id"] for i in items] == expected
    assert len(responses) == 3 and "Link" not in responses[-1].headers
    assert all(r.json()["total_staff"] == 7 and r.headers["X-Total-Count"] == "7" for r in responses)
    assert [len(r.json()["staff_members"]) for r in responses] == [3, 3, 1]

    whole = client.get(STAFF_URL)
    assert "Link" not in whole.headers and whole.headers["X-Page-Size"] == str(staff.STAFF.default)
    body = whole.json()
    assert set(body) == {"status", "total_staff", "staff_members"} and body["status"] == "success"
    assert [i["id"] for i in body["staff_members"]] == expected and body["total_staff"] == 7
    assert body["staff_members"][0] == items[0]


def test_a_staff_cursor_replayed_elsewhere_gives_only_the_callers_hospital(hospital, department, hospital_admin,
                                                                           patient):
    for name in ("Ade", "Bola", "Chioma", "Dayo"):
        make_doctor(department=department, full_name=name)
    cursor = client_for(hospital_admin).get(f"{STAFF_URL}?limit=2").headers["X-Next-Cursor"]

    elsewhere = HospitalFactory()
    other_admin = make_hospital_admin(hospital=elsewhere, full_name="Zed")
    theirs = make_doctor(department=DepartmentFactory(hospital=elsewhere), full_name="Yemi")
    answer = client_for(other_admin).get(STAFF_URL, {"cursor": cursor})
    assert answer.status_code == 200
    assert {r["user_id"] for r in answer.json()["staff_members"]} <= {str(other_admin.pk), str(theirs.pk)}
    assert answer.json()["total_staff"] == 2
    refused = client_for(patient).get(STAFF_URL, {"cursor": cursor})
    assert refused.status_code == 403 and refused.json()["message"]
    assert client_for(None).get(STAFF_URL, {"cursor": cursor}).status_code == 401


def test_the_roster_pages_cost_follows_the_page_not_the_hospital(hospital):
    """``staff_rows`` looks up next slots for the departments of the page's members only."""
    def queries(admin, url):
        with CaptureQueriesContext(connection) as ctx:
            assert client_for(admin).get(url).status_code == 200
        return len(ctx.captured_queries)

    small, large = HospitalFactory(), HospitalFactory()
    for target, departments in ((small, 2), (large, 8)):
        for i in range(departments):
            department = DepartmentFactory(hospital=target)
            _sessions(department, [make_doctor(department=department, full_name=f"Doctor {i:02d}")],
                      weekdays=range(7))
    small_admin = make_hospital_admin(hospital=small, full_name="Zz Admin")
    large_admin = make_hospital_admin(hospital=large, full_name="Zz Admin")
    # A page of two doctors (of two departments) costs the same in both hospitals; a larger page, more.
    page_of_two = queries(small_admin, f"{STAFF_URL}?limit=2")
    assert queries(large_admin, f"{STAFF_URL}?limit=2") == page_of_two
    assert queries(large_admin, f"{STAFF_URL}?limit=8") > page_of_two


# --- /api/staff/roster/sessions/ -------------------------------------------------------------------
def test_session_pages_cover_every_session_once_in_roster_order(hospital, department, hospital_admin):
    second = DepartmentFactory(hospital=hospital)
    _sessions(department, [make_doctor(department=department)], weekdays=(3, 1))
    # Two doctors at the same weekday and time: the session's id orders them.
    _sessions(second, [make_doctor(department=second), make_doctor(department=second)], weekdays=(0,))
    expected = [s.pk for s in RosterSession.objects.order_by("department_id", "weekday", "start_time", "id")]
    assert len(expected) == 8
    client = client_for(hospital_admin)

    items, responses = walk(client, f"{SESSIONS_URL}?limit=3", "sessions")
    assert [i["id"] for i in items] == expected
    assert len(responses) == 3 and "Link" not in responses[-1].headers
    assert all(r.headers["X-Total-Count"] == "8" for r in responses)

    whole = client.get(SESSIONS_URL)
    assert set(whole.json()) == {"status", "sessions"} and "Link" not in whole.headers
    assert [i["id"] for i in whole.json()["sessions"]] == expected
    assert whole.json()["sessions"][0] == items[0]


def test_session_filters_hold_on_every_page(hospital, department, hospital_admin):
    second = DepartmentFactory(hospital=hospital)
    doctors = [make_doctor(department=department), make_doctor(department=department)]
    _sessions(department, doctors, weekdays=(0, 1))
    _sessions(second, [make_doctor(department=second)], weekdays=(0, 1, 2))
    client = client_for(hospital_admin)

    items, _ = walk(client, f"{SESSIONS_URL}?limit=3&department_id={second.pk}", "sessions")
    assert [i["id"] for i in items] == [
        s.pk for s in RosterSession.objects.filter(department=second).order_by("weekday", "start_time", "id")]
    items, responses = walk(client, f"{SESSIONS_URL}?limit=3&doctor_id={doctors[1].pk}", "sessions")
    assert {i["doctor_id"] for i in items} == {str(doctors[1].pk)} and len(items) == 4 and len(responses) == 2


@pytest.mark.parametrize("query, message", [
    ({"department_id": "abc"}, "department_id is not valid."),
    ({"department_id": "١٢"}, "department_id is not valid."),
    ({"doctor_id": "not-a-uuid"}, "doctor_id is not valid."),
    ({"doctor_id": ""}, "doctor_id is not valid."),
    ({"department_id": ""}, "department_id is not valid."),
    ({"cursor": "not-a-cursor"}, None),
])
def test_a_bad_session_filter_or_cursor_is_a_400(hospital_admin, query, message):
    response = client_for(hospital_admin).get(SESSIONS_URL, query)
    assert response.status_code == 400
    assert response.json()["message"] == message if message else response.json()["message"]


def test_a_session_cursor_replayed_elsewhere_gives_nothing_of_this_hospital(hospital, department, hospital_admin,
                                                                            doctor, patient):
    _sessions(department, [doctor], weekdays=range(4))
    cursor = client_for(hospital_admin).get(f"{SESSIONS_URL}?limit=2").headers["X-Next-Cursor"]
    elsewhere = DepartmentFactory(hospital=HospitalFactory())
    _sessions(elsewhere, [make_doctor(department=elsewhere)], weekdays=range(2))
    other_admin = make_hospital_admin(hospital=elsewhere.hospital)
    theirs = {s.pk for s in RosterSession.objects.filter(department=elsewhere)}
    assert {s["id"] for s in client_for(other_admin).get(SESSIONS_URL, {"cursor": cursor}).json()["sessions"]} <= theirs
    # A doctor is not the roster's administrator: an empty list, with or without the cursor.
    assert client_for(doctor).get(SESSIONS_URL, {"cursor": cursor}).json() == {"status": "success", "sessions": []}
    assert client_for(patient).get(SESSIONS_URL, {"cursor": cursor}).json()["sessions"] == []
    assert client_for(None).get(SESSIONS_URL, {"cursor": cursor}).status_code == 401


# --- /api/staff/roster/exceptions/ -----------------------------------------------------------------
def _exceptions(doctor, days: list[int]) -> None:
    start = date(2031, 3, 1)
    for offset in days:
        RosterException.objects.create(doctor=doctor, kind="leave", date=start + timedelta(days=offset))


def test_exception_pages_cover_every_exception_once_latest_first(department, hospital_admin, doctor):
    _exceptions(doctor, [0, 5, 5, 2, 9, 2, 7])  # dates repeat: the id orders them, latest first
    expected = [e.pk for e in RosterException.objects.order_by("-date", "-id")]
    client = client_for(hospital_admin)

    items, responses = walk(client, f"{EXCEPTIONS_URL}?limit=3", "exceptions")
    assert [i["id"] for i in items] == expected
    assert len(responses) == 3 and "Link" not in responses[-1].headers
    assert all(r.headers["X-Total-Count"] == "7" for r in responses)

    whole = client.get(EXCEPTIONS_URL)
    assert set(whole.json()) == {"status", "exceptions"} and "Link" not in whole.headers
    assert [i["id"] for i in whole.json()["exceptions"]] == expected


def test_an_exception_cursor_replayed_elsewhere_gives_nothing_of_this_hospital(department, hospital_admin, doctor,
                                                                               patient):
    _exceptions(doctor, list(range(5)))
    cursor = client_for(hospital_admin).get(f"{EXCEPTIONS_URL}?limit=2").headers["X-Next-Cursor"]
    elsewhere = DepartmentFactory(hospital=HospitalFactory())
    _exceptions(make_doctor(department=elsewhere), [0, 1])
    other_admin = make_hospital_admin(hospital=elsewhere.hospital)
    theirs = {e.pk for e in RosterException.objects.filter(doctor__staff__hospital=elsewhere.hospital)}
    answer = client_for(other_admin).get(EXCEPTIONS_URL, {"cursor": cursor}).json()["exceptions"]
    assert {e["id"] for e in answer} <= theirs
    assert client_for(doctor).get(EXCEPTIONS_URL, {"cursor": cursor}).json()["exceptions"] == []
    assert client_for(patient).get(EXCEPTIONS_URL, {"cursor": cursor}).json()["exceptions"] == []
    assert client_for(None).get(EXCEPTIONS_URL, {"cursor": cursor}).status_code == 401
    bad = client_for(hospital_admin).get(EXCEPTIONS_URL, {"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and bad.json()["message"]


def test_a_staff_list_cursor_is_refused_by_the_other_lists(department, hospital_admin, doctor):
    make_doctor(department=department)
    _sessions(department, [doctor], weekdays=range(3))
    _exceptions(doctor, [0, 1, 2])
    client = client_for(hospital_admin)
    staff_cursor = client.get(f"{STAFF_URL}?limit=1").headers["X-Next-Cursor"]
    session_cursor = client.get(f"{SESSIONS_URL}?limit=1").headers["X-Next-Cursor"]
    for url, cursor in ((SESSIONS_URL, staff_cursor), (EXCEPTIONS_URL, session_cursor), (STAFF_URL, session_cursor),
                        (EXCEPTIONS_URL, staff_cursor)):
        answer = client.get(url, {"cursor": cursor})
        assert answer.status_code == 400 and answer.json()["message"], url



def test_an_exception_belongs_to_the_hospital_that_recorded_it(department, hospital_admin, doctor):
    """Recorded through the API, the hospital is the admin's; recorded elsewhere (the Django admin, the
    demo), the department's for an extra session, otherwise the doctor's."""
    client = client_for(hospital_admin)
    created = client.post(EXCEPTIONS_URL, {"doctor_id": str(doctor.pk), "kind": "leave", "date": "2031-04-02"},
                          format="json")
    assert created.status_code == 201, created.content
    leave = RosterException.objects.get(pk=created.json()["exception"]["id"])
    assert leave.hospital_id == department.hospital_id
    elsewhere = DepartmentFactory(hospital=HospitalFactory())
    extra = RosterException.objects.create(doctor=doctor, kind="extra", date=date(2031, 4, 3), start_time=time(9),
                                           end_time=time(10), department=elsewhere)
    assert extra.hospital_id == elsewhere.hospital_id
    assert RosterException.objects.create(doctor=doctor, kind="leave", date=date(2031, 4, 4)).hospital_id \
        == department.hospital_id
    listed = {e["id"] for e in client.get(EXCEPTIONS_URL).json()["exceptions"]}
    assert leave.pk in listed and extra.pk not in listed
    theirs = make_hospital_admin(hospital=elsewhere.hospital)
    assert [e["id"] for e in client_for(theirs).get(EXCEPTIONS_URL).json()["exceptions"]] == [extra.pk]
    assert client_for(theirs).delete(f"{EXCEPTIONS_URL}{leave.pk}/").status_code == 404


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans")
@pytest.mark.parametrize("next_page", [False, True])
def test_an_exception_page_is_read_from_the_hospitals_index(department, hospital_admin, doctor, next_page):
    """Years of exceptions here and at other hospitals: a page starts and stops on the hospital (and,
    for a later page, on the cursor's date), with no sort of the hospital's whole history."""
    start = date(2020, 1, 1)
    doctors = [doctor] + [make_doctor(department=DepartmentFactory(hospital=HospitalFactory())) for _ in range(6)]
    rows = [RosterException(doctor=d, hospital_id=StaffMember.objects.get(user=d).hospital_id, kind="leave",
                            date=start + timedelta(days=day))
            for d in doctors for day in range(0, 4000, 3)]
    RosterException.objects.bulk_create(rows)
    analyze(RosterException)
    spec = staff.ROSTER_EXCEPTIONS
    plan = page_plan(staff.exceptions_list(fetched_by=hospital_admin), spec=spec, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="date" if next_page else None, scoped_by="hospital_id")


@pytest.mark.django_db(transaction=True)
def test_the_migration_records_the_hospital_of_every_exception():
    from django.db.migrations.executor import MigrationExecutor

    before = [("appointments", "0004_list_order_indexes")]
    here, there = DepartmentFactory(), DepartmentFactory(hospital=HospitalFactory())
    doctor = make_doctor(department=here)
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(before)
        old = executor.loader.project_state(before).apps.get_model("appointments", "RosterException")
        leave = old.objects.create(doctor_id=doctor.pk, kind="leave", date=date(2031, 5, 1))
        extra = old.objects.create(doctor_id=doctor.pk, kind="extra", date=date(2031, 5, 2), start_time=time(9),
                                   end_time=time(10), department_id=there.pk, patients_per_slot=1)
    finally:  # forward through 0005 to the latest schema
        migrate_to_latest()
    found = dict(RosterException.objects.values_list("pk", "hospital_id"))
    assert found == {leave.pk: here.hospital_id, extra.pk: there.hospital_id}
