"""A doctor's appointment lists read the doctor's staff record once a request, and the selector that
takes a view's staff record refuses anyone else's."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appointments import selectors
from hospitals.models import StaffMember
from tests.appointments.helpers import bulk_appointments
from tests.factories import DepartmentFactory, make_doctor, make_patient
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

STAFF_TABLE = f'FROM "{StaffMember._meta.db_table}"'
DOCTOR_LISTS = ["/api/appointments/", "/api/doctor-appointments/", "/api/department-pending-appointments/"]


def _doctor_with_appointments(department, *, each: int):
    """A doctor with ``each`` confirmed appointments of her own and ``each`` of her department's."""
    doctor = make_doctor(department=department)
    bulk_appointments(patients=[make_patient(hospital=department.hospital)], department=department, count=each,
                      doctor=doctor, status="confirmed")
    bulk_appointments(patients=[make_patient(hospital=department.hospital)], department=department, count=each,
                      offset=each)
    return doctor


def _listed(body) -> list:
    """The appointments a doctor's list shows: a bare array, or the dashboard's two lists."""
    return body if isinstance(body, list) else body["my_appointments"]["all"] + body["pending_department_appointments"]


@pytest.mark.parametrize("url", DOCTOR_LISTS)
def test_each_doctor_list_reads_the_staff_record_once(department, url):
    client = client_for(_doctor_with_appointments(department, each=3))
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.json()
    assert len(_listed(response.json())) == 6  # the doctor's own and the department's, so the scope was applied
    reads = [q["sql"] for q in ctx.captured_queries if STAFF_TABLE in q["sql"]]
    assert len(reads) == 1, reads


def test_a_staff_record_of_someone_else_is_refused(department):
    doctor = make_doctor(department=department)
    other = make_doctor(department=DepartmentFactory())
    with pytest.raises(ValueError):
        selectors.appointments_for_doctor(fetched_by=doctor, staff=StaffMember.objects.get(user=other))
    own = StaffMember.objects.get(user=doctor)
    given = selectors.appointments_for_doctor(fetched_by=doctor, staff=own)
    read = selectors.appointments_for_doctor(fetched_by=doctor)
    assert str(given.query) == str(read.query)


@pytest.mark.parametrize("url", DOCTOR_LISTS)
def test_doctor_lists_show_outsiders_none_of_the_department(department, url):
    _doctor_with_appointments(department, each=2)
    other_department = make_doctor(department=DepartmentFactory(hospital=department.hospital))
    other_hospital = make_doctor(department=DepartmentFactory())
    for outsider in (other_department, other_hospital):
        assert _listed(client_for(outsider).get(url).json()) == []
    patient = client_for(make_patient(hospital=department.hospital)).get(url)
    if "pending" in url:
        assert patient.status_code == 403  # the queue is a doctor's page
    else:
        assert patient.status_code == 200 and patient.json() == []
    assert client_for(None).get(url).status_code == 401
