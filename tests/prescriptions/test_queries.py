"""Lists answer in a number of queries that does not grow with their length."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from records.models import MedicalProfile
from tests.factories import make_patient
from tests.helpers import client_for
from tests.prescriptions.conftest import approve, make_request

pytestmark = pytest.mark.django_db


def _queries(user, url, params=None) -> int:
    client = client_for(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.json()
    return len(ctx.captured_queries)


def test_lists_do_not_grow_with_their_length(hospital, doctor, pharmacist, pharmacy,
                                             django_capture_on_commit_callbacks):
    from pharmacies.models import Nomination

    def add(count: int):
        for _ in range(count):
            patient = make_patient(hospital=hospital)
            MedicalProfile.objects.create(patient=patient, allergies=["Penicillin"])
            Nomination.objects.create(patient=patient, pharmacy=pharmacy)
            make_request(patient)
        return patient

    add(2)
    few = {url: _queries(user, url) for user, url in ((doctor, "/api/provider/prescriptions/"),
                                                      (pharmacist, "/api/provider/prescriptions/triage/"))}
    last = add(10)
    for user, url in ((doctor, "/api/provider/prescriptions/"), (pharmacist, "/api/provider/prescriptions/triage/")):
        assert _queries(user, url) == few[url], url
    body = client_for(pharmacist).get("/api/provider/prescriptions/triage/").json()
    assert body["requests"][0]["allergies"] == "Penicillin"

    approve(doctor, make_request(last), django_capture_on_commit_callbacks)
    one = {url: _queries(last, url) for url in ("/api/prescriptions/", "/api/prescriptions/requests/")}
    for _ in range(4):
        approve(doctor, make_request(last), django_capture_on_commit_callbacks)
    for url, count in one.items():
        assert _queries(last, url) == count, url
