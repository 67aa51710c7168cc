"""phb.db.PrecompiledLookup gives exactly what the ORM gives, in one query."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from hospitals.selectors import user_with_primary_registration, users_with_primary_registration
from tests.factories import HospitalFactory, RegistrationFactory, UserFactory, make_patient


def _orm(user_id):
    return users_with_primary_registration().filter(pk=user_id).first()


@pytest.mark.django_db
def test_same_user_registration_and_hospital_as_the_orm():
    hospital = HospitalFactory(latitude="6.500000", longitude="3.350000")
    patient = make_patient(hospital=hospital, date_of_birth="1990-02-03", secondary_languages=["yoruba"])
    RegistrationFactory(user=patient, hospital=HospitalFactory(), is_primary=False)
    with CaptureQueriesContext(connection) as queries:
        fast = user_with_primary_registration(user_id=patient.pk)
    assert len(queries) == 1
    slow = _orm(patient.pk)
    assert model_to_dict(fast) == model_to_dict(slow)
    assert fast.date_joined == slow.date_joined and fast.secondary_languages == ["yoruba"]
    assert fast._primary_registration.pk == slow.primary_reg.pk
    assert fast._primary_registration.created_at == slow.primary_reg.created_at
    assert model_to_dict(fast._primary_registration.hospital) == model_to_dict(slow.primary_reg.hospital)


@pytest.mark.django_db
def test_user_without_primary_registration_and_unknown_ids():
    user = UserFactory()
    fast = user_with_primary_registration(user_id=user.pk)
    assert fast.pk == user.pk and fast._primary_registration is None
    assert user_with_primary_registration(user_id=str(user.pk)).pk == user.pk
    assert user_with_primary_registration(user_id=uuid.uuid4()) is None
    assert user_with_primary_registration(user_id="not-a-uuid") is None
