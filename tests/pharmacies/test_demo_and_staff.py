"""The demo pharmacies and pharmacist, and pharmacists signing in like every staff account."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from accounts.models import Role, User
from accounts.roles import is_staff_member
from pharmacies.models import Nomination, Pharmacist, Pharmacy
from tests.factories import PASSWORD, UserFactory
from tests.helpers import client_for
from tests.pharmacies.factories import PharmacyFactory, make_pharmacist

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_pharmacies_a_nomination_and_a_pharmacist(settings):
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    assert Pharmacy.objects.count() == 5
    nomination = Nomination.objects.get(patient__email="patient@phb.test", is_current=True)
    staff = Pharmacist.objects.get(user__email="pharmacist@phb.test")
    assert staff.pharmacy == nomination.pharmacy and staff.user.role == Role.PHARMACIST
    assert staff.user.check_password(settings.DEMO_PASSWORD)
    patient = User.objects.get(email="patient@phb.test")
    nearby = client_for(patient).get("/api/pharmacies/nearby/", {"latitude": 6.6018, "longitude": 3.3515,
                                                                  "radius": 10}).json()
    assert nearby["pharmacies"][0]["id"] == nomination.pharmacy_id


def test_pharmacists_always_get_the_emailed_code():
    user = make_pharmacist(pharmacy=PharmacyFactory(), otp_required_for_login=False)
    assert is_staff_member(user)
    response = client_for(None).post("/api/login/", {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200 and response.json()["require_otp"] is True
    assert "access_token" not in response.cookies


@pytest.mark.django_db
def test_registry_tells_the_frontend_a_pharmacist_is_a_professional():
    """The frontend's professional view is decided by ``/api/registry/my-info/``."""
    pharmacy = PharmacyFactory()
    pharmacist = make_pharmacist(pharmacy=pharmacy)
    answer = client_for(pharmacist).get("/api/registry/my-info/")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["professional_type"] == "pharmacist"
    assert body["pharmacy"]["id"] == pharmacy.pk
    assert {"license_number", "specialization", "verified"} <= set(body)
    anonymous = client_for(None).get("/api/registry/my-info/")
    assert anonymous.status_code == 401 and anonymous.json()["message"]
    patient = UserFactory()
    assert client_for(patient).get("/api/registry/my-info/").status_code == 404
