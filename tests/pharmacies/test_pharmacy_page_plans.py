"""The pharmacy directory by name and a patient's nomination history read a page in the list's
order from an index: no sort of the whole directory, or of every nomination, before the page is cut."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from pharmacies import selectors
from pharmacies.models import Nomination, Pharmacy
from phb.api import pagination
from tests.factories import make_patient
from tests.pharmacies.factories import PharmacyFactory
from tests.plans import analyze, assert_read_in_index_order, page_plan

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]

PHARMACIES = 3000


@pytest.fixture
def directory():
    """A national directory: thousands of pharmacies, one in ten closed down."""
    Pharmacy.objects.bulk_create(
        [Pharmacy(code=f"PL{i:05d}", name=f"Pharmacy {i:05d}", address_line_1="1 Road", city=f"City {i % 40}",
                  is_active=i % 10 != 0, latitude=6 + (i % 100) / 50, longitude=3 + (i // 100) / 50)
         for i in range(PHARMACIES)], batch_size=1000)
    analyze(Pharmacy)


@pytest.mark.parametrize("next_page", [False, True])
def test_the_directory_by_name_is_read_in_index_order(directory, next_page):
    plan = page_plan(selectors.pharmacy_search(), spec=pagination.PHARMACIES, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="name" if next_page else None)


@pytest.fixture
def nominations(patient):
    """A patient who changed pharmacy many times, beside many other patients' nominations."""
    pharmacy = PharmacyFactory()
    others = [make_patient() for _ in range(30)]
    now = timezone.now()
    Nomination.objects.bulk_create(
        [Nomination(patient=patient, pharmacy=pharmacy, is_current=False, nominated_at=now - timedelta(hours=i))
         for i in range(PHARMACIES)]
        + [Nomination(patient=others[i % 30], pharmacy=pharmacy, is_current=False,
                      nominated_at=now - timedelta(hours=i, minutes=30)) for i in range(PHARMACIES)],
        batch_size=1000)
    analyze(Nomination)


@pytest.mark.parametrize("next_page", [False, True])
def test_the_nomination_history_is_read_in_index_order(nominations, patient, next_page):
    plan = page_plan(selectors.nominations_of(fetched_by=patient), spec=pagination.NOMINATIONS, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="nominated_at" if next_page else None, scoped_by="patient_id")
