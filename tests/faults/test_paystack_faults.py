"""Paystack hanging (the stand-in answering after the client's read timeout, or a socket that
never answers): the booking request returns within its timeout with a JSON 502, is not repeated
after it reached Paystack, holds no lock meanwhile (another patient books the same slot at once),
gives the slot back, and the patient's next try books exactly once."""

from __future__ import annotations

import threading
import time

import pytest

from appointments.models import Appointment, BookingHold, HoldState
from payments.models import Payment, PaymentStatus
from tests.factories import make_patient
from tests.faults.conftest import hanging_endpoint
from tests.payments.conftest import api_client, booking_body, slot_start

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

READ = 1.0
BOUND = READ + 2.0  # connect + one read timeout, plus the request's own work on a busy machine


def _paystack_timeouts(settings) -> None:
    settings.PAYSTACK_CONNECT_TIMEOUT = 0.5
    settings.PAYSTACK_READ_TIMEOUT = READ


def test_paystack_hanging_at_initialize_is_bounded_and_books_once_after(api_server, standin, clinic, settings):
    _paystack_timeouts(settings)
    patient, neighbour = clinic["patient"], make_patient(hospital=clinic["hospital"])
    http, other = api_client(api_server, patient), api_client(api_server, neighbour)
    when = slot_start(days=4, hour=11)
    standin.fault("initialize", delay=READ * 4, count=1)

    outcome: dict = {}

    def hung_booking() -> None:
        began = time.monotonic()
        outcome["response"] = http.post("/api/payments/initialize/", json=booking_body(clinic["general"], when=when))
        outcome["took"] = time.monotonic() - began

    booking = threading.Thread(target=hung_booking)
    booking.start()
    time.sleep(0.3)
    began = time.monotonic()
    neighbours = other.post("/api/payments/initialize/", json=booking_body(clinic["general"], when=when))
    neighbour_took = time.monotonic() - began
    booking.join(timeout=30)

    response, took = outcome["response"], outcome["took"]
    assert response.status_code == 502, response.text
    assert response.json()["code"] == "payment_provider_error" and response.json()["message"]
    assert took < BOUND, took
    assert standin.calls()["initialize"] == 2, "sent once (never repeated after reaching Paystack), and the neighbour's"
    assert neighbours.status_code == 200 and neighbour_took < BOUND, (neighbours.text, neighbour_took)

    failed = Payment.objects.get(patient=patient)
    assert failed.status == PaymentStatus.FAILED
    assert BookingHold.objects.get(pk=failed.hold_id).state == HoldState.RELEASED

    retry = http.post("/api/payments/initialize/", json=booking_body(clinic["general"], when=when))
    assert retry.status_code == 200, retry.text
    standin.pay(retry.json()["payment_url"])
    verified = http.get(f"/api/payments/verify/{retry.json()['reference']}/")
    assert verified.status_code == 200 and verified.json()["status"] == "completed", verified.text
    assert http.get(f"/api/payments/verify/{retry.json()['reference']}/").json()["status"] == "completed"
    assert Appointment.objects.filter(patient=patient).count() == 1
    assert Payment.objects.filter(patient=patient, status=PaymentStatus.COMPLETED).count() == 1


def test_paystack_unreachable_socket_is_bounded_and_recovers(api_server, standin, clinic, settings):
    """A Paystack that accepts and never answers: every call ends at the read timeout."""
    _paystack_timeouts(settings)
    http = api_client(api_server, clinic["patient"])
    real = settings.PAYSTACK_BASE_URL
    with hanging_endpoint() as endpoint:
        settings.PAYSTACK_BASE_URL = endpoint
        began = time.monotonic()
        response = http.post("/api/payments/initialize/", json=booking_body(clinic["general"]))
        took = time.monotonic() - began
    settings.PAYSTACK_BASE_URL = real
    assert response.status_code == 502 and response.json()["message"], response.text
    assert took < BOUND, took
    # Back by itself: the next booking goes through, the failed one left nothing behind.
    again = http.post("/api/payments/initialize/", json=booking_body(clinic["general"]))
    assert again.status_code == 200, again.text
    assert Payment.objects.filter(patient=clinic["patient"], status=PaymentStatus.FAILED).count() == 1
