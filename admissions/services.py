"""Writes about admissions: create, admit, move between beds, discharge, cancel, edit, link.

Every write runs in one transaction that locks the admission row first, then beds (in id order
when there are two), so parallel requests from several workers serialise on the rows they share
and nothing is half-done when one of them fails. Every write is in the audit trail. No network
call happens inside a transaction (metrics are buffered in process).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from admissions import beds, state
from admissions.audit import audit_admission
from admissions.lookups import department_of, doctor_of, lock_active_department, patient_of
from admissions.models import (
    Admission,
    AdmissionPriority,
    AdmissionStatus,
    AdmissionType,
    Bed,
    BedAssignment,
    DischargeType,
    new_admission_id,
)
from hospitals.models import Hospital
from phb import metrics
from phb.api.errors import ApiError, Conflict
from phb.api.timestamps import iso_z
from phb.zones import date_at

READMISSION_WINDOW = timedelta(days=30)
CLOCK_SKEW = timedelta(minutes=5)


def _previous_stay(*, patient: User | None, hospital: Hospital, now: datetime) -> Admission | None:
    """The patient's stay at ``hospital`` that ended in the :data:`READMISSION_WINDOW` before ``now``
    (the admission's creation): a stay that ended after it is a later one, never a previous one."""
    if patient is None:
        return None
    return (Admission.objects
            .filter(patient=patient, hospital=hospital, discharged_at__gte=now - READMISSION_WINDOW,
                    discharged_at__lte=now, status__in=[AdmissionStatus.DISCHARGED, AdmissionStatus.TRANSFERRED])
            .order_by("-discharged_at").first())


def _check_time(value: datetime | None, *, not_before: datetime | None, what: str) -> datetime:
    now = timezone.now()
    value = value or now
    if value > now + CLOCK_SKEW:
        raise ApiError(f"The {what} time is in the future.", code="invalid_time")
    if not_before is not None and value < not_before:
        raise ApiError(f"The {what} time is before the admission time.", code="invalid_time")
    return value


def _check_after_last_move(*, admission: Admission, when: datetime) -> None:
    """A discharge time not before the admission's last bed assignment (its history stays in order)."""
    last = (BedAssignment.objects.select_related("bed", "bed__ward").filter(admission=admission)
            .order_by("-assigned_at").first())
    if last is not None and when < last.assigned_at:
        message = (f"discharged_at: the discharge time is before the patient was placed in bed "
                   f"{last.bed.identifier} ({iso_z(last.assigned_at)}).")
        raise ApiError(message, code="invalid_time", discharged_at=[message.split(": ", 1)[1]])


def _check_expected_discharge(*, expected: date | None, hospital: Hospital, began: datetime) -> None:
    """An expected discharge date not before the day the stay began (the hospital's date of its
    admission, or of its creation while pending; today for a new one)."""
    if expected is None:
        return
    first_day = date_at(began, hospital)
    if expected < first_day:
        message = (f"expected_discharge_date: the expected discharge date cannot be before the stay began "
                   f"({first_day.isoformat()}).")
        raise ApiError(message, code="invalid_date", expected_discharge_date=[message.split(": ", 1)[1]])


def _check_after_previous_stay(*, admission: Admission, when: datetime) -> None:
    """A backdated admission time not before the end of the patient's previous stay: one patient
    is never in two beds at once."""
    if admission.patient_id is None:
        return
    ended = (Admission.objects.filter(patient_id=admission.patient_id, discharged_at__gt=when)
             .exclude(pk=admission.pk).order_by("-discharged_at").values_list("discharged_at", flat=True).first())
    if ended is not None:
        message = (f"admitted_at: the patient's previous stay ended at {iso_z(ended)}; the admission time cannot "
                   "be before that.")
        raise ApiError(message, code="invalid_time", admitted_at=[message.split(": ", 1)[1]])


def _lock(admission: Admission) -> Admission:
    return (Admission.objects.select_for_update(of=("self",))
            .select_related("hospital", "department", "bed", "bed__ward")
            .get(pk=admission.pk))


def _place(*, admission: Admission, actor: User, bed_ref: object = None, at: datetime,
           any_department: bool = False, leaving: Bed | None = None, backdated: bool = False,
           named: Bed | None = None) -> Bed:
    """Take the named bed (locked, checked; ``named``: already found and locked by the caller) or
    any free bed of the admission's kind in its department other than ``leaving`` (the bed a move
    gives back). Only a move (``any_department``) may take a bed of another department, and the
    admission then belongs to that department. ``backdated``: ``at`` is a past time the caller
    gave, and the bed must have been free since then."""
    free_since = at if backdated else None
    if named is None and bed_ref not in (None, ""):
        found = beds.bed_in_hospital(hospital=admission.hospital, ref=bed_ref)
        if any_department and found.ward.department_id != admission.department_id:
            lock_active_department(found.ward.department_id)  # before the bed: the order deactivation takes
        named = beds.lock_bed(found)
    if named is not None:
        bed = named
        if not any_department and bed.ward.department_id != admission.department_id:
            raise ApiError(f"Bed {bed.identifier} belongs to {bed.ward.department.name}, not "
                           f"{admission.department.name}.", code="bed_department")
        if admission.requires_icu and not bed.ward.is_icu:
            raise ApiError(f"Bed {bed.identifier} is not an ICU bed.", code="bed_kind")
    else:
        bed = beds.lock_free_bed(department=admission.department, icu=admission.requires_icu, other_than=leaving,
                                 free_since=free_since)
        if bed is None:
            raise beds.no_free_bed(department=admission.department, icu=admission.requires_icu, staying_in=leaving,
                                   free_since=free_since)
    beds.take(admission=admission, bed=bed, by=actor, at=at, free_since=free_since)
    admission.bed = bed
    if bed.ward.department_id != admission.department_id:
        admission.department = bed.ward.department
    return bed


@dataclass(frozen=True)
class NewAdmission:
    department_id: int
    reason_for_admission: str
    patient_ref: object = None
    temp_patient_details: dict[str, Any] | None = None
    attending_doctor_id: int | None = None
    diagnosis: str = ""
    priority: str = AdmissionPriority.ELECTIVE
    admission_type: str = AdmissionType.INPATIENT
    requires_icu: bool = False
    expected_discharge_date: date | None = None
    staff_notes: str = ""
    assign_bed: bool = False
    bed_ref: object = None


def admission_create(*, actor: User, hospital: Hospital, new: NewAdmission, request: Any = None) -> Admission:
    """A pending admission; with ``assign_bed`` the patient is admitted into a bed in the same
    transaction (and nothing is created when no bed can be had)."""
    department = department_of(hospital=hospital, department_id=new.department_id)
    doctor = doctor_of(department=department, staff_id=new.attending_doctor_id)
    patient = patient_of(hospital=hospital, ref=new.patient_ref) if new.temp_patient_details is None else None
    now = timezone.now()
    _check_expected_discharge(expected=new.expected_discharge_date, hospital=hospital, began=now)
    previous = _previous_stay(patient=patient, hospital=hospital, now=now)
    try:
        with transaction.atomic():
            lock_active_department(department.pk)
            admission = Admission.objects.create(
                admission_id=new_admission_id(date_at(now, hospital)),
                hospital=hospital, department=department, patient=patient,
                temp_patient_details=new.temp_patient_details or {}, is_emergency=new.temp_patient_details is not None,
                attending_doctor=doctor, created_by=actor, reason_for_admission=new.reason_for_admission,
                diagnosis=new.diagnosis, priority=new.priority, admission_type=new.admission_type,
                requires_icu=new.requires_icu, expected_discharge_date=new.expected_discharge_date,
                staff_notes=new.staff_notes, is_readmission=previous is not None, previous_admission=previous,
                created_at=now,
            )
            if new.assign_bed:
                _place(admission=admission, actor=actor, bed_ref=new.bed_ref, at=now)
                admission.status = AdmissionStatus.ADMITTED
                admission.admitted_at = now
                admission.save(update_fields=["status", "admitted_at", "bed", "department", "updated_at"])
            audit_admission(actor=actor, admission=admission, action="create", request=request)
    except IntegrityError as exc:
        if "admission_one_open_per_patient" in str(exc) or patient is not None and Admission.objects.filter(
            patient=patient, status__in=[AdmissionStatus.PENDING, AdmissionStatus.ADMITTED]
        ).exists():
            raise Conflict("This patient already has an open admission.", code="already_admitted") from exc
        raise
    metrics.record("AdmissionCreated", area="Admissions",
                   dimensions={"Priority": admission.priority, "Admitted": str(new.assign_bed).lower()})
    return admission


def admission_admit(*, actor: User, admission: Admission, bed_ref: object = None, admitted_at: datetime | None = None,
                    request: Any = None) -> Admission:
    with transaction.atomic():
        locked = _lock(admission)
        state.ensure_transition(locked.status, AdmissionStatus.ADMITTED)
        when = _check_time(admitted_at, not_before=None, what="admission")
        if admitted_at is not None:
            _check_after_previous_stay(admission=locked, when=when)
        _place(admission=locked, actor=actor, bed_ref=bed_ref, at=when, backdated=admitted_at is not None)
        locked.status = AdmissionStatus.ADMITTED
        locked.admitted_at = when
        locked.save(update_fields=["status", "admitted_at", "bed", "department", "updated_at"])
        audit_admission(actor=actor, admission=locked, action="admit", request=request)
    return locked


def admission_transfer(*, actor: User, admission: Admission, bed_ref: object = None, icu: bool | None = None,
                       request: Any = None) -> Admission:
    """Move an admitted patient to another bed (named, or any free one of the requested kind in the
    department other than the current one: 409 ``no_bed_available`` when there is none). The old
    bed is released in the same transaction.

    A move to a named bed locks the target's department (when it is another one), then both beds
    in ascending id order, before anything changes (the order of ``admissions.beds``): a move the
    other way, or the department form's bed count, waits instead of deadlocking."""
    with transaction.atomic():
        locked = _lock(admission)
        state.ensure_admitted(locked.status, action="moved to another bed")
        if icu is not None:
            locked.requires_icu = icu
        target = None
        if bed_ref not in (None, ""):
            found = beds.bed_in_hospital(hospital=locked.hospital, ref=bed_ref)
            if found.pk == locked.bed_id:
                raise Conflict(f"The patient is already in bed {found.identifier}.", code="same_bed")
            if found.ward.department_id != locked.department_id:
                lock_active_department(found.ward.department_id)
            target = beds.lock_beds([found, *([locked.bed] if locked.bed_id else [])])[found.pk]
        now = timezone.now()
        leaving = beds.give_back(admission=locked, reason="transfer", at=now)
        _place(admission=locked, actor=actor, bed_ref=bed_ref, at=now, any_department=True, leaving=leaving,
               named=target)
        locked.save(update_fields=["bed", "department", "requires_icu", "updated_at"])
        audit_admission(actor=actor, admission=locked, action="transfer", request=request)
    metrics.record("BedTransfer", area="Admissions")
    return locked


def _discharge_type(discharge_type: str, destination: str) -> str:
    if discharge_type:
        return discharge_type
    text = destination.strip().lower()
    if not text or text in ("home", "home with support", "self care"):
        return DischargeType.HOME
    if "ama" in text.split() or "against medical advice" in text:
        return DischargeType.LEFT_AMA
    if any(word in text for word in ("hospital", "facility", "transfer", "hospice", "nursing")):
        return DischargeType.TRANSFER
    return DischargeType.OTHER


def admission_discharge(*, actor: User, admission: Admission, discharge_summary: str = "",
                        followup_instructions: str | None = None, discharge_destination: str = "",
                        discharge_type: str = "", discharged_at: datetime | None = None,
                        request: Any = None) -> Admission:
    """Discharge (home, elsewhere, against advice, deceased): the bed is released exactly once.
    Discharge to another facility leaves the admission ``transferred``."""
    with transaction.atomic():
        locked = _lock(admission)
        kind = _discharge_type(discharge_type, discharge_destination)
        target = AdmissionStatus.TRANSFERRED if kind == DischargeType.TRANSFER else AdmissionStatus.DISCHARGED
        state.ensure_transition(locked.status, target)
        summary = (discharge_summary or locked.discharge_summary).strip()
        if not summary:
            # The body may leave the summary out when one was saved on the admission (the edit form):
            # without either, the admission is not in a state to be discharged.
            raise Conflict("A discharge summary is required: send discharge_summary, or save one on the "
                           "admission first.", code="summary_required")
        when = _check_time(discharged_at, not_before=locked.admitted_at, what="discharge")
        _check_after_last_move(admission=locked, when=when)
        beds.give_back(admission=locked, reason="discharge", at=when)
        locked.status = target
        locked.discharged_at = when
        locked.discharge_summary = summary
        if followup_instructions is not None:
            locked.followup_instructions = followup_instructions
        locked.discharge_destination = discharge_destination or kind.label
        locked.discharge_type = kind
        locked.save()
        audit_admission(actor=actor, admission=locked, action="discharge", request=request)
    metrics.record("PatientDischarged", area="Admissions", dimensions={"DischargeType": kind})
    return locked


def admission_cancel(*, actor: User, admission: Admission, reason: str = "", request: Any = None) -> Admission:
    with transaction.atomic():
        locked = _lock(admission)
        state.ensure_transition(locked.status, AdmissionStatus.CANCELLED)
        locked.status = AdmissionStatus.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.cancel_reason = reason[:255]
        locked.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
        audit_admission(actor=actor, admission=locked, action="cancel", request=request)
    return locked


EDITABLE = ("diagnosis", "discharge_summary", "followup_instructions", "reason_for_admission", "priority",
            "expected_discharge_date", "staff_notes")


def admission_update(*, actor: User, admission: Admission, changes: dict[str, Any], request: Any = None) -> Admission:
    """The detail modal's PATCH: plain fields, then a bed change (a transfer), then a status change
    (admit, discharge, cancel), all or nothing."""
    with transaction.atomic():
        locked = _lock(admission)
        fields = [name for name in EDITABLE if name in changes]
        if "expected_discharge_date" in changes:
            _check_expected_discharge(expected=changes["expected_discharge_date"], hospital=locked.hospital,
                                      began=locked.admitted_at or locked.created_at)
        for name in fields:
            setattr(locked, name, changes[name])
        if "attending_doctor_id" in changes:
            locked.attending_doctor = doctor_of(department=locked.department, staff_id=changes["attending_doctor_id"])
            fields.append("attending_doctor")
        if fields:
            locked.save(update_fields=[*fields, "updated_at"])
        bed_ref = (changes.get("bed_identifier") or "").strip()
        current = locked.bed.identifier if locked.bed_id and locked.status == AdmissionStatus.ADMITTED else ""
        icu = changes.get("is_icu_bed")
        bed_changed = bool(bed_ref) and beds.identifier_key(bed_ref) != beds.identifier_key(current)
        icu_changed = icu is not None and locked.status == AdmissionStatus.ADMITTED and bool(icu) != (
            locked.bed.ward.is_icu if locked.bed_id else locked.requires_icu)
        if locked.status == AdmissionStatus.PENDING and icu is not None and icu != locked.requires_icu:
            locked.requires_icu = bool(icu)
            locked.save(update_fields=["requires_icu", "updated_at"])
        if bed_changed and locked.status == AdmissionStatus.PENDING:
            raise Conflict("A bed is assigned when the patient is admitted: use Admit.", code="not_admitted")
        if locked.status in state.TERMINAL and (bed_changed or (icu is not None and bool(icu) != locked.requires_icu)):
            state.ensure_admitted(locked.status, action="moved to another bed")
        if bed_changed or icu_changed:
            locked = admission_transfer(actor=actor, admission=locked, bed_ref=bed_ref if bed_changed else None,
                                        icu=bool(icu) if icu is not None else None, request=request)
        status = changes.get("status")
        if status and status != locked.status:
            if status == AdmissionStatus.ADMITTED:
                locked = admission_admit(actor=actor, admission=locked, request=request)
            elif status in (AdmissionStatus.DISCHARGED, AdmissionStatus.TRANSFERRED):
                locked = admission_discharge(
                    actor=actor, admission=locked, discharge_summary=locked.discharge_summary,
                    discharge_type=DischargeType.TRANSFER if status == AdmissionStatus.TRANSFERRED else "",
                    discharge_destination=locked.discharge_destination, request=request)
            elif status == AdmissionStatus.CANCELLED:
                locked = admission_cancel(actor=actor, admission=locked, request=request)
            else:
                state.ensure_transition(locked.status, status)
        if fields:
            audit_admission(actor=actor, admission=locked, action="update", request=request)
    return locked


def admission_link_patient(*, actor: User, admission: Admission, patient_ref: object, request: Any = None) -> Admission:
    """An emergency admission of an unregistered person, linked to her patient account later."""
    with transaction.atomic():
        locked = _lock(admission)
        if locked.patient_id is not None:
            raise Conflict("This admission is already linked to a patient.", code="already_linked")
        patient = patient_of(hospital=locked.hospital, ref=patient_ref)
        previous = _previous_stay(patient=patient, hospital=locked.hospital, now=locked.created_at)
        locked.patient = patient
        locked.is_readmission = previous is not None
        locked.previous_admission = previous
        try:
            with transaction.atomic():
                locked.save(update_fields=["patient", "is_readmission", "previous_admission", "updated_at"])
        except IntegrityError as exc:
            raise Conflict("This patient already has an open admission.", code="already_admitted") from exc
        audit_admission(actor=actor, admission=locked, action="link_patient", request=request)
    return locked
