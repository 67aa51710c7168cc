"""Prescribers' decisions on requests of their hospital's patients.

Controlled drugs need two different prescribers: the first approval is recorded and the
request stays ``REQUESTED`` (``awaiting_second_approval``); the second, by another doctor of the
same hospital, issues the prescription with the medications of the first approval. Controlled
drugs carry no repeats (``refills_allowed`` must be 0) and their signed items expire after
``rules.CONTROLLED_VALID_DAYS``.

Issuing creates an ``appointments.Prescription`` (no appointment), whose ``prescription_issued``
signal (after commit) renders the PDF into the prescriptions bucket and signs each medication.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import NotFound

from accounts.models import User
from appointments.models import Prescription
from appointments.signals import send_prescription_issued_after_commit
from phb.api.errors import ApiError, Conflict
from prescriptions import notifications, rules
from prescriptions.models import PharmacistAction, PrescriptionRequest, RequestStatus
from prescriptions.requests import apply_triage
from prescriptions.selectors import requests_for_prescriber
from prescriptions.signing_flow import cancel_items
from records.audit import audit_record

logger = logging.getLogger(__name__)


def _locked(*, doctor: User, request_id: object) -> PrescriptionRequest:
    try:
        return requests_for_prescriber(fetched_by=doctor).select_for_update(of=("self",)).get(pk=request_id)
    except (PrescriptionRequest.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise NotFound("Prescription request not found.") from None


def _normalise(request: PrescriptionRequest, medications: list[dict]) -> list[dict]:
    """The approved items; without any, the requested ones as asked."""
    if not medications:
        medications = [{"medication_name": m.get("medication_name", ""), "strength": m.get("strength", ""),
                        "form": m.get("form", ""), "quantity": m.get("quantity") or 1,
                        "dosage_instructions": m.get("dosage", ""), "refills_allowed": 0}
                       for m in request.medications]
    items = []
    for m in medications:
        name = str(m.get("medication_name") or "").strip()
        if not name:
            raise ApiError("Each approved medication needs a name.", code="invalid_medication")
        refills = int(m.get("refills_allowed") or 0)
        if rules.is_controlled(name) and refills:
            raise ApiError(f"{name} is a controlled drug: it cannot be issued with repeats.",
                           code="controlled_no_repeats")
        items.append({
            "id": str(uuid.uuid4()),
            "medication_name": name,
            "generic_name": str(m.get("generic_name") or ""),
            "strength": str(m.get("strength") or ""),
            "form": str(m.get("form") or ""),
            "route": str(m.get("route") or "oral"),
            "dosage": str(m.get("dosage_instructions") or m.get("dosage") or ""),
            "frequency": str(m.get("frequency") or ""),
            "duration": str(m.get("duration") or ""),
            "patient_instructions": str(m.get("dosage_instructions") or ""),
            "indication": str(m.get("indication") or ""),
            "quantity": int(m.get("quantity") or 1),
            "refills_allowed": refills,
        })
    return items


def _same(first: list[dict], second: list[dict]) -> bool:
    def key(items):
        return sorted((i["medication_name"].lower(), i["strength"].lower(), i["quantity"]) for i in items)
    return key(first) == key(second)


def _issue(rx: PrescriptionRequest, *, doctor: User, items: list[dict], notes: str, now) -> None:
    controlled = any(rules.is_controlled(i["medication_name"]) for i in items)
    days = rules.CONTROLLED_VALID_DAYS if controlled else settings.PRESCRIPTION_VALID_DAYS
    prescription = Prescription.objects.create(
        appointment=None, patient_id=rx.patient_id, prescriber=doctor, medications=items, notes=notes[:5000],
        issued_at=now, expires_at=now + timedelta(days=min(days, settings.PRESCRIPTION_VALID_DAYS)),
    )
    rx.prescription = prescription
    rx.status = RequestStatus.APPROVED
    rx.approved_by = doctor
    rx.approved_at = now
    rx.approved_medications = items
    rx.clinical_notes = notes
    rx.pharmacist_action = PharmacistAction.NONE  # the pharmacy reviews the issued prescription afresh
    apply_triage(rx, medications=items)
    send_prescription_issued_after_commit(prescription=prescription)
    notifications.notify_approved(rx)


def approve(*, doctor: User, request_id: object, medications: list[dict], clinical_notes: str = "",
            request=None) -> tuple[PrescriptionRequest, str]:
    """Returns the request and what happened: ``issued``, ``first_approval`` or ``confirmed``."""
    now = timezone.now()
    with transaction.atomic():
        rx = _locked(doctor=doctor, request_id=request_id)
        if rx.is_on_hold:
            rx.pharmacist_action = PharmacistAction.NONE
            rx.clinical_notes = "\n".join(filter(None, [rx.clinical_notes, clinical_notes]))[:5000]
            rx.save()
            outcome = "confirmed"
        elif rx.status != RequestStatus.REQUESTED:
            raise Conflict(f"This request is already {rx.status.lower()}.", code="invalid_transition")
        else:
            items = _normalise(rx, medications)
            if rules.controlled_count(i["medication_name"] for i in items) > rules.MAX_CONTROLLED:
                raise ApiError(f"Maximum {rules.MAX_CONTROLLED} controlled medications per prescription.",
                               code="too_many_controlled")
            controlled = any(rules.is_controlled(i["medication_name"]) for i in items)
            if controlled and rx.first_approved_by_id is None:
                rx.first_approved_by, rx.first_approved_at = doctor, now
                rx.approved_medications, rx.clinical_notes = items, clinical_notes[:5000]
                rx.save()
                outcome = "first_approval"
            elif controlled and rx.first_approved_by_id == doctor.pk:
                raise Conflict("A controlled drug needs a second approval by a different prescriber.",
                               code="second_prescriber_required")
            else:
                if controlled and medications and not _same(rx.approved_medications, items):
                    raise Conflict("The second approval must issue the same medications as the first.",
                                   code="approvals_differ")
                if controlled:
                    items = rx.approved_medications
                notes = "\n".join(filter(None, [rx.clinical_notes if controlled else "", clinical_notes]))
                _issue(rx, doctor=doctor, items=items, notes=notes, now=now)
                rx.save()
                outcome = "issued"
        audit_record(actor=doctor, patient=rx.patient_id, action=f"prescription_request_{outcome}",
                     object_type="prescription_request", object_id=str(rx.pk), request=request)
    logger.info("prescription request approved", extra={"event": "prescription_request_approved",
                                                        "rx_request_id": str(rx.pk), "outcome": outcome})
    return rx, outcome


def reject(*, doctor: User, request_id: object, reason: str, requires_follow_up: bool = False,
           request=None) -> PrescriptionRequest:
    """A requested request is rejected; an issued one a pharmacist escalated is cancelled."""
    reason = (reason or "").strip()
    if not reason:
        raise ApiError("Give a reason for the rejection.", code="reason_required", reason=["This field is required."])
    now = timezone.now()
    with transaction.atomic():
        rx = _locked(doctor=doctor, request_id=request_id)
        if rx.is_on_hold:
            prescription = Prescription.objects.select_for_update().get(pk=rx.prescription_id)
            prescription.status = Prescription.Status.CANCELLED
            prescription.save(update_fields=["status"])
            cancel_items(prescription=prescription)
            rx.status = RequestStatus.CANCELLED
        elif rx.status == RequestStatus.REQUESTED:
            rx.status = RequestStatus.REJECTED
        else:
            raise Conflict(f"This request is already {rx.status.lower()}.", code="invalid_transition")
        rx.rejected_by, rx.rejected_at = doctor, now
        rx.rejection_reason, rx.requires_follow_up = reason[:2000], bool(requires_follow_up)
        rx.save()
        audit_record(actor=doctor, patient=rx.patient_id, action="prescription_request_rejected",
                     object_type="prescription_request", object_id=str(rx.pk), request=request)
        notifications.notify_rejected(rx)
    return rx
