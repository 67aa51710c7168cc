"""Bed occupancy per department as a CloudWatch gauge (``PHB/Admissions`` ``BedOccupancy``)."""

from __future__ import annotations

from django.db.models import Count, Q

from admissions.models import Bed, BedStatus
from phb import metrics


def occupancy_by_department() -> list[tuple[int, int, float, int]]:
    """(hospital id, department id, occupancy %, in-service beds) for every department with beds
    in active wards of an active hospital: one query."""
    rows = (Bed.objects.filter(ward__is_active=True, ward__department__is_active=True, ward__hospital__is_active=True)
            .values("ward__hospital_id", "ward__department_id")
            .annotate(in_service=Count("id", filter=~Q(status=BedStatus.OUT_OF_SERVICE)),
                      occupied=Count("id", filter=Q(status=BedStatus.OCCUPIED)))
            .order_by("ward__hospital_id", "ward__department_id"))
    return [(r["ward__hospital_id"], r["ward__department_id"],
             round(100.0 * r["occupied"] / r["in_service"], 1) if r["in_service"] else 0.0, r["in_service"])
            for r in rows if r["in_service"]]


def publish() -> int:
    """Record one BedOccupancy value per department (ids only as dimensions); returns how many.

    The caller flushes (the command does, outside any transaction)."""
    found = occupancy_by_department()
    for hospital_id, department_id, pct, _ in found:
        metrics.record("BedOccupancy", pct, unit="Percent", area="Admissions",
                       dimensions={"Hospital": str(hospital_id), "Department": str(department_id)})
    return len(found)
