"""Wards, beds and admissions for the admissions tests."""

from __future__ import annotations

from admissions import services
from admissions.models import Admission, Bed, Ward, WardType
from hospitals.models import Department, StaffMember


def ward(department: Department, *, code: str, beds: int = 2, ward_type: str = WardType.GENERAL,
         name: str | None = None) -> Ward:
    w = Ward.objects.create(hospital=department.hospital, department=department, name=name or f"Ward {code}",
                            code=code, ward_type=ward_type)
    Bed.objects.bulk_create(Bed(ward=w, number=str(n)) for n in range(1, beds + 1))
    return w


def staff_id(user) -> int:
    return StaffMember.objects.get(user=user).pk


def admit(*, actor, patient=None, department: Department, assign_bed: bool = True, icu: bool = False,
          temp: dict | None = None, **extra) -> Admission:
    return services.admission_create(actor=actor, hospital=department.hospital, new=services.NewAdmission(
        patient_ref=str(patient.pk) if patient is not None else None,
        temp_patient_details=temp if patient is None else None,
        department_id=department.pk, reason_for_admission=extra.pop("reason", "Pneumonia"),
        assign_bed=assign_bed, requires_icu=icu, **extra))
