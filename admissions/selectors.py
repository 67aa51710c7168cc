"""Reads about admissions, wards and beds, always for a caller and inside her scope.

Scope: staff (doctors and hospital admins) see their hospital's admissions; a patient sees her
own. Anything else is an empty queryset, so a view turns it into a 404.

Figures (department bed counts, the dashboard) are aggregates: a constant number of queries
whatever the number of beds, wards or admissions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.db import connections
from django.db.models import (
    Avg,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Length

from accounts.models import User
from admissions.models import ICU_WARD_TYPES, WARD_MAX_BEDS, Admission, AdmissionStatus, Bed, BedStatus, Ward
from hospitals.models import Hospital
from hospitals.selectors import staff_of
from phb.api.pagination import COUNT_CAP, PageSpec, capped_count, whole_count
from phb.db import PrecompiledValues
from phb.zones import day_bounds, today_in, zone_of


def staff_hospital_of(*, user: User) -> Hospital | None:
    """The hospital whose admissions ``user`` may see and act on (doctors and hospital admins)."""
    if not user.is_authenticated or user.is_patient:
        return None
    staff = staff_of(user=user)
    return staff.hospital if staff is not None and staff.hospital.is_active else None


def _base() -> QuerySet[Admission]:
    return Admission.objects.select_related(
        "hospital", "department", "patient", "attending_doctor__user", "bed__ward", "previous_admission"
    )


def admissions_for_staff(*, fetched_by: User) -> QuerySet[Admission]:
    hospital = staff_hospital_of(user=fetched_by)
    if hospital is None:
        return Admission.objects.none()
    return _base().filter(hospital=hospital)


def admissions_visible_to(*, fetched_by: User) -> QuerySet[Admission]:
    """Staff: the hospital's admissions. Patient: her own."""
    if fetched_by.is_authenticated and fetched_by.is_patient:
        return _base().filter(patient=fetched_by)
    return admissions_for_staff(fetched_by=fetched_by)


def local_today(hospital: Hospital | None) -> tuple[date, datetime]:
    """Today in the hospital's time zone, and the instant that day began."""
    zone = zone_of(hospital)
    today = today_in(zone)
    return today, day_bounds(today, zone)[0]


# The admissions list, newest first: 500 a page by default (the admissions page computes its
# figures from the first page), at most 1000. Its total is counted by the list (``AdmissionList.total``).
# A patient's are read in order from her index. The staff's are ordered by ``listed_at``, the
# creation time as an expression no index is read in the order of: each part of the list is read
# from its status index and sorted, never by walking the hospital's admissions newest first in
# search of today's discharges (what a prepared statement's generic plan would otherwise do).
PATIENT_PAGE = PageSpec(ordering=("-created_at", "-id"), default=500, maximum=1000, count=False)
STAFF_PAGE = PageSpec(ordering=("-listed_at", "-id"), default=500, maximum=1000, count=False)
_LISTED_AT = ExpressionWrapper(F("created_at") + Value(timedelta(0)), output_field=DateTimeField())

# What a closed admission is listed by: the time it closed.
_CLOSED_AT = {AdmissionStatus.DISCHARGED: "discharged_at", AdmissionStatus.TRANSFERRED: "discharged_at",
              AdmissionStatus.CANCELLED: "cancelled_at"}


@dataclass(frozen=True)
class AdmissionList:
    """One caller's admissions list, for ``pagination.paginate``: ``rows`` paged by ``spec`` as
    ``columns`` (the ids, and the order's values), ``parts`` the disjoint parts it reads one by one."""

    rows: QuerySet[Admission]
    spec: PageSpec
    columns: tuple[str, ...]
    parts: tuple[Q, ...] = ()

    def total(self) -> int | None:
        """Rows of the whole list, counted part by part (each on its index) up to
        ``pagination.COUNT_CAP``; None beyond it."""
        counted = sum(capped_count(self.rows.filter(part)) for part in self.parts or (Q(),))
        return counted if counted < COUNT_CAP else None


def admission_list(*, fetched_by: User, status: str = "", since: date | None = None) -> AdmissionList:
    """Staff: open admissions, plus those closed (discharged, transferred out, cancelled) since the
    start of today. Patient: all her own. Anyone else: nothing.

    That is what the admissions page and dashboard count as "currently admitted", "pending" and
    "discharged today". ``status`` narrows to one status; ``since`` widens the closed ones to a day.
    Each status is a part read from the hospital's index of that status (the closed ones from the
    time they closed), so a page costs what the open and recently closed admissions hold, never
    the hospital's past. ``paginate`` reads each part on its own where the database can (PostgreSQL):
    there ``rows`` are the hospital's and the parts choose; elsewhere it reads ``rows`` whole, so
    there they hold the parts' condition themselves.
    """
    if fetched_by.is_authenticated and fetched_by.is_patient:
        return AdmissionList(rows=Admission.objects.filter(patient=fetched_by), spec=PATIENT_PAGE,
                             columns=("id", "created_at"))
    columns = ("id", "listed_at")
    hospital = staff_hospital_of(user=fetched_by)
    if hospital is None:
        return AdmissionList(rows=Admission.objects.annotate(listed_at=_LISTED_AT).none(), spec=STAFF_PAGE,
                             columns=columns)
    _, day_start = local_today(hospital)
    if since is not None:
        day_start = day_bounds(since, zone_of(hospital))[0]
    by_status = {AdmissionStatus.PENDING: Q(status=AdmissionStatus.PENDING),
                 AdmissionStatus.ADMITTED: Q(status=AdmissionStatus.ADMITTED)}
    by_status |= {closed: Q(status=closed, **{f"{column}__gte": day_start}) for closed, column in _CLOSED_AT.items()}
    parts = tuple(part for name, part in by_status.items() if not status or name == status)
    rows = Admission.objects.filter(hospital=hospital).annotate(listed_at=_LISTED_AT)
    if not connections[rows.db].features.supports_slicing_ordering_in_compound:
        return AdmissionList(rows=rows.filter(reduce(or_, parts)), spec=STAFF_PAGE, columns=columns)
    return AdmissionList(rows=rows, spec=STAFF_PAGE, columns=columns, parts=parts)


def admissions_by_id(ids: list[int]) -> list[Admission]:
    """The admissions of ``ids`` in that order, each with what the list shows of it (one query)."""
    found = _base().in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


# The stays a medical record lists: the newest ones, up to this many (see ``admissions.history``).
RECORD_ADMISSIONS_MAX = 200


@dataclass
class History:
    admissions: list[Admission]
    total: int  # every stay of the patient (more than ``admissions`` holds when it reached the maximum)


# The ids of a patient's newest stays (one more than the record shows: is there more?), read on every
# record request: compiled once per connection (``phb.db``).
_newest_stays = PrecompiledValues(
    lambda patient_id: Admission.objects.filter(patient_id=patient_id).order_by("-created_at", "-id")
    .values_list("id")[: RECORD_ADMISSIONS_MAX + 1],
    sentinels=(uuid.UUID(int=0),),
)


def admission_history(*, patient: User) -> History:
    """The patient's newest admissions (up to :data:`RECORD_ADMISSIONS_MAX`), newest first, and how
    many she has in all (counted only when there are more than that).

    Most records have none: a narrow query on the patient's index answers that, and only a
    patient with stays pays for the seven-table join (whose planning alone costs milliseconds)."""
    ids = [row[0] for row in _newest_stays.rows(patient.pk)]  # on every record request: compiled once
    if not ids:
        return History(admissions=[], total=0)
    total = len(ids)
    if total > RECORD_ADMISSIONS_MAX:
        ids = ids[:RECORD_ADMISSIONS_MAX]
        total = whole_count(Admission.objects.filter(patient=patient))
    # The ids as one array parameter (phb.lookups): one SQL text, and one prepared statement of the
    # join, whatever the number of stays.
    return History(admissions=list(_base().filter(pk__any=ids).order_by("-created_at", "-id")), total=total)


def bed_history(*, admission: Admission) -> list[dict[str, Any]]:
    return [
        {"bed_identifier": a.bed.identifier, "ward_name": a.bed.ward.name,
         "assigned_at": a.assigned_at.isoformat(),
         "released_at": a.released_at.isoformat() if a.released_at else None,
         "release_reason": a.release_reason}
        for a in admission.bed_assignments.select_related("bed__ward").order_by("assigned_at")
    ]


# --- Bed figures ------------------------------------------------------------------------------
_ICU = Q(ward__ward_type__in=list(ICU_WARD_TYPES))
_IN_SERVICE = ~Q(status=BedStatus.OUT_OF_SERVICE)


def _bed_counts() -> dict[str, Count]:
    def c(*conditions: Q) -> Count:
        q = Q()
        for condition in conditions:
            q &= condition
        return Count("id", filter=q)

    return {
        "total": c(_IN_SERVICE),
        "occupied": c(Q(status=BedStatus.OCCUPIED)),
        "available": c(Q(status=BedStatus.AVAILABLE)),
        "icu_total": c(_ICU, _IN_SERVICE),
        "icu_occupied": c(_ICU, Q(status=BedStatus.OCCUPIED)),
        "icu_available": c(_ICU, Q(status=BedStatus.AVAILABLE)),
        "reserved": c(Q(status=BedStatus.RESERVED)),
        "cleaning": c(Q(status=BedStatus.CLEANING)),
        "out_of_service": c(Q(status=BedStatus.OUT_OF_SERVICE)),
    }


ZERO_BEDS = {key: 0 for key in ("total", "occupied", "available", "icu_total", "icu_occupied", "icu_available",
                                "reserved", "cleaning", "out_of_service")}


def occupancy_pct(occupied: int, capacity: int) -> float:
    return round(100.0 * occupied / capacity, 1) if capacity else 0.0


def with_rates(counts: dict[str, int]) -> dict[str, Any]:
    return {**counts, "capacity": counts["total"], "utilization_rate": occupancy_pct(counts["occupied"], counts["total"])}


def bed_counts_by_department(*, hospital_id: int, department_ids: list[int] | None = None) -> dict[int, dict[str, Any]]:
    """Department id -> bed counts (every bed, and the ICU/HDU ones among them; out-of-service
    beds left out of the totals), in one query. Only active wards count."""
    qs = Bed.objects.filter(ward__hospital_id=hospital_id, ward__is_active=True)
    if department_ids is not None:
        qs = qs.filter(ward__department_id__in=department_ids)
    rows = qs.values("ward__department_id").annotate(**_bed_counts()).order_by()
    return {row.pop("ward__department_id"): with_rates(row) for row in rows}


def bed_counts_by_hospital(*, hospital_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Hospital id -> bed counts, as :func:`bed_counts_by_department` counts them, of its active
    departments (a closed department admits nobody), in one query."""
    rows = (Bed.objects.filter(ward__hospital_id__in=hospital_ids, ward__is_active=True,
                               ward__department__is_active=True)
            .values("ward__hospital_id").annotate(**_bed_counts()).order_by())
    return {row.pop("ward__hospital_id"): row for row in rows}


def bed_counts_by_ward(*, hospital_id: int) -> list[dict[str, Any]]:
    """Bed counts of each active ward of the hospital's active departments (the dashboard's)."""
    rows = (Bed.objects.filter(ward__hospital_id=hospital_id, ward__is_active=True, ward__department__is_active=True)
            .values("ward_id", "ward__name", "ward__code", "ward__ward_type", "ward__department_id",
                    "ward__department__name")
            .annotate(**_bed_counts()).order_by("ward__department__name", "ward__name"))
    out = []
    for row in rows:
        counts = with_rates({k: row[k] for k in ZERO_BEDS})
        out.append({"ward_id": row["ward_id"], "ward_name": row["ward__name"], "ward_code": row["ward__code"],
                    "ward_type": row["ward__ward_type"], "department_id": row["ward__department_id"],
                    "department_name": row["ward__department__name"], **counts})
    return out


def current_patients_by_department(*, hospital_id: int) -> dict[int, int]:
    rows = (Admission.objects.filter(hospital_id=hospital_id, status=AdmissionStatus.ADMITTED)
            .values("department_id").annotate(n=Count("id")).order_by())
    return {row["department_id"]: row["n"] for row in rows}


def wards_of(*, hospital: Hospital) -> QuerySet[Ward]:
    """The hospital's wards (unordered: the view pages them, ``pagination.ADMISSION_WARDS``), each
    with its beds in number order, at most :data:`WARD_MAX_BEDS` + 1 of them read per ward (one
    more than a ward may hold, so that a ward over the limit is seen, never cut silently), as
    ``listed_beds``."""
    beds = Prefetch("beds", queryset=Bed.objects.order_by(Length("number"), "number", "id")[: WARD_MAX_BEDS + 1],
                    to_attr="listed_beds")
    return Ward.objects.filter(hospital=hospital).select_related("department").prefetch_related(beds)


# --- The dashboard ----------------------------------------------------------------------------
@dataclass
class Dashboard:
    today: date
    counts: dict[str, int]
    average_length_of_stay_days: float | None
    wards: list[dict[str, Any]] = field(default_factory=list)


DASHBOARD_WINDOW = timedelta(days=30)  # readmissions and the average length of stay look this far back


def _discharged_since(moment: datetime) -> Q:
    """Discharged or transferred out since ``moment``: read from ``(hospital, status, discharged_at)``."""
    return Q(status__in=(AdmissionStatus.DISCHARGED, AdmissionStatus.TRANSFERRED), discharged_at__gte=moment)


def dashboard(*, fetched_by: User) -> Dashboard | None:
    """Admissions today, occupancy by department and ward, average length of stay, pending
    discharges, whatever the size of the hospital.

    Only open admissions and those created or closed in the last :data:`DASHBOARD_WINDOW` can
    count, and the figures are counted over exactly those, read from the hospital's indexes: the
    dashboard costs what the hospital's current work holds, not its years of closed admissions."""
    hospital = staff_hospital_of(user=fetched_by)
    if hospital is None:
        return None
    today, day_start = local_today(hospital)
    window_start = day_start - DASHBOARD_WINDOW
    admissions = Admission.objects.filter(hospital=hospital)
    admitted = Q(status=AdmissionStatus.ADMITTED)
    # A cancelled admission never happened: it is no admission, emergency or readmission of the day.
    held = ~Q(status=AdmissionStatus.CANCELLED)
    figures = {
        "admissions_today": Count("id", filter=Q(created_at__gte=day_start) & held),
        "emergency_today": Count("id", filter=Q(created_at__gte=day_start, is_emergency=True) & held),
        "currently_admitted": Count("id", filter=admitted),
        "pending_admissions": Count("id", filter=Q(status=AdmissionStatus.PENDING)),
        "pending_discharges": Count("id", filter=admitted & Q(expected_discharge_date__lte=today)),
        "discharged_today": Count("id", filter=_discharged_since(day_start)),
        "readmissions_30_days": Count("id", filter=Q(is_readmission=True, created_at__gte=window_start) & held),
    }
    # Every figure's condition implies this one, which the hospital's indexes read (a bitmap of each part).
    current = (Q(status__in=(AdmissionStatus.PENDING, AdmissionStatus.ADMITTED)) | Q(created_at__gte=window_start)
               | _discharged_since(day_start))
    counts = admissions.filter(current).aggregate(**figures)
    stay = ExpressionWrapper(F("discharged_at") - F("admitted_at"), output_field=DurationField())
    average = admissions.filter(_discharged_since(window_start)).aggregate(avg=Avg(stay))["avg"]
    if average is not None and not isinstance(average, timedelta):  # SQLite answers microseconds
        average = timedelta(microseconds=float(average))
    return Dashboard(
        today=today,
        counts=counts,
        average_length_of_stay_days=round(average.total_seconds() / 86400, 1) if average is not None else None,
        wards=bed_counts_by_ward(hospital_id=hospital.pk),
    )
