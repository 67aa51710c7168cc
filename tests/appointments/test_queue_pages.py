"""D1 (/api/department-pending-appointments/): both lists are paged outward from today, so the first
page holds today's and the coming appointments whatever the doctor's history, and one cursor leads
to every other row exactly once."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from appointments import doctor_queue, rows, selectors, slot_grid
from appointments.models import Appointment
from phb.api import pagination
from tests.appointments.helpers import bulk_appointments
from tests.factories import DepartmentFactory, make_doctor, make_patient
from tests.helpers import client_for
from tests.pages import pages as follow
from tests.plans import explain, index_conditions

pytestmark = pytest.mark.django_db

URL = "/api/department-pending-appointments/"


def _to_past(appointments: list[Appointment], *, days: int = 90) -> None:
    """Move ``appointments`` ``days`` back (before today: ``bulk_appointments`` books the coming days)."""
    Appointment.objects.filter(pk__in=[a.pk for a in appointments]).update(
        start=F("start") - timedelta(days=days), end=F("end") - timedelta(days=days))


def _workload(department, doctor, *, upcoming: int, past: int, status: str = "confirmed") -> None:
    """``upcoming`` + ``past`` appointments of ``doctor``, and as many pending ones in the department."""
    mine = bulk_appointments(patients=[make_patient(hospital=department.hospital) for _ in range(3)],
                             department=department, count=upcoming + past, doctor=doctor, status=status)
    pending = bulk_appointments(patients=[make_patient(hospital=department.hospital) for _ in range(3)],
                                department=department, count=upcoming + past, offset=upcoming + past)
    _to_past(mine[upcoming:])
    _to_past(pending[upcoming:], days=120)


def _walk_order(queryset) -> list[list[str]]:
    """The rows in the walk's order: from today on, earliest first; then before today, latest first."""
    today = doctor_queue.start_of_today(slot_grid.hospital_zone(queryset.first().hospital))
    forward = queryset.filter(start__gte=today).order_by("start", "id")
    backward = queryset.filter(start__lt=today).order_by("-start", "-id")
    return [str(a.id) for a in forward] + [str(a.id) for a in backward]



def _chunks(ids: list[str], size: int) -> list[list[str]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def _starts(items: list[dict]) -> list[str]:
    return [i["appointment_date"] for i in items]


def test_the_pages_walk_from_today_forward_then_back_and_give_every_row_once(doctor, department):
    _workload(department, doctor, upcoming=4, past=3)
    mine_order = _walk_order(Appointment.objects.filter(doctor=doctor))
    pending_order = _walk_order(Appointment.objects.filter(department=department, status="pending"))
    assert len(mine_order) == len(pending_order) == 7

    responses = follow(client_for(doctor), f"{URL}?limit=3")
    assert len(responses) == 3 and "Link" not in responses[-1].headers
    bodies = [r.json() for r in responses]
    # Each page is the next ``limit`` rows of the walk, listed earliest first.
    for size, ids, key in ((3, mine_order, lambda b: b["my_appointments"]["all"]),
                           (3, pending_order, lambda b: b["pending_department_appointments"])):
        pages = [key(b) for b in bodies]
        assert [sorted(i["id"] for i in page) for page in pages] == [sorted(c) for c in _chunks(ids, size)]
        assert all(_starts(page) == sorted(_starts(page)) for page in pages)
        seen = [i["id"] for page in pages for i in page]
        assert len(seen) == len(set(seen)) == 7
    # The status groups are those of the page's ``all``; the summary counts every row on every page.
    for body in bodies:
        mine = body["my_appointments"]
        assert [i["id"] for i in mine["confirmed"]] == [i["id"] for i in mine["all"]]
        assert body["summary"]["total_my_appointments"] == 7 and body["summary"]["pending_count"] == 7
        assert body["summary"]["pending_department_count"] == 7
    assert all(r.headers["X-Page-Size"] == "3" for r in responses)


def test_the_first_page_holds_the_coming_appointments_however_long_the_history(doctor, department):
    """A doctor with more past appointments than a page still sees today's and the coming ones."""
    _workload(department, doctor, upcoming=2, past=8)
    upcoming = {str(a.id) for a in Appointment.objects.filter(start__gte=timezone.now())}
    assert len(upcoming) == 4

    first = client_for(doctor).get(f"{URL}?limit=5").json()
    mine = {i["id"] for i in first["my_appointments"]["all"]}
    pending = {i["id"] for i in first["pending_department_appointments"]}
    assert upcoming <= mine | pending
    # The rest of the page is the latest of the past ones, and the page lists them earliest first.
    latest_past = Appointment.objects.filter(doctor=doctor, start__lt=timezone.now()).order_by("-start")[:3]
    assert mine - upcoming == {str(a.id) for a in latest_past}
    assert _starts(first["my_appointments"]["all"]) == sorted(_starts(first["my_appointments"]["all"]))


def test_a_list_that_fits_one_page_is_the_whole_list_earliest_first(doctor, department):
    _workload(department, doctor, upcoming=3, past=3)
    response = client_for(doctor).get(URL)
    body = response.json()
    assert "Link" not in response.headers and "X-Next-Cursor" not in response.headers
    assert response.headers["X-Page-Size"] == str(pagination.DOCTOR_APPOINTMENTS.default)
    assert set(body) == {"status", "pending_department_appointments", "my_appointments", "doctor_info", "summary"}
    assert set(body["my_appointments"]) == {*selectors.DASHBOARD_STATUSES, "all"}
    earliest_first = [str(a.id) for a in Appointment.objects.filter(doctor=doctor).order_by("start", "id")]
    assert [i["id"] for i in body["my_appointments"]["all"]] == earliest_first
    pending = [str(a.id) for a in Appointment.objects.filter(status="pending").order_by("start", "id")]
    assert [i["id"] for i in body["pending_department_appointments"]] == pending


def test_a_finished_list_is_empty_on_later_pages(doctor, department):
    patients = [make_patient(hospital=department.hospital) for _ in range(2)]
    bulk_appointments(patients=patients, department=department, count=2, doctor=doctor, status="confirmed")
    bulk_appointments(patients=patients, department=department, count=5, offset=2)
    responses = follow(client_for(doctor), f"{URL}?limit=2")
    assert len(responses) == 3
    assert [len(r.json()["my_appointments"]["all"]) for r in responses] == [2, 0, 0]
    assert [len(r.json()["pending_department_appointments"]) for r in responses] == [2, 2, 1]


def test_another_doctor_replaying_a_cursor_sees_only_their_own_rows(doctor, department):
    _workload(department, doctor, upcoming=4, past=4)
    cursor = client_for(doctor).get(f"{URL}?limit=2").headers["X-Next-Cursor"]

    elsewhere = DepartmentFactory()
    stranger = make_doctor(department=elsewhere)
    theirs = bulk_appointments(patients=[make_patient(hospital=elsewhere.hospital)], department=elsewhere, count=3,
                               doctor=stranger, status="confirmed")
    body = client_for(stranger).get(f"{URL}?cursor={cursor}").json()
    ids = {i["id"] for i in body["my_appointments"]["all"]} | {i["id"] for i in body["pending_department_appointments"]}
    assert ids <= {str(a.id) for a in theirs}

    colleague = make_doctor(department=DepartmentFactory(hospital=department.hospital))
    body = client_for(colleague).get(f"{URL}?cursor={cursor}").json()
    assert body["my_appointments"]["all"] == [] and body["pending_department_appointments"] == []
    assert client_for(None).get(f"{URL}?cursor={cursor}").status_code == 401
    refused = client_for(make_patient(hospital=department.hospital)).get(f"{URL}?cursor={cursor}")
    assert refused.status_code == 403 and refused.json()["message"]


@pytest.mark.parametrize("cursor", [
    "not-a-cursor",
    pagination.encode_cursor([timezone.now(), uuid.uuid4()]),  # another list's (D2's) cursor
    pagination.encode_cursor([timezone.now(), "z", timezone.now(), uuid.uuid4(), "done", None, None]),
    pagination.encode_cursor([timezone.now().replace(tzinfo=None), "done", None, None, "done", None, None]),
    pagination.encode_cursor([timezone.now(), "a", "yesterday", uuid.uuid4(), "done", None, None]),
], ids=["garbage", "another-list", "unknown-part", "naive-day", "text-start"])
def test_a_bad_cursor_is_a_400_with_a_message(doctor, cursor):
    response = client_for(doctor).get(URL, {"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["message"]


def test_a_later_pages_queries_do_not_grow_with_the_history(hospital):
    """The number of queries of a page does not grow with the doctor's history."""
    from django.test.utils import CaptureQueriesContext

    counts = []
    for past in (6, 60):
        department = DepartmentFactory(hospital=hospital)
        doctor = make_doctor(department=department)
        _workload(department, doctor, upcoming=2, past=past)
        client = client_for(doctor)
        cursor = client.get(f"{URL}?limit=4").headers["X-Next-Cursor"]
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{URL}?limit=4&cursor={cursor}").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans")
def test_both_directions_are_read_in_index_order_from_the_cursor(doctor, department):
    scope = selectors.appointments_for_doctor(fetched_by=doctor)
    today = doctor_queue.start_of_today(slot_grid.hospital_zone(department.hospital))
    after = [today - timedelta(days=3), uuid.uuid4()]
    lists = {
        "doctor_id": scope.filter(doctor_id=doctor.pk),
        "department_id": scope.filter(department_id=department.pk, hospital_id=department.hospital_id,
                                      status="pending"),
    }
    for column, queryset in lists.items():
        for spec, part in ((doctor_queue.UPCOMING, queryset.filter(start__gte=today)),
                           (doctor_queue.EARLIER, queryset.filter(start__lt=today))):
            plan = explain(pagination.page_query(part, spec=spec, limit=spec.default, columns=rows.DOCTOR_COLUMNS,
                                                 after=after))
            conditions = index_conditions(plan)
            assert any(column in c and "start" in c for c in conditions), (column, spec, conditions)
