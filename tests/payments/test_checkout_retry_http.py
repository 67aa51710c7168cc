"""Pressing Pay again for a time the patient already holds (the booking page does this each time
Proceed is pressed, also after the payment window was closed): her own open checkout is reopened
or replaced, never a 409 against herself and never two holds."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from appointments.models import Appointment, BookingHold, HoldState, Slot
from payments.models import Payment, PaymentStatus
from tests.payments.conftest import api_client, booking_body, initialize, slot_start

pytestmark = pytest.mark.django_db(transaction=True)


def _live_holds(patient) -> list[BookingHold]:
    return list(BookingHold.objects.filter(patient=patient, state=HoldState.HELD))


def test_pressing_pay_again_reopens_the_same_checkout(api_server, standin, clinic):
    patient, general = clinic["patient"], clinic["general"]
    http = api_client(api_server, patient)
    first = initialize(http, general)
    again = initialize(http, general, chief_complaint="Cough and fever")
    assert again["reference"] == first["reference"] and again["access_code"] == first["access_code"]
    assert standin.calls()["initialize"] == 1
    [hold] = _live_holds(patient)
    assert hold.details["chief_complaint"] == "Cough and fever"
    assert Slot.objects.get(department=general).in_use == 1
    standin.pay(again["payment_url"], webhook="none")
    assert http.get(f"/api/payments/verify/{again['reference']}/").json()["status"] == "completed"
    [appointment] = Appointment.objects.filter(patient=patient)
    assert appointment.chief_complaint == "Cough and fever"


def test_a_different_booking_at_the_same_time_replaces_her_hold(api_server, standin, clinic):
    patient, general, cardiology = clinic["patient"], clinic["general"], clinic["cardiology"]
    http = api_client(api_server, patient)
    first = initialize(http, general)
    second = initialize(http, cardiology)
    assert second["reference"] != first["reference"]
    [hold] = _live_holds(patient)
    assert hold.department_id == cardiology.pk
    old = Payment.objects.get(reference=first["reference"])
    assert old.status == PaymentStatus.EXPIRED and "Replaced" in old.status_reason
    assert Slot.objects.get(department=general).in_use == 0
    assert Slot.objects.get(department=cardiology).in_use == 1
    # Another priority for the same slot is another price: replaced too.
    third = initialize(http, cardiology, priority="urgent")
    assert third["reference"] != second["reference"]
    assert [h.priority for h in _live_holds(patient)] == ["urgent"]
    assert Slot.objects.get(department=cardiology).in_use == 1


def test_a_checkout_about_to_run_out_is_replaced(api_server, standin, clinic):
    patient, general = clinic["patient"], clinic["general"]
    http = api_client(api_server, patient)
    first = initialize(http, general)
    BookingHold.objects.filter(patient=patient).update(expires_at=timezone.now() + timedelta(seconds=30))
    second = initialize(http, general)
    assert second["reference"] != first["reference"]
    assert len(_live_holds(patient)) == 1 and Slot.objects.get(department=general).in_use == 1
    assert Payment.objects.get(reference=first["reference"]).status == PaymentStatus.EXPIRED


def test_another_time_is_another_booking(api_server, standin, clinic):
    patient, general = clinic["patient"], clinic["general"]
    http = api_client(api_server, patient)
    first = initialize(http, general, when=slot_start(hour=10))
    second = initialize(http, general, when=slot_start(hour=11))
    assert first["reference"] != second["reference"] and len(_live_holds(patient)) == 2


def test_a_late_charge_on_the_replaced_checkout_is_refunded(api_server, standin, clinic):
    """She paid in the first window after all, then started another booking at that time."""
    patient, general, cardiology = clinic["patient"], clinic["general"], clinic["cardiology"]
    http = api_client(api_server, patient)
    first = initialize(http, general)
    second = initialize(http, cardiology)
    standin.pay(second["payment_url"], webhook="none")
    assert http.get(f"/api/payments/verify/{second['reference']}/").json()["status"] == "completed"
    standin.pay(first["payment_url"], webhook="none")
    late = http.get(f"/api/payments/verify/{first['reference']}/").json()
    assert late["status"] in ("refunded", "refund_pending"), late
    assert Appointment.objects.filter(patient=patient).count() == 1


def test_double_clicks_race_to_one_hold_and_one_checkout(api_server, standin, clinic):
    """Concurrent presses: all answered with the same checkout; one hold, one provider call."""
    patient, general = clinic["patient"], clinic["general"]
    standin.fault("initialize", delay=0.5)  # a slow provider keeps the first checkout opening
    clients = [api_client(api_server, patient) for _ in range(6)]
    barrier = threading.Barrier(len(clients))

    def press(http):
        barrier.wait()
        return http.post("/api/payments/initialize/", json=booking_body(general))

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        responses = [f.result(timeout=120) for f in [pool.submit(press, c) for c in clients]]

    assert [r.status_code for r in responses] == [200] * len(clients), [r.text for r in responses]
    assert len({r.json()["reference"] for r in responses}) == 1
    assert len(_live_holds(patient)) == 1
    assert Slot.objects.get(department=general).in_use == 1
    assert Payment.objects.filter(patient=patient).count() == 1
    if connection.vendor == "postgresql":
        assert standin.calls()["initialize"] == 1
