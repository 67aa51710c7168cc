"""Doctor actions judge the appointment as it is under its lock, not as the request read it: a
second doctor's accept, a move the patient made meanwhile, or a hospital's request for a new time
on a booking no doctor accepted yet."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
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


# --- What an accept locks (PostgreSQL) -------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
@pytest.mark.parametrize("held", ["hospital", "department"])
def test_an_accept_waits_for_nothing_but_its_appointment_while_the_hospital_or_department_is_being_changed(held):
    """Renaming the hospital (which rewrites its appointments' rows in the same transaction) and
    admitting a patient to the department hold those rows' locks. An accept locks its appointment,
    not them: it neither waits for those changes nor deadlocks with a rename."""
    import threading

    from hospitals.models import Department, Hospital
    from tests.factories import DepartmentFactory, HospitalFactory, make_patient

    hospital = HospitalFactory()
    department = DepartmentFactory(hospital=hospital)
    booked = book(make_patient(hospital=hospital), department, future_slot(hospital, days=2))
    doctor = make_doctor(department=department)
    locked, release = threading.Event(), threading.Event()

    def hold_row():
        try:
            with transaction.atomic():
                model, pk = (Hospital, hospital.pk) if held == "hospital" else (Department, department.pk)
                model.objects.select_for_update().filter(pk=pk).values_list("pk", flat=True).first()
                locked.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_row)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            accepted = services.appointment_accept(appointment=Appointment.objects.get(pk=booked.pk), doctor=doctor)
    finally:
        release.set()
        holder.join(timeout=20)
    assert accepted.status == S.CONFIRMED and Appointment.objects.get(pk=booked.pk).doctor_id == doctor.pk
