"""Reconciliation with Paystack and refunds taken from Paystack, not from webhook payloads.

The API runs in a live server thread, Paystack is the stand-in subprocess; ``reconcile_payments``
runs here, as the systemd timer would run it, against the same database and stand-in.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from appointments.models import Appointment, BookingHold
from payments.models import Payment, PaymentStatus
from payments.reconcile import payments_reconcile
from tests.factories import make_patient
from tests.payments.conftest import api_client, initialize, signed_post, slot_start

pytestmark = pytest.mark.django_db(transaction=True)


def _window_closed(reference: str, *, minutes: int = 30) -> Payment:
    """Move the payment's hold (and the copy the payment keeps) into the past."""
    payment = Payment.objects.get(reference=reference)
    past = timezone.now() - timedelta(minutes=minutes)
    BookingHold.objects.filter(pk=payment.hold_id).update(expires_at=past)
    Payment.objects.filter(pk=payment.pk).update(hold_expires_at=past)
    return Payment.objects.get(pk=payment.pk)


def test_unpaid_payment_is_checked_once_then_expired(api_server, standin, clinic):
    http = api_client(api_server, clinic["patient"])
    fresh = initialize(http, clinic["general"])
    stale = initialize(http, clinic["cardiology"], when=slot_start(days=4))
    _window_closed(stale["reference"])

    report = payments_reconcile()
    assert (report.checked, report.expired, report.completed) == (1, 1, 0)
    assert standin.calls()["verify"] == 1, "only the payment whose window closed is asked about"
    payment = Payment.objects.get(reference=stale["reference"])
    assert payment.status == PaymentStatus.EXPIRED
    assert list(payment.events.filter(kind="expired").values_list("source", flat=True)) == ["reconcile"]
    assert Payment.objects.get(reference=fresh["reference"]).status == PaymentStatus.PENDING

    again = payments_reconcile()
    assert again.checked == 0 and standin.calls()["verify"] == 1, "an expired payment is not polled again"
    history = {p["reference"]: p for p in http.get("/api/payments/history/").json()["payments"]}
    assert history[stale["reference"]]["status"] == "expired"


def test_a_paid_charge_whose_webhook_was_lost_is_confirmed(api_server, standin, clinic):
    patient = clinic["patient"]
    http = api_client(api_server, patient)
    started = initialize(http, clinic["general"])
    standin.pay(started["payment_url"], webhook="none")  # the patient closed the tab; no webhook came
    _window_closed(started["reference"], minutes=20)

    out = StringIO()
    call_command("reconcile_payments", stdout=out)
    assert "completed 1" in out.getvalue() and "expired 0" in out.getvalue()
    payment = Payment.objects.get(reference=started["reference"])
    assert payment.status == PaymentStatus.COMPLETED and payment.appointment_id
    assert Appointment.objects.filter(patient=patient).count() == 1
    assert payment.events.filter(source="reconcile", kind="completed").exists()


def test_paystack_down_during_reconciliation_changes_nothing(api_server, standin, clinic):
    http = api_client(api_server, clinic["patient"])
    started = initialize(http, clinic["general"])
    _window_closed(started["reference"])
    standin.fault("verify", status=503, count=10)
    report = payments_reconcile()
    assert report.provider_errors == 1 and report.expired == 0
    assert Payment.objects.get(reference=started["reference"]).status == PaymentStatus.PENDING


def test_a_charge_after_expiry_still_books_when_room_is_left(api_server, standin, clinic):
    http = api_client(api_server, clinic["patient"])
    started = initialize(http, clinic["general"])
    _window_closed(started["reference"])
    assert payments_reconcile().expired == 1
    standin.pay(started["payment_url"], webhook="sync")
    payment = Payment.objects.get(reference=started["reference"])
    assert payment.status == PaymentStatus.COMPLETED and payment.appointment_id


def _paid_and_cancelled(api_server, standin, clinic, *, webhook: str = "sync") -> Payment:
    patient = clinic["patient"]
    http = api_client(api_server, patient)
    started = initialize(http, clinic["general"])
    standin.pay(started["payment_url"], webhook=webhook)
    body = http.get(f"/api/payments/verify/{started['reference']}/").json()
    assert body["status"] == "completed", body
    cancelled = http.post(f"/api/appointments/{body['appointment_id']}/cancel/", json={"reason": "Travelling"})
    assert cancelled.status_code == 200, cancelled.text
    return Payment.objects.get(reference=started["reference"])


def test_a_refund_webhook_is_checked_with_paystack_before_it_counts(api_server, standin, clinic):
    # Paystack settles slowly: the refund stays "pending" there for a while.
    standin.http.post("/_standin/config", json={"refund_webhook_delay": 30})
    payment = _paid_and_cancelled(api_server, standin, clinic)
    assert payment.status == PaymentStatus.REFUND_PENDING and payment.refund_provider_id.isdigit()

    claimed_processed = {"event": "refund.processed",
                         "data": {"id": int(payment.refund_provider_id), "status": "processed",
                                  "transaction_reference": payment.reference, "amount": payment.amount_minor,
                                  "currency": "NGN"}}
    response = signed_post(api_server, json.dumps(claimed_processed).encode())
    assert response.status_code == 200
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.REFUND_PENDING, \
        "Paystack still says pending, whatever the payload claims"
    assert standin.calls()["fetch_refund"] == 1


def test_a_refund_of_another_transaction_is_not_applied(api_server, standin, clinic):
    standin.http.post("/_standin/config", json={"refund_webhook_delay": 0.2})
    refunded = _paid_and_cancelled(api_server, standin, clinic)
    deadline = time.monotonic() + 10
    while Payment.objects.get(pk=refunded.pk).status != PaymentStatus.REFUNDED and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Payment.objects.get(pk=refunded.pk).status == PaymentStatus.REFUNDED

    # A completed payment of another patient, and a webhook naming it with the first refund's id.
    other = make_patient(hospital=clinic["hospital"])
    http = api_client(api_server, other)
    started = initialize(http, clinic["cardiology"], when=slot_start(days=5))
    standin.pay(started["payment_url"], webhook="sync")
    assert http.get(f"/api/payments/verify/{started['reference']}/").json()["status"] == "completed"
    forged = {"event": "refund.processed",
              "data": {"id": int(refunded.refund_provider_id), "status": "processed",
                       "transaction_reference": started["reference"], "amount": 750000, "currency": "NGN"}}
    assert signed_post(api_server, json.dumps(forged).encode()).status_code == 200
    assert Payment.objects.get(reference=started["reference"]).status == PaymentStatus.COMPLETED


def test_a_refund_whose_webhooks_were_lost_is_settled_by_reconciliation(api_server, standin, clinic):
    standin.http.post("/_standin/config", json={"webhook_url": "", "refund_webhook_delay": 0.2})
    payment = _paid_and_cancelled(api_server, standin, clinic, webhook="none")
    time.sleep(0.5)  # Paystack has processed it by now; no webhook told us
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.REFUND_PENDING

    assert payments_reconcile().refunds_settled == 0, "not rechecked before PAYMENTS_REFUND_RECHECK_MINUTES"
    Payment.objects.filter(pk=payment.pk).update(refund_requested_at=timezone.now() - timedelta(hours=2))
    report = payments_reconcile()
    assert report.refunds_settled == 1
    settled = Payment.objects.get(pk=payment.pk)
    assert settled.status == PaymentStatus.REFUNDED and settled.refunded_at
    assert settled.events.filter(source="reconcile", to_status="refunded").exists()


@pytest.mark.parametrize("unnamed", ["accepted", "provider"])
def test_a_refund_the_provider_accepted_without_naming_it_is_settled_by_reconciliation(api_server, standin, clinic,
                                                                                        unnamed):
    """Paystack accepted the refund (or one was started in its dashboard) without giving the refund's
    id, so the payment keeps a stand-in id that names no refund: reconciliation finds it among the
    transaction's refunds instead of asking for an unknown refund for ever, and never refunds twice."""
    standin.http.post("/_standin/config", json={"webhook_url": "", "refund_webhook_delay": 0.2})
    payment = _paid_and_cancelled(api_server, standin, clinic, webhook="none")
    time.sleep(0.5)  # processed at Paystack by now; no webhook told us
    real_id = payment.refund_provider_id
    Payment.objects.filter(pk=payment.pk).update(refund_provider_id=unnamed,
                                                 refund_requested_at=timezone.now() - timedelta(hours=2))

    report = payments_reconcile()
    assert report.refunds_settled == 1, report
    settled = Payment.objects.get(pk=payment.pk)
    assert settled.status == PaymentStatus.REFUNDED and settled.refund_provider_id == real_id
    assert standin.calls()["refund"] == 1


def test_admin_check_now_books_a_paid_charge_and_expires_nothing(api_server, standin, clinic):
    from django.test import Client

    from accounts.models import User

    http = api_client(api_server, clinic["patient"])
    paid = initialize(http, clinic["general"])
    unpaid = initialize(http, clinic["cardiology"], when=slot_start(days=4))
    standin.pay(paid["payment_url"], webhook="none")
    staff = User.objects.create_superuser("ops@example.test", "Str0ng-admin-passw0rd")
    admin = Client()
    admin.force_login(staff)
    chosen = Payment.objects.filter(reference__in=[paid["reference"], unpaid["reference"]])
    response = admin.post("/admin/payments/payment/", {"action": "check_with_provider", "index": 0,
                                                        "_selected_action": [str(p.pk) for p in chosen]},
                          follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any("checked 2, completed 1" in m for m in shown), shown
    assert Payment.objects.get(reference=paid["reference"]).status == PaymentStatus.COMPLETED
    assert Payment.objects.get(reference=unpaid["reference"]).status == PaymentStatus.ABANDONED
    assert Payment.objects.get(reference=paid["reference"]).events.filter(source="admin", kind="completed").exists()
