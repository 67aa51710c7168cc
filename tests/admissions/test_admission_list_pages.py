"""``GET /api/admissions/`` is paged: the first page is the bare array the admissions page reads
(500 by default), ``Link``/``X-Next-Cursor`` lead to the rest, newest first, every admission once,
``X-Total-Count`` is the whole list's size, and each page audits the admissions it shows."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from admissions import selectors
from admissions.models import Admission, AdmissionStatus
from records.models import AuditEvent
from tests.factories import DepartmentFactory, HospitalFactory, make_hospital_admin, make_patient
from tests.helpers import client_for
from tests.pages import LINK, walk

pytestmark = pytest.mark.django_db

URL = "/api/admissions/"
_NUMBERS = itertools.count()



def _admission(department, *, status=AdmissionStatus.PENDING, patient=None, created_at=None, closed_at=None):
    times = {}
    if status in (AdmissionStatus.ADMITTED, AdmissionStatus.DISCHARGED, AdmissionStatus.TRANSFERRED):
        times["admitted_at"] = (created_at or timezone.now()) - timedelta(minutes=1)
    if status in (AdmissionStatus.DISCHARGED, AdmissionStatus.TRANSFERRED):
        times["discharged_at"] = closed_at or timezone.now()
    if status == AdmissionStatus.CANCELLED:
        times["cancelled_at"] = closed_at or timezone.now()
    return Admission(hospital=department.hospital, department=department, patient=patient, status=status,
                     temp_patient_details={} if patient else {"first_name": "Door", "last_name": str(next(_NUMBERS))},
                     reason_for_admission="Observation", created_at=created_at or timezone.now(),
                     admission_id=f"ADM-PAGES-{next(_NUMBERS)}", **times)


@pytest.fixture
def ward_list(department):
    """Seven admissions shown to the hospital's staff (three created at the same instant, so the
    order falls back to the id), and what they never see: another hospital's, and closed ones of
    last year."""
    now = timezone.now().replace(microsecond=0)
    same = now - timedelta(hours=5)
    rows = [_admission(department, created_at=now - timedelta(hours=h)) for h in (1, 2, 3)]
    rows += [_admission(department, status=AdmissionStatus.ADMITTED, created_at=same) for _ in range(3)]
    rows.append(_admission(department, status=AdmissionStatus.DISCHARGED, created_at=now - timedelta(days=2)))
    rows += [_admission(department, status=AdmissionStatus.DISCHARGED, created_at=now - timedelta(days=400),
                        closed_at=now - timedelta(days=390)) for _ in range(2)]
    rows.append(_admission(DepartmentFactory(hospital=HospitalFactory())))
    Admission.objects.bulk_create(rows)
    return department


def _newest_first(**filters) -> list[str]:
    return list(Admission.objects.filter(**filters).order_by("-created_at", "-id").values_list("admission_id", flat=True))


def test_pages_cover_every_admission_once_newest_first(ward_list, hospital_admin):
    client = client_for(hospital_admin)
    first = client.get(URL)
    assert first.status_code == 200 and isinstance(first.json(), list) and "Link" not in first.headers
    assert first.headers["X-Total-Count"] == "7"
    assert first.headers["X-Page-Size"] == str(selectors.STAFF_PAGE.default) == "500"
    shown = [a["admission_id"] for a in first.json()]
    assert shown == _newest_first(hospital=ward_list.hospital, created_at__gte=timezone.now() - timedelta(days=3))
    assert len(shown) == 7

    items, responses = walk(client, f"{URL}?limit=3")
    assert [len(r.json()) for r in responses] == [3, 3, 1]
    assert [a["admission_id"] for a in items] == shown
    assert all(r.headers["X-Total-Count"] == "7" for r in responses)
    assert "Link" not in responses[-1].headers and "X-Next-Cursor" not in responses[-1].headers
    assert [set(a) for a in items] == [set(a) for a in first.json()]  # the same shape on every page


def test_each_page_audits_the_admissions_it_shows(ward_list, hospital_admin):
    client = client_for(hospital_admin)
    first = client.get(f"{URL}?limit=3")
    listed = AuditEvent.objects.filter(object_type="admission", action="list")
    assert sorted(listed.values_list("object_id", flat=True)) == sorted(a["admission_id"] for a in first.json())
    items, _ = walk(client, LINK.match(first.headers["Link"]).group("url").removeprefix("http://testserver"))
    assert listed.count() == 7
    assert sorted(listed.values_list("object_id", flat=True)) == sorted(
        [a["admission_id"] for a in first.json()] + [a["admission_id"] for a in items])


def test_filters_page_too(ward_list, hospital_admin):
    client = client_for(hospital_admin)
    items, responses = walk(client, f"{URL}?status=admitted&limit=2")
    assert [a["status"] for a in items] == ["admitted"] * 3 and len({a["admission_id"] for a in items}) == 3
    assert all(r.headers["X-Total-Count"] == "3" for r in responses) and len(responses) == 2
    since = (timezone.localdate() - timedelta(days=500)).isoformat()
    items, responses = walk(client, f"{URL}?since={since}&limit=4")
    assert len(items) == 9 and responses[0].headers["X-Total-Count"] == "9"
    assert [a["admission_id"] for a in items] == _newest_first(hospital=ward_list.hospital)


def test_a_patients_own_admissions_page(department):
    patient = make_patient(hospital=department.hospital)
    now = timezone.now()
    Admission.objects.bulk_create(
        [_admission(department, patient=patient, status=AdmissionStatus.DISCHARGED, created_at=now - timedelta(days=d),
                    closed_at=now - timedelta(days=d) + timedelta(hours=3)) for d in range(1, 7)]
        + [_admission(department, patient=patient, status=AdmissionStatus.ADMITTED, created_at=now)])
    client = client_for(patient)
    first = client.get(URL)
    assert len(first.json()) == 7 and first.headers["X-Total-Count"] == "7" and "Link" not in first.headers
    assert "additional_notes" not in first.json()[0]  # the patient shape
    items, responses = walk(client, f"{URL}?limit=3")
    assert len(responses) == 3 and [a["admission_id"] for a in items] == _newest_first(patient=patient)
    assert all(r.headers["X-Total-Count"] == "7" for r in responses)


def test_a_cursor_never_shows_another_callers_admissions(ward_list, hospital_admin, patient, other_patient):
    first = client_for(hospital_admin).get(f"{URL}?limit=2")
    cursor = first.headers["X-Next-Cursor"]
    outsider = make_hospital_admin(hospital=HospitalFactory())
    replayed = client_for(outsider).get(f"{URL}?cursor={cursor}")
    assert replayed.status_code == 200 and replayed.json() == []
    assert client_for(patient).get(f"{URL}?cursor={cursor}").json() == []
    assert client_for(None).get(f"{URL}?cursor={cursor}").status_code == 401
    nowhere = make_patient()
    nowhere.role = Role.DOCTOR  # a doctor of no hospital: a 404, with a cursor as without
    nowhere.save(update_fields=["role"])
    assert client_for(nowhere).get(URL).status_code == 404
    assert client_for(nowhere).get(f"{URL}?cursor={cursor}").status_code == 404

    department = ward_list
    Admission.objects.bulk_create([_admission(department, patient=patient, status=AdmissionStatus.DISCHARGED,
                                              created_at=timezone.now() - timedelta(days=d)) for d in (1, 2, 3)])
    mine = client_for(patient).get(f"{URL}?limit=1")
    assert client_for(other_patient).get(f"{URL}?cursor={mine.headers['X-Next-Cursor']}").json() == []
    staff_view = client_for(outsider).get(f"{URL}?cursor={mine.headers['X-Next-Cursor']}")
    assert staff_view.status_code == 200 and staff_view.json() == []


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=1001", "limit=-3", "status=nonsense",
                                   "since=yesterday", "since=0001-01-01", "since=9999-12-31", "cursor=not-a-cursor",
                                   "cursor=%00", "cursor=WyJ4Il0"])
def test_bad_input_is_a_400_with_a_message(ward_list, hospital_admin, query):
    response = client_for(hospital_admin).get(f"{URL}?{query}")
    assert response.status_code == 400, (query, response.status_code)
    assert response.json()["message"], query


def test_since_names_the_years_it_takes(ward_list, hospital_admin, doctor):
    for user in (hospital_admin, doctor):
        response = client_for(user).get(f"{URL}?since=0001-01-01")
        assert response.status_code == 400, response.content[:300]
        assert response.json()["message"] == "since: Enter a date between 1900 and 2200."
        assert client_for(user).get(f"{URL}?since=1900-01-01").status_code == 200


def test_limit_keeps_its_range_and_messages(ward_list, hospital_admin):
    client = client_for(hospital_admin)
    for query, message in (("limit=0", "limit: Ensure this value is greater than or equal to 1."),
                           ("limit=1001", "limit: Ensure this value is less than or equal to 1000."),
                           ("limit=", "limit: A valid integer is required.")):
        assert client.get(f"{URL}?{query}").json()["message"] == message
    biggest = client.get(f"{URL}?limit=1000")
    assert biggest.status_code == 200 and biggest.headers["X-Page-Size"] == "1000" and len(biggest.json()) == 7
