"""Races, late payments, refunds and provider failures, over HTTP against the Paystack stand-in."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from appointments.models import Appointment, BookingHold, HoldState, Slot, SlotCapacity
from payments.models import Payment, PaymentEvent, PaymentStatus
from tests.factories import make_patient
from tests.payments.conftest import (
    api_client,
    booking_body,
    history_status,
    initialize,
    paid_appointment,
    signed_post,
    slot_start,
    slot_within_a_day,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _charge_success_body(standin, reference: str) -> bytes:
    return json.dumps({"event": "charge.success", "data": standin.transaction(reference)}).encode()


def test_ten_verifies_and_three_webhooks_at_once_make_one_appointment(api_server, standin, clinic):
    patient = clinic["patient"]
    started = initialize(api_client(api_server, patient), clinic["general"])
    reference = started["reference"]
    standin.pay(started["payment_url"], webhook="none")
    body = _charge_success_body(standin, reference)
    clients = [api_client(api_server, patient) for _ in range(10)]
    barrier = threading.Barrier(13)

    def verify(client):
        barrier.wait()
        return client.get(f"/api/payments/verify/{reference}/")

    def deliver():
        barrier.wait()
        return signed_post(api_server, body)

    with ThreadPoolExecutor(max_workers=13) as pool:
        futures = [pool.submit(verify, c) for c in clients] + [pool.submit(deliver) for _ in range(3)]
        responses = [f.result(timeout=120) for f in futures]

    assert [r.status_code for r in responses] == [200] * 13, [r.text for r in responses if r.status_code != 200]
    verified = [r.json() for r in responses[:10]]
    assert {v["status"] for v in verified} == {"completed"}
    assert len({v["appointment_id"] for v in verified}) == 1
    assert Appointment.objects.filter(patient=patient).count() == 1
    payment = Payment.objects.get(reference=reference)
    assert payment.status == PaymentStatus.COMPLETED
    assert payment.appointment.appointment_id == verified[0]["appointment_id"]
    assert PaymentEvent.objects.filter(payment=payment, kind="completed").count() == 1
    assert PaymentEvent.objects.filter(payment=payment, to_status=PaymentStatus.COMPLETED).count() == 1
    assert BookingHold.objects.get(pk=payment.hold_id).state == HoldState.CONFIRMED
    assert Slot.objects.get(department=clinic["general"]).in_use == 1


def test_late_payment_with_the_slot_taken_is_refunded_and_the_patient_told(api_server, standin, clinic):
    general = clinic["general"]
    SlotCapacity.objects.create(department=general, weekday=None, capacity=1)
    late, other = clinic["patient"], make_patient(hospital=clinic["hospital"])
    late_http, other_http = api_client(api_server, late), api_client(api_server, other)
    when = slot_start(days=4, hour=11)
    started = initialize(late_http, general, when=when)
    full = other_http.post("/api/payments/initialize/", json=booking_body(general, when=when))
    assert full.status_code == 409 and full.json()["code"] == "slot_unavailable"  # the only place is held

    # The hold runs out; someone else takes the place; then the first patient's payment lands.
    BookingHold.objects.filter(pk=Payment.objects.get(reference=started["reference"]).hold_id).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    initialize(other_http, general, when=when)
    standin.pay(started["payment_url"], webhook="sync")

    body = late_http.get(f"/api/payments/verify/{started['reference']}/").json()
    assert body["success"] is False and body["status"] in ("refund_pending", "refunded")
    assert "could not be confirmed" in body["message"] and "refunded" in body["message"]
    item = history_status(late_http, started["reference"], "refunded")
    assert item["status_reason"]
    assert not Appointment.objects.filter(patient=late).exists()
    assert Slot.objects.get(department=general).in_use == 1  # capacity never exceeded
    assert standin.calls()["refund"] == 1
    payment = Payment.objects.get(reference=started["reference"])
    assert payment.refund_amount_minor == 200000 and payment.refunded_at
    kinds = list(payment.events.values_list("kind", flat=True))
    assert "confirm_refused" in kinds and "refund_requested" in kinds and "refund.processed" in kinds
    assert any(started["reference"] in m.body and "refund" in m.subject.lower() for m in mail.outbox)


def test_late_payment_with_room_left_is_confirmed(api_server, standin, clinic):
    http = api_client(api_server, clinic["patient"])
    started = initialize(http, clinic["general"])
    BookingHold.objects.filter(pk=Payment.objects.get(reference=started["reference"]).hold_id).update(
        expires_at=timezone.now() - timedelta(minutes=5)
    )
    standin.pay(started["payment_url"])
    body = http.get(f"/api/payments/verify/{started['reference']}/").json()
    assert body["status"] == "completed" and body["appointment_id"]
    assert standin.calls().get("refund", 0) == 0


def test_patient_cancelling_a_day_ahead_gets_a_full_refund(api_server, standin, clinic):
    patient = clinic["patient"]
    started, appointment_id = paid_appointment(api_server, standin, clinic["general"], patient, slot_start(days=3))
    http = api_client(api_server, patient)
    cancelled = http.post(f"/api/appointments/{appointment_id}/cancel/", json={"reason": "Feeling better"})
    assert cancelled.status_code == 200, cancelled.text
    item = history_status(http, started["reference"], "refunded")
    assert item["refunded_at"]
    payment = Payment.objects.get(reference=started["reference"])
    assert payment.refund_amount_minor == 200000
    kinds = list(payment.events.values_list("kind", flat=True))
    assert kinds.index("refund_started") < kinds.index("refund_requested")
    assert "refund.pending" in kinds and "refund.processed" in kinds
    assert standin.calls()["refund"] == 1


def test_patient_cancelling_within_a_day_gets_no_refund(api_server, standin, clinic):
    patient = clinic["patient"]
    started, appointment_id = paid_appointment(api_server, standin, clinic["general"], patient, slot_within_a_day())
    http = api_client(api_server, patient)
    assert http.post(f"/api/appointments/{appointment_id}/cancel/", json={"reason": "Busy"}).status_code == 200
    payment = Payment.objects.get(reference=started["reference"])
    assert payment.status == PaymentStatus.COMPLETED and "no refund" in payment.status_reason
    assert payment.events.filter(kind="refund_not_eligible").exists()
    assert standin.calls().get("refund", 0) == 0


def test_hospital_cancelling_gives_a_full_refund_even_late(api_server, standin, clinic):
    patient, doctor = clinic["patient"], clinic["doctor"]
    started, appointment_id = paid_appointment(api_server, standin, clinic["general"], patient, slot_within_a_day())
    doctor_http = api_client(api_server, doctor)
    response = doctor_http.post(f"/api/appointments/{appointment_id}/cancel/",
                                json={"cancellation_reason": "Clinic closed"})
    assert response.status_code == 200, response.text
    history_status(api_client(api_server, patient), started["reference"], "refunded")


def test_failed_refund_is_kept_and_reported(api_server, standin, clinic):
    patient = clinic["patient"]
    started, appointment_id = paid_appointment(api_server, standin, clinic["general"], patient, slot_start(days=3))
    standin.http.post("/_standin/config", json={"refund_outcome": "failed"})
    http = api_client(api_server, patient)
    http.post(f"/api/appointments/{appointment_id}/cancel/", json={"reason": "Travelling"})
    item = history_status(http, started["reference"], "refund_failed")
    assert "refund failed" in item["status_reason"].lower()


def test_refund_request_refused_by_paystack_is_retried_on_the_next_verify(api_server, standin, clinic):
    patient = clinic["patient"]
    started, appointment_id = paid_appointment(api_server, standin, clinic["general"], patient, slot_start(days=3))
    standin.fault("refund", status=400)
    http = api_client(api_server, patient)
    assert http.post(f"/api/appointments/{appointment_id}/cancel/", json={"reason": "x"}).status_code == 200
    payment = Payment.objects.get(reference=started["reference"])
    assert payment.status == PaymentStatus.REFUND_PENDING and not payment.refund_provider_id
    assert payment.events.filter(kind="refund_request_failed").exists()
    # The patient checks again: the refund is asked for once more and goes through.
    http.get(f"/api/payments/verify/{started['reference']}/")
    history_status(http, started["reference"], "refunded")
    assert standin.calls()["refund"] == 2


def test_paystack_down_at_initialize_is_a_502_and_the_slot_is_given_back(api_server, standin, clinic):
    http = api_client(api_server, clinic["patient"])
    standin.fault("initialize", status=500, count=5)
    response = http.post("/api/payments/initialize/", json=booking_body(clinic["general"]))
    assert response.status_code == 502
    body = response.json()
    assert body["code"] == "payment_provider_error" and body["message"]
    assert standin.calls()["initialize"] == 1  # not idempotent: never retried after reaching Paystack
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.FAILED and payment.events.filter(kind="initialize_failed").exists()
    assert BookingHold.objects.get(pk=payment.hold_id).state == HoldState.RELEASED
    # The same time can be booked again straight away.
    standin.fault("initialize", count=0)
    assert http.post("/api/payments/initialize/", json=booking_body(clinic["general"])).status_code == 200


def test_verify_retries_a_flaky_paystack_and_reports_a_dead_one(api_server, standin, clinic, settings):
    http = api_client(api_server, clinic["patient"])
    started = initialize(http, clinic["general"])
    standin.pay(started["payment_url"])
    standin.fault("verify", status=503, count=1)
    assert http.get(f"/api/payments/verify/{started['reference']}/").json()["status"] == "completed"
    assert standin.calls()["verify"] == 2  # a read: retried once

    second = initialize(http, clinic["general"], when=slot_start(days=5))
    standin.fault("verify", status=503, count=10)
    before = standin.calls()["verify"]
    response = http.get(f"/api/payments/verify/{second['reference']}/")
    assert response.status_code == 502 and response.json()["message"]
    assert standin.calls()["verify"] - before == 1 + settings.PAYSTACK_MAX_RETRIES


def test_paystack_timeouts_are_bounded(api_server, standin, clinic, settings):
    settings.PAYSTACK_READ_TIMEOUT = 0.5
    settings.PAYSTACK_MAX_RETRIES = 0
    http = api_client(api_server, clinic["patient"])
    started = initialize(http, clinic["general"])
    standin.fault("verify", delay=3, count=1)
    began = time.monotonic()
    response = http.get(f"/api/payments/verify/{started['reference']}/")
    assert response.status_code == 502 and time.monotonic() - began < 2.5


def test_retries_of_a_hung_paystack_stop_within_the_call_budget(api_server, standin, clinic, settings):
    """Each retry of a read that timed out waited the full read timeout again: with the defaults
    (10 s, 2 retries) a hung Paystack held the request past gunicorn's 30 s, which kills the worker
    and answers no JSON at all. The retries stop within ``PAYSTACK_CALL_BUDGET``."""
    settings.PAYSTACK_READ_TIMEOUT = 1.0
    settings.PAYSTACK_MAX_RETRIES = 2
    settings.PAYSTACK_CALL_BUDGET = 1.6
    http = api_client(api_server, clinic["patient"])
    started = initialize(http, clinic["general"])
    standin.fault("verify", delay=3, count=3)
    began = time.monotonic()
    response = http.get(f"/api/payments/verify/{started['reference']}/")
    took = time.monotonic() - began
    assert response.status_code == 502 and response.json()["code"] == "payment_provider_error"
    assert took < 2.4, took  # without a budget: 3 x 1 s and the backoff


def test_the_default_paystack_budget_fits_inside_the_workers_timeout():
    from django.conf import settings as django_settings

    gunicorn_timeout = 30  # deploy/gunicorn.conf.py's default
    assert django_settings.PAYSTACK_CALL_BUDGET + 5 <= gunicorn_timeout


def test_events_record_every_change_and_no_card_data_is_kept(api_server, standin, clinic):
    http = api_client(api_server, clinic["patient"])
    started = initialize(http, clinic["general"])
    assert standin.pay(started["payment_url"], webhook="sync")["webhook_status"] == 200
    payment = Payment.objects.get(reference=started["reference"])
    events = list(payment.events.order_by("id"))
    assert [e.kind for e in events][:3] == ["initialized", "checkout_created", "completed"]
    assert all(e.created_at and e.source for e in events)
    completed = next(e for e in events if e.kind == "completed")
    assert (completed.source, completed.from_status, completed.to_status) == ("webhook", "pending", "completed")
    assert completed.amount_minor == 200000 and completed.currency == "NGN"
    # The stand-in sends a card authorization (bin 408408, last4 4081) like Paystack does: none of it is kept.
    stored = json.dumps([list(Payment.objects.filter(pk=payment.pk).values())[0],
                         list(payment.events.values())], default=str)
    for card_value in ("408408", "AUTH_standin", "SIG_standin", "last4", "exp_month"):
        assert card_value not in stored
