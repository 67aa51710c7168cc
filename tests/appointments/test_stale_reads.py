"""Doctor actions judge the appointment as it is under its lock, not as the request read it: a
second doctor's accept, a move the patient made meanwhile, or a hospital's request for a new time
on a booking no doctor accepted yet."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from appointments import moving, services
from appointments.models import Appointment, AppointmentStatus
from phb.api.errors import Conflict
from tests.appointments.helpers import book, future_slot, move_to_past
from tests.factories import make_doctor
from tests.scheduler.helpers import roster

pytestmark = pytest.mark.django_db
S = AppointmentStatus


def test_an_accept_read_before_another_doctors_accept_is_refused(hospital, department, patient):
    first, second = make_doctor(department=department), make_doctor(department=department)
    booked = book(patient, department, future_slot(hospital, days=2))
    read_by_second = Appointment.objects.get(pk=booked.pk)  # the second request's read: still pending
    services.appointment_accept(appointment=booked, doctor=first)

    with pytest.raises(Conflict):
        services.appointment_accept(appointment=read_by_second, doctor=second,
                                    proposed_time=future_slot(hospital, days=3, at="11:00"))

    kept = Appointment.objects.get(pk=booked.pk)
    assert (kept.status, kept.doctor_id, kept.start) == (S.CONFIRMED, first.pk, booked.start)


def test_a_no_show_read_before_the_patient_moved_the_appointment_is_refused(hospital, department, patient, doctor):
    booked = book(patient, department, future_slot(hospital, days=2))
    services.appointment_accept(appointment=booked, doctor=doctor)
    move_to_past(booked, hours=0)  # its time has just come
    read_by_doctor = Appointment.objects.get(pk=booked.pk)
    ahead = timezone.now() + timedelta(days=2)
    Appointment.objects.filter(pk=booked.pk).update(start=ahead, end=ahead + timedelta(minutes=30))  # her move

    with pytest.raises(Conflict) as refused:
        services.appointment_no_show(appointment=read_by_doctor, doctor=doctor)

    assert refused.value.code == "too_early"
    assert Appointment.objects.get(pk=booked.pk).status == S.CONFIRMED


def test_a_booking_no_doctor_accepted_goes_back_to_the_queue_when_the_patient_picks_a_new_time(
        hospital, department, patient):
    (doctor,) = roster(department, doctors=1)
    booked = book(patient, department, future_slot(hospital, days=2))
    assert booked.doctor_id == doctor.pk and booked.status == S.PENDING  # assigned by the roster, not accepted
    services.appointment_request_new_time(appointment=booked, doctor=doctor, notes="Clinic closed")

    chosen = moving.appointment_move(appointment=Appointment.objects.get(pk=booked.pk),
                                     start_local=future_slot(hospital, days=3, at="11:00"))

    assert chosen.status == S.PENDING and chosen.accepted_at is None
