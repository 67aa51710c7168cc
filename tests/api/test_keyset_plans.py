"""A later page of a list starts its index scan at the cursor: the first key of the list's order
is one of the scan's conditions, so page N reads its own rows, not the N - 1 pages before it."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.utils import timezone

from appointments import rows
from appointments import selectors as appointment_selectors
from phb.api import pagination
from records import selectors as record_selectors
from tests.plans import explain, index_conditions

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]


def test_a_later_page_of_appointments_starts_at_the_cursor(patient):
    queryset = appointment_selectors.appointments_of_patient(fetched_by=patient)
    spec, after = pagination.APPOINTMENTS, [timezone.now(), uuid.uuid4()]
    plan = explain(pagination.page_query(queryset, spec=spec, limit=spec.default, columns=rows.PATIENT_COLUMNS,
                                         after=after))
    conditions = index_conditions(plan)
    assert any("patient_id" in c and "start" in c for c in conditions), conditions


def test_a_later_page_of_the_medical_record_starts_at_the_cursor(patient):
    queryset = record_selectors.entries_of(patient=patient)
    after = [timezone.localdate(), timezone.now(), uuid.uuid4()]
    spec = pagination.RECORD_ENTRIES
    plan = explain(pagination.page_query(queryset, spec=spec, limit=spec.default,
                                         columns=record_selectors.EntryRow.COLUMNS, after=after))
    conditions = index_conditions(plan)
    assert any("patient_id" in c and "occurred_on" in c for c in conditions), conditions
