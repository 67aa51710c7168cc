"""Password hashing takes a deliberate fraction of a second: it happens before any transaction
opens, so a registration or password change never holds the database (on SQLite, its one write
lock) while it hashes."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail
from django.db import connection

from accounts.models import User
from tests.factories import PASSWORD
from tests.helpers import client_for

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingHasher(MD5PasswordHasher):
    """MD5 (fast, tests only) that notes whether each hash is made inside a transaction."""

    inside_transaction: list[bool] = []

    def encode(self, password: str, salt: str) -> str:
        RecordingHasher.inside_transaction.append(connection.in_atomic_block)
        return super().encode(password, salt)


@pytest.fixture
def hashes(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.RecordingHasher"]
    RecordingHasher.inside_transaction = []
    return RecordingHasher.inside_transaction


NEW = {"new_password": "Fresh-pass-456", "confirm_password": "Fresh-pass-456"}


def test_registration_hashes_outside_the_transaction(hashes):
    body = {"full_name": "Ada Obi", "email": "ada@example.test", "password": "Load-test-pass-1",
            "date_of_birth": "1990-01-01", "consent_terms": True, "consent_hipaa": True,
            "consent_data_processing": True}
    assert client_for(None).post("/api/registration/", body, format="json").status_code == 201
    assert User.objects.get(email="ada@example.test").check_password("Load-test-pass-1")
    assert hashes and not any(hashes), hashes


def test_password_change_hashes_outside_the_transaction(patient, hashes):
    changed = client_for(patient).post("/api/password/change/", {"current_password": PASSWORD, **NEW}, format="json")
    assert changed.status_code == 200, changed.json()
    patient.refresh_from_db()
    assert patient.check_password("Fresh-pass-456")
    assert hashes and not any(hashes), hashes


def test_password_reset_hashes_outside_the_transaction(patient, hashes, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(None).post("/api/password/reset/", {"email": patient.email}, format="json")
    token = mail.outbox[-1].body.split("token=")[1].split()[0]
    done = client_for(None).post("/api/password/reset/confirm/", {"token": token, **NEW}, format="json")
    assert done.status_code == 200, done.json()
    patient.refresh_from_db()
    assert patient.check_password("Fresh-pass-456")
    assert hashes and not any(hashes), hashes


def test_adding_a_doctor_hashes_outside_the_transaction(department, hospital_admin, hashes):
    payload = {"email": "new.doc@example.test", "password": "a-Long-pass-2931", "first_name": "Ada",
               "last_name": "Obi", "role": "doctor", "department": department.pk}
    assert client_for(hospital_admin).post("/api/staff/", payload, format="json").status_code == 201
    assert User.objects.get(email="new.doc@example.test").check_password("a-Long-pass-2931")
    assert hashes and not any(hashes), hashes
