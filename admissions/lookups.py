"""Who and where an admission names: the hospital's active department (and its share lock while a
patient is put in it), the attending doctor and the registered patient. Each refuses with the
answer the API gives (400, or 404 for a patient outside the hospital)."""

from __future__ import annotations

import uuid

from django.db import connection

from accounts.models import Role, User
from hospitals.models import Department, Hospital, HospitalRegistration, RegistrationStatus, StaffMember
from phb.api.errors import ApiError


def _not_found(what: str) -> ApiError:
    return ApiError(f"{what} not found.", status_code=404, code="not_found")


def _inactive_department() -> ApiError:
    return ApiError("That department is not an active department of this hospital.", code="invalid_department")


def department_of(*, hospital: Hospital, department_id: int) -> Department:
    department = Department.objects.filter(pk=department_id, hospital=hospital, is_active=True).first()
    if department is None:
        raise _inactive_department()
    return department


def lock_active_department(department_id: int) -> None:
    """Lock the department's row in share mode (``FOR SHARE``) while it is active: call inside the
    transaction that puts a patient in it. Admissions to one department hold it together and do
    not queue behind each other (each takes its own bed under the bed's lock). Any write to the
    row waits for them, and so do the department's deactivation and its bed-count change, which
    lock it ``FOR UPDATE`` (``hospitals.departments.department_update``,
    ``admissions.capacity.set_department_beds``) before they count open admissions or beds: no
    patient is left in a closed department, and no bed is taken while the count is changed."""
    found = Department.objects.filter(pk=department_id, is_active=True).values_list("pk", flat=True)
    sql, params = found.query.sql_with_params()
    if connection.features.has_select_for_update:  # SQLite has no row locks (its writers are serialised)
        sql += " FOR SHARE"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.fetchone() is None:
            raise _inactive_department()


def doctor_of(*, department: Department, staff_id: int | None) -> StaffMember | None:
    if not staff_id:
        return None
    doctor = (StaffMember.objects.select_related("user")
              .filter(pk=staff_id, hospital_id=department.hospital_id, user__role=Role.DOCTOR, user__is_active=True)
              .first())
    if doctor is None:
        raise ApiError("The attending doctor is not a doctor of this hospital.", code="invalid_doctor")
    if doctor.department_id != department.pk:
        raise ApiError(f"The attending doctor does not work in {department.name}.", code="doctor_not_in_department")
    return doctor


def patient_of(*, hospital: Hospital, ref: object) -> User:
    """A patient with an approved registration at ``hospital``, by account id or HPN; 404 otherwise."""
    text = str(ref or "").replace(" ", "").strip()
    query = User.objects.filter(role=Role.PATIENT, is_active=True)
    try:
        patient = query.filter(pk=uuid.UUID(text)).first()
    except ValueError:
        patient = query.filter(hpn__iexact=text).first() if text else None
    if patient is None or not HospitalRegistration.objects.filter(
        user=patient, hospital=hospital, status=RegistrationStatus.APPROVED
    ).exists():
        raise _not_found("Patient (registered with this hospital)")
    return patient
