"""Contract §4 end to end over HTTP: the API in a live server, Paystack as the local stand-in."""

from __future__ import annotations

import json

import pytest
from django.core import mail

from appointments.models import Appointment, BookingHold, DepartmentFee, HoldState
from payments.models import Payment, PaymentEvent, PaymentStatus
from phb import metrics
from tests.payments.conftest import api_client, booking_body, history_status, initialize, signed_post, slot_start

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def recorded_metrics(monkeypatch):
    """Every metric the code records (the real recorder still runs)."""
    seen: list[tuple[str, str]] = []
    real = metrics.record

    def spy(name, value=1.0, **kwargs):
        seen.append((name, kwargs.get("area", "")))
        return real(name, value, **kwargs)

    monkeypatch.setattr(metrics, "record", spy)
    return seen


def test_status_reports_payments_on_and_off(api_server, standin, settings):
    http = api_client(api_server)
    body = http.get("/api/payments/status/").json()
    assert body == {**body, "payments_enabled": True, "free_appointments": False, "available_providers": ["paystack"]}
    settings.PAYMENTS_ENABLED = False
    body = http.get("/api/payments/status/").json()
    assert body["payments_enabled"] is False and body["free_appointments"] is True and body["message"]


def test_initialize_pay_verify_then_appointment_is_listed(api_server, standin, clinic, recorded_metrics):
    patient, general = clinic["patient"], clinic["general"]
    http = api_client(api_server, patient)

    started = initialize(http, general, statuses=(200, 201))
    assert started["success"] is True
    assert started["payment_url"].startswith(standin.url + "/checkout/")
    assert started["payment_id"] and started["provider_reference"].startswith("PHB-")
    assert started["amount"] == 2000 and started["currency"] == "NGN"
    reference = started["provider_reference"]
    # Paystack got the server's fee in kobo, the callback URL and metadata naming the booking.
    tx = standin.transaction(reference)
    assert tx["requested_amount"] == 200000 and tx["currency"] == "NGN"
    assert tx["metadata"]["booking"]["department_id"] == general.pk
    assert tx["metadata"]["hold_id"] == str(Payment.objects.get(reference=reference).hold_id)
    assert "Persistent cough" not in json.dumps(tx["metadata"])  # nothing clinical leaves for Paystack

    # Not paid yet: verify says so and confirms nothing.
    pending = http.get(f"/api/payments/verify/{reference}/").json()
    assert pending["success"] is False and pending["status"] == "abandoned" and pending["message"]
    assert not Appointment.objects.filter(patient=patient).exists()

    standin.pay(started["payment_url"], webhook="none")
    verified = http.get(f"/api/payments/verify/{reference}/")
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body["success"] is True and body["status"] == "completed"
    assert body["payment_id"] and body["amount"] == 2000 and body["currency"] == "NGN" and body["completed_at"]
    appointment_id = body["appointment_id"]
    assert appointment_id

    listed = http.get("/api/appointments/")
    assert listed.status_code == 200
    assert appointment_id in [item.get("appointment_id") for item in listed.json()]
    appointment = Appointment.objects.get(appointment_id=appointment_id)
    assert appointment.payment_reference == reference and appointment.chief_complaint == "Persistent cough"

    history = http.get("/api/payments/history/").json()
    assert history["success"] is True and history["count"] == 1
    item = history["payments"][0]
    assert item["reference"] == reference and item["status"] == "completed" and item["payment_method"] == "card"
    assert item["appointment_data"]["department"] == "General Medicine" and item["appointment_data"]["time"] == "10:00"

    kinds = list(PaymentEvent.objects.filter(payment__reference=reference).values_list("kind", flat=True))
    assert kinds[:2] == ["initialized", "checkout_created"] and "completed" in kinds
    assert ("PaymentSuccess", "Payments") in recorded_metrics


def test_client_amount_is_ignored_and_specialist_fee_is_charged(api_server, standin, clinic):
    http = api_client(api_server, clinic["patient"])
    started = initialize(http, clinic["cardiology"], amount=1, priority="emergency", statuses=(200, 201))
    assert started["amount"] == 10000
    assert standin.transaction(started["reference"])["requested_amount"] == 1_000_000


def test_webhook_first_then_verify(api_server, standin, clinic):
    http = api_client(api_server, clinic["patient"])
    started = initialize(http, clinic["general"], statuses=(200, 201))
    reference = started["reference"]
    paid = standin.pay(started["payment_url"], webhook="sync")
    assert paid["webhook_status"] == 200
    payment = Payment.objects.get(reference=reference)
    assert payment.status == PaymentStatus.COMPLETED and payment.appointment_id
    assert standin.calls()["verify"] == 1  # the webhook re-verified with Paystack before giving value

    body = http.get(f"/api/payments/verify/{reference}/").json()
    assert body["status"] == "completed" and body["appointment_id"] == payment.appointment.appointment_id
    assert standin.calls()["verify"] == 1  # settled: answered from the database
    assert Appointment.objects.filter(patient=clinic["patient"]).count() == 1


def test_verify_first_then_webhook(api_server, standin, clinic):
    http = api_client(api_server, clinic["patient"])
    started = initialize(http, clinic["general"], statuses=(200, 201))
    reference = started["reference"]
    standin.pay(started["payment_url"], webhook="none")
    assert http.get(f"/api/payments/verify/{reference}/").json()["status"] == "completed"
    calls = standin.calls()["verify"]

    assert standin.redeliver(reference) == 200
    assert standin.redeliver(reference) == 200
    assert standin.calls()["verify"] == calls  # late and duplicate deliveries cost no Paystack call
    assert Appointment.objects.filter(patient=clinic["patient"]).count() == 1
    assert PaymentEvent.objects.filter(payment__reference=reference, kind="completed").count() == 1


def test_forged_or_missing_signature_is_401_and_changes_nothing(api_server, standin, clinic):
    http = api_client(api_server, clinic["patient"])
    started = initialize(http, clinic["general"], statuses=(200, 201))
    reference = started["reference"]
    standin.pay(started["payment_url"], webhook="none")
    payload = json.dumps({"event": "charge.success", "data": {"reference": reference, "status": "success",
                                                              "amount": 200000, "currency": "NGN"}}).encode()
    forged = signed_post(api_server, payload, signature="0" * 128)
    assert forged.status_code == 401 and forged.json()["message"]
    assert signed_post(api_server, payload, signature=None).status_code == 401
    # A valid signature of other bytes (e.g. the JSON re-serialised) is not a signature of these.
    from payments.gateway import sign
    from tests.payments.conftest import SECRET

    respaced = json.dumps(json.loads(payload), indent=1).encode()
    assert signed_post(api_server, payload, signature=sign(respaced, SECRET)).status_code == 401
    assert Payment.objects.get(reference=reference).status == PaymentStatus.PENDING
    assert standin.calls().get("verify", 0) == 0

    assert signed_post(api_server, payload).status_code == 200
    assert Payment.objects.get(reference=reference).status == PaymentStatus.COMPLETED


def test_webhook_payload_is_not_trusted_without_paystack(api_server, standin, clinic):
    """A correctly signed charge.success for an unpaid transaction gives no value: Paystack says abandoned."""
    http = api_client(api_server, clinic["patient"])
    started = initialize(http, clinic["general"], statuses=(200, 201))
    payload = json.dumps({"event": "charge.success", "data": {"reference": started["reference"],
                                                              "status": "success", "amount": 200000}}).encode()
    assert signed_post(api_server, payload).status_code == 200
    assert Payment.objects.get(reference=started["reference"]).status == PaymentStatus.ABANDONED
    assert not Appointment.objects.filter(patient=clinic["patient"]).exists()


def test_webhook_unknown_reference_and_other_events_are_acknowledged(api_server, standin):
    for event in ({"event": "charge.success", "data": {"reference": "PHB-NOPE"}},
                  {"event": "transfer.success", "data": {"reference": "x"}}):
        response = signed_post(api_server, json.dumps(event).encode())
        assert response.status_code == 200 and response.json()["result"] == "ignored"
    bad = signed_post(api_server, b"not json")
    assert bad.status_code == 400 and bad.json()["message"]


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [(100000, None, "does not match the fee"), (200000, "USD", "was made in USD")],
)
def test_underpaid_or_wrong_currency_is_not_confirmed_and_is_refunded(api_server, standin, clinic, amount,
                                                                      currency, expected, recorded_metrics):
    http = api_client(api_server, clinic["patient"])
    started = initialize(http, clinic["general"], statuses=(200, 201))
    reference = started["reference"]
    standin.pay(started["payment_url"], amount=amount, currency=currency, webhook="none")
    body = http.get(f"/api/payments/verify/{reference}/").json()
    assert body["success"] is False and body["status"] == "refund_pending"
    assert expected in body["message"] and body["error"] == body["message"]
    history_status(http, reference, PaymentStatus.REFUNDED)
    assert not Appointment.objects.filter(patient=clinic["patient"]).exists()
    payment = Payment.objects.get(reference=reference)
    assert payment.refund_amount_minor == amount and payment.refund_provider_id
    assert standin.calls()["refund"] == 1
    assert BookingHold.objects.get(pk=payment.hold_id).state == HoldState.RELEASED  # the place is given back
    assert ("PaymentFailure", "Payments") in recorded_metrics
    assert any("refunded" in m.subject.lower() for m in mail.outbox)


def test_declined_payment_says_why_and_keeps_the_hold_for_a_retry(api_server, standin, clinic):
    http = api_client(api_server, clinic["patient"])
    started = initialize(http, clinic["general"], statuses=(200, 201))
    standin.pay(started["payment_url"], outcome="failed")
    body = http.get(f"/api/payments/verify/{started['reference']}/").json()
    assert body["success"] is False and body["status"] == "failed" and "Declined" in body["message"]
    payment = Payment.objects.get(reference=started["reference"])
    assert BookingHold.objects.get(pk=payment.hold_id).state == HoldState.HELD
    assert not Appointment.objects.exists()


def test_waived_when_payments_are_off(api_server, standin, clinic, settings):
    settings.PAYMENTS_ENABLED = False
    http = api_client(api_server, clinic["patient"])
    response = http.post("/api/payments/initialize/", json=booking_body(clinic["cardiology"]))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["success"] is True and body["payment_status"] == "waived" and body["message"]
    appointment = Appointment.objects.get(appointment_id=body["appointment_id"])
    assert appointment.patient == clinic["patient"] and appointment.payment_status == "waived"
    assert standin.calls().get("initialize", 0) == 0
    assert Payment.objects.get(appointment=appointment).status == PaymentStatus.WAIVED


def test_waived_when_the_fee_is_zero(api_server, standin, clinic):
    DepartmentFee.objects.create(department=clinic["general"], priority="normal", amount=0)
    http = api_client(api_server, clinic["patient"])
    body = initialize(http, clinic["general"], statuses=(200, 201))
    assert body["payment_status"] == "waived" and body["appointment_id"]
    assert standin.calls().get("initialize", 0) == 0


def test_invalid_booking_bodies_are_400_with_a_message(api_server, standin, clinic):
    http = api_client(api_server, clinic["patient"])
    general = clinic["general"]
    cases = [
        {k: v for k, v in booking_body(general).items() if k != "department_id"},
        booking_body(general, appointment_date="tomorrow"),
        booking_body(general, appointment_date="2030-01-01"),
        booking_body(general, payment_method="bank_transfer"),
        booking_body(general, priority="whenever"),
        booking_body(general, chief_complaint="", symptoms_data=[]),
        {"appointment_id": "APT-XXXX", "amount": 2000},
    ]
    for body in cases:
        response = http.post("/api/payments/initialize/", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["message"]
    # Refused by the booking rules (past time): a clear message, no payment, no Paystack call.
    past = http.post("/api/payments/initialize/", json=booking_body(general, when=slot_start(days=-2)))
    assert past.status_code == 400 and "past" in past.json()["message"]
    assert not Payment.objects.exists() and standin.calls().get("initialize", 0) == 0


def test_payment_endpoints_are_private(api_server, standin, clinic, other_patient):
    from tests.helpers import assert_private

    http = api_client(api_server, clinic["patient"])
    started = initialize(http, clinic["general"], statuses=(200, 201))
    assert_private(f"/api/payments/verify/{started['reference']}/", owner=clinic["patient"], stranger=other_patient,
                   owner_status=200)
    assert api_client(api_server).get("/api/payments/history/").status_code == 401
    assert api_client(api_server).post("/api/payments/initialize/", json={}).status_code == 401
    assert api_client(api_server, other_patient).get("/api/payments/history/").json()["count"] == 0
