"""Appointment and prescription lists read a page in the list's order from an index, so a page
costs the same whatever the caller's history holds: no sort of every appointment of the patient,
of the hospital, or of the doctor's department before the page is cut, on the first page or on a
later one, with the lists' filters too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from appointments import rows, selectors
from appointments.models import Appointment, AppointmentStatus, Prescription
from hospitals.selectors import staff_of
from phb.api import pagination
from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_hospital_admin, make_patient
from tests.plans import analyze, assert_read_in_index_order, page_plan, spread

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]

HISTORY = 3000


def _appointment(*, patient, department, start, doctor=None, status=AppointmentStatus.COMPLETED) -> Appointment:
    return Appointment(patient=patient, hospital=department.hospital, department=department, doctor=doctor,
                       start=start, end=start + timedelta(minutes=30), status=status)


@pytest.fixture
def other_department(hospital):
    return DepartmentFactory(hospital=hospital)


@pytest.fixture
def appointments(hospital, department, other_department, patient, other_patient, doctor):
    """Years of past appointments (completed, cancelled or missed): the patient's in the doctor's
    department (most of them with the doctor), other patients' in another department of the
    hospital (a few assigned to the doctor), and another hospital's."""
    now = timezone.now()
    elsewhere = DepartmentFactory(hospital=HospitalFactory())
    someone_else = make_patient(hospital=elsewhere.hospital)
    statuses = [AppointmentStatus.COMPLETED, AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW]
    Appointment.objects.bulk_create(
        [_appointment(patient=patient, department=department, doctor=doctor if i % 4 else None,
                      start=now - timedelta(hours=i), status=statuses[i % len(statuses)]) for i in range(HISTORY)]
        + [_appointment(patient=other_patient, department=other_department, doctor=doctor if i % 20 == 0 else None,
                        start=now - timedelta(hours=i, minutes=20), status=statuses[i % len(statuses)])
           for i in range(HISTORY)]
        + [_appointment(patient=someone_else, department=elsewhere, start=now - timedelta(hours=i, minutes=40),
                        status=statuses[i % len(statuses)]) for i in range(HISTORY // 3)],
        batch_size=1000,
    )
    analyze(Appointment)


@pytest.mark.parametrize("next_page", [False, True])
def test_the_patients_appointments_are_read_in_index_order(appointments, patient, next_page):
    plan = page_plan(selectors.appointments_of_patient(fetched_by=patient), spec=pagination.APPOINTMENTS,
                     columns=rows.PATIENT_COLUMNS, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="start" if next_page else None, scoped_by="patient_id")


def _hospital_filters(other_department, doctor) -> dict[str, tuple[dict, str]]:
    """Each filter of the list, and the column whose index its page is read from."""
    week_ago = timezone.now() - timedelta(days=7)
    return {
        "all": ({}, "hospital_id"),
        "status": ({"status": "completed,cancelled"}, "hospital_id"),
        "department": ({"department_id": other_department.pk}, "department_id"),
        "doctor": ({"doctor_id": doctor.pk}, "doctor_id"),
        "dates": ({"start_from": week_ago - timedelta(days=90), "start_before": week_ago}, "hospital_id"),
    }


@pytest.mark.parametrize("filters", ["all", "status", "department", "doctor", "dates"])
@pytest.mark.parametrize("next_page", [False, True])
def test_the_hospitals_appointments_are_read_in_index_order(appointments, hospital, other_department, doctor,
                                                            filters, next_page):
    """The hospital admin's list (``HospitalAppointmentsView``), with each of its filters."""
    admin = make_hospital_admin(hospital=hospital)
    chosen, scope = _hospital_filters(other_department, doctor)[filters]
    queryset = selectors.appointment_filter(selectors.appointments_for_hospital_admin(fetched_by=admin), **chosen)
    plan = page_plan(queryset, spec=pagination.APPOINTMENTS, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="start" if next_page else None, scoped_by=scope)


@pytest.mark.parametrize("next_page", [False, True])
def test_the_hospital_admins_appointment_list_is_read_in_index_order(appointments, hospital, next_page):
    """``GET /api/appointments/`` for a hospital admin."""
    admin = make_hospital_admin(hospital=hospital)
    plan = page_plan(selectors.appointments_visible_to(fetched_by=admin), spec=pagination.APPOINTMENTS,
                     columns=rows.DOCTOR_COLUMNS, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="start" if next_page else None, scoped_by="hospital_id")


def _doctor_filters(colleague) -> dict[str, tuple[dict, tuple[str, ...]]]:
    """Each filter of the list, and the columns whose indexes its page is read from (of one status,
    the department's part is read from that status's rows; a colleague's appointments are all in
    the department's part: the doctor's own part is empty)."""
    week_ago = timezone.now() - timedelta(days=7)
    both = ("doctor_id", "department_id")
    return {
        "all": ({}, both),
        "status": ({"status": "completed"}, ("doctor_id", "status")),
        "priority": ({"priority": "normal"}, both),
        "colleague": ({"doctor_id": colleague.pk}, ("doctor_id",)),
        "dates": ({"start_from": week_ago - timedelta(days=90), "start_before": week_ago}, both),
    }


@pytest.mark.parametrize("filters", ["all", "status", "priority", "colleague", "dates"])
@pytest.mark.parametrize("next_page", [False, True])
def test_the_doctors_appointments_are_read_in_index_order(appointments, doctor, department, filters, next_page):
    """The doctor's list (``DoctorAppointmentListView``): the appointments assigned to them and the
    rest of their department's, two scopes no one index holds in order, each read from its own
    index (a page of each, merged)."""
    colleague = make_doctor(department=department)
    Appointment.objects.filter(doctor__isnull=True, department=department).update(doctor=colleague)
    analyze(Appointment)
    chosen, scopes = _doctor_filters(colleague)[filters]
    queryset = selectors.appointment_filter(selectors.appointments_for_doctor(fetched_by=doctor), **chosen)
    partition = selectors.doctor_partition(fetched_by=doctor, staff=staff_of(user=doctor))
    plan = page_plan(queryset, spec=pagination.DOCTOR_APPOINTMENTS, columns=rows.DOCTOR_COLUMNS,
                     partition=partition, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="start" if next_page else None, scoped_by=scopes)


@pytest.mark.parametrize("next_page", [False, True])
def test_the_doctors_appointment_list_newest_first_is_read_in_index_order(appointments, doctor, next_page):
    """``GET /api/appointments/`` for a doctor."""
    partition = selectors.doctor_partition(fetched_by=doctor, staff=staff_of(user=doctor))
    plan = page_plan(selectors.appointments_visible_to(fetched_by=doctor), spec=pagination.APPOINTMENTS,
                     columns=rows.DOCTOR_COLUMNS, partition=partition, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="start" if next_page else None,
                               scoped_by=("doctor_id", "department_id"))


@pytest.fixture
def prescriptions(patient, other_patient, doctor):
    """Years of the patient's prescriptions beside another patient's."""
    now = timezone.now()
    Prescription.objects.bulk_create(
        [Prescription(patient=someone, prescriber=doctor, issued_at=now, expires_at=now + timedelta(days=30))
         for someone in (patient, other_patient) for _ in range(HISTORY)]
    )
    spread(Prescription, "issued_at")
    analyze(Prescription)


@pytest.mark.parametrize("next_page", [False, True])
def test_the_patients_prescriptions_are_read_in_index_order(prescriptions, patient, next_page):
    plan = page_plan(selectors.prescriptions_of_patient(fetched_by=patient), spec=pagination.PRESCRIPTIONS,
                     next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="issued_at" if next_page else None, scoped_by="patient_id")
