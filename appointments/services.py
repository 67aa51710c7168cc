"""Writes on appointments: lifecycle transitions, notes, referrals, reschedule and prescriptions.

Every status change goes through :func:`_transition`, which locks the row, asks
:mod:`appointments.state` whether the change is allowed (409 otherwise) and gives the slot place
back when the new status no longer occupies one.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from appointments import moving, notifications, rosters, slot_places, state
from appointments.models import Appointment, AppointmentStatus, Prescription
from appointments.scheduler import events as scheduling_events
from appointments.signals import send_appointment_cancelled_after_commit, send_prescription_issued_after_commit
from hospitals.models import Department, Hospital
from phb.api.errors import ApiError, Conflict
from phb.zones import zone_of

logger = logging.getLogger(__name__)

S = AppointmentStatus


def _log(event: str, appointment: Appointment, **extra: Any) -> None:
    logger.info(event.replace("_", " "), extra={"event": event, "appointment_id": str(appointment.pk), **extra})


def _transition(appointment: Appointment, target: str, *, check: Callable[[Appointment], None] | None = None,
                **changes: Any) -> Appointment:
    """Lock, check the state machine (and ``check``, on the locked row), apply ``changes`` and the
    new status, release the place if due."""
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        state.ensure_transition(current.status, target)
        if check is not None:
            check(current)
        previous = current.status
        current.status = target
        for field, value in changes.items():
            setattr(current, field, value)
        current.save(update_fields=["status", "updated_at", *changes.keys()])
        if target in state.RELEASES_PLACE and previous not in state.RELEASES_PLACE:
            slot_places.release_place(slot_id=current.slot_id)
        scheduling_events.record_outcome(appointment_id=current.pk, status=target)
    # Keep the caller's related objects (already loaded) on the fresh row.
    for name in ("patient", "hospital", "department"):
        if name in appointment._state.fields_cache:
            setattr(current, name, getattr(appointment, name))
    return current


# --- Doctor actions ------------------------------------------------------------------------------
def _ensure_acceptable(appointment: Appointment, *, proposed_time: datetime | None) -> None:
    if appointment.status == S.RESCHEDULED and proposed_time is None:
        raise Conflict("This appointment needs a new time first: send proposed_time or let the patient choose one.",
                       code="invalid_transition")
    if appointment.status not in (S.PENDING, S.RESCHEDULED):
        state.ensure_transition(appointment.status, S.CONFIRMED)


def appointment_accept(*, appointment: Appointment, doctor: User, proposed_time: datetime | None = None) -> Appointment:
    """D5: the accepting doctor takes the appointment; optionally at another time (hospital wall clock).

    Checked on the locked row, taken in the order a move takes its locks (the patient, the
    appointment, then its slots): an appointment another doctor accepted, or the patient moved,
    since the request read it is judged as it is now."""
    now = timezone.now()
    with transaction.atomic():
        if proposed_time is not None:
            slot_places.lock_patient(appointment.patient)
        # ``of``: the appointment's row only, not the hospital's and department's it is read with.
        appointment = Appointment.objects.select_for_update(of=("self",)).select_related(
            "hospital", "department").get(pk=appointment.pk)
        _ensure_acceptable(appointment, proposed_time=proposed_time)
        if proposed_time is not None:
            appointment = moving.appointment_move(appointment=appointment, start_local=proposed_time, by_hospital=True)
            notifications.notify_rescheduled(appointment)
        rosters.ensure_place_for(appointment=appointment, doctor_id=doctor.pk)
        if appointment.status == S.CONFIRMED:  # moved back from rescheduled with its doctor
            appointment.doctor, appointment.accepted_at = doctor, now
            appointment.save(update_fields=["doctor", "accepted_at", "updated_at"])
        else:
            appointment = _transition(appointment, S.CONFIRMED, doctor=doctor, accepted_at=now, confirmed_at=now)
        notifications.notify_confirmed(appointment)
    _log("appointment_accepted", appointment)
    return appointment


def appointment_start(*, appointment: Appointment, doctor: User) -> Appointment:
    """D6. A department doctor who starts an unassigned consultation becomes its doctor."""
    changes: dict[str, Any] = {"started_at": timezone.now()}
    if appointment.doctor_id is None:
        changes["doctor"] = doctor
    appointment = _transition(appointment, S.IN_PROGRESS, **changes)
    _log("consultation_started", appointment)
    return appointment


def normalize_summary(value: Any) -> dict:
    if isinstance(value, dict):
        summary = {k: v for k, v in value.items() if isinstance(k, str)}
    elif isinstance(value, str):
        summary = {"notes": value}
    else:
        summary = {}
    text = " ".join(str(v) for v in summary.values() if v not in (None, "", [], {}))
    if not text.strip():
        raise ApiError("A medical summary is required to complete the consultation.", code="summary_required")
    return summary


def appointment_complete(*, appointment: Appointment, doctor: User, medical_summary: Any,
                         notes: str = "") -> Appointment:
    """D7 / D4 completed: requires a non-empty medical summary (asked for only where the
    consultation can be completed: otherwise the refusal says why it cannot). A confirmed
    appointment nobody started is completed directly, once its time has come (checked on the
    locked row)."""
    state.ensure_transition(appointment.status, S.COMPLETED)
    _ensure_time_came_if_not_started(appointment)
    summary = normalize_summary(medical_summary)
    changes: dict[str, Any] = {"medical_summary": summary, "completed_at": timezone.now()}
    if notes:
        changes["doctor_notes"] = _append(appointment.doctor_notes, notes, hospital=appointment.hospital)
    if appointment.doctor_id is None:
        changes["doctor"] = doctor
    appointment = _transition(appointment, S.COMPLETED, check=_ensure_time_came_if_not_started, **changes)
    _log("consultation_completed", appointment)
    return appointment


def appointment_no_show(*, appointment: Appointment, doctor: User, notes: str = "") -> Appointment:
    """D10: only once the appointment's time has come (its time as locked: a move the patient made
    meanwhile counts)."""
    state.ensure_transition(appointment.status, S.NO_SHOW)
    _ensure_started(appointment)
    changes: dict[str, Any] = {"no_show_at": timezone.now()}
    if notes:
        changes["doctor_notes"] = _append(appointment.doctor_notes, notes, hospital=appointment.hospital)
    appointment = _transition(appointment, S.NO_SHOW, check=_ensure_started, **changes)
    _log("appointment_no_show", appointment)
    return appointment


def _ensure_started(appointment: Appointment) -> None:
    if appointment.start > timezone.now():
        raise Conflict("A patient cannot be marked as a no-show before the appointment time.", code="too_early")


def _ensure_time_came_if_not_started(appointment: Appointment) -> None:
    if appointment.status == S.CONFIRMED and appointment.start > timezone.now():
        raise Conflict("A consultation cannot be completed before the appointment time; start it to see the "
                       "patient early.", code="too_early")


def _ensure_patient_may_cancel(appointment: Appointment) -> None:
    """A confirmed appointment whose time has come may have taken place (a doctor completes it
    without starting it): the patient no longer cancels it (nor, where the hospital set its time,
    gets her fee back for a consultation she had); the hospital marks it completed or a no-show."""
    if appointment.status == S.CONFIRMED and appointment.start <= timezone.now():
        raise Conflict("This appointment's time has come, so it can no longer be cancelled. "
                       "Contact the hospital if you could not attend.", code="start_passed")


def appointment_cancel(*, appointment: Appointment, cancelled_by: User, reason: str) -> Appointment:
    """Patient or doctor cancels. Gives back the place, emails the patient, and after commit
    sends ``appointment_cancelled`` (payments refunds according to its policy)."""
    state.ensure_transition(appointment.status, S.CANCELLED)
    reason = (reason or "").strip()
    if not reason:
        raise ApiError("A cancellation reason is required.", code="reason_required")
    by_patient = cancelled_by.pk == appointment.patient_id
    with transaction.atomic():
        appointment = _transition(
            appointment, S.CANCELLED, check=_ensure_patient_may_cancel if by_patient else None,
            cancelled_at=timezone.now(), cancelled_by=cancelled_by, cancellation_reason=reason[:2000],
        )
        send_appointment_cancelled_after_commit(appointment=appointment, cancelled_by=cancelled_by, reason=reason)
        notifications.notify_cancelled(appointment, by_patient=by_patient)
    _log("appointment_cancelled", appointment, by_patient=by_patient)
    return appointment


def appointment_request_new_time(*, appointment: Appointment, doctor: User, notes: str = "") -> Appointment:
    """D4 ``rescheduled``: the hospital cannot keep the time; the place is given back and the
    patient picks a new time with the reschedule endpoint."""
    changes: dict[str, Any] = {"time_set_by_hospital": True}
    if notes:
        changes["doctor_notes"] = _append(appointment.doctor_notes, notes, hospital=appointment.hospital)
    appointment = _transition(appointment, S.RESCHEDULED, **changes)
    notifications.notify_needs_new_time(appointment)
    _log("appointment_needs_new_time", appointment)
    return appointment


# What the doctor's reschedule page sends as ``notes`` with ``rescheduled``: the date and time she
# chose on the hospital's clock (its date and time inputs).
_RESCHEDULED_TO = re.compile(r"Rescheduled to ([0-9]{4}-[0-9]{2}-[0-9]{2}) at ([0-9]{2}:[0-9]{2})")


def _time_chosen_in(notes: str) -> datetime | None:
    match = _RESCHEDULED_TO.fullmatch((notes or "").strip())
    if match is None:
        return None
    try:
        return datetime.fromisoformat(f"{match[1]}T{match[2]}")
    except ValueError as exc:
        raise ApiError("The new date and time are not valid.", code="invalid_date") from exc


def appointment_move_by_hospital(*, appointment: Appointment, doctor: User, start_local: datetime,
                                 notes: str) -> Appointment:
    """D4 ``rescheduled`` with the time the doctor chose: the appointment moves there (a time the
    hospital set, see :func:`moving.late_change_from_after_move`) and the patient is told, in one
    transaction; a refusal (a full slot, a time outside opening hours) changes nothing."""
    with transaction.atomic():
        moved = moving.appointment_move(appointment=appointment, start_local=start_local, by_hospital=True)
        moved.doctor_notes = _append(moved.doctor_notes, notes, hospital=moved.hospital)
        moved.save(update_fields=["doctor_notes", "updated_at"])
        notifications.notify_rescheduled(moved)
    _log("appointment_moved_by_hospital", moved)
    return moved


def appointment_set_status(*, appointment: Appointment, doctor: User, status: str, notes: str = "",
                           medical_summary: Any = None, reason: str = "") -> Appointment:
    """D4: one entry point that dispatches to the action for ``status``."""
    if status == S.CONFIRMED:
        if appointment.status == S.RESCHEDULED:
            raise Conflict("The patient must choose a new time before this appointment can be confirmed.",
                           code="invalid_transition")
        return appointment_accept(appointment=appointment, doctor=doctor)
    if status == S.IN_PROGRESS:
        return appointment_start(appointment=appointment, doctor=doctor)
    if status == S.COMPLETED:
        return appointment_complete(appointment=appointment, doctor=doctor, medical_summary=medical_summary,
                                    notes=notes)
    if status == S.CANCELLED:
        return appointment_cancel(appointment=appointment, cancelled_by=doctor, reason=reason or notes)
    if status == S.NO_SHOW:
        return appointment_no_show(appointment=appointment, doctor=doctor, notes=notes)
    if status == S.RESCHEDULED:
        new_time = _time_chosen_in(notes)
        if new_time is not None:
            return appointment_move_by_hospital(appointment=appointment, doctor=doctor, start_local=new_time,
                                                notes=notes)
        return appointment_request_new_time(appointment=appointment, doctor=doctor, notes=notes)
    state.ensure_transition(appointment.status, status)  # pending or unknown: refused here
    raise Conflict(f"Cannot set status to {status}.", code="invalid_transition")


# --- Patient actions -----------------------------------------------------------------------------
def appointment_reschedule(*, appointment: Appointment, start_local: datetime) -> Appointment:
    """Take the new slot and give back the old one in one transaction, or change nothing."""
    appointment = moving.appointment_move(appointment=appointment, start_local=start_local)
    notifications.notify_rescheduled(appointment)
    return appointment


# --- Notes and referral --------------------------------------------------------------------------
def _append(existing: str, note: str, *, hospital: Hospital) -> str:
    """``note`` stamped with the time on the hospital's clock and its zone's abbreviation (what the
    doctors there read the day's times in)."""
    stamp = timezone.now().astimezone(zone_of(hospital)).strftime("%Y-%m-%d %H:%M %Z")
    entry = f"[{stamp}] {note.strip()}"
    return f"{existing}\n{entry}" if existing else entry


def _ensure_notes_allowed(appointment: Appointment) -> None:
    if appointment.status == S.CANCELLED:
        raise Conflict("Notes cannot be changed on a cancelled appointment.", code="invalid_transition")


def notes_add(*, appointment: Appointment, doctor: User, notes: str) -> Appointment:
    notes = (notes or "").strip()
    if not notes:
        raise ApiError("Notes cannot be empty.", code="notes_required")
    _ensure_notes_allowed(appointment)
    with transaction.atomic():
        current = Appointment.objects.select_related("hospital").select_for_update(of=("self",)).get(pk=appointment.pk)
        current.doctor_notes = _append(current.doctor_notes, notes[:10000], hospital=current.hospital)
        current.save(update_fields=["doctor_notes", "updated_at"])
    _log("appointment_notes_added", current)
    return current


def notes_edit(*, appointment: Appointment, doctor: User, general_notes: str | None,
               doctor_notes: str | None) -> Appointment:
    if general_notes is None and doctor_notes is None:
        raise ApiError("Send general_notes or doctor_notes.", code="notes_required")
    _ensure_notes_allowed(appointment)
    fields = []
    if general_notes is not None:
        appointment.general_notes = general_notes[:10000]
        fields.append("general_notes")
    if doctor_notes is not None:
        appointment.doctor_notes = doctor_notes[:10000]
        fields.append("doctor_notes")
    appointment.save(update_fields=[*fields, "updated_at"])
    _log("appointment_notes_edited", appointment)
    return appointment


def notes_clear(*, appointment: Appointment, doctor: User) -> Appointment:
    _ensure_notes_allowed(appointment)
    appointment.general_notes = ""
    appointment.doctor_notes = ""
    appointment.save(update_fields=["general_notes", "doctor_notes", "updated_at"])
    _log("appointment_notes_cleared", appointment)
    return appointment


REFERABLE = (S.PENDING, S.CONFIRMED, S.IN_PROGRESS, S.COMPLETED)


def appointment_refer(*, appointment: Appointment, doctor: User, hospital_id: Any, department_id: Any,
                      reason: str) -> Appointment:
    reason = (reason or "").strip()
    if not reason:
        raise ApiError("A referral reason is required.", code="reason_required")
    if appointment.status not in REFERABLE:
        raise Conflict(f"A {appointment.status.replace('_', ' ')} appointment cannot be referred.",
                       code="invalid_transition")
    if hospital_id in (None, "") and department_id in (None, ""):
        raise ApiError("Choose a hospital or a department to refer to.", code="referral_target_required")
    hospital = appointment.hospital
    if hospital_id not in (None, ""):
        try:
            hospital = Hospital.objects.get(pk=int(hospital_id), is_active=True)
        except (Hospital.DoesNotExist, TypeError, ValueError) as exc:
            raise ApiError("Referral hospital not found.", code="invalid_referral_target") from exc
    department = None
    if department_id not in (None, ""):
        try:
            department = Department.objects.get(pk=int(department_id), hospital=hospital, is_active=True)
        except (Department.DoesNotExist, TypeError, ValueError) as exc:
            raise ApiError("Referral department not found at that hospital.", code="invalid_referral_target") from exc
    appointment.referred_to_hospital = hospital
    appointment.referred_to_department = department
    appointment.referral_reason = reason[:2000]
    appointment.referred_at = timezone.now()
    appointment.referred_by = doctor
    appointment.save(update_fields=["referred_to_hospital", "referred_to_department", "referral_reason",
                                    "referred_at", "referred_by", "updated_at"])
    _log("appointment_referred", appointment)
    return appointment


# --- Prescriptions -------------------------------------------------------------------------------
MEDICATION_FIELDS = (
    "medication_name", "generic_name", "strength", "form", "route", "dosage", "frequency", "duration",
    "patient_instructions", "indication",
)
PRESCRIBABLE = (S.CONFIRMED, S.IN_PROGRESS, S.COMPLETED)


def prescription_issue(*, appointment: Appointment, prescriber: User, medications: list[dict],
                       notes: str = "") -> Prescription:
    """D11. ``medications`` already validated (see ``serializers.MedicationInput``)."""
    if appointment.status not in PRESCRIBABLE:
        raise Conflict(
            f"Prescriptions can be issued only during or after a consultation (this one is "
            f"{appointment.status.replace('_', ' ')}).",
            code="invalid_transition",
        )
    if not medications:
        raise ApiError("Add at least one medication.", code="medications_required")
    now = timezone.now()
    items = []
    for medication in medications:
        item = {key: str(medication.get(key) or "") for key in MEDICATION_FIELDS}
        item["id"] = str(uuid.uuid4())
        items.append(item)
    with transaction.atomic():
        prescription = Prescription.objects.create(
            appointment=appointment,
            patient_id=appointment.patient_id,
            prescriber=prescriber,
            medications=items,
            notes=(notes or "")[:5000],
            issued_at=now,
            expires_at=now + timedelta(days=settings.PRESCRIPTION_VALID_DAYS),
        )
        send_prescription_issued_after_commit(prescription=prescription)
    logger.info("prescription issued", extra={"event": "prescription_issued", "prescription_id": str(prescription.pk),
                                              "medication_count": len(items)})
    return prescription
