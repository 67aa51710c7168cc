"""``phb.related.related_once``: a caller's staff place is read once per user instance."""

from __future__ import annotations

import pytest

from accounts.models import Role, User
from hospitals.models import StaffMember
from hospitals.selectors import staff_of
from pharmacies.selectors import pharmacist_of, pharmacy_of
from tests.factories import DepartmentFactory, HospitalFactory, make_doctor

pytestmark = pytest.mark.django_db


def test_one_query_per_user_instance(django_assert_num_queries):
    doctor = make_doctor(department=DepartmentFactory(hospital=HospitalFactory()))
    request_user = User.objects.get(pk=doctor.pk)
    with django_assert_num_queries(1):
        first = staff_of(user=request_user)
        assert staff_of(user=request_user) is first
        assert first.hospital.name and first.department.name  # read with it
    next_request_user = User.objects.get(pk=doctor.pk)
    with django_assert_num_queries(1):
        assert staff_of(user=next_request_user).pk == first.pk


def test_none_is_kept_until_a_place_is_saved_for_that_instance(django_assert_num_queries):
    user = User.objects.create_user(email="new-admin@example.test", password="x" * 12, full_name="New Admin",
                                    role=Role.HOSPITAL_ADMIN)
    assert staff_of(user=user) is None
    with django_assert_num_queries(0):
        assert staff_of(user=user) is None
    created = StaffMember.objects.create(user=user, hospital=HospitalFactory())
    with django_assert_num_queries(0):
        assert staff_of(user=user) is created


def test_a_change_through_another_instance_is_seen_by_the_next_request_user():
    doctor = make_doctor(department=DepartmentFactory(hospital=HospitalFactory()))
    request_user = User.objects.get(pk=doctor.pk)
    before = staff_of(user=request_user).department_id
    moved_to = DepartmentFactory(hospital=staff_of(user=request_user).hospital)
    StaffMember.objects.filter(user=doctor).update(department=moved_to)
    assert staff_of(user=request_user).department_id == before  # the same request's view of it
    assert staff_of(user=User.objects.get(pk=doctor.pk)).department_id == moved_to.pk


def test_pharmacists_and_others(django_assert_num_queries):
    from pharmacies.models import Pharmacist, Pharmacy

    pharmacy = Pharmacy.objects.create(code="PH-T-1", name="Test Pharmacy", address_line_1="1 Road", city="Ikeja",
                                       postcode="100001")
    user = User.objects.create_user(email="pharm@example.test", password="x" * 12, full_name="Pharm Acist",
                                    role=Role.PHARMACIST)
    Pharmacist.objects.create(user=User.objects.get(pk=user.pk), pharmacy=pharmacy)
    with django_assert_num_queries(1):
        assert pharmacist_of(user=user).pharmacy == pharmacy
        assert pharmacy_of(user=user) == pharmacy
    Pharmacy.objects.filter(pk=pharmacy.pk).update(is_active=False)
    assert pharmacy_of(user=User.objects.get(pk=user.pk)) is None
    doctor = make_doctor(department=DepartmentFactory(hospital=HospitalFactory()))
    with django_assert_num_queries(0):
        assert pharmacist_of(user=doctor) is None
