"""One payment, and a hospital administrator's refund, over HTTP against the Paystack stand-in."""

from __future__ import annotations

import threading

import pytest

from appointments.models import Appointment, AppointmentStatus
from payments.models import Payment, PaymentStatus
from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_hospital_admin, make_patient
from tests.payments.conftest import (
    api_client,
    history_status,
    initialize,
    paid_appointment,
    slot_start,
    slot_within_a_day,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def paid(api_server, standin, clinic):
    """A completed payment of the clinic's patient (NGN 2,000) and the clinic's administrator."""
    started, appointment_id = paid_appointment(api_server, standin, clinic["general"], clinic["patient"],
                                               slot_start(days=3))
    payment = Payment.objects.get(reference=started["reference"])
    return {"payment": payment, "appointment_id": appointment_id, "admin": make_hospital_admin(hospital=clinic["hospital"])}


def _outsiders(clinic) -> dict:
    elsewhere = HospitalFactory()
    return {
        "another patient": make_patient(hospital=clinic["hospital"]),
        "an admin of another hospital": make_hospital_admin(hospital=elsewhere),
        "a doctor of another hospital": make_doctor(department=DepartmentFactory(hospital=elsewhere)),
    }


def test_a_payment_is_read_by_its_payer_and_her_hospitals_admin_only(api_server, standin, clinic, paid):
    payment = paid["payment"]
    url = f"/api/payments/{payment.pk}/"
    for reader in (clinic["patient"], paid["admin"]):
        response = api_client(api_server, reader).get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["id"] == str(payment.pk) and body["reference"] == payment.reference
        assert body["status"] == "completed" and body["amount"] == 2000 and body["currency"] == "NGN"
        assert body["transaction_id"] and body["appointment_id"] == paid["appointment_id"]
        assert body["completed_at"] and body["refund_amount"] is None and body["payment_method"] == "card"
    for who, outsider in {**_outsiders(clinic), "the clinic's doctor": clinic["doctor"]}.items():
        response = api_client(api_server, outsider).get(url)
        assert response.status_code == 404, (who, response.text)
        assert payment.reference not in response.text
    anonymous = api_client(api_server).get(url)
    assert anonymous.status_code == 401 and anonymous.json()["message"]


def test_the_hospital_refunds_a_payment_in_full(api_server, standin, clinic, paid):
    payment, admin = paid["payment"], paid["admin"]
    response = api_client(api_server, admin).post(f"/api/payments/{payment.pk}/refund/", json={})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["message"]
    assert body["payment"]["status"] == "refund_pending" and body["payment"]["refund_amount"] == 2000
    item = history_status(api_client(api_server, clinic["patient"]), payment.reference, "refunded")
    assert item["refunded_at"]
    payment.refresh_from_db()
    assert payment.refund_amount_minor == 200000 and payment.refund_reason == "Refunded by the hospital."
    started = payment.events.get(kind="refund_started")
    assert started.actor_id == admin.pk and started.source == "admin"
    assert standin.calls()["refund"] == 1
    assert payment.events.get(kind="refund_requested").amount_minor == 200000  # the provider's answer


def test_the_hospital_refunds_part_of_a_payment_with_its_reason(api_server, standin, clinic, paid):
    payment = paid["payment"]
    url = f"/api/payments/{payment.pk}/refund/"
    admin_http = api_client(api_server, paid["admin"])
    # While the appointment is open, a cancellation by the hospital would owe all of it: no part yet.
    early = admin_http.post(url, json={"amount": 500.5})
    assert early.status_code == 409 and early.json()["code"] == "partial_refund_not_allowed", early.text
    assert early.json()["message"] and Payment.objects.get(pk=payment.pk).status == PaymentStatus.COMPLETED
    Appointment.objects.filter(appointment_id=paid["appointment_id"]).update(status=AppointmentStatus.COMPLETED)
    response = admin_http.post(url, json={"amount": 500.5, "reason": "Consultation cut short"})
    assert response.status_code == 200, response.text
    history_status(api_client(api_server, clinic["patient"]), payment.reference, "refunded")
    detail = api_client(api_server, clinic["patient"]).get(f"/api/payments/{payment.pk}/").json()
    assert detail["refund_amount"] == 500.5 and detail["refund_reason"] == "Consultation cut short"
    assert Payment.objects.get(pk=payment.pk).events.get(kind="refund_requested").amount_minor == 50050


def test_a_goodwill_part_after_a_late_cancellation_with_no_refund_due(api_server, standin, clinic):
    late = slot_within_a_day()
    started, appointment_id = paid_appointment(api_server, standin, clinic["general"], clinic["patient"], late)
    patient_http = api_client(api_server, clinic["patient"])
    assert patient_http.post(f"/api/appointments/{appointment_id}/cancel/", json={"reason": "Busy"}).status_code == 200
    payment = Payment.objects.get(reference=started["reference"])
    assert payment.status == PaymentStatus.COMPLETED  # the policy: no refund this late
    admin_http = api_client(api_server, make_hospital_admin(hospital=clinic["hospital"]))
    response = admin_http.post(f"/api/payments/{payment.pk}/refund/", json={"amount": 1000, "reason": "Goodwill"})
    assert response.status_code == 200, response.text
    history_status(patient_http, payment.reference, "refunded")
    assert Payment.objects.get(pk=payment.pk).refund_amount_minor == 100000


@pytest.mark.parametrize("body", [
    {"amount": 2000.01}, {"amount": 0}, {"amount": -5}, {"amount": 10.001}, {"amount": "ten"}, {"amount": True},
    {"reason": "x" * 256}, {"reason": 7}, [],
])
def test_a_bad_refund_is_a_400_with_a_message_and_changes_nothing(api_server, standin, clinic, paid, body):
    payment = paid["payment"]
    response = api_client(api_server, paid["admin"]).post(f"/api/payments/{payment.pk}/refund/", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["message"]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.COMPLETED and payment.refund_amount_minor is None
    assert not payment.events.filter(kind="refund_started").exists()
    assert standin.calls().get("refund", 0) == 0


def test_only_the_hospitals_admin_refunds_and_only_once(api_server, standin, clinic, paid):
    payment = paid["payment"]
    url = f"/api/payments/{payment.pk}/refund/"
    patient_try = api_client(api_server, clinic["patient"]).post(url, json={})
    assert patient_try.status_code == 403 and patient_try.json()["message"]
    assert api_client(api_server, clinic["doctor"]).post(url, json={}).status_code == 403
    assert api_client(api_server, make_hospital_admin(hospital=HospitalFactory())).post(url, json={}).status_code == 404
    assert api_client(api_server).post(url, json={}).status_code == 401
    assert standin.calls().get("refund", 0) == 0

    admin_http = api_client(api_server, paid["admin"])
    assert admin_http.post(url, json={}).status_code == 200
    again = admin_http.post(url, json={"amount": 100})
    assert again.status_code == 409 and again.json()["code"] == "not_refundable" and again.json()["message"]
    assert standin.calls()["refund"] == 1


def test_an_unpaid_payment_is_not_the_hospitals_to_refund(api_server, standin, clinic):
    started = initialize(api_client(api_server, clinic["patient"]), clinic["general"])
    payment = Payment.objects.get(reference=started["reference"])
    admin_http = api_client(api_server, make_hospital_admin(hospital=clinic["hospital"]))
    assert admin_http.post(f"/api/payments/{payment.pk}/refund/", json={}).status_code == 404
    assert admin_http.get(f"/api/payments/{payment.pk}/").status_code == 404  # no appointment at her hospital yet
    assert standin.calls().get("refund", 0) == 0


def test_a_refused_refund_request_is_recorded_and_asked_again(api_server, standin, clinic, paid):
    payment = paid["payment"]
    standin.fault("refund", status=400)
    response = api_client(api_server, paid["admin"]).post(f"/api/payments/{payment.pk}/refund/", json={})
    assert response.status_code == 202, response.text
    assert response.json()["success"] is True and "asked again" in response.json()["message"]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUND_PENDING and not payment.refund_provider_id
    # The patient's next check asks the provider again, as for the policy's refunds.
    history_status(api_client(api_server, clinic["patient"]), payment.reference, "refund_pending")
    api_client(api_server, clinic["patient"]).get(f"/api/payments/verify/{payment.reference}/")
    history_status(api_client(api_server, clinic["patient"]), payment.reference, "refunded")


def _at_once(*calls) -> list:
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_admins_refunding_at_once_refund_once(api_server, standin, clinic, paid):
    payment = paid["payment"]
    url = f"/api/payments/{payment.pk}/refund/"
    colleague = make_hospital_admin(hospital=clinic["hospital"])
    clients = [api_client(api_server, admin) for admin in (paid["admin"], colleague, paid["admin"], colleague)]
    results = _at_once(*(lambda http=http: http.post(url, json={}) for http in clients))
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409, 409, 409], [r.text for r in results]
    history_status(api_client(api_server, clinic["patient"]), payment.reference, "refunded")
    assert standin.calls()["refund"] == 1
    assert Payment.objects.get(pk=payment.pk).events.filter(kind="refund_started").count() == 1


def test_a_refund_and_a_hospital_cancellation_at_once_refund_once(api_server, standin, clinic, paid):
    payment = paid["payment"]
    admin_http, doctor_http = api_client(api_server, paid["admin"]), api_client(api_server, clinic["doctor"])
    refund, cancel = _at_once(
        lambda: admin_http.post(f"/api/payments/{payment.pk}/refund/", json={"reason": "Clinic closed"}),
        lambda: doctor_http.post(f"/api/appointments/{paid['appointment_id']}/cancel/",
                                 json={"cancellation_reason": "Clinic closed"}),
    )
    assert cancel.status_code == 200, cancel.text
    assert refund.status_code in (200, 409), refund.text
    history_status(api_client(api_server, clinic["patient"]), payment.reference, "refunded")
    payment.refresh_from_db()
    assert standin.calls()["refund"] == 1
    assert payment.events.filter(kind="refund_started").count() == 1
    assert payment.refund_amount_minor == 200000
    assert payment.events.get(kind="refund_requested").amount_minor == payment.refund_amount_minor
