"""Taking and giving back beds: the concurrency-critical part of admissions.

Rules every function here keeps:

* a bed's status changes only while its row is locked (``SELECT ... FOR UPDATE``) inside the
  caller's transaction, and is re-read after the lock is taken;
* taking a bed opens a :class:`BedAssignment`; the partial unique constraints on that table make a
  second open assignment of the same bed (or of the same admission) impossible even for code
  that skipped the lock;
* giving a bed back closes the open assignment found under a lock, so it happens exactly once;
* locks are taken in one order, so two requests never wait for each other in a circle (which
  PostgreSQL breaks by killing one, a 503): the admission row, then department rows, then beds in
  ascending id order (:func:`lock_beds`; the department form's bed count locks its department, then
  all its beds by id). "Any free bed" (``SKIP LOCKED``) never waits, so it may come last.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Concat, Length, Replace, Upper
from django.utils import timezone

from accounts.models import User
from admissions.models import ICU_WARD_TYPES, Admission, Bed, BedAssignment, BedStatus
from hospitals.models import Department, Hospital
from phb import metrics
from phb.api.errors import ApiError, Conflict
from phb.api.timestamps import iso_z

_UNAVAILABLE = {
    BedStatus.OCCUPIED: "is occupied",
    BedStatus.RESERVED: "is reserved",
    BedStatus.CLEANING: "is being cleaned",
    BedStatus.OUT_OF_SERVICE: "is out of service",
}


def _icu_filter(icu: bool) -> Q:
    q = Q(ward__ward_type__in=list(ICU_WARD_TYPES))
    return q if icu else ~q


def identifier_key(text: str) -> str:
    """A bed identifier as it is compared: without spaces, in capitals (``med a-bay 1`` is ``MEDA-BAY1``)."""
    return re.sub(r"\s+", "", text).upper()


def _without_spaces(*parts: object) -> Upper:
    return Upper(Replace(Concat(*parts, output_field=CharField()) if len(parts) > 1 else parts[0], Value(" "),
                         Value("")))


def bed_in_hospital(*, hospital: Hospital, ref: object) -> Bed:
    """A bed of ``hospital`` named by id (an int) or by identifier (``<ward code>-<number>``); 400
    otherwise.

    The identifier match ignores case and spaces (a ward coded ``MED A``, a bed numbered ``Bay 1``
    or ``B-1``); a bare bed number is accepted when it is unique in the hospital.
    """
    beds = Bed.objects.select_related("ward", "ward__department").filter(ward__hospital=hospital)
    if isinstance(ref, int):  # ``bed_id``; a string is always an identifier or a bed number
        found = beds.filter(pk=ref).first()
        if found is not None:
            return found
        raise ApiError("There is no such bed in this hospital.", code="bed_not_found")
    text = identifier_key(str(ref or ""))
    if text:
        # Most beds are numbered without spaces or hyphens: found by the number's index first.
        for bed in beds.filter(number__iexact=text.rsplit("-", 1)[-1]):
            if identifier_key(bed.identifier) == text:
                return bed
        spelled = beds.alias(key=_without_spaces(F("ward__code"), Value("-"), F("number"))).filter(key=text).first()
        if spelled is not None:
            return spelled
        by_number = list(beds.alias(key=_without_spaces(F("number"))).filter(key=text)[:2])
        if len(by_number) == 1:
            return by_number[0]
    raise ApiError(f"There is no bed '{str(ref)[:40]}' in this hospital.", code="bed_not_found")


def lock_bed(bed: Bed) -> Bed:
    """The bed's row, locked, re-read. Call inside a transaction.

    The bed was found before its lock was taken: the department form lowering the bed count can
    delete it in between (a free bed without history). That is a 409 ``bed_removed``, and the
    caller's transaction, rolled back, changes nothing."""
    locked = Bed.objects.select_for_update(of=("self",)).select_related("ward", "ward__department").filter(
        pk=bed.pk).first()
    if locked is None:
        metrics.record("BedConflict", area="Admissions", dimensions={"Reason": "removed"})
        raise Conflict(f"Bed {bed.identifier} no longer exists: it was just removed. Choose another bed.",
                       code="bed_removed")
    return locked


def lock_beds(found: list[Bed]) -> dict[int, Bed]:
    """Lock the beds of ``found`` in ascending id order (the global order, see the module's
    docstring), each re-read: a 409 when one no longer exists. By id. Call inside a transaction."""
    return {bed.pk: lock_bed(bed) for bed in sorted({b.pk: b for b in found}.values(), key=lambda b: b.pk)}


def lock_free_bed(*, department: Department, icu: bool, other_than: Bed | None = None,
                  free_since: datetime | None = None) -> Bed | None:
    """Lock one available bed of the department's active wards (ICU or not), skipping beds other
    transactions are taking right now, and ``other_than`` (the bed a moving patient just gave back:
    this transaction holds its lock, so ``SKIP LOCKED`` would not skip it). With ``free_since`` (a
    backdated admission), only a bed no patient held after that time. None when there is none."""
    qs = (
        Bed.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("ward", "ward__department")
        .filter(_icu_filter(icu), ward__department=department, ward__is_active=True, status=BedStatus.AVAILABLE)
    )
    if other_than is not None:
        qs = qs.exclude(pk=other_than.pk)
    if free_since is not None:
        qs = qs.exclude(pk__in=BedAssignment.objects.filter(released_at__gt=free_since).values("bed_id"))
    return qs.order_by("ward__name", Length("number"), "number").first()


def ensure_free(bed: Bed) -> None:
    if bed.status != BedStatus.AVAILABLE:
        metrics.record("BedConflict", area="Admissions", dimensions={"Reason": bed.status})
        raise Conflict(f"Bed {bed.identifier} {_UNAVAILABLE.get(bed.status, 'is not available')}.",
                       code="bed_unavailable", bed_status=bed.status)
    if not bed.ward.is_active:
        raise Conflict(f"Bed {bed.identifier} is in a closed ward.", code="bed_unavailable")


def ensure_free_since(bed: Bed, at: datetime) -> None:
    """A bed taken at a past time ``at`` (a backdated admission) must have been free then: no
    patient's stay in it may end after ``at``, or the bed's history would hold two patients at once.
    Call with the bed locked."""
    released = (BedAssignment.objects.filter(bed=bed, released_at__gt=at).order_by("-released_at")
                .values_list("released_at", flat=True).first())
    if released is not None:
        message = (f"admitted_at: bed {bed.identifier} was held by another patient until {iso_z(released)}; "
                   "the admission time cannot be before that.")
        raise ApiError(message, code="invalid_time", admitted_at=[message.split(": ", 1)[1]])


def no_free_bed(*, department: Department, icu: bool, staying_in: Bed | None = None,
                free_since: datetime | None = None) -> Conflict:
    """The 409 when no bed can be had; ``staying_in``: the bed a patient asked to move out of;
    ``free_since``: the past time a backdated admission asked for."""
    metrics.record("BedConflict", area="Admissions", dimensions={"Reason": "none_free"})
    kind = "ICU" if icu else "general"
    if free_since is not None:
        return Conflict(f"No {kind} bed of {department.name} that is free now was also free at the admission "
                        f"time ({iso_z(free_since)}): name the bed, or give a later admission time.",
                        code="no_bed_available")
    if staying_in is not None:
        return Conflict(f"No other {kind} bed is available in {department.name} right now: the patient stays "
                        f"in bed {staying_in.identifier}.", code="no_bed_available")
    return Conflict(f"No {kind} bed is available in {department.name} right now. Create the admission as "
                    "pending, or choose another department.", code="no_bed_available")


def take(*, admission: Admission, bed: Bed, by: User | None, at: datetime | None = None,
         free_since: datetime | None = None) -> BedAssignment:
    """Give a locked, available bed to the admission (free since ``free_since`` too, when given).
    Call inside a transaction."""
    ensure_free(bed)
    if free_since is not None:
        ensure_free_since(bed, free_since)
    now = at or timezone.now()
    try:
        with transaction.atomic():
            assignment = BedAssignment.objects.create(admission=admission, bed=bed, assigned_at=now, assigned_by=by)
    except IntegrityError as exc:  # the constraint: something wrote around the lock
        raise Conflict(f"Bed {bed.identifier} was just taken by another admission.", code="bed_unavailable") from exc
    Bed.objects.filter(pk=bed.pk).update(status=BedStatus.OCCUPIED, status_changed_at=timezone.now())
    bed.status = BedStatus.OCCUPIED
    return assignment


def give_back(*, admission: Admission, reason: str, at: datetime | None = None) -> Bed | None:
    """Close the admission's open bed assignment and free its bed: exactly once. Returns the bed,
    or None when the admission held no bed. Call inside a transaction."""
    assignment = (
        BedAssignment.objects.select_for_update().filter(admission=admission, released_at__isnull=True).first()
    )
    if assignment is None:
        return None
    bed = Bed.objects.select_for_update(of=("self",)).select_related("ward").get(pk=assignment.bed_id)
    assignment.released_at = at or timezone.now()
    assignment.release_reason = reason
    assignment.save(update_fields=["released_at", "release_reason"])
    if bed.status == BedStatus.OCCUPIED:
        Bed.objects.filter(pk=bed.pk).update(status=BedStatus.AVAILABLE, status_changed_at=timezone.now())
        bed.status = BedStatus.AVAILABLE
    return bed


def set_status(*, bed: Bed, status: str) -> Bed:
    """Staff marking a bed available, reserved, cleaning or out of service (never occupied: only an
    admission occupies a bed, and an occupied bed changes only through its admission)."""
    if status not in BedStatus.values or status == BedStatus.OCCUPIED:
        allowed = ", ".join(s for s in BedStatus.values if s != BedStatus.OCCUPIED)
        raise ApiError(f"A bed's status can be set to {allowed}.", code="invalid_status")
    with transaction.atomic():
        locked = lock_bed(bed)
        if locked.status == BedStatus.OCCUPIED:
            raise Conflict(f"Bed {locked.identifier} is occupied: discharge or transfer the patient first.",
                           code="bed_occupied")
        Bed.objects.filter(pk=locked.pk).update(status=status, status_changed_at=timezone.now())
        locked.status = status
    return locked
