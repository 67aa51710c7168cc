"""Factories for pharmacies and pharmacists."""

from __future__ import annotations

import factory

from accounts.models import Role
from pharmacies.models import Pharmacist, Pharmacy
from tests.factories import UserFactory


class PharmacyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pharmacy

    code = factory.Sequence(lambda n: f"PH{n:05d}")
    name = factory.Sequence(lambda n: f"Test Pharmacy {n}")
    address_line_1 = factory.Sequence(lambda n: f"{n} Market Street")
    city = "Ikeja"
    state = "lagos"
    postcode = "100001"
    latitude = 6.60
    longitude = 3.35
    electronic_prescriptions_enabled = True
    verified = True
    opening_hours = {"monday": {"open": "08:00", "close": "18:00"}}


def make_pharmacist(*, pharmacy: Pharmacy, **kwargs):
    user = UserFactory(role=Role.PHARMACIST, **kwargs)
    Pharmacist.objects.create(user=user, pharmacy=pharmacy, registration_number="PCN-TEST", verified=True)
    return user
