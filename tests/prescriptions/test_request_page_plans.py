"""The prescription request lists read a page in the list's order from an index, so a page costs
the same whatever the hospital's (or the patient's) history holds: no sort of every request of the
hospital before the page is cut, on the first page or a later one, of every status or of one."""

from __future__ import annotations

import pytest
from django.db import connection

from phb.api import pagination
from prescriptions import selectors
from prescriptions.models import PrescriptionRequest, RequestStatus
from tests.factories import HospitalFactory, make_patient
from tests.plans import analyze, assert_read_in_index_order, page_plan, spread
from tests.prescriptions.conftest import REPEAT

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]

HISTORY = 3000
STATUSES = [RequestStatus.APPROVED, RequestStatus.REJECTED, RequestStatus.DISPENSED, RequestStatus.REQUESTED]


@pytest.fixture
def history(hospital, patient):
    """Years of requests at the hospital (the patient's and many others'), beside other hospitals'."""
    others = [make_patient(hospital=hospital) for _ in range(20)]
    elsewhere = [HospitalFactory() for _ in range(10)]
    outsider = make_patient(hospital=elsewhere[0])
    rows = [PrescriptionRequest(patient=patient if i % 5 == 0 else others[i % 20], hospital=hospital,
                                request_type="repeat", medications=[REPEAT], status=STATUSES[i % 4])
            for i in range(HISTORY)]
    rows += [PrescriptionRequest(patient=outsider, hospital=elsewhere[i % 10], request_type="repeat",
                                 medications=[REPEAT], status=STATUSES[i % 4]) for i in range(HISTORY)]
    PrescriptionRequest.objects.bulk_create(rows, batch_size=1000)
    spread(PrescriptionRequest, "created_at")
    analyze(PrescriptionRequest)


@pytest.mark.parametrize("status", ["", RequestStatus.APPROVED])
@pytest.mark.parametrize("next_page", [False, True])
def test_the_prescribers_list_is_read_in_index_order(history, doctor, status, next_page):
    queryset = selectors.requests_for_prescriber(fetched_by=doctor, status=status)
    plan = page_plan(queryset, spec=pagination.PRESCRIPTION_REQUESTS, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="created_at" if next_page else None, scoped_by="hospital_id")


@pytest.mark.parametrize("next_page", [False, True])
def test_the_patients_requests_are_read_in_index_order(history, patient, next_page):
    queryset = selectors.requests_of_patient(fetched_by=patient)
    plan = page_plan(queryset, spec=pagination.PRESCRIPTION_REQUESTS, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="created_at" if next_page else None, scoped_by="patient_id")
