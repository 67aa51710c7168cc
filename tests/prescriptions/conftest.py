"""Fixtures of the prescription workflow: a pharmacy with its pharmacist, a second pharmacy, a
patient nominating the first, and helpers that walk a request through approval."""

from __future__ import annotations

import pytest

from pharmacies.models import Nomination
from prescriptions.models import PrescriptionRequest
from tests.factories import DepartmentFactory, HospitalFactory, make_doctor
from tests.helpers import client_for
from tests.pharmacies.factories import PharmacyFactory, make_pharmacist

REPEAT = {"medication_name": "Metformin", "strength": "500mg", "form": "tablet", "quantity": 56,
          "dosage": "1 tablet twice daily", "is_repeat": True}


@pytest.fixture
def pharmacy(db):
    return PharmacyFactory()


@pytest.fixture
def other_pharmacy(db):
    return PharmacyFactory()


@pytest.fixture
def pharmacist(pharmacy):
    return make_pharmacist(pharmacy=pharmacy)


@pytest.fixture
def other_pharmacist(other_pharmacy):
    return make_pharmacist(pharmacy=other_pharmacy)


@pytest.fixture
def second_doctor(department):
    return make_doctor(department=department)


@pytest.fixture
def foreign_doctor(db):
    return make_doctor(department=DepartmentFactory(hospital=HospitalFactory()))


@pytest.fixture
def nominated(patient, pharmacy):
    return Nomination.objects.create(patient=patient, pharmacy=pharmacy)


def make_request(patient, medications=None, **extra) -> PrescriptionRequest:
    body = {"medications": medications or [REPEAT], "request_type": "repeat", "urgency": "routine", **extra}
    response = client_for(patient).post("/api/prescriptions/requests/", body, format="json")
    assert response.status_code == 201, response.json()
    return PrescriptionRequest.objects.get(pk=response.json()["id"])


def approve(doctor, rx, capture, body=None):
    with capture(execute=True):
        response = client_for(doctor).post(f"/api/provider/prescriptions/{rx.pk}/approve",
                                           body or {"clinical_notes": "ok"}, format="json")
    assert response.status_code == 200, response.json()
    rx.refresh_from_db()
    return response.json()


@pytest.fixture
def issued(patient, doctor, nominated, django_capture_on_commit_callbacks):
    """A repeat request, approved: its prescription signed and routed to the nominated pharmacy."""
    rx = make_request(patient)
    approve(doctor, rx, django_capture_on_commit_callbacks)
    return rx


def signed_of(patient) -> dict:
    meds = client_for(patient).get("/api/prescriptions/").json()["medications"]
    data = [m["signed_prescription_data"] for m in meds if m["signed_prescription_data"]]
    assert data, meds
    return data[0]
