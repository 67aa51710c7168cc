"""Department administration for a hospital admin: reads with bed, staff and patient figures,
create, edit, deactivate.

Bed figures come from wards and beds (``admissions``), staff from staff records, patients from
current admissions; a list of any length costs four queries.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet

from accounts.models import Role, User
from hospitals.models import Department, Hospital, StaffMember
from hospitals.selectors import staff_of
from phb.api.errors import ApiError, Conflict

CLINICAL_TYPES = frozenset({
    "medical", "surgical", "emergency", "critical_care", "outpatient", "pediatrics", "obstetrics", "cardiology",
    "oncology", "psychiatry", "dermatology", "orthopedics", "nephrology", "neurology", "ophthalmology", "ent",
    "clinical",  # the type of departments created before types were chosen
})
SUPPORT_TYPES = frozenset({"laboratory", "radiology", "pharmacy", "physiotherapy", "blood_bank", "pathology",
                           "imaging", "dental", "nutrition", "rehabilitation"})
ADMINISTRATIVE_TYPES = frozenset({"admin", "records", "it", "human_resources", "finance", "operations",
                                  "quality_assurance", "training", "procurement", "facilities"})
# The form's ~37 types, plus "clinical" (what older departments carry, sent back unchanged on edit).
DEPARTMENT_TYPES = sorted(CLINICAL_TYPES | SUPPORT_TYPES | ADMINISTRATIVE_TYPES | {"custom"})
WINGS = ("north", "south", "east", "west", "central")

# Staff listed in a department's detail (O3); its ``staff_count`` counts them all.
DEPARTMENT_STAFF_MAX = 200

# Editable on the department form (the bed numbers are handled apart: they become beds).
FORM_FIELDS = ("name", "code", "department_type", "description", "floor_number", "wing", "extension_number",
               "emergency_contact", "email", "is_24_hours", "operating_hours", "minimum_staff_required", "is_active")


def departments_for_admin(*, fetched_by: User) -> QuerySet[Department]:
    """Every department (active or not) of the hospital ``fetched_by`` administers."""
    from hospitals.selectors import admin_hospital_of

    hospital = admin_hospital_of(user=fetched_by)
    if hospital is None:
        return Department.objects.none()
    return Department.objects.select_related("hospital").filter(hospital=hospital)


def department_list(*, fetched_by: User, search: str = "", department_type: str = "",
                    is_active: bool | None = None) -> QuerySet[Department]:
    qs = departments_for_admin(fetched_by=fetched_by)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(code__icontains=search))
    if department_type:
        qs = qs.filter(department_type=department_type)
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    return qs.order_by("name", "id")


def figures(*, hospital_id: int, department_ids: list[int]) -> dict[str, dict[int, Any]]:
    """Beds, staff and current patients per department: three queries."""
    from admissions.selectors import bed_counts_by_department, current_patients_by_department

    staff = (StaffMember.objects.filter(hospital_id=hospital_id, department_id__in=department_ids,
                                        user__is_active=True)
             .values("department_id").annotate(n=Count("id")).order_by())
    return {
        "beds": bed_counts_by_department(hospital_id=hospital_id, department_ids=department_ids),
        "staff": {row["department_id"]: row["n"] for row in staff},
        "patients": current_patients_by_department(hospital_id=hospital_id),
    }


def _pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def department_payload(department: Department, found: dict[str, dict[int, Any]]) -> dict[str, Any]:
    from admissions.selectors import ZERO_BEDS, with_rates

    beds = found["beds"].get(department.pk) or with_rates(dict(ZERO_BEDS))
    staff = found["staff"].get(department.pk, 0)
    patients = found["patients"].get(department.pk, 0)
    kind = department.department_type or "clinical"
    capacity = beds["capacity"]
    return {
        "id": department.pk,
        "name": department.name,
        "code": department.code,
        "department_type": kind,
        "description": department.description,
        "is_active": department.is_active,
        "floor_number": department.floor_number,
        "wing": department.wing,
        "extension_number": department.extension_number,
        "emergency_contact": department.emergency_contact,
        "email": department.email,
        "is_24_hours": department.is_24_hours,
        "operating_hours": department.operating_hours or {},
        "total_beds": beds["total"],
        "occupied_beds": beds["occupied"],
        "available_beds": beds["available"],
        "icu_beds": beds["icu_total"],
        "occupied_icu_beds": beds["icu_occupied"],
        "available_icu_beds": beds["icu_available"],
        "bed_capacity": capacity,
        "total_available_beds": beds["available"],
        "bed_utilization_rate": beds["utilization_rate"],
        "current_staff_count": staff,
        "minimum_staff_required": department.minimum_staff_required,
        "is_understaffed": staff < department.minimum_staff_required,
        "recommended_staff_ratio": round(staff / capacity, 2) if capacity else 0.0,
        "staff_utilization_rate": _pct(staff, department.minimum_staff_required),
        "current_patient_count": patients,
        "utilization_rate": beds["utilization_rate"],
        "appointment_duration": 30,
        "max_daily_appointments": None,
        "requires_referral": False,
        "annual_budget": None,
        "budget_year": None,
        "budget_utilized": 0,
        "budget_utilization_rate": 0,
        "remaining_budget": None,
        "is_clinical": kind in CLINICAL_TYPES,
        "is_support": kind in SUPPORT_TYPES,
        "is_administrative": kind in ADMINISTRATIVE_TYPES,
        "is_available_for_appointments": department.is_active and kind in CLINICAL_TYPES,
        "hospital": department.hospital_id,
        "hospital_name": department.hospital.name,
        "created_at": department.created_at.isoformat(),
        "updated_at": department.updated_at.isoformat(),
    }


def payload_of_one(department: Department) -> dict[str, Any]:
    return department_payload(department, figures(hospital_id=department.hospital_id, department_ids=[department.pk]))


def staff_of_department(*, department: Department, limit: int = DEPARTMENT_STAFF_MAX) -> list[dict[str, Any]]:
    """The department's first ``limit`` active staff by name: those its ``current_staff_count`` counts."""
    rows = (StaffMember.objects.select_related("user")
            .filter(hospital_id=department.hospital_id, department=department, user__is_active=True)
            .order_by("user__full_name", "id")[:limit])
    return [{"id": s.pk, "user_id": str(s.user_id), "name": s.user.full_name, "email": s.user.email,
             "role": s.user.role, "position": s.position, "is_active": s.user.is_active} for s in rows]


def _check_code(*, hospital: Hospital, code: str, exclude: int | None = None) -> None:
    if code and Department.objects.filter(hospital=hospital, code__iexact=code).exclude(pk=exclude).exists():
        raise Conflict(f"Another department already uses the code {code}.", code="duplicate_code")


def _beds(data: dict[str, Any], *, department: Department | None = None) -> tuple[int | None, int | None]:
    """The form's ``total_beds`` (or ``bed_capacity``: every bed) and ``icu_beds`` (the ICU ones
    among them) as (general beds, ICU beds) to provision; None leaves that kind alone."""
    from admissions.selectors import bed_counts_by_department

    total = data.get("total_beds")
    if total is None:
        total = data.get("bed_capacity")
    icu = data.get("icu_beds")
    if total is None:
        return None, icu
    if icu is None and department is not None:
        icu_now = bed_counts_by_department(hospital_id=department.hospital_id,
                                           department_ids=[department.pk]).get(department.pk, {}).get("icu_total", 0)
    else:
        icu_now = icu or 0
    if icu_now > total:
        raise ApiError(f"ICU beds ({icu_now}) cannot outnumber the department's beds ({total}).",
                       code="invalid_beds")
    return total - icu_now, icu


def department_create(*, hospital: Hospital, data: dict[str, Any]) -> Department:
    from admissions.capacity import set_department_beds

    _check_code(hospital=hospital, code=data.get("code", ""))
    values = {k: data[k] for k in FORM_FIELDS if k in data}
    try:
        with transaction.atomic():
            department = Department.objects.create(hospital=hospital, **values)
            general, icu = _beds(data)
            set_department_beds(department=department, general=general or None, icu=icu or None)
    except IntegrityError as exc:
        raise Conflict(f"A department named {data['name']} already exists in this hospital.",
                       code="duplicate_name") from exc
    return department


def department_update(*, department: Department, data: dict[str, Any]) -> Department:
    """Partial edit; ``is_active: false`` deactivates, refused while patients are admitted there,
    staff are assigned to it or appointments there are still to be seen."""
    from admissions.capacity import set_department_beds
    from admissions.models import Admission, AdmissionStatus
    from appointments.models import LIVE_STATUSES, Appointment

    if "code" in data:
        _check_code(hospital=department.hospital, code=data["code"], exclude=department.pk)
    fields = [k for k in FORM_FIELDS if k in data]
    try:
        with transaction.atomic():
            if data.get("is_active") is False and department.is_active:
                # Counted under the department's row lock, which admitting a patient there takes too
                # (``admissions.lookups.lock_active_department``): neither slips past the other.
                Department.objects.select_for_update().filter(pk=department.pk).values_list("pk").first()
                open_admissions = Admission.objects.filter(
                    department=department, status__in=[AdmissionStatus.PENDING, AdmissionStatus.ADMITTED]).count()
                if open_admissions:
                    raise Conflict(f"Cannot deactivate: {open_admissions} patient(s) are admitted or waiting in "
                                   f"{department.name}. Discharge or transfer them first.", code="department_in_use",
                                   patient_count=open_admissions)
                staff = StaffMember.objects.filter(department=department, user__is_active=True).count()
                if staff:
                    raise Conflict(f"Cannot deactivate: {staff} staff member(s) are assigned to {department.name}. "
                                   "Reassign them first.", code="department_in_use", staff_count=staff)
                booked = Appointment.objects.filter(department=department, status__in=LIVE_STATUSES).count()
                if booked:
                    # No doctor could see them, and their patients would not be told.
                    raise Conflict(f"Cannot deactivate: {booked} appointment(s) in {department.name} are pending, "
                                   "confirmed or under way. Complete, cancel or move them first.",
                                   code="department_in_use", appointment_count=booked)
            for name in fields:
                setattr(department, name, data[name])
            if fields:
                department.save(update_fields=[*fields, "updated_at"])
            general, icu = _beds(data, department=department)
            if general is not None or icu is not None:
                set_department_beds(department=department, general=general, icu=icu)
    except IntegrityError as exc:
        raise Conflict(f"A department named {data.get('name')} already exists in this hospital.",
                       code="duplicate_name") from exc
    return department


def doctors_of_department(*, fetched_by: User, department_id: int) -> QuerySet[StaffMember] | None:
    """The active doctors of a department of the caller's own hospital by full name (``name_key``),
    then id (None: not her hospital's)."""
    staff = staff_of(user=fetched_by)
    if staff is None or not Department.objects.filter(pk=department_id, hospital_id=staff.hospital_id).exists():
        return None
    return (StaffMember.objects.select_related("user")
            .filter(department_id=department_id, user__role=Role.DOCTOR, user__is_active=True)
            .annotate(name_key=F("user__full_name")).order_by("name_key", "pk"))


def patients_matching(*, fetched_by: User, hpn: str, limit: int = 20) -> list[User] | None:
    """Patients registered (approved) at the caller's hospital whose HPN starts with ``hpn``."""
    from hospitals.models import RegistrationStatus

    staff = staff_of(user=fetched_by)
    if staff is None:
        return None
    return list(User.objects.filter(
        role=Role.PATIENT, is_active=True, hpn__startswith=hpn,
        hospital_registrations__hospital_id=staff.hospital_id,
        hospital_registrations__status=RegistrationStatus.APPROVED,
    ).order_by("hpn")[:limit])

