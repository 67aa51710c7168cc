"""The refund policy when the appointment's time was changed before the patient cancelled."""

from __future__ import annotations

import time

import pytest

from appointments import services as appointment_services
from appointments.models import Appointment, AppointmentStatus
from payments.models import Payment, PaymentStatus
from tests.payments.conftest import api_client, history_status, paid_appointment, slot_start, slot_within_a_day

pytestmark = pytest.mark.django_db(transaction=True)


def test_moving_the_appointment_later_does_not_move_the_refund_deadline(api_server, standin, clinic):
    started, appointment_id = paid_appointment(api_server, standin, clinic["general"], clinic["patient"],
                                               slot_within_a_day())
    http = api_client(api_server, clinic["patient"])
    moved = http.post(f"/api/appointments/{appointment_id}/reschedule/", json={"appointment_date": slot_start(days=5)})
    assert moved.status_code == 200, moved.text
    assert http.post(f"/api/appointments/{appointment_id}/cancel/", json={"reason": "Changed my mind"}).status_code == 200
    time.sleep(0.5)  # a refund, were one started, would have been asked for by now
    payment = Payment.objects.get(reference=started["reference"])
    assert payment.status == PaymentStatus.COMPLETED and "no refund" in payment.status_reason
    assert payment.events.filter(kind="refund_not_eligible").exists()
    assert standin.calls().get("refund", 0) == 0


def test_cancelling_after_the_hospital_asked_for_a_new_time_is_refunded_in_full(api_server, standin, clinic):
    started, appointment_id = paid_appointment(api_server, standin, clinic["general"], clinic["patient"],
                                               slot_within_a_day())
    appointment = Appointment.objects.get(appointment_id=appointment_id)
    appointment_services.appointment_request_new_time(appointment=appointment, doctor=clinic["doctor"],
                                                      notes="The doctor is away")
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.RESCHEDULED
    http = api_client(api_server, clinic["patient"])
    response = http.post(f"/api/appointments/{appointment_id}/cancel/", json={"reason": "Cannot come another time"})
    assert response.status_code == 200, response.text
    item = history_status(http, started["reference"], "refunded")
    assert "hospital changed the appointment's time" in item["status_reason"]
    payment = Payment.objects.get(reference=started["reference"])
    assert payment.refund_amount_minor == payment.refundable_minor
