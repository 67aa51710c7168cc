"""The payments admin: searchable, filterable, read-only, no deletes."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from payments.models import EventSource, Payment, PaymentEvent, PaymentStatus

pytestmark = pytest.mark.django_db


def test_admin_lists_payments_and_events_read_only(patient):
    staff = User.objects.create_superuser("staff@example.test", "Str0ng-admin-passw0rd")
    payment = Payment.objects.create(patient=patient, amount=2000, amount_minor=200000, status=PaymentStatus.PENDING)
    PaymentEvent.objects.create(payment=payment, kind="initialized", source=EventSource.API, to_status="initialized")
    client = Client()
    client.force_login(staff)
    for url in ("/admin/payments/payment/", f"/admin/payments/payment/?q={payment.reference}&status=pending",
                "/admin/payments/paymentevent/?source=api", f"/admin/payments/payment/{payment.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 200, url
    assert payment.reference in client.get(f"/admin/payments/payment/?q={payment.reference}").content.decode()
    assert client.get(f"/admin/payments/payment/{payment.pk}/delete/").status_code == 403
    event = payment.events.get()
    assert client.get(f"/admin/payments/paymentevent/{event.pk}/delete/").status_code == 403
    assert client.get("/admin/payments/paymentevent/add/").status_code == 403
    response = client.post(f"/admin/payments/payment/{payment.pk}/change/", {"status": "completed"})
    assert response.status_code == 403
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING
