"""Metrics, emails after commit, the clinician selector, the sweep command and the admin."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from appointments.models import AppointmentStatus, Slot, SlotCapacity
from appointments.selectors import clinician_has_appointment_with
from appointments.slot_places import SlotUnavailable
from phb import metrics
from tests.appointments.helpers import book, expire, future_slot, hold
from tests.factories import DepartmentFactory, UserFactory, make_doctor, make_patient
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def test_booking_metrics(patient, department):
    SlotCapacity.objects.create(department=department, capacity=1)
    start = future_slot(department.hospital)
    with metrics.capture() as recorded:
        book(patient, department, start)
        with pytest.raises(SlotUnavailable):
            hold(make_patient(hospital=department.hospital), department, start)
    names = [(d.namespace, d.name, d.dimensions.get("Reason")) for d in recorded
             if d.name in ("BookingCompleted", "BookingFailure")]
    assert ("PHB/Appointments", "BookingCompleted", None) in names
    assert ("PHB/Appointments", "BookingFailure", "slot_unavailable") in names


def test_booking_email_only_after_commit(patient, department, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        book(patient, department, future_slot(department.hospital))
    assert mail.outbox == [] and callbacks
    for callback in callbacks:
        callback()
    (message,) = mail.outbox
    assert message.to == [patient.email] and message.subject == "Your PHB appointment is booked"
    assert "APT-" in message.body


def test_clinician_has_appointment_with(patient, department, doctor, hospital):
    assert clinician_has_appointment_with(clinician=doctor, patient=patient) is False
    appointment = book(patient, department, future_slot(hospital))
    assert clinician_has_appointment_with(clinician=doctor, patient=patient) is True
    other_department_doctor = make_doctor(department=DepartmentFactory(hospital=hospital))
    assert clinician_has_appointment_with(clinician=other_department_doctor, patient=patient) is False
    other_hospital_doctor = make_doctor(department=DepartmentFactory())
    assert clinician_has_appointment_with(clinician=other_hospital_doctor, patient=patient) is False
    assert clinician_has_appointment_with(clinician=make_patient(hospital=hospital), patient=patient) is False
    client_for(patient).post(f"/api/appointments/{appointment.id}/cancel/", {"reason": "r"}, format="json")
    assert clinician_has_appointment_with(clinician=doctor, patient=patient) is False


def test_assigned_doctor_counts_for_clinician_selector(patient, department, doctor, hospital):
    appointment = book(patient, department, future_slot(hospital))
    client_for(doctor).post(f"/api/appointments/{appointment.id}/accept/", {}, format="json")
    doctor.staff.department = DepartmentFactory(hospital=hospital)
    doctor.staff.save()
    assert clinician_has_appointment_with(clinician=doctor, patient=patient) is True
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED


def test_release_expired_holds_command(patient, department):
    h = hold(patient, department, future_slot(department.hospital))
    expire(h)
    out = StringIO()
    call_command("release_expired_holds", stdout=out)
    assert "released 1" in out.getvalue()
    assert Slot.objects.get().in_use == 0


@pytest.mark.parametrize("model", ["appointment", "bookinghold", "slot", "slotcapacity", "departmentfee",
                                   "prescription"])
def test_admin_pages(client, model, patient, department):
    book(patient, department, future_slot(department.hospital))
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    response = client.get(f"/admin/appointments/{model}/", {"q": "x"})
    assert response.status_code == 200
