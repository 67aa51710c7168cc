"""The hospital list and a hospital's admins read a page in the list's order from an index, so a
page costs the same whatever the number of hospitals, or of staff across hospitals: no sort of
every hospital, and no walk through every hospital's staff, before the page is cut."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import Role, User
from hospitals import selectors
from hospitals.models import Department, Hospital, StaffMember
from phb.api import pagination
from tests.factories import HospitalFactory, make_hospital_admin
from tests.plans import analyze, assert_read_in_index_order, page_plan

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]

HOSPITALS = 3000


@pytest.fixture
def hospitals():
    """A national directory: thousands of hospitals, one in ten no longer listed."""
    Hospital.objects.bulk_create(
        [Hospital(name=f"General Hospital {i:05d}", code=f"GH{i:05d}", is_active=i % 10 != 0) for i in range(HOSPITALS)]
    )
    analyze(Hospital)


@pytest.mark.parametrize("next_page", [False, True])
def test_the_hospital_list_is_read_in_index_order(hospitals, next_page):
    plan = page_plan(selectors.active_hospitals(), spec=pagination.HOSPITALS, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="name" if next_page else None)


def _staff(hospital, role: str, count: int) -> None:
    users = User.objects.bulk_create(
        [User(email=f"{role}{i}@{hospital.code.lower()}.test", full_name=f"Staff {i}", role=role) for i in range(count)]
    )
    StaffMember.objects.bulk_create([StaffMember(user=user, hospital=hospital) for user in users])


@pytest.fixture
def admins(hospital):
    """More admins than a page at the hospital, among the staff of many other hospitals. With only a
    few hospitals, a plan made for any hospital (a prepared statement's generic plan) may as well
    walk every hospital's staff in order and keep the hospital's: each hospital holds a large share."""
    _staff(hospital, Role.HOSPITAL_ADMIN, pagination.HOSPITAL_ADMINS.default + 50)
    for _ in range(40):
        elsewhere = HospitalFactory()
        _staff(elsewhere, Role.DOCTOR, 60)
        _staff(elsewhere, Role.HOSPITAL_ADMIN, 3)
    analyze(User, StaffMember)
    return make_hospital_admin(hospital=hospital)


@pytest.mark.parametrize("next_page", [False, True])
def test_the_hospitals_admins_are_read_in_index_order(admins, next_page):
    queryset = selectors.admins_of_hospital(fetched_by=admins)
    plan = page_plan(queryset, spec=pagination.HOSPITAL_ADMINS, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="id" if next_page else None, scoped_by="hospital_id")


@pytest.fixture
def departments(hospital):
    """More departments than a page at the hospital, among many other hospitals' departments."""
    Department.objects.bulk_create([Department(hospital=hospital, name=f"Clinic {i:04d}")
                                    for i in range(pagination.DEPARTMENTS.default + 20)])
    for _ in range(60):
        elsewhere = HospitalFactory()
        Department.objects.bulk_create([Department(hospital=elsewhere, name=f"Clinic {i:04d}") for i in range(30)])
    analyze(Hospital, Department)
    return hospital


@pytest.mark.parametrize("next_page", [False, True])
def test_a_hospitals_departments_are_read_in_index_order(departments, next_page):
    queryset = selectors.departments_of_hospital(hospital_id=departments.pk)
    plan = page_plan(queryset, spec=pagination.DEPARTMENTS, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="name" if next_page else None, scoped_by="hospital_id")
