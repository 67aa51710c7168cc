"""A department's bed numbers as typed on the department form, turned into real beds.

The department form asks for "total beds" and "ICU beds". Those numbers are never stored: they
are counted from beds. Setting them adds beds to (or takes free beds out of) the department's
general and ICU wards, creating a ward of each kind when the department has none.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import Q

from admissions.models import ICU_WARD_TYPES, WARD_MAX_BEDS, Bed, BedStatus, Ward, WardType
from hospitals.models import Department
from phb.api.errors import Conflict


def _ward_code(department: Department, suffix: str) -> str:
    base = re.sub(r"[^A-Z0-9]", "", (department.code or department.name).upper())[:8] or f"D{department.pk}"
    code = f"{base}-{suffix}"[:16]
    taken = set(Ward.objects.filter(hospital_id=department.hospital_id, code__startswith=code)
                .values_list("code", flat=True))
    n = 2
    candidate = code
    while candidate in taken and n < 1000:
        candidate = f"{code[:13]}{n}"
        n += 1
    return candidate


def _ward(department: Department, *, icu: bool) -> Ward:
    kinds = Q(ward_type__in=list(ICU_WARD_TYPES))
    existing = Ward.objects.filter(department=department, is_active=True).filter(kinds if icu else ~kinds)
    ward = existing.order_by("pk").first()
    if ward is not None:
        return ward
    return Ward.objects.create(
        hospital_id=department.hospital_id, department=department,
        name=f"{department.name} {'ICU' if icu else 'Ward'}"[:120],
        code=_ward_code(department, "ICU" if icu else "W"),
        ward_type=WardType.ICU if icu else WardType.GENERAL,
        floor=department.floor_number, wing=department.wing,
    )


def _set_kind(department: Department, *, icu: bool, wanted: int) -> None:
    kinds = Q(ward__ward_type__in=list(ICU_WARD_TYPES))
    beds = (Bed.objects.select_for_update(of=("self",))
            .filter(ward__department=department, ward__is_active=True)
            .filter(kinds if icu else ~kinds)
            .exclude(status=BedStatus.OUT_OF_SERVICE))
    in_service = list(beds.order_by("pk"))[::-1]  # locked by id (already held), removed newest first
    have = len(in_service)
    if wanted > have:
        ward = _ward(department, icu=icu)
        numbers = set(ward.beds.values_list("number", flat=True))
        if len(numbers) + wanted - have > WARD_MAX_BEDS:
            raise Conflict(f"{ward.name} holds {len(numbers)} beds and a ward holds at most {WARD_MAX_BEDS}: "
                           f"it cannot take {wanted - have} more.", code="ward_full")
        new, n = [], 1
        while len(new) < wanted - have:
            number = str(n)
            if number not in numbers:
                new.append(Bed(ward=ward, number=number))
            n += 1
        Bed.objects.bulk_create(new)
    elif wanted < have:
        free = [b for b in in_service if b.status == BedStatus.AVAILABLE]
        surplus = have - wanted
        if len(free) < surplus:
            kind = "ICU" if icu else "general"
            raise Conflict(f"{department.name} has {have} {kind} beds and only {len(free)} are free: "
                           f"it cannot go down to {wanted}.", code="beds_in_use")
        gone = free[:surplus]
        unused = [b.pk for b in gone if not b.assignments.exists()]
        Bed.objects.filter(pk__in=unused).delete()
        Bed.objects.filter(pk__in=[b.pk for b in gone if b.pk not in unused]).update(status=BedStatus.OUT_OF_SERVICE)


def set_department_beds(*, department: Department, general: int | None, icu: int | None) -> None:
    """Make the department have ``general`` in-service general beds and ``icu`` ICU beds (None:
    leave that kind alone). Refused (409, nothing changed) when it would remove beds in use.

    Locks the department's row, then every bed of the department in ascending id order, whatever
    its ward or kind: the order a bed move takes (``admissions.beds``), so the two never deadlock."""
    with transaction.atomic():
        Department.objects.select_for_update().filter(pk=department.pk).values_list("pk", flat=True).first()
        list(Bed.objects.select_for_update(of=("self",)).filter(ward__department=department).order_by("pk")
             .values_list("pk", flat=True))
        if general is not None:
            _set_kind(department, icu=False, wanted=general)
        if icu is not None:
            _set_kind(department, icu=True, wanted=icu)
