"""Factories for the foundation's models. Area tests add their own beside their tests."""

from __future__ import annotations

import factory

from accounts.models import Role, User
from hospitals.models import Department, Hospital, HospitalRegistration, RegistrationStatus, StaffMember

PASSWORD = "Str0ng-test-passw0rd"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Sequence(lambda n: f"Testperson Number{n}")
    role = Role.PATIENT
    phone = factory.Sequence(lambda n: f"+23480{n:08d}")
    otp_required_for_login = True

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])


class HospitalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hospital

    name = factory.Sequence(lambda n: f"Test Hospital {n}")
    code = factory.Sequence(lambda n: f"HOSP{n:04d}")
    city = "Ikeja"
    state = "lagos"
    country = "nigeria"
    auto_approve_registrations = True


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    hospital = factory.SubFactory(HospitalFactory)
    name = factory.Sequence(lambda n: f"General Medicine {n}")
    code = factory.Sequence(lambda n: f"D{n}")


class RegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HospitalRegistration

    user = factory.SubFactory(UserFactory)
    hospital = factory.SubFactory(HospitalFactory)
    is_primary = True
    status = RegistrationStatus.APPROVED


def make_patient(*, hospital: Hospital | None = None, **kwargs) -> User:
    """A patient, registered (approved, primary) at ``hospital`` when given."""
    user = UserFactory(role=Role.PATIENT, **kwargs)
    if hospital is not None:
        RegistrationFactory(user=user, hospital=hospital)
    return user


def make_doctor(*, department: Department, **kwargs) -> User:
    user = UserFactory(role=Role.DOCTOR, **kwargs)
    StaffMember.objects.create(user=user, hospital=department.hospital, department=department,
                               license_number="MDCN-TEST", verified=True)
    return user


def make_hospital_admin(*, hospital: Hospital, **kwargs) -> User:
    user = UserFactory(role=Role.HOSPITAL_ADMIN, **kwargs)
    StaffMember.objects.create(user=user, hospital=hospital, position="Administrator", verified=True)
    return user
