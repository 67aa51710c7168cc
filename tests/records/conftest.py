"""Fixtures and helpers of the medical-records tests (HTTP through DRF's APIClient, AWS on the
moto server the test settings start)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from records.crypto import clear_key_cache
from tests.factories import DepartmentFactory, make_doctor
from tests.helpers import client_for

MED_HEADER = "HTTP_X_MED_ACCESS_TOKEN"
RECORD_URL = "/api/patient/medical-record/"
REQUEST_OTP_URL = "/api/patient/medical-record/request-otp/"
VERIFY_OTP_URL = "/api/patient/medical-record/verify-otp/"


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    clear_key_cache()
    yield
    clear_key_cache()


def last_code(*, to: str | None = None) -> str:
    messages = [m for m in mail.outbox if to is None or to in m.to]
    assert messages, "no email sent"
    match = re.search(r"\b(\d{6})\b", messages[-1].body)
    assert match, "no code in the email"
    return match.group(1)


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """Run a request and deliver the emails its transaction queued (as production does after commit)."""

    def run(client, method: str, url: str, data=None, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            handler = getattr(client, method)
            if data is None:
                return handler(url, **extra)
            return handler(url, data, format="json", **extra)

    return run


@pytest.fixture
def open_record(send):
    """Patient gate happy path: returns (client, token)."""

    def run(user):
        client = client_for(user)
        response = send(client, "post", REQUEST_OTP_URL, {})
        assert response.status_code == 200, response.content
        code = last_code(to=user.email)
        verified = client.post(VERIFY_OTP_URL, {"otp": code}, format="json")
        assert verified.status_code == 200, verified.content
        return client, verified.json()["med_access_token"]

    return run


def make_appointment(*, patient, doctor=None, department, status: str = "confirmed", days: int = 1):
    from appointments.models import Appointment

    start = (timezone.now() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    return Appointment.objects.create(
        patient=patient, hospital=department.hospital, department=department, doctor=doctor,
        start=start, end=start + timedelta(minutes=30), status=status,
    )


@pytest.fixture
def appointment(patient, doctor, department):
    return make_appointment(patient=patient, doctor=doctor, department=department)


@pytest.fixture
def other_doctor(hospital):
    return make_doctor(department=DepartmentFactory(hospital=hospital))


def session_store_refuses(*operations: str):
    """From now until the returned function is called, these DynamoDB operations of the
    sessions table cannot connect."""
    from botocore.exceptions import EndpointConnectionError
    from django.conf import settings

    from phb.aws.clients import dynamodb_table

    events = dynamodb_table(settings.USER_SESSIONS_TABLE).meta.client.meta.events

    def refuse(**_):
        raise EndpointConnectionError(endpoint_url="http://dynamodb.invalid")

    for operation in operations:
        events.register(f"before-call.dynamodb.{operation}", refuse)
    return lambda: [events.unregister(f"before-call.dynamodb.{operation}", refuse) for operation in operations]

