"""A page of the payment history is read in the list's order from an index, so its cost does not
grow with the number of payments: no sort of every payment of the patient before the page is cut."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from payments import selectors
from payments.models import Payment
from phb.api import pagination
from tests.plans import analyze, assert_read_in_index_order, page_plan, spread

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]

SPEC = pagination.RECENT_FIRST  # the spec PaymentHistoryView pages with
HISTORY = 3000


@pytest.fixture
def payments(patient, other_patient):
    """A long history of the patient's payments beside another patient's."""
    Payment.objects.bulk_create(
        [Payment(patient=someone, amount=Decimal("5000.00"), amount_minor=500000)
         for someone in (patient, other_patient) for _ in range(HISTORY)]
    )
    spread(Payment, "created_at")
    analyze(Payment)


@pytest.mark.parametrize("next_page", [False, True])
def test_the_page_is_read_in_index_order(payments, patient, next_page):
    plan = page_plan(selectors.payment_list(fetched_by=patient), spec=SPEC, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="created_at" if next_page else None, scoped_by="patient_id")
