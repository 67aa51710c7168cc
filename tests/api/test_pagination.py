"""Paged lists: the first page is the body the frontend reads, the headers lead to the rest, and
following them returns every row exactly once, even when rows are added between pages."""

from __future__ import annotations

import base64
import json

import pytest

from phb.api.pagination import APPOINTMENTS, DOCTOR_APPOINTMENTS, decode_cursor, encode_cursor
from tests.appointments.helpers import bulk_appointments
from tests.factories import make_doctor, make_hospital_admin, make_patient
from tests.helpers import client_for
from tests.pages import LINK, walk

pytestmark = pytest.mark.django_db




def test_patient_list_pages_cover_every_appointment_once(department):
    patient = make_patient(hospital=department.hospital)
    bulk_appointments(patients=[patient], department=department, count=23, status="confirmed")
    client = client_for(patient)

    first = client.get("/api/appointments/")
    assert len(first.json()) == 23 and "Link" not in first.headers
    assert first.headers["X-Total-Count"] == "23" and first.headers["X-Page-Size"] == str(APPOINTMENTS.default)

    items, responses = walk(client, "/api/appointments/?limit=5")
    assert len(responses) == 5
    assert [i["id"] for i in items] == [i["id"] for i in first.json()]  # same order, nothing lost or repeated
    assert all(r.headers["X-Total-Count"] == "23" for r in responses)
    assert responses[0].headers["X-Next-Cursor"] in responses[0].headers["Link"]


def test_rows_added_between_pages_do_not_shift_the_rest(department):
    patient = make_patient(hospital=department.hospital)
    bulk_appointments(patients=[patient], department=department, count=10, status="confirmed")
    client = client_for(patient)
    first = client.get("/api/appointments/?limit=4")
    seen = [i["id"] for i in first.json()]
    # A newer appointment arrives (it sorts first, newest first): the next pages are unaffected.
    bulk_appointments(patients=[patient], department=department, count=1, status="confirmed", offset=40)
    rest, _ = walk(client, LINK.match(first.headers["Link"]).group("url").removeprefix("http://testserver"))
    assert len(seen) + len(rest) == 10 and not set(seen) & {i["id"] for i in rest}


def test_limit_is_clamped_and_bad_input_is_a_clear_400(department):
    patient = make_patient(hospital=department.hospital)
    bulk_appointments(patients=[patient], department=department, count=3, status="confirmed")
    client = client_for(patient)
    assert client.get("/api/appointments/?limit=100000").headers["X-Page-Size"] == str(APPOINTMENTS.maximum)
    assert client.get("/api/appointments/?limit=0").headers["X-Page-Size"] == "1"
    assert client.get("/api/appointments/?limit=-5").headers["X-Page-Size"] == "1"
    # Only ASCII digits: int() would read "٣" as 3 and "1_0" as 10, and take spaces and a plus sign.
    for query in ("limit=abc", "limit=", "limit=%D9%A3", "limit=1_0", "limit=%205%20", "limit=%2B5", "limit=5.0",
                  "cursor=not-a-cursor", "cursor=" + encode_cursor(["x"]), "cursor=%00"):
        response = client.get(f"/api/appointments/?{query}")
        assert response.status_code == 400, (query, response.status_code)
        assert response.json()["message"], query


@pytest.mark.parametrize("values", [
    ["x", "y"],  # text for a time and an id
    [{"u": "5b7c0d9e-2f0e-4c41-9d43-0f6a3d2b8f11"}, 7],  # a uuid for a time
    [{"dt": "2026-01-01T00:00:00+00:00"}, [1, 2]],  # a list for an id
    [{"n": "1.5"}, {"dt": "2026-01-01T00:00:00+00:00"}],  # another list's cursor: a number and a time
])
def test_a_cursor_whose_values_do_not_fit_the_columns_is_a_400(department, values):
    patient = make_patient(hospital=department.hospital)
    bulk_appointments(patients=[patient], department=department, count=3, status="confirmed")
    cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
    for url in ("/api/appointments/", "/api/payments/history/", "/api/prescriptions/", "/api/prescriptions/requests/"):
        response = client_for(patient).get(f"{url}?cursor={cursor}")
        assert response.status_code == 400, (url, values, response.status_code)
        assert response.json()["message"] == "cursor is not valid for this list.", url


def test_cursor_round_trip_keeps_types():
    import datetime as dt
    import uuid
    from decimal import Decimal

    values = [dt.datetime(2030, 1, 1, 9, 30, tzinfo=dt.UTC), dt.date(2030, 1, 2), dt.time(9, 30), uuid.uuid4(),
              Decimal("1.50"), 7, "s"]
    assert decode_cursor(encode_cursor(values), length=len(values)) == values


def test_doctor_and_admin_lists_page_too(department):
    doctor = make_doctor(department=department)
    admin = make_hospital_admin(hospital=department.hospital)
    patients = [make_patient(hospital=department.hospital) for _ in range(3)]
    bulk_appointments(patients=patients, department=department, count=12, doctor=doctor, status="confirmed")

    items, responses = walk(client_for(doctor), "/api/doctor-appointments/?limit=5")
    assert len(items) == len({i["id"] for i in items}) == 12 and len(responses) == 3
    starts = [i["appointment_date"] for i in items]
    assert starts == sorted(starts)

    items, responses = walk(client_for(admin), "/api/hospitals/appointments/?limit=5", key=lambda b: b["appointments"])
    assert len({i["id"] for i in items}) == 12
    assert all(r.json()["total_count"] == 12 for r in responses)

    queue = client_for(doctor).get("/api/department-pending-appointments/?limit=5").json()
    assert len(queue["my_appointments"]["all"]) == 5
    assert queue["summary"]["total_my_appointments"] == 12 and queue["summary"]["confirmed_count"] == 12


def test_other_patients_rows_never_appear_through_a_cursor(department):
    owner, stranger = make_patient(hospital=department.hospital), make_patient(hospital=department.hospital)
    bulk_appointments(patients=[owner], department=department, count=6, status="confirmed")
    first = client_for(owner).get("/api/appointments/?limit=2")
    cursor = first.headers["X-Next-Cursor"]
    assert client_for(stranger).get(f"/api/appointments/?cursor={cursor}").json() == []
    assert client_for(None).get(f"/api/appointments/?cursor={cursor}").status_code == 401


def _count_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]


@pytest.mark.parametrize("who, url", [("patient", "/api/appointments/?limit=5"),
                                      ("doctor", "/api/doctor-appointments/?limit=5")])
def test_the_total_is_counted_without_the_pages_joins(department, who, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    doctor = make_doctor(department=department)
    patient = make_patient(hospital=department.hospital)
    bulk_appointments(patients=[patient], department=department, count=8, doctor=doctor, status="confirmed")
    client = client_for(patient if who == "patient" else doctor)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.headers["X-Total-Count"] == "8" and len(response.json()) == 5
    counts = _count_queries(captured.captured_queries)
    assert len(counts) == 1, counts
    assert "JOIN" not in counts[0].upper(), counts[0]


def test_record_entries_are_counted_without_their_columns_joins(department):
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from phb.api.pagination import RECORD_ENTRIES, paginate
    from records import selectors
    from records.models import ClinicalEntry

    patient = make_patient(hospital=department.hospital)
    ClinicalEntry.objects.bulk_create([
        ClinicalEntry(patient=patient, kind="diagnosis", title=f"Entry {i}", occurred_on=dt.date(2025, 1, 1 + i),
                      hospital=department.hospital)
        for i in range(6)
    ])
    request = Request(APIRequestFactory().get("/api/patient/medical-record/", {"limit": 4}))
    with CaptureQueriesContext(connection) as captured:
        page = paginate(request, selectors.entries_of(patient=patient), spec=RECORD_ENTRIES,
                        columns=selectors.EntryRow.COLUMNS)
    assert page.total == 6 and len(page.items) == 4
    assert page.items[0]["hospital__name"] == department.hospital.name  # the page has its joined column
    counts = _count_queries(captured.captured_queries)
    assert len(counts) == 1 and "JOIN" not in counts[0].upper(), counts


def test_the_total_stops_at_the_cap(department, monkeypatch):
    """Up to the cap the header gives the number of rows; at the cap it is left out."""
    from phb.api import pagination

    patient = make_patient(hospital=department.hospital)
    bulk_appointments(patients=[patient], department=department, count=7, status="confirmed")
    client = client_for(patient)
    monkeypatch.setattr(pagination, "COUNT_CAP", 8)
    response = client.get("/api/appointments/?limit=3")
    assert response.status_code == 200 and response.headers["X-Total-Count"] == "7"
    monkeypatch.setattr(pagination, "COUNT_CAP", 7)
    response = client.get("/api/appointments/?limit=3")
    assert response.status_code == 200 and "X-Total-Count" not in response.headers
    assert len(response.json()) == 3 and response.headers["X-Next-Cursor"]



def test_an_empty_scope_with_a_cursor_counts_nothing():
    """A caller whose scope is empty by construction (a hospital admin with no hospital) following a
    cursor: an empty page with a total of 0, not an error."""
    from accounts.models import Role
    from tests.factories import UserFactory

    admin = UserFactory(role=Role.HOSPITAL_ADMIN)  # no staff record: administers no hospital
    cursor = encode_cursor(["2030-01-01T00:00:00+00:00", "00000000-0000-0000-0000-000000000000"])
    response = client_for(admin).get(f"/api/appointments/?cursor={cursor}")
    assert response.status_code == 200, response.content[:300]
    assert response.json() == [] and response.headers["X-Total-Count"] == "0"


@pytest.mark.parametrize("spec", [APPOINTMENTS, DOCTOR_APPOINTMENTS])
def test_pages_walk_through_ties_on_the_first_key_in_either_direction(department, spec):
    """Several rows share a start: each page resumes inside the group it stopped in, whichever way
    the list is ordered, and the pages together are the whole list in order."""
    from appointments.models import Appointment
    from phb.api.pagination import page_query

    patients = [make_patient(hospital=department.hospital) for _ in range(3)]
    made = bulk_appointments(patients=patients, department=department, count=12, status="confirmed")
    for n, appointment in enumerate(made):  # four groups of three patients' appointments at one start
        Appointment.objects.filter(pk=appointment.pk).update(start=made[(n // 3) * 3].start)
    listed = Appointment.objects.filter(department=department)
    everything = list(listed.order_by(*spec.ordering).values_list("start", "id"))
    assert len({start for start, _ in everything}) == 4
    walked, after = [], None
    while True:
        rows = [(r["start"], r["id"]) for r in page_query(listed, spec=spec, limit=2, columns=("start", "id"),
                                                          after=after)][:2]
        if not rows:
            break
        walked += rows
        after = list(rows[-1])
    assert walked == everything and len(everything) == 12


@pytest.mark.parametrize("spec", [APPOINTMENTS, DOCTOR_APPOINTMENTS])
def test_a_partitioned_list_pages_as_the_whole_one(department, spec):
    """A page read part by part and merged (``partition``) is the list's page: walking them gives
    every row once, in the list's order, with rows of several parts tied on the first key."""
    from django.db.models import Q

    from appointments.models import Appointment
    from phb.api.pagination import page_query

    patients = [make_patient(hospital=department.hospital) for _ in range(3)]
    made = bulk_appointments(patients=patients, department=department, count=12, status="confirmed")
    for n, appointment in enumerate(made):  # four groups of three patients' appointments at one start
        Appointment.objects.filter(pk=appointment.pk).update(start=made[(n // 3) * 3].start)
    listed = Appointment.objects.filter(department=department)
    partition = (Q(patient=patients[0]), ~Q(patient=patients[0]))
    everything = list(listed.order_by(*spec.ordering).values_list("start", "id"))
    walked, after = [], None
    while True:
        rows = [(r["start"], r["id"]) for r in page_query(listed, spec=spec, limit=2, columns=("start", "id"),
                                                          after=after, partition=partition)][:2]
        if not rows:
            break
        walked += rows
        after = list(rows[-1])
    assert walked == everything and len(everything) == 12


def test_the_doctors_lists_page_through_their_own_and_their_departments_appointments(department):
    """A doctor's lists hold the appointments assigned to them (in their department or another)
    and the rest of their department's, each once, in the list's order, page after page."""
    from django.db.models import Q

    from appointments.models import Appointment
    from tests.factories import DepartmentFactory

    doctor = make_doctor(department=department)
    elsewhere = DepartmentFactory(hospital=department.hospital)
    patients = [make_patient(hospital=department.hospital) for _ in range(3)]
    bulk_appointments(patients=patients, department=department, count=6, doctor=doctor, status="confirmed")
    bulk_appointments(patients=patients, department=department, count=6, offset=6)
    bulk_appointments(patients=patients, department=elsewhere, count=5, doctor=doctor, status="confirmed", offset=12)
    bulk_appointments(patients=patients, department=elsewhere, count=4, offset=17)
    expected = set(Appointment.objects.filter(Q(doctor=doctor) | Q(department=department)).values_list("id", flat=True))
    assert len(expected) == 17
    client = client_for(doctor)
    for url, newest_first in (("/api/doctor-appointments/?limit=4", False), ("/api/appointments/?limit=4", True)):
        items, responses = walk(client, url)
        assert len(items) == 17 and {i["id"] for i in items} == {str(pk) for pk in expected}, url
        assert len(responses) == 5 and all(r.headers["X-Total-Count"] == "17" for r in responses), url
        starts = [i["appointment_date"] for i in items]
        assert starts == sorted(starts, reverse=newest_first), url


UUID = "5b7c0d9e-2f0e-4c41-9d43-0f6a3d2b8f11"
AT = {"dt": "2026-01-01T09:00:00+00:00"}
# Each list's cursor with values of the right types, one for each key of its order.
GOOD_CURSORS = [
    ("patient", "/api/appointments/", [AT, {"u": UUID}]),
    ("patient", "/api/payments/history/", [AT, {"u": UUID}]),
    ("hospital_admin", "/api/staff/roster/sessions/", [1, 0, {"t": "09:00:00"}, 1]),
    ("doctor", "/api/department-pending-appointments/", [AT, "a", AT, {"u": UUID}, "done", None, None]),
    ("hospital_admin", "/api/hospitals/admin/users/", [1]),
    ("hospital_admin", "/api/admissions/", [AT, 1]),
]
# Values no list issues: numbers that are not numbers or not finite, and times that no
# time-zone conversion can hold.
BAD_VALUES = [
    {"n": "x"}, {"n": "Infinity"}, {"n": "-Infinity"}, {"n": "NaN"}, {"n": "sNaN"},
    float("inf"), float("-inf"), float("nan"),
    {"dt": "9999-12-31T23:59:59-05:00"}, {"dt": "0001-01-01T00:00:00+05:00"}, {"t": "24:00"}, {"u": "x"},
]
# Values at the edge of what a column holds: a page (perhaps empty) or the cursor's 400.
EDGE_VALUES = [
    {"n": "1e999999999"}, 1e300, -(10 ** 30), 10 ** 30, {"dt": "9999-12-31T23:59:59"}, {"dt": "0001-01-01T00:00:00"},
    {"dt": "9999-12-31T23:59:59+00:00"}, {"d": "0001-01-01"}, {"d": "9999-12-31"}, "9999-12-31T23:59:59+14:00",
]


def _raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime")
@pytest.mark.parametrize(("who", "url", "good"), GOOD_CURSORS, ids=[c[1] for c in GOOD_CURSORS])
def test_a_cursor_value_out_of_any_columns_range_is_the_cursors_400(department, who, url, good):
    """Each key of a list's cursor replaced by a value no list issues: the 400 of a cursor the
    list did not issue, never an error of the database or of a time-zone conversion (a value at
    the edge of a column's range may also read a page)."""
    user = {"patient": make_patient, "hospital_admin": make_hospital_admin}.get(who)
    user = user(hospital=department.hospital) if user else make_doctor(department=department)
    client = client_for(user)
    assert client.get(f"{url}?cursor={_raw_cursor(json.dumps(good))}").status_code == 200, url
    for position in range(len(good)):
        for bad in BAD_VALUES + EDGE_VALUES:
            values = [*good[:position], bad, *good[position + 1:]]
            response = client.get(f"{url}?cursor={_raw_cursor(json.dumps(values))}")
            if bad in EDGE_VALUES and response.status_code == 200:
                continue
            assert response.status_code == 400, (url, values, response.status_code, response.content[:200])
            assert response.json()["message"] == "cursor is not valid for this list.", (url, values)


@pytest.mark.parametrize("text", ['[{"n":"x"},1]', "[Infinity]", "[-Infinity]", "[NaN]", "[1e999]", "[1e300]",
                                  '[{"n":"Infinity"}]', '[{"n":"NaN"}]', "[99999999999999999999]",
                                  '[{"dt":"9999-12-31T23:59:59-05:00"},{"u":"' + UUID + '"}]'])
def test_a_cursor_with_a_value_no_column_can_take_is_refused_by_the_codec_or_the_list(department, text):
    """Whatever the list: a 400 with the cursor's message."""
    admin = make_hospital_admin(hospital=department.hospital)
    for url in ("/api/hospitals/admin/users/", "/api/appointments/"):
        response = client_for(admin).get(f"{url}?cursor={_raw_cursor(text)}")
        assert response.status_code == 400, (url, text, response.status_code)
        assert response.json()["message"] == "cursor is not valid for this list.", (url, text)
