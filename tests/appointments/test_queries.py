"""List endpoints run a fixed number of SQL queries whatever the number of appointments."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.appointments.helpers import bulk_appointments
from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_hospital_admin, make_patient
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


def test_patient_list_queries_do_not_grow(department):
    few, many = make_patient(hospital=department.hospital), make_patient(hospital=department.hospital)
    doctor = make_doctor(department=department)
    bulk_appointments(patients=[few], department=department, count=5, doctor=doctor, status="confirmed")
    bulk_appointments(patients=[many], department=department, count=100, doctor=doctor, status="confirmed")
    small = _queries(client_for(few), "/api/appointments/")
    large = _queries(client_for(many), "/api/appointments/")
    assert small == large, (small, large)
    assert len(client_for(many).get("/api/appointments/").json()) == 100


def test_doctor_queue_queries_do_not_grow(hospital):
    small_department, large_department = DepartmentFactory(hospital=hospital), DepartmentFactory(hospital=hospital)
    small_doctor = make_doctor(department=small_department)
    large_doctor = make_doctor(department=large_department)
    for department, doctor, n in ((small_department, small_doctor, 10), (large_department, large_doctor, 200)):
        patients = [make_patient(hospital=hospital) for _ in range(4)]
        bulk_appointments(patients=patients, department=department, count=n // 2)
        bulk_appointments(patients=patients, department=department, count=n // 2, doctor=doctor, status="confirmed",
                          offset=n // 2)
    small = _queries(client_for(small_doctor), "/api/department-pending-appointments/")
    large = _queries(client_for(large_doctor), "/api/department-pending-appointments/")
    assert small == large, (small, large)
    # A list longer than one page adds one query: the count behind X-Total-Count.
    small = _queries(client_for(small_doctor), "/api/doctor-appointments/")
    assert _queries(client_for(large_doctor), "/api/doctor-appointments/?limit=10") == small + 1
    assert _queries(client_for(large_doctor), "/api/doctor-appointments/?limit=500") == small


def test_admin_list_queries_do_not_grow(hospital, department):
    other = DepartmentFactory(hospital=HospitalFactory())
    bulk_appointments(patients=[make_patient(hospital=hospital)], department=department, count=3)
    bulk_appointments(patients=[make_patient(hospital=other.hospital)], department=other, count=60)
    a = _queries(client_for(make_hospital_admin(hospital=hospital)), "/api/hospitals/appointments/")
    b = _queries(client_for(make_hospital_admin(hospital=other.hospital)), "/api/hospitals/appointments/")
    assert a == b
