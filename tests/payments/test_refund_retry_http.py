"""A refund that failed at Paystack (``refund_failed``) is asked for again: by an operator from the
payment admin (the change permission), or by reconciliation a bounded number of times; never two
refunds for one payment, and a late word about the failed refund does not fail the new one."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import User
from payments.models import EventSource, Payment, PaymentStatus
from payments.reconcile import REFUND_AUTO_RETRIES, REFUND_RETRY_AFTER, payments_reconcile
from payments.refund_requests import payment_retry_failed_refund
from tests.concurrency import race
from tests.payments.conftest import api_client, history_status, paid_appointment, signed_post, slot_start

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "/admin/payments/payment/"


def _failed_refund(api_server, standin, clinic) -> Payment:
    """A paid booking the patient cancelled in time, whose refund Paystack then failed."""
    patient = clinic["patient"]
    started, appointment_id = paid_appointment(api_server, standin, clinic["general"], patient, slot_start(days=3))
    standin.http.post("/_standin/config", json={"refund_outcome": "failed"})
    http = api_client(api_server, patient)
    assert http.post(f"/api/appointments/{appointment_id}/cancel/", json={"reason": "Travelling"}).status_code == 200
    history_status(http, started["reference"], "refund_failed")
    assert standin.calls()["refund"] == 1
    return Payment.objects.get(reference=started["reference"])


def _staff(*permissions: str) -> Client:
    user = User.objects.create_user(email=f"ops-{len(permissions)}@example.test", password="Str0ng-ops-passw0rd",
                                    is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="payments",
                                                         codename__in=permissions))
    client = Client()
    client.force_login(user)
    return client


def _retry_from_admin(client: Client, payment: Payment):
    return client.post(CHANGELIST, {"action": "retry_failed_refund", "_selected_action": [str(payment.pk)]},
                       follow=True)


def test_an_operator_asks_again_for_a_failed_refund_from_the_admin(api_server, standin, clinic):
    payment = _failed_refund(api_server, standin, clinic)
    standin.http.post("/_standin/config", json={"refund_outcome": "processed"})
    operator = _staff("view_payment", "change_payment")
    assert b"retry_failed_refund" in operator.get(CHANGELIST).content

    response = _retry_from_admin(operator, payment)
    assert response.status_code == 200
    assert "1 failed refund(s) asked for again, 1 accepted" in response.content.decode()
    payment.refresh_from_db()
    assert payment.status in (PaymentStatus.REFUND_PENDING, PaymentStatus.REFUNDED) and payment.refund_provider_id
    history_status(api_client(api_server, clinic["patient"]), payment.reference, "refunded")
    assert standin.calls()["refund"] == 2
    [retried] = payment.events.filter(kind="refund_retried")
    assert (retried.source, retried.from_status, retried.to_status) == (
        EventSource.ADMIN, PaymentStatus.REFUND_FAILED, PaymentStatus.REFUND_PENDING)
    assert retried.actor.email == "ops-2@example.test" and retried.amount_minor == payment.amount_minor
    assert LogEntry.objects.filter(object_id=str(payment.pk), user=retried.actor).exists()
    # Refunded now: asking again does nothing.
    _retry_from_admin(operator, payment)
    assert standin.calls()["refund"] == 2


def test_an_operator_who_may_only_view_payments_cannot_ask_again(api_server, standin, clinic):
    payment = _failed_refund(api_server, standin, clinic)
    viewer = _staff("view_payment")
    assert viewer.get(CHANGELIST).status_code == 200
    assert b"retry_failed_refund" not in viewer.get(CHANGELIST).content
    _retry_from_admin(viewer, payment)
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.REFUND_FAILED
    assert standin.calls()["refund"] == 1 and not payment.events.filter(kind="refund_retried").exists()


def test_concurrent_retries_make_one_refund_request(api_server, standin, clinic):
    """Two operators and reconciliation at once: one moves the payment and asks Paystack, once."""
    if connection.vendor != "postgresql":
        pytest.skip("the row lock is exercised on PostgreSQL (SQLite serialises writers)")
    payment = _failed_refund(api_server, standin, clinic)
    standin.http.post("/_standin/config", json={"refund_outcome": "processed"})
    sources = [EventSource.ADMIN, EventSource.ADMIN, EventSource.RECONCILE, EventSource.ADMIN, EventSource.RECONCILE]

    def retry(source: str):
        result = payment_retry_failed_refund(payment_id=payment.pk, source=source)
        return None if result is None else result.status

    outcomes = race(retry, sources)
    assert sum(o is not None for o in outcomes) == 1, outcomes
    assert not [o for o in outcomes if isinstance(o, str) and o.startswith("error")], outcomes
    assert standin.calls()["refund"] == 2
    assert payment.events.filter(kind="refund_retried").count() == 1
    history_status(api_client(api_server, clinic["patient"]), payment.reference, "refunded")


def _failed_long_ago(payment: Payment) -> None:
    Payment.objects.filter(pk=payment.pk).update(updated_at=timezone.now() - REFUND_RETRY_AFTER - timedelta(minutes=1))


def test_reconciliation_asks_again_a_bounded_number_of_times(api_server, standin, clinic):
    payment = _failed_refund(api_server, standin, clinic)
    http = api_client(api_server, clinic["patient"])
    assert payments_reconcile().refunds_retried == 0, "not right after it failed"
    for attempt in range(REFUND_AUTO_RETRIES):
        _failed_long_ago(payment)
        assert payments_reconcile().refunds_retried == 1
        history_status(http, payment.reference, "refund_failed")  # Paystack fails it again
        assert standin.calls()["refund"] == attempt + 2
    _failed_long_ago(payment)
    assert payments_reconcile().refunds_retried == 0
    assert standin.calls()["refund"] == 1 + REFUND_AUTO_RETRIES
    assert payment.events.filter(kind="refund_retried", source=EventSource.RECONCILE).count() == REFUND_AUTO_RETRIES


def test_a_late_failure_of_the_earlier_refund_leaves_the_new_one_pending(api_server, standin, clinic):
    """Paystack's own refund events carry no refund id: a late ``refund.failed`` of the refund that
    failed before must not be taken for the refund asked for again."""
    payment = _failed_refund(api_server, standin, clinic)
    standin.http.post("/_standin/config", json={"refund_outcome": "processed", "refund_webhook_delay": 30})
    payment = payment_retry_failed_refund(payment_id=payment.pk, source=EventSource.ADMIN)
    assert payment.status == PaymentStatus.REFUND_PENDING and payment.refund_provider_id
    late = json.dumps({"event": "refund.failed", "data": {
        "status": "failed", "transaction_reference": payment.reference, "refund_reference": "RF-late",
        "amount": payment.refund_amount_minor, "currency": payment.currency}}).encode()
    assert signed_post(api_server, late).status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUND_PENDING
    retried_at = payment.events.get(kind="refund_retried").created_at
    [late_event] = payment.events.filter(kind="refund.failed", created_at__gt=retried_at)
    assert late_event.to_status == PaymentStatus.REFUND_PENDING, "heard, and left as it was"


def test_asking_again_for_a_refund_not_yet_accepted_takes_the_change_permission(api_server, standin, clinic):
    """The older action asks Paystack for a refund it refused or did not answer: it moves money as
    the one above does, so an operator who may only view payments neither sees it nor can post it."""
    patient = clinic["patient"]
    started, appointment_id = paid_appointment(api_server, standin, clinic["general"], patient, slot_start(days=3))
    standin.fault("refund", status=400)
    http = api_client(api_server, patient)
    assert http.post(f"/api/appointments/{appointment_id}/cancel/", json={"reason": "Travelling"}).status_code == 200
    payment = Payment.objects.get(reference=started["reference"])
    assert payment.status == PaymentStatus.REFUND_PENDING and not payment.refund_provider_id

    def ask(client: Client):
        return client.post(CHANGELIST, {"action": "retry_refund", "_selected_action": [str(payment.pk)]},
                           follow=True)

    viewer = _staff("view_payment")
    assert b'value="retry_refund"' not in viewer.get(CHANGELIST).content
    ask(viewer)
    assert standin.calls()["refund"] == 1
    assert Payment.objects.get(pk=payment.pk).refund_provider_id == ""

    operator = _staff("view_payment", "change_payment")
    assert b'value="retry_refund"' in operator.get(CHANGELIST).content
    assert "1 refund(s) accepted by the provider." in ask(operator).content.decode()
    assert standin.calls()["refund"] == 2


def test_a_refund_asked_for_again_accepted_without_naming_it_that_fails_is_failed_by_reconciliation(
        api_server, standin, clinic):
    """The refund asked for again was accepted without its id and then failed, and no webhook said
    so: reconciliation finds it among the transaction's refunds, the newest of that amount, names it
    and fails the payment, instead of taking it for the earlier failed refund and waiting for ever."""
    import time

    payment = _failed_refund(api_server, standin, clinic)
    standin.http.post("/_standin/config", json={"refund_outcome": "failed", "webhook_url": "",
                                                "refund_webhook_delay": 0.2})
    payment = payment_retry_failed_refund(payment_id=payment.pk, source=EventSource.ADMIN)
    real_id = payment.refund_provider_id
    assert payment.status == PaymentStatus.REFUND_PENDING and real_id
    time.sleep(0.5)  # failed at Paystack by now; no webhook told us
    Payment.objects.filter(pk=payment.pk).update(refund_provider_id="accepted",
                                                 refund_requested_at=timezone.now() - timedelta(hours=2))

    report = payments_reconcile()
    assert report.refunds_settled == 1, report
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUND_FAILED and payment.refund_provider_id == real_id
    assert standin.calls()["refund"] == 2
