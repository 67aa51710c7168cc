"""A patient's registrations under concurrent requests (PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection

from hospitals.models import HospitalRegistration
from tests.concurrency import race
from tests.factories import HospitalFactory, UserFactory
from tests.helpers import client_for


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no concurrent writers")
def test_registering_as_primary_with_two_hospitals_at_once_keeps_one_primary():
    hospitals = [HospitalFactory(auto_approve_registrations=True) for _ in range(4)]
    patient = UserFactory()

    def attempt(hospital):
        response = client_for(patient).post("/api/hospitals/register/", {"hospital": hospital.id, "is_primary": True},
                                            format="json")
        return response.status_code

    outcomes = race(attempt, hospitals)
    assert outcomes == [201] * len(hospitals), outcomes
    assert HospitalRegistration.objects.filter(user=patient).count() == len(hospitals)
    assert HospitalRegistration.objects.filter(user=patient, is_primary=True).count() == 1
