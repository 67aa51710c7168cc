"""The appointment's own payment status follows its payment's refund: what the patient and the
clinicians read on the appointment says "refunded" once the fee went back in full."""

from __future__ import annotations

import pytest

from appointments.models import Appointment, AppointmentStatus
from tests.factories import make_hospital_admin
from tests.payments.conftest import api_client, history_status, paid_appointment, slot_start

pytestmark = pytest.mark.django_db(transaction=True)


def _payment_status(http, appointment_id: str) -> str:
    response = http.get(f"/api/appointments/{appointment_id}/")
    assert response.status_code == 200, response.text
    return response.json()["payment_status"]


def test_a_cancellation_refunded_in_full_shows_refunded_on_the_appointment(api_server, standin, clinic):
    started, appointment_id = paid_appointment(api_server, standin, clinic["general"], clinic["patient"],
                                               slot_start(days=3))
    http = api_client(api_server, clinic["patient"])
    assert _payment_status(http, appointment_id) == "paid"
    assert http.post(f"/api/appointments/{appointment_id}/cancel/", json={"reason": "Away"}).status_code == 200
    history_status(http, started["reference"], "refunded")
    assert _payment_status(http, appointment_id) == "refunded"
    summary = http.get(f"/api/appointments/{appointment_id}/summary/").json()
    assert summary["payment_info"]["payment_status"] == "refunded"


def test_a_hospitals_full_refund_shows_refunded_and_a_part_leaves_it_paid(api_server, standin, clinic):
    admin_http = api_client(api_server, make_hospital_admin(hospital=clinic["hospital"]))
    patient_http = api_client(api_server, clinic["patient"])

    started, appointment_id = paid_appointment(api_server, standin, clinic["general"], clinic["patient"],
                                               slot_start(days=3))
    payment_id = patient_http.get(f"/api/payments/verify/{started['reference']}/").json()["payment_id"]
    assert admin_http.post(f"/api/payments/{payment_id}/refund/", json={}).status_code == 200
    history_status(patient_http, started["reference"], "refunded")
    assert Appointment.objects.get(appointment_id=appointment_id).payment_status == "refunded"

    started, appointment_id = paid_appointment(api_server, standin, clinic["general"], clinic["patient"],
                                               slot_start(days=4))
    Appointment.objects.filter(appointment_id=appointment_id).update(status=AppointmentStatus.COMPLETED)
    payment_id = patient_http.get(f"/api/payments/verify/{started['reference']}/").json()["payment_id"]
    assert admin_http.post(f"/api/payments/{payment_id}/refund/", json={"amount": 500}).status_code == 200
    history_status(patient_http, started["reference"], "refunded")
    assert _payment_status(patient_http, appointment_id) == "paid"  # most of the fee was kept
