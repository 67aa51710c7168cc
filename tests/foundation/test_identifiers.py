"""National identity numbers are sealed at rest (accounts.identifiers): the users table keeps the
masked form the API shows, the full number only sealed with KMS and bound to its user."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.identifiers import identifier_of
from accounts.models import User
from phb.aws.clients import aws_client
from records.crypto import DecryptionError, clear_key_cache, decrypt_text
from tests.aws_faults import unreachable
from tests.factories import UserFactory
from tests.foundation.test_accounts_api import REGISTRATION
from tests.helpers import client_for

pytestmark = pytest.mark.django_db
NIN = REGISTRATION["nin"]


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    clear_key_cache()
    yield
    clear_key_cache()


def _stored_row(email: str) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {User._meta.db_table} WHERE email = %s", [email])
        return cursor.fetchone()


def test_a_registered_number_is_sealed_and_shown_masked():
    response = client_for(None).post("/api/registration/", {**REGISTRATION, "ssn": "078-05-1120"}, format="json")
    assert response.status_code == 201, response.json()
    row = _stored_row(REGISTRATION["email"])
    assert not any(NIN in str(value) or "078-05-1120" in str(value) for value in row), "no plain number at rest"
    user = User.objects.get(email=REGISTRATION["email"])
    assert (user.nin, user.ssn) == ("*******8901", "*******1120")
    assert identifier_of(user=user, field="nin") == NIN
    assert identifier_of(user=user, field="ssn") == "078-05-1120"
    other = UserFactory()
    with pytest.raises(DecryptionError):  # bound to its user and field
        decrypt_text(user.nin_sealed, context=f"accounts.User.nin:{other.pk}")
    with pytest.raises(DecryptionError):
        decrypt_text(user.nin_sealed, context=f"accounts.User.ssn:{user.pk}")
    profile = client_for(user).get("/api/profile/").json()
    assert profile["nin"] == "*******8901"


def test_registration_while_kms_gives_no_key_is_a_503_and_creates_no_one():
    with unreachable(aws_client("kms"), "GenerateDataKey"):
        response = client_for(None).post("/api/registration/", REGISTRATION, format="json")
    assert response.status_code == 503 and response.json()["message"], response.content
    assert not User.objects.filter(email=REGISTRATION["email"]).exists()


def test_plain_numbers_from_before_are_sealed_once():
    legacy = UserFactory(nin="12345678901", ssn="")
    without = UserFactory(nin="", ssn="")
    out = StringIO()
    call_command("seal_identifiers", stdout=out)
    assert out.getvalue().strip() == "sealed 1"
    legacy.refresh_from_db()
    assert legacy.nin == "*******8901" and identifier_of(user=legacy, field="nin") == "12345678901"
    assert not any("12345678901" in str(value) for value in _stored_row(legacy.email))
    without.refresh_from_db()
    assert (without.nin, without.nin_sealed) == ("", "")
    again = StringIO()
    call_command("seal_identifiers", stdout=again)
    assert again.getvalue().strip() == "sealed 0"
