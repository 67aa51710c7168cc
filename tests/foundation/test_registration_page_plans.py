"""A hospital admin's registrations (whole, and of one status) are read a page at a time from an
index that starts with the hospital, in the list's order: a page costs the same whatever the number
of registrations the hospital, or every hospital, has had."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import Role, User
from hospitals import selectors
from hospitals.models import HospitalRegistration, RegistrationStatus
from phb.api import pagination
from tests.factories import HospitalFactory, make_hospital_admin
from tests.plans import analyze, assert_read_in_index_order, page_plan, spread

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]

STATUSES = (RegistrationStatus.PENDING, RegistrationStatus.APPROVED, RegistrationStatus.APPROVED,
            RegistrationStatus.REJECTED)


@pytest.fixture
def admin(hospital):
    """Two pages of registrations of each status at the hospital, among thousands at forty others."""
    per_page = pagination.HOSPITAL_REGISTRATIONS.default
    patients = User.objects.bulk_create(
        [User(email=f"patient{i}@example.test", full_name=f"Patient {i}", role=Role.PATIENT) for i in range(per_page * 8)]
    )
    rows = [HospitalRegistration(user=p, hospital=hospital, status=STATUSES[i % len(STATUSES)])
            for i, p in enumerate(patients)]
    for n in range(40):
        elsewhere = HospitalFactory()
        rows += [HospitalRegistration(user=p, hospital=elsewhere, status=STATUSES[(i + n) % len(STATUSES)])
                 for i, p in enumerate(patients[n * 60:(n + 1) * 60 + 40])]
    HospitalRegistration.objects.bulk_create(rows)
    spread(HospitalRegistration, "created_at")
    analyze(User, HospitalRegistration)
    return make_hospital_admin(hospital=hospital)


@pytest.mark.parametrize("status", ["", RegistrationStatus.PENDING, RegistrationStatus.APPROVED])
@pytest.mark.parametrize("next_page", [False, True])
def test_an_admins_registrations_are_read_in_index_order(admin, status, next_page):
    queryset = selectors.registrations_for_admin(fetched_by=admin, status=status)
    plan = page_plan(queryset, spec=pagination.HOSPITAL_REGISTRATIONS, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="created_at" if next_page else None, scoped_by="hospital_id")
