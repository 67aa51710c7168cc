"""Fixtures of the storage tests: AWS is the moto server of the test settings (real HTTP)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone

from phb.aws.clients import aws_client
from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_hospital_admin


@pytest.fixture
def s3():
    return aws_client("s3")


@pytest.fixture
def other_hospital(db):
    return HospitalFactory()


@pytest.fixture
def other_admin(other_hospital):
    return make_hospital_admin(hospital=other_hospital)


@pytest.fixture
def other_doctor(other_hospital):
    return make_doctor(department=DepartmentFactory(hospital=other_hospital))


def grant_access(*, clinician, patient, seconds: int = 3600):
    """A live consent, as the records area stores it once the patient entered their code."""
    from records.models import AccessConsent, ConsentStatus

    now = timezone.now()
    return AccessConsent.objects.create(
        patient=patient, clinician=clinician, duration_seconds=seconds, status=ConsentStatus.GRANTED,
        request_expires_at=now + timedelta(minutes=10), granted_at=now, expires_at=now + timedelta(seconds=seconds),
    )


def assert_sigv4_300(url: str) -> dict[str, list[str]]:
    """Every signed URL: SigV4 and valid for exactly 300 seconds."""
    query = parse_qs(urlparse(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"], url
    assert query["X-Amz-Expires"] == ["300"], url
    assert "X-Amz-Signature" in query and "Signature" not in query and "AWSAccessKeyId" not in query
    return query
