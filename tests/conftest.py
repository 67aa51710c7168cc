"""Shared fixtures. AWS is the moto server the test settings start (phb.localaws)."""

from __future__ import annotations

import io
import logging.config

import pytest
from django.conf import settings
from django.core.management import call_command

from phb.logs import build_logging
from tests.factories import (
    DepartmentFactory,
    HospitalFactory,
    UserFactory,
    make_doctor,
    make_hospital_admin,
    make_patient,
)


@pytest.fixture(scope="session", autouse=True)
def provisioned_aws():
    """Every declared AWS resource exists in the emulator before any test runs."""
    call_command("provision_aws", verbosity=0, stdout=open("/dev/null", "w"))


@pytest.fixture
def hospital(db):
    return HospitalFactory()


@pytest.fixture
def department(hospital):
    return DepartmentFactory(hospital=hospital)


@pytest.fixture
def patient(hospital):
    return make_patient(hospital=hospital)


@pytest.fixture
def other_patient(hospital):
    return make_patient(hospital=hospital)


@pytest.fixture
def doctor(department):
    return make_doctor(department=department)


@pytest.fixture
def hospital_admin(hospital):
    return make_hospital_admin(hospital=hospital)


@pytest.fixture
def staff_client(client):
    """Django's test client signed in to the admin as an operator (``is_staff``, superuser)."""
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture(autouse=True)
def _fresh_shared_cache(settings):
    """Throttle counters live in the shared cache; with Redis (REDIS_URL) it outlives a test."""
    yield
    if settings.REDIS_URL:
        from django.core.cache import cache

        cache.clear()


@pytest.fixture(autouse=True)
def _no_network_call_inside_a_transaction():
    """Fails any test during which an AWS, Paystack or email call was made inside a database
    transaction (``phb.netguard``), even when the code under test swallowed the refusal."""
    from phb.netguard import take_violations

    take_violations()
    yield
    found = take_violations()
    assert not found, f"network calls made inside a database transaction: {sorted(set(found))}"


@pytest.fixture
def captured_lines():
    """Every formatted line our stdout handler would write, captured in memory."""
    stream = io.StringIO()
    config = build_logging(level="INFO", cloudwatch=False, log_group_prefix="/phb")
    config["handlers"]["stdout"]["stream"] = stream
    logging.config.dictConfig(config)
    try:
        yield stream
    finally:
        logging.config.dictConfig(settings.LOGGING)
