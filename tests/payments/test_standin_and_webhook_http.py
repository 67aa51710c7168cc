"""The stand-in as a browser and `make run` see it, and the webhook's edges."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from payments.gateway import BadSignature, parse_signed_event, sign
from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.standin import sidecar
from tests.factories import make_hospital_admin
from tests.payments.conftest import SECRET, api_client, booking_body, signed_post

pytestmark = pytest.mark.django_db(transaction=True)


def test_signature_is_checked_over_the_raw_bytes():
    body = b'{"event":"charge.success","data":{"reference":"PHB-1"}}'
    event = parse_signed_event(raw_body=body, signature=sign(body, SECRET), secret_key=SECRET)
    assert (event.event, event.reference) == ("charge.success", "PHB-1")
    assert parse_signed_event(raw_body=body, signature=sign(body, SECRET).upper(), secret_key=SECRET).reference
    for signature in (None, "", sign(body, "another-key"), sign(body + b" ", SECRET), "z" * 128):
        with pytest.raises(BadSignature):
            parse_signed_event(raw_body=body, signature=signature, secret_key=SECRET)
    refund = b'{"event":"refund.processed","data":{"transaction_reference":"PHB-2","refund_reference":"RF1"}}'
    assert parse_signed_event(raw_body=refund, signature=sign(refund, SECRET), secret_key=SECRET).reference == "PHB-2"


def test_checkout_page_pays_sends_the_webhook_and_returns_to_the_callback(api_server, standin, clinic, settings):
    http = api_client(api_server, clinic["patient"])
    started = http.post("/api/payments/initialize/", json=booking_body(clinic["general"])).json()
    page = standin.http.get(started["payment_url"])
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert started["reference"] in page.text and "NGN 2,000.00" in page.text

    paid = standin.http.post(started["payment_url"], data={"outcome": "success"})  # as the browser does
    assert paid.status_code == 303
    location = urlsplit(paid.headers["location"])
    assert paid.headers["location"].startswith(settings.PAYSTACK_CALLBACK_URL)
    # The frontend's appointments list: its router has no payment-callback route, and any
    # /account/appointments/<x> path is the detail page of an appointment called <x>.
    assert location.path == "/account/appointments"
    assert parse_qs(location.query)["reference"] == [started["reference"]]
    assert standin.deliveries()[-1] == {"event": "charge.success", "reference": started["reference"], "status": 200}
    assert Payment.objects.get(reference=started["reference"]).status == PaymentStatus.COMPLETED


def test_refund_webhook_redeliveries_apply_once(api_server, standin, clinic):
    """A refund started from Paystack's dashboard: its webhook (delivered twice) is checked with
    Paystack and applied once."""
    http = api_client(api_server, clinic["patient"])
    started = http.post("/api/payments/initialize/", json=booking_body(clinic["general"])).json()
    standin.pay(started["payment_url"], webhook="sync")
    standin.http.post("/_standin/config", json={"webhook_url": "", "refund_webhook_delay": 0.1})
    refund = standin.http.post("/refund", json={"transaction": started["reference"]},
                               headers={"Authorization": f"Bearer {SECRET}"}).json()["data"]
    deadline = time.monotonic() + 10
    while standin.http.get(f"/refund/{refund['id']}", headers={"Authorization": f"Bearer {SECRET}"}
                           ).json()["data"]["status"] != "processed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    fetches_before = standin.calls()["fetch_refund"]
    payload = json.dumps({"event": "refund.processed", "data": {
        "id": refund["id"], "status": "processed", "transaction_reference": started["reference"],
        "amount": 200000, "currency": "NGN"}}).encode()
    assert signed_post(api_server, payload).json()["result"] == "processed"
    assert signed_post(api_server, payload).json()["result"] == "duplicate"
    payment = Payment.objects.get(reference=started["reference"])
    assert payment.status == PaymentStatus.REFUNDED and payment.refund_amount_minor == 200000
    assert PaymentEvent.objects.filter(payment=payment, kind="refund.processed").count() == 1
    assert standin.calls()["fetch_refund"] == fetches_before + 1, "the duplicate made no Paystack call"
    # A later charge.success redelivery cannot bring a refunded payment back.
    standin.http.post("/_standin/config", json={"webhook_url": f"{api_server.url}/api/payments/webhook/"})
    assert standin.redeliver(started["reference"]) == 200
    assert Payment.objects.get(reference=started["reference"]).status == PaymentStatus.REFUNDED


def _processed_refund_of(standin, reference: str) -> dict:
    """A refund of the whole transaction made at the stand-in (as from Paystack's dashboard), once processed."""
    auth = {"Authorization": f"Bearer {SECRET}"}
    refund = standin.http.post("/refund", json={"transaction": reference}, headers=auth).json()["data"]
    deadline = time.monotonic() + 10
    while standin.http.get(f"/refund/{refund['id']}", headers=auth).json()["data"]["status"] != "processed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return refund


def _paystack_refund_event(event: str, reference: str, *, amount: int = 200000) -> bytes:
    """A refund event as Paystack documents it: the transaction's reference and the processor's
    refund reference, no refund id."""
    return json.dumps({"event": event, "data": {
        "status": event.split(".")[1], "transaction_reference": reference, "refund_reference": "132013318360",
        "amount": amount, "currency": "NGN", "processor": "mpgs_zen", "domain": "test",
        "customer": {"email": "patient@example.test"}, "integration": 463433}}).encode()


def test_a_refund_event_without_the_refunds_id_is_found_at_paystack_and_applied(api_server, standin, clinic):
    http = api_client(api_server, clinic["patient"])
    started = http.post("/api/payments/initialize/", json=booking_body(clinic["general"])).json()
    standin.pay(started["payment_url"], webhook="sync")
    standin.http.post("/_standin/config", json={"webhook_url": "", "refund_webhook_delay": 0.1})
    _processed_refund_of(standin, started["reference"])
    payload = _paystack_refund_event("refund.processed", started["reference"])
    assert signed_post(api_server, payload).json()["result"] == "processed"
    payment = Payment.objects.get(reference=started["reference"])
    assert payment.status == PaymentStatus.REFUNDED and payment.refund_amount_minor == 200000
    assert signed_post(api_server, payload).json()["result"] == "duplicate"
    assert PaymentEvent.objects.filter(payment=payment, kind="refund.processed").count() == 1


def test_a_refund_we_asked_for_settles_on_paystacks_refund_event(api_server, standin, clinic):
    """The hospital's refund is followed by Paystack's events at once, not an hour later by reconciliation."""
    http = api_client(api_server, clinic["patient"])
    started = http.post("/api/payments/initialize/", json=booking_body(clinic["general"])).json()
    standin.pay(started["payment_url"], webhook="sync")
    standin.http.post("/_standin/config", json={"webhook_url": "", "refund_webhook_delay": 0.1})
    admin = make_hospital_admin(hospital=clinic["hospital"])
    payment = Payment.objects.get(reference=started["reference"])
    assert api_client(api_server, admin).post(f"/api/payments/{payment.pk}/refund/", json={}).status_code == 200
    time.sleep(0.3)  # the stand-in settles the refund (its webhooks go nowhere)
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.REFUND_PENDING
    assert signed_post(api_server, _paystack_refund_event("refund.processed", started["reference"])).status_code == 200
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.REFUNDED


def test_webhook_source_allow_list(api_server, standin, settings):
    settings.PAYSTACK_WEBHOOK_ALLOWED_IPS = ["52.31.139.75", "52.49.173.169", "52.214.14.220"]
    body = json.dumps({"event": "charge.success", "data": {"reference": "PHB-X"}}).encode()
    response = signed_post(api_server, body)
    assert response.status_code == 403 and response.json()["message"]
    settings.PAYSTACK_WEBHOOK_ALLOWED_IPS = ["127.0.0.1"]
    assert signed_post(api_server, body).status_code == 200


def test_standin_speaks_paystack_errors(standin):
    auth = {"Authorization": f"Bearer {SECRET}"}
    body = {"email": "x@example.test", "amount": 5000, "reference": "PHB-STANDIN-1"}
    assert standin.http.post("/transaction/initialize", json=body, headers={"Authorization": "Bearer nope"}
                             ).status_code == 401
    first = standin.http.post("/transaction/initialize", json=body, headers=auth).json()
    assert first["status"] is True and first["data"]["reference"] == "PHB-STANDIN-1"
    again = standin.http.post("/transaction/initialize", json=body, headers=auth)
    assert again.status_code == 400 and again.json()["code"] == "duplicate_reference"
    assert standin.http.post("/transaction/initialize", json={**body, "reference": "bad ref!"},
                             headers=auth).status_code == 400
    assert standin.http.post("/transaction/initialize", json={**body, "reference": "PHB-2", "amount": 50.5},
                             headers=auth).status_code == 400
    missing = standin.http.get("/transaction/verify/PHB-NOPE", headers=auth)
    assert missing.status_code == 400 and missing.json()["status"] is False
    unpaid = standin.http.post("/refund", json={"transaction": "PHB-STANDIN-1"}, headers=auth)
    assert unpaid.status_code == 400


def test_make_run_sidecar_starts_the_standin_only_without_a_key():
    assert sidecar({"PAYSTACK_SECRET_KEY": "sk_live_configured"}) is None
    env = {"PORT": "8000"}
    process = sidecar(env)
    try:
        assert env["PAYSTACK_SECRET_KEY"].startswith("sk_test_local_")
        assert httpx.get(f"{env['PAYSTACK_BASE_URL']}/_standin/health").json() == {"status": "ok"}
        denied = httpx.get(f"{env['PAYSTACK_BASE_URL']}/transaction/verify/x", headers={"Authorization": "Bearer x"})
        assert denied.status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)
