"""Closing a department and admitting a patient to it at the same moment: one waits for the other,
so no patient is left in a closed department (PostgreSQL row locks)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import close_old_connections, connection

from admissions.models import Admission, AdmissionStatus
from hospitals import departments
from hospitals.models import Department
from phb.api.errors import ApiError
from tests.admissions.helpers import admit
from tests.factories import make_patient

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks"),
]


def test_an_admission_racing_the_departments_closure_is_refused(hospital_admin, hospital, department, general_ward):
    patient = make_patient(hospital=hospital)
    outcome: dict[str, object] = {}

    def admit_now() -> None:
        try:
            outcome["admission"] = admit(actor=hospital_admin, patient=patient, department=department)
        except ApiError as exc:
            outcome["refused"] = exc.code
        finally:
            close_old_connections()
            connection.close()

    staff_filter = departments.StaffMember.objects.filter
    racer = threading.Thread(target=admit_now)

    def filter_then_admit(*args, **kwargs):
        # The closure has counted the open admissions (none): the admission comes now.
        racer.start()
        time.sleep(1.0)
        return staff_filter(*args, **kwargs)

    departments.StaffMember.objects.filter = filter_then_admit
    try:
        departments.department_update(department=department, data={"is_active": False})
    finally:
        departments.StaffMember.objects.filter = staff_filter
        racer.join(timeout=30)

    assert Department.objects.get(pk=department.pk).is_active is False
    assert outcome == {"refused": "invalid_department"}
    assert not Admission.objects.filter(department=department,
                                        status__in=[AdmissionStatus.PENDING, AdmissionStatus.ADMITTED]).exists()
