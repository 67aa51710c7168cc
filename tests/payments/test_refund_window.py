"""The refund window when the appointment's time changed before the patient cancelled: a move she
makes inside the window keeps its deadline, an earlier move starts afresh, and a time the hospital
set or gave up is refunded whatever the time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appointments import moving
from appointments import services as appointment_services
from appointments.models import Appointment
from payments.refunds import refund_decision
from tests.appointments.helpers import book, future_slot

pytestmark = pytest.mark.django_db


def _refunded(appointment: Appointment, *, by, now) -> bool:
    return refund_decision(appointment=Appointment.objects.get(pk=appointment.pk), cancelled_by=by, now=now).refund


def test_a_move_inside_the_window_keeps_the_deadline_of_the_start_moved_from(hospital, department, patient):
    booked = book(patient, department, future_slot(hospital, days=3))
    late = booked.start - timedelta(hours=10)
    moved = moving.appointment_move(appointment=booked, start_local=future_slot(hospital, days=6), now=late)
    assert moved.late_change_from == booked.start
    assert not _refunded(moved, by=patient, now=late)
    # A second move keeps the first anchor, even to a time far ahead.
    again = moving.appointment_move(appointment=moved, start_local=future_slot(hospital, days=8), now=late)
    assert again.late_change_from == booked.start
    assert not _refunded(again, by=patient, now=late + timedelta(hours=1))


def test_a_move_before_the_window_starts_afresh_from_the_new_time(hospital, department, patient):
    booked = book(patient, department, future_slot(hospital, days=3))
    early = booked.start - timedelta(hours=48)
    moved = moving.appointment_move(appointment=booked, start_local=future_slot(hospital, days=6), now=early)
    assert moved.late_change_from is None
    after_old_time = booked.start + timedelta(hours=1)  # the old time is past, the new one days away
    assert _refunded(moved, by=patient, now=after_old_time)
    assert not _refunded(moved, by=patient, now=moved.start - timedelta(hours=2))


def test_a_time_the_hospital_proposed_is_refunded_whenever_the_patient_cancels(hospital, department, patient,
                                                                                 doctor):
    booked = book(patient, department, future_slot(hospital, days=2))
    accepted = appointment_services.appointment_accept(appointment=booked, doctor=doctor,
                                                       proposed_time=future_slot(hospital, days=3, at="11:00"))
    assert accepted.time_set_by_hospital is True
    assert _refunded(accepted, by=patient, now=accepted.start - timedelta(hours=2))


def test_after_the_hospital_gives_up_the_time_a_cancellation_is_refunded_and_her_new_choice_is_hers(
        hospital, department, patient, doctor):
    booked = book(patient, department, future_slot(hospital, days=2))
    given_up = appointment_services.appointment_request_new_time(appointment=booked, doctor=doctor, notes="Away")
    assert given_up.time_set_by_hospital is True
    assert _refunded(given_up, by=patient, now=booked.start - timedelta(hours=2))
    # She chooses a new time herself: the ordinary window, from that time.
    chosen = moving.appointment_move(appointment=given_up, start_local=future_slot(hospital, days=4),
                                     now=booked.start - timedelta(hours=2))
    assert (chosen.time_set_by_hospital, chosen.late_change_from) == (False, None)
    assert _refunded(chosen, by=patient, now=chosen.start - timedelta(hours=30))
    assert not _refunded(chosen, by=patient, now=chosen.start - timedelta(hours=2))
