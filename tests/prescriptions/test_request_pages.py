"""The prescription request lists page: a prescriber's (the hospital's requests) and a patient's.
The first page keeps the body the frontend reads, `total_count` counts the whole list, and
following `Link` returns every request once, newest first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from phb.api.pagination import PRESCRIPTION_REQUESTS, encode_cursor
from prescriptions.models import PrescriptionRequest
from records.models import AuditEvent
from tests.factories import make_patient
from tests.helpers import client_for
from tests.pages import LINK, walk
from tests.prescriptions.conftest import REPEAT

pytestmark = pytest.mark.django_db

PROVIDER = "/api/provider/prescriptions/"
PATIENT = "/api/prescriptions/requests/"
PROVIDER_KEYS = {"status", "requests", "total_count", "pending_count", "urgent_count"}
PATIENT_KEYS = {"status", "requests", "total_count"}


def _requests(patient, hospital, count: int, **fields) -> list[PrescriptionRequest]:
    """``count`` requests, newest first in the returned order; two of them share a time (ties by id)."""
    now = timezone.now()
    made = []
    for i in range(count):
        at = now - timedelta(hours=i if i != 1 else 0)
        made.append(PrescriptionRequest.objects.create(patient=patient, hospital=hospital, request_type="repeat",
                                                       medications=[REPEAT], created_at=at, **fields))
    return sorted(made, key=lambda r: (r.created_at, r.pk), reverse=True)


def _ids(items) -> list[str]:
    return [i["id"] for i in items]


def test_the_prescriber_list_pages_through_every_request_once(hospital, doctor):
    patients = [make_patient(hospital=hospital) for _ in range(2)]
    made = _requests(patients[0], hospital, 4) + _requests(patients[1], hospital, 3, urgency="urgent")
    made.sort(key=lambda r: (r.created_at, r.pk), reverse=True)
    client = client_for(doctor)

    items, responses = walk(client, PROVIDER + "?limit=3", key=lambda body: body["requests"])
    assert _ids(items) == [str(r.pk) for r in made]
    assert len(responses) == 3 and "Link" not in responses[-1].headers
    for response in responses:
        body = response.json()
        assert set(body) == PROVIDER_KEYS
        assert (body["total_count"], body["pending_count"], body["urgent_count"]) == (7, 7, 3)
        assert response.headers["X-Total-Count"] == "7"
    assert [len(r.json()["requests"]) for r in responses] == [3, 3, 1]

    whole = client.get(PROVIDER)
    assert "Link" not in whole.headers and whole.headers["X-Page-Size"] == str(PRESCRIPTION_REQUESTS.default)
    assert _ids(whole.json()["requests"]) == [str(r.pk) for r in made]
    assert AuditEvent.objects.filter(action="prescription_requests_listed", actor_id=doctor.pk).count() == 4


def test_the_prescriber_list_of_one_status_counts_that_status(hospital, doctor):
    patient = make_patient(hospital=hospital)
    requested = _requests(patient, hospital, 5)
    _requests(patient, hospital, 2, status="APPROVED")
    client = client_for(doctor)
    items, responses = walk(client, PROVIDER + "?status=REQUESTED&limit=2", key=lambda body: body["requests"])
    assert _ids(items) == [str(r.pk) for r in requested] and len(responses) == 3
    assert all(r.json()["total_count"] == 5 and r.json()["pending_count"] == 5 for r in responses)
    first = responses[0].json()
    assert len(first["requests"]) == 2 and first["total_count"] == 5  # the whole list's, not the page's
    assert "status=REQUESTED" in responses[0].headers["Link"]


def test_the_patient_list_pages_through_every_request_once(hospital, patient):
    made = _requests(patient, hospital, 7)
    client = client_for(patient)
    items, responses = walk(client, PATIENT + "?limit=3", key=lambda body: body["requests"])
    assert _ids(items) == [str(r.pk) for r in made]
    assert len(responses) == 3 and "Link" not in responses[-1].headers
    assert all(set(r.json()) == PATIENT_KEYS and r.json()["total_count"] == 7 for r in responses)
    assert AuditEvent.objects.filter(action="prescription_requests_listed", actor_id=patient.pk).count() == 3


def test_another_caller_never_gets_the_rows_through_a_cursor(hospital, patient, doctor, foreign_doctor, other_patient):
    _requests(patient, hospital, 6)
    for owner, stranger, url in ((doctor, foreign_doctor, PROVIDER), (patient, other_patient, PATIENT)):
        first = client_for(owner).get(url + "?limit=2")
        cursor = first.headers["X-Next-Cursor"]
        assert LINK.match(first.headers["Link"])
        replay = client_for(stranger).get(f"{url}?cursor={cursor}")
        assert replay.status_code == 200
        assert replay.json()["requests"] == [] and replay.json()["total_count"] == 0
        assert client_for(None).get(f"{url}?cursor={cursor}").status_code == 401
    refused = client_for(patient).get(PROVIDER + "?cursor=" + client_for(doctor).get(
        PROVIDER + "?limit=2").headers["X-Next-Cursor"])
    assert refused.status_code == 403


@pytest.mark.parametrize("url", [PROVIDER, PATIENT])
def test_a_bad_cursor_is_a_400(hospital, patient, doctor, url):
    user = doctor if url == PROVIDER else patient
    for query in ("cursor=not-a-cursor", "cursor=eyJ4Ijox", "limit=abc", "cursor=" + encode_cursor(["x", "y"]),
                  "cursor=" + encode_cursor([1.5, 2]), "cursor=" + encode_cursor(["x"])):
        response = client_for(user).get(f"{url}?{query}")
        assert response.status_code == 400, (query, response.status_code)
        assert response.json()["message"]
