"""In the Django admin a hospital registration is decided through actions that use the API's rule
(``hospitals.services.registration_decide``): once, naming the operator, never by editing the status."""

from __future__ import annotations

import pytest
from django.contrib import admin

from hospitals.models import HospitalRegistration, RegistrationStatus
from tests.factories import HospitalFactory, RegistrationFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/admin/hospitals/hospitalregistration/"


def test_the_status_and_the_decision_are_not_fields_of_the_form():
    assert {"status", "decided_at", "decided_by"} <= set(admin.site._registry[HospitalRegistration].readonly_fields)


def test_pending_registrations_are_decided_once_naming_the_operator(client):
    operator = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(operator)
    hospital = HospitalFactory(auto_approve_registrations=False)
    pending = [RegistrationFactory(hospital=hospital, status=RegistrationStatus.PENDING) for _ in range(2)]
    decided = RegistrationFactory(hospital=hospital, status=RegistrationStatus.REJECTED)

    page = client.post(URL, {"action": "approve", "_selected_action": [r.pk for r in (*pending, decided)]},
                       follow=True)

    text = page.content.decode()
    assert "2 registration(s) approved." in text and "already rejected" in text
    for registration in pending:
        registration.refresh_from_db()
        assert registration.status == RegistrationStatus.APPROVED
        assert registration.decided_by_id == operator.pk and registration.decided_at is not None
    decided.refresh_from_db()
    assert decided.status == RegistrationStatus.REJECTED and decided.decided_by_id is None
