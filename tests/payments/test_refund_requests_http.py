"""A refund request whose answer is lost is looked up at Paystack, never made a second time."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from payments.gateway import get_gateway
from payments.models import Payment, PaymentStatus
from payments.reconcile import payments_reconcile
from payments.refund_requests import REFUND_CLAIM_TIMEOUT
from tests.factories import make_hospital_admin
from tests.payments.conftest import api_client, history_status, paid_appointment, slot_start

pytestmark = pytest.mark.django_db(transaction=True)

PART = 1000  # naira, of the NGN 2,000 paid


@pytest.fixture
def seen(api_server, standin, clinic):
    """A paid appointment that took place (so part of it may be refunded) and the hospital's admin."""
    started, appointment_id = paid_appointment(api_server, standin, clinic["general"], clinic["patient"],
                                               slot_start(days=3))
    Appointment.objects.filter(appointment_id=appointment_id).update(status=AppointmentStatus.COMPLETED)
    return {"payment": Payment.objects.get(reference=started["reference"]),
            "admin": api_client(api_server, make_hospital_admin(hospital=clinic["hospital"])),
            "patient": api_client(api_server, clinic["patient"])}


def _slow_refund(standin, settings) -> None:
    """Paystack makes the refund but answers after our read timeout."""
    settings.PAYSTACK_READ_TIMEOUT = 1.0
    standin.fault("refund", delay=2.0)


def _claim_ages(payment: Payment) -> None:
    """Time passes beyond the claim's timeout (as for a process that died while asking)."""
    Payment.objects.filter(pk=payment.pk).update(
        refund_requested_at=timezone.now() - REFUND_CLAIM_TIMEOUT - timedelta(minutes=1))


def _provider_refunds(payment: Payment) -> list:
    payment.refresh_from_db()
    return get_gateway().list_refunds(transaction=payment.provider_transaction_id)


def test_a_partial_refund_whose_answer_timed_out_is_found_not_made_again(api_server, standin, seen, settings):
    payment = seen["payment"]
    standin.http.post("/_standin/config", json={"refund_webhook_delay": 60})  # no refund webhooks meanwhile
    _slow_refund(standin, settings)
    response = seen["admin"].post(f"/api/payments/{payment.pk}/refund/", json={"amount": PART, "reason": "Cut short"})
    assert response.status_code == 202, response.text
    time.sleep(1.5)  # Paystack finishes making the refund
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUND_PENDING and not payment.refund_provider_id
    assert payment.events.filter(kind="refund_request_unconfirmed").exists()

    # The patient's page polls verify: the request may have been made, so it is not made again.
    seen["patient"].get(f"/api/payments/verify/{payment.reference}/")
    assert standin.calls()["refund"] == 1
    # Once the claim is old, the next check finds Paystack's refund and adopts it.
    _claim_ages(payment)
    seen["patient"].get(f"/api/payments/verify/{payment.reference}/")
    payments_reconcile(now=timezone.now() + timedelta(hours=2))

    calls = standin.calls()
    assert calls["refund"] == 1 and calls["list_refunds"] == 1
    refunds = _provider_refunds(payment)
    assert [(r.amount, r.refund_id) for r in refunds] == [(PART * 100, payment.refund_provider_id)]
    assert payment.status == PaymentStatus.REFUND_PENDING and payment.refund_amount_minor == PART * 100
    assert payment.events.filter(kind="refund_found").count() == 1


def test_a_server_error_is_looked_up_before_the_refund_is_asked_for_again(api_server, standin, seen):
    payment = seen["payment"]
    standin.fault("refund", status=500)  # Paystack may or may not have made it: here it did not
    response = seen["admin"].post(f"/api/payments/{payment.pk}/refund/", json={})
    assert response.status_code == 202, response.text
    seen["patient"].get(f"/api/payments/verify/{payment.reference}/")
    assert standin.calls()["refund"] == 1  # not asked again blindly

    _claim_ages(payment)
    seen["patient"].get(f"/api/payments/verify/{payment.reference}/")
    calls = standin.calls()
    assert calls["list_refunds"] == 1 and calls["refund"] == 2  # none found: asked once more
    history_status(seen["patient"], payment.reference, "refunded")
    assert [r.amount for r in _provider_refunds(payment)] == [payment.refundable_minor]


def test_a_refund_webhook_names_the_refund_whose_answer_was_lost(api_server, standin, seen, settings):
    payment = seen["payment"]
    # refund.pending 3 s after the refund is made, refund.processed 3 s later.
    standin.http.post("/_standin/config", json={"refund_webhook_delay": 6})
    _slow_refund(standin, settings)
    assert seen["admin"].post(f"/api/payments/{payment.pk}/refund/", json={}).status_code == 202
    deadline = time.monotonic() + 15
    while not payment.events.filter(kind="refund.pending").exists():
        assert time.monotonic() < deadline, "no refund.pending webhook"
        time.sleep(0.1)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUND_PENDING
    assert payment.refund_provider_id == _provider_refunds(payment)[0].refund_id
    looked_up = standin.calls()["list_refunds"]  # the line above

    _claim_ages(payment)
    seen["patient"].get(f"/api/payments/verify/{payment.reference}/")
    history_status(seen["patient"], payment.reference, "refunded")
    calls = standin.calls()
    assert calls["refund"] == 1 and calls["list_refunds"] == looked_up
