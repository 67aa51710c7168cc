"""Patients' writes: request medication, order a repeat, confirm collection, complete a course."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from hospitals.selectors import primary_registration_of
from pharmacies.models import Pharmacy
from pharmacies.selectors import current_nomination, routable_nomination
from phb.api.errors import ApiError, Conflict
from prescriptions import rules
from prescriptions.models import ItemState, PrescriptionRequest, RequestType, SignedItem
from prescriptions.selectors import open_order_of, triage_inputs
from records.audit import audit_record

logger = logging.getLogger(__name__)

ITEM_FIELDS = ("medication_id", "medication_name", "strength", "form", "quantity", "dosage", "is_repeat", "reason")


def _patient_only(user: User) -> None:
    if not user.is_patient:
        raise ApiError("Only patients request prescriptions.", status_code=403, code="patients_only")


def check_limits(medications: list[dict]) -> int:
    """The request limits (1–10 medications, at most 2 controlled drugs). Returns the controlled count."""
    if not medications:
        raise ApiError("At least one medication is required.", code="medications_required")
    if len(medications) > rules.MAX_MEDICATIONS:
        raise ApiError(f"Maximum {rules.MAX_MEDICATIONS} medications per request.", code="too_many_medications")
    controlled = rules.controlled_count(m.get("medication_name", "") for m in medications)
    if controlled > rules.MAX_CONTROLLED:
        raise ApiError(f"Maximum {rules.MAX_CONTROLLED} controlled medications per request. Please submit "
                       "controlled medications in a separate request.", code="too_many_controlled")
    return controlled


def _pharmacy_for(*, patient: User, pharmacy_id: int | None) -> Pharmacy | None:
    if pharmacy_id is None:  # a closed nominated pharmacy, or one not taking them, is no nomination
        return routable_nomination(patient=patient)
    pharmacy = Pharmacy.objects.filter(pk=pharmacy_id, is_active=True, electronic_prescriptions_enabled=True).first()
    if pharmacy is None:
        raise ApiError("That pharmacy does not accept electronic prescriptions.", code="invalid_pharmacy",
                       nominated_pharmacy_id=["Choose a pharmacy that accepts electronic prescriptions."])
    return pharmacy


def routing_note(*, rx_request: PrescriptionRequest) -> str:
    """What the patient is told about where the request goes once approved."""
    if rx_request.pharmacy_id:
        return f"It will go to {rx_request.pharmacy.name} once approved."
    nomination = current_nomination(patient=rx_request.patient)
    if nomination is None:
        return ""
    why = "is closed" if not nomination.pharmacy.is_active else "does not take electronic prescriptions"
    return (f"Your nominated pharmacy, {nomination.pharmacy.name}, {why}, so it is not sent to a pharmacy: "
            "once approved, any pharmacy can dispense it from its QR code.")


def apply_triage(request: PrescriptionRequest, *, medications: list[dict]) -> None:
    # An issued request's own prescription is not a previous issue of its medicines (nor another medicine).
    allergies, current, last_issued = triage_inputs(patient=request.patient, excluding=request.prescription_id)
    now = timezone.now()
    result = rules.triage(medications=medications, request_type=request.request_type, urgency=request.urgency,
                          allergies=allergies, current_medications=current, last_issued=last_issued, now=now)
    request.triage_category = result.category
    request.triage_score = result.score
    request.triage_flags = result.flags_json()
    request.triage_assigned_at = now


def _new_request(*, patient: User, medications: list[dict], request_type: str, urgency: str,
                 additional_notes: str = "", pharmacy_id: int | None = None) -> PrescriptionRequest:
    """The checked, triaged request, not yet saved."""
    _patient_only(patient)
    controlled = check_limits(medications)
    registration = primary_registration_of(user=patient)
    if registration is None or registration.status != "approved":
        raise ApiError("Register with a hospital first: its doctors review your requests.",
                       code="no_primary_hospital")
    pharmacy = _pharmacy_for(patient=patient, pharmacy_id=pharmacy_id)
    items = [{key: m[key] for key in ITEM_FIELDS if m.get(key) not in (None, "")} for m in medications]
    for item in items:
        item["is_repeat"] = bool(item.get("is_repeat"))
    rx_request = PrescriptionRequest(patient=patient, hospital_id=registration.hospital_id, pharmacy=pharmacy,
                                     request_type=request_type, urgency=urgency, medications=items,
                                     additional_notes=(additional_notes or "")[:2000], controlled_count=controlled)
    apply_triage(rx_request, medications=items)
    return rx_request


def _save(rx_request: PrescriptionRequest, *, request=None) -> None:
    """Inside the caller's transaction."""
    rx_request.save()
    audit_record(actor=rx_request.patient, patient=rx_request.patient, action="prescription_requested",
                 object_type="prescription_request", object_id=str(rx_request.pk), request=request)


def _log_requested(rx_request: PrescriptionRequest) -> None:
    logger.info("prescription requested", extra={"event": "prescription_requested",
                                                 "rx_request_id": str(rx_request.pk),
                                                 "count": len(rx_request.medications)})


def request_create(*, patient: User, medications: list[dict], request_type: str, urgency: str,
                   additional_notes: str = "", pharmacy_id: int | None = None, request=None) -> PrescriptionRequest:
    rx_request = _new_request(patient=patient, medications=medications, request_type=request_type, urgency=urgency,
                              additional_notes=additional_notes, pharmacy_id=pharmacy_id)
    with transaction.atomic():
        _save(rx_request, request=request)
    _log_requested(rx_request)
    return rx_request


def order_repeat(*, patient: User, item: SignedItem, request=None) -> tuple[PrescriptionRequest, bool]:
    """"Order" on an issued medication: a repeat request for it, to the current nomination.

    Idempotent per medication: while an open request (``OPEN_REQUEST_STATUSES``) of the patient
    names ``item.medication_id``, that request is the answer and nothing is created. The patient's
    row is locked for the check and the insert, so parallel orders create one request. Returns
    ``(request, created)``."""
    _patient_only(patient)
    medication = next((m for m in item.prescription.medications or []
                       if str(m.get("id") or item.prescription_id) == item.medication_id), {})
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True).first()
        existing = open_order_of(patient=patient, medication_id=item.medication_id)
        if existing is not None:
            return existing, False
        rx_request = _new_request(
            patient=patient, request_type=RequestType.REPEAT, urgency="routine",
            medications=[{"medication_id": item.medication_id,
                          "medication_name": medication.get("medication_name", ""),
                          "strength": medication.get("strength", ""), "form": medication.get("form", ""),
                          "quantity": medication.get("quantity") or 1, "dosage": medication.get("dosage", ""),
                          "is_repeat": True}],
        )
        _save(rx_request, request=request)
    _log_requested(rx_request)
    return rx_request, True


def mark_collected(*, patient: User, item: SignedItem, request=None) -> SignedItem:
    if item.state != ItemState.DISPENSED:
        raise Conflict("Only a dispensed prescription can be marked as collected.", code="not_dispensed")
    with transaction.atomic():
        SignedItem.objects.filter(pk=item.pk, collected_at__isnull=True).update(collected_at=timezone.now())
        audit_record(actor=patient, patient=patient, action="prescription_collected", object_type="signed_item",
                     object_id=str(item.pk), request=request)
    item.refresh_from_db()
    return item


def mark_completed(*, patient: User, item: SignedItem, request=None) -> SignedItem:
    if item.state == ItemState.CANCELLED:
        raise Conflict("A cancelled prescription cannot be completed.", code="cancelled")
    with transaction.atomic():
        SignedItem.objects.filter(pk=item.pk, completed_at__isnull=True).update(completed_at=timezone.now())
        audit_record(actor=patient, patient=patient, action="prescription_completed", object_type="signed_item",
                     object_id=str(item.pk), request=request)
    item.refresh_from_db()
    return item
