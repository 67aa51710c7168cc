"""What the doctor dashboard and the hospital-admin appointments table read, field by field
(src/features/professional/appointmentsService.ts, src/pages/organization/AppointmentsPage.tsx)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments import slot_grid
from appointments.models import Appointment
from appointments.selectors import day_bounds
from tests.appointments.helpers import book, future_slot, local_today
from tests.appointments.test_doctor_api import put_in
from tests.factories import DepartmentFactory, make_doctor, make_patient
from tests.helpers import client_for, repeated_statements

pytestmark = pytest.mark.django_db


def _earlier_today(appointment: Appointment) -> None:
    """Move an appointment to a moment earlier today (hospital local day)."""
    zone = slot_grid.hospital_zone(appointment.hospital)
    start_of_day, _ = day_bounds(local_today(appointment.hospital), zone)
    when = start_of_day + (timezone.now() - start_of_day) / 2
    Appointment.objects.filter(pk=appointment.pk).update(start=when, end=when + slot_grid.slot_length())


def test_doctor_dashboard_summary_has_the_fields_the_page_reads(doctor, department, hospital):
    book(make_patient(hospital=hospital), department, future_slot(hospital, at="09:00"))
    book(make_patient(hospital=hospital), department, future_slot(hospital, at="09:30"))
    book(make_patient(hospital=hospital), DepartmentFactory(hospital=hospital), future_slot(hospital, at="09:00"))
    confirmed = put_in("confirmed", book(make_patient(hospital=hospital), department,
                                         future_slot(hospital, days=2, at="10:00")), doctor)
    put_in("confirmed", book(make_patient(hospital=hospital), department,
                             future_slot(hospital, days=3, at="10:00")), doctor)
    started = put_in("in_progress", book(make_patient(hospital=hospital), department,
                                         future_slot(hospital, at="11:00")), doctor)
    _earlier_today(started)
    put_in("completed", book(make_patient(hospital=hospital), department, future_slot(hospital, at="12:00")), doctor)
    to_cancel = put_in("confirmed", book(make_patient(hospital=hospital), department,
                                         future_slot(hospital, at="13:00")), doctor)
    assert client_for(doctor).post(f"/api/appointments/{to_cancel.appointment_id}/cancel/",
                                   {"cancellation_reason": "Clinic closed"}, format="json").status_code == 200

    body = client_for(doctor).get("/api/department-pending-appointments/").json()
    summary = body["summary"]
    assert summary["pending_department_count"] == 2
    assert summary["my_appointments_count"] == {
        "confirmed": 2, "in_progress": 1, "completed": 1, "cancelled": 1, "no_show": 0, "rescheduled": 0, "total": 5,
    }
    assert summary["today_appointments"] == 1
    assert summary["upcoming_appointments"] == 2
    info = body["doctor_info"]
    assert info["name"] == doctor.full_name and info["email"] == doctor.email
    assert info["department"] == {"id": department.pk, "name": department.name}
    assert info["hospital"] == {"id": hospital.pk, "name": hospital.name}
    confirmed_row = next(a for a in body["my_appointments"]["confirmed"] if a["appointment_id"] == confirmed.appointment_id)
    for key in ("patient_full_name", "formatted_date", "formatted_time", "formatted_appointment_type", "priority"):
        assert confirmed_row[key], key


def test_doctor_dashboard_summary_counts_more_than_one_page(doctor, department, hospital, settings):
    """The counters are totals, not the length of a list the answer cut short."""
    patients = [make_patient(hospital=hospital) for _ in range(3)]
    for i in range(3):
        book(patients[i], department, future_slot(hospital, at=f"1{i}:00"))
    body = client_for(doctor).get("/api/department-pending-appointments/?limit=2").json()
    assert len(body["pending_department_appointments"]) == 2
    assert body["summary"]["pending_department_count"] == 3


def test_the_summary_counts_the_whole_queue_while_the_list_follows_its_filters(doctor, department, hospital):
    for days in (1, 2, 2):
        book(make_patient(hospital=hospital), department, future_slot(hospital, days=days, at=f"1{days}:00"))
    day = (local_today(hospital) + timedelta(days=1)).isoformat()
    body = client_for(doctor).get(f"/api/department-pending-appointments/?start_date={day}&end_date={day}").json()
    assert len(body["pending_department_appointments"]) == 1 and body["summary"]["pending_count"] == 1
    assert body["summary"]["pending_department_count"] == 3
    whole = client_for(doctor).get("/api/department-pending-appointments/").json()["summary"]
    assert whole["pending_count"] == whole["pending_department_count"] == 3


def test_the_dashboard_runs_no_query_twice(doctor, department, hospital, patient):
    book(patient, department, future_slot(hospital))
    put_in("confirmed", book(make_patient(hospital=hospital), department, future_slot(hospital, at="11:00")), doctor)
    client = client_for(doctor)
    client.get("/api/department-pending-appointments/")  # first-use caches
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/api/department-pending-appointments/").json()
    assert body["summary"]["pending_department_count"] == 1 and body["summary"]["confirmed_count"] == 1
    assert repeated_statements(queries) == []


def test_a_new_doctor_sees_zeroes_not_missing_keys(doctor):
    summary = client_for(doctor).get("/api/department-pending-appointments/").json()["summary"]
    assert summary["pending_department_count"] == 0
    assert summary["my_appointments_count"]["confirmed"] == 0 and summary["my_appointments_count"]["total"] == 0
    assert summary["today_appointments"] == 0 and summary["upcoming_appointments"] == 0


def test_hospital_admin_table_has_patient_and_doctor_full_names(patient, department, hospital, hospital_admin,
                                                                doctor):
    appointment = put_in("confirmed", book(patient, department, future_slot(hospital)), doctor)
    unassigned = book(make_patient(hospital=hospital), department, future_slot(hospital, at="11:00"))
    rows = {a["id"]: a for a in client_for(hospital_admin).get("/api/hospitals/appointments/").json()["appointments"]}
    assert rows[str(appointment.id)]["patient_full_name"] == patient.full_name
    assert doctor.full_name in rows[str(appointment.id)]["doctor_full_name"]
    assert rows[str(unassigned.id)]["patient_full_name"]
    assert rows[str(unassigned.id)]["doctor_full_name"] == ""


def test_appointment_rows_carry_the_status_label_the_patient_table_prints(doctor, department, hospital, patient):
    """/professional/patients prints ``status_display`` of the dashboard's ``my_appointments.all`` rows."""
    confirmed = put_in("confirmed", book(patient, department, future_slot(hospital, days=2, at="10:00")), doctor)
    started = put_in("in_progress", book(make_patient(hospital=hospital), department,
                                         future_slot(hospital, at="11:00")), doctor)
    book(make_patient(hospital=hospital), department, future_slot(hospital, at="12:00"))

    body = client_for(doctor).get("/api/department-pending-appointments/").json()
    labels = {a["appointment_id"]: a["status_display"] for a in body["my_appointments"]["all"]}
    assert labels == {confirmed.appointment_id: "Confirmed", started.appointment_id: "In progress"}
    assert [a["status_display"] for a in body["pending_department_appointments"]] == ["Pending"]

    detail = client_for(doctor).get(f"/api/doctor-appointments/{started.appointment_id}/")
    assert detail.status_code == 200 and detail.json()["status_display"] == "In progress"
    mine = client_for(patient).get("/api/appointments/").json()
    assert [a["status_display"] for a in mine] == ["Confirmed"]
    assert client_for(patient).get(f"/api/appointments/{confirmed.appointment_id}/").json()["status_display"] == \
        "Confirmed"

    stranger = make_doctor(department=DepartmentFactory())
    assert client_for(stranger).get(f"/api/doctor-appointments/{started.appointment_id}/").status_code == 404
    assert client_for(None).get(f"/api/doctor-appointments/{started.appointment_id}/").status_code == 401
    assert client_for(None).get("/api/department-pending-appointments/").status_code == 401


def test_pending_queue_flags_an_appointment_whose_time_has_come(doctor, department, hospital):
    """The dashboard turns "Accept" into "Accept Late" (with a new time) for a flagged row."""
    late = book(make_patient(hospital=hospital), department, future_slot(hospital, at="09:00"))
    _earlier_today(late)
    coming = book(make_patient(hospital=hospital), department, future_slot(hospital, at="10:00"))
    late.refresh_from_db()
    before = timezone.now()
    body = client_for(doctor).get("/api/department-pending-appointments/").json()
    after = timezone.now()
    rows = {a["appointment_id"]: a for a in body["pending_department_appointments"]}
    flagged, on_time = rows[late.appointment_id], rows[coming.appointment_id]
    assert flagged["is_flagged_pending"] is True
    assert (before - late.start) // timedelta(minutes=1) <= flagged["minutes_past_scheduled"]
    assert flagged["minutes_past_scheduled"] <= (after - late.start) // timedelta(minutes=1)
    assert (on_time["is_flagged_pending"], on_time["minutes_past_scheduled"]) == (False, 0)
    # The doctor's own lists carry no such flag: they hold accepted appointments.
    assert all("is_flagged_pending" not in a for a in body["my_appointments"]["all"])


def test_appointment_items_name_priority_provider_and_hospital(doctor, department, hospital):
    """The patient's list searches ``provider`` (it calls ``toLowerCase`` on it), the lists show
    ``formatted_priority``, and the doctor's referral form loads departments of ``hospital``."""
    patient = make_patient(hospital=hospital)
    waiting = book(patient, department, future_slot(hospital, at="09:00"), priority="urgent")
    accepted = put_in("confirmed", book(patient, department, future_slot(hospital, at="10:00")), doctor)
    items = {a["appointment_id"]: a for a in client_for(patient).get("/api/appointments/").json()}
    assert items[waiting.appointment_id]["provider"] == "Doctor to be assigned"
    assert items[waiting.appointment_id]["formatted_priority"] == "Urgent Priority"
    assert items[accepted.appointment_id]["provider"] == items[accepted.appointment_id]["doctor_full_name"]
    assert items[accepted.appointment_id]["provider"].endswith(doctor.full_name)
    assert items[accepted.appointment_id]["formatted_priority"] == "Normal Priority"
    detail = client_for(doctor).get(f"/api/doctor-appointments/{accepted.id}/").json()
    assert detail["hospital"] == hospital.pk
    departments = client_for(doctor).get(f"/api/departments/{detail['hospital']}/")
    assert department.pk in {d["id"] for d in departments.json()["departments"]}
