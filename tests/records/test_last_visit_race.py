"""Doctors adding encounters for one patient at the same moment: the profile's last visit is the
latest of their dates, whatever order the writes commit in (PostgreSQL; SQLite serializes writers
and proves nothing)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection

from records.models import ClinicalEntry, MedicalProfile
from tests.concurrency import race
from tests.factories import make_doctor
from tests.helpers import client_for
from tests.records.conftest import make_appointment


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no concurrent writers")
def test_parallel_encounters_leave_the_latest_date_as_the_last_visit(patient, department):
    first = date(2025, 1, 1)
    make_appointment(patient=patient, department=department)  # every doctor of the department relates
    racers = [(client_for(make_doctor(department=department)), first + timedelta(days=day)) for day in range(12)]
    url = f"/api/professional/patients/{patient.pk}/medical-records/"

    def attempt(racer):
        client, when = racer
        return client.post(url, {"kind": "encounter", "title": "Review", "date": when.isoformat()},
                           format="json").status_code

    assert race(attempt, racers) == [201] * len(racers)
    assert ClinicalEntry.objects.filter(patient=patient).count() == len(racers)
    assert MedicalProfile.objects.get(patient=patient).last_visit_date == first + timedelta(days=11)
