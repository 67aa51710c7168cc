"""The JSON shapes the frontend reads (``prescriptionsService.ts``, ``PharmacyVerification.tsx``)."""

from __future__ import annotations

from django.utils import timezone

from accounts.birthdates import age_today
from pharmacies.presenters import pharmacy_summary
from phb.api.timestamps import iso_z
from prescriptions import rules
from prescriptions.models import ItemState, PrescriptionRequest, RequestStatus, RequestType, SignedItem


def _medications(request: PrescriptionRequest) -> list[dict]:
    return [{**m, "is_controlled": rules.is_controlled(m.get("medication_name", ""))} for m in request.medications]


def _awaiting_second_approval(request: PrescriptionRequest) -> bool:
    """A controlled drug approved once, waiting for its second prescriber."""
    return bool(request.first_approved_at and request.status == RequestStatus.REQUESTED)


def _issued_medications(request: PrescriptionRequest) -> list[dict]:
    """What a pharmacist checks and a second prescriber confirms: once issued, or approved once
    (a controlled drug), the medications the prescriber approved (name, strength, quantity, dosage
    as prescribed), in the shape of a requested one; before, those requested."""
    if not (request.prescription_id or _awaiting_second_approval(request)) or not request.approved_medications:
        return _medications(request)
    asked = {str(m.get("medication_name", "")).lower(): m for m in request.medications}
    repeat = request.request_type == RequestType.REPEAT
    return [{"medication_name": m.get("medication_name", ""), "strength": m.get("strength", ""),
             "form": m.get("form", ""), "quantity": m.get("quantity"), "dosage": m.get("dosage", ""),
             "frequency": m.get("frequency", ""), "refills_allowed": m.get("refills_allowed", 0),
             "is_repeat": bool(asked.get(str(m.get("medication_name", "")).lower(), {}).get("is_repeat", repeat)),
             "is_controlled": rules.is_controlled(m.get("medication_name", ""))}
            for m in request.approved_medications or []]


def _name(user) -> str | None:
    return (user.full_name or "Doctor") if user is not None else None


def request_payload(request: PrescriptionRequest) -> dict:
    """``PrescriptionRequestHistoryItem`` (the patient's view)."""
    return {
        "id": str(request.pk),
        "request_reference": request.reference,
        "status": request.status,
        "request_type": request.request_type,
        "urgency": request.urgency,
        "request_date": iso_z(request.created_at),
        "approval_date": iso_z(request.approved_at),
        "rejection_date": iso_z(request.rejected_at),
        "rejection_reason": request.rejection_reason or None,
        "medications": request.medications,
        "additional_notes": request.additional_notes,
        "pharmacy": pharmacy_summary(request.pharmacy),
        "prescription_id": str(request.prescription_id) if request.prescription_id else None,
        "awaiting_second_approval": _awaiting_second_approval(request),
    }


def _review(request: PrescriptionRequest) -> dict:
    return {
        "pharmacist_reviewed": bool(request.pharmacist_action),
        "review_date": iso_z(request.pharmacist_reviewed_at),
        "review_action": request.pharmacist_action or None,
        "pharmacist_notes": request.pharmacist_notes or None,
    }


def _patient(request: PrescriptionRequest, *, allergies: list[str], current: list[str]) -> dict:
    patient = request.patient
    return {
        "name": patient.full_name,
        "hpn": patient.hpn,
        "dob": patient.date_of_birth.isoformat() if patient.date_of_birth else None,
        "age": age_today(patient.date_of_birth),
        "allergies": ", ".join(allergies) or None,
        "current_medications": current,
    }


def prescriber_list_item(request: PrescriptionRequest, *, allergies: str | None = None) -> dict:
    """``DoctorPrescriptionRequest``."""
    patient = request.patient
    return {
        "allergies": allergies or None,
        **request_payload(request),
        "patient_name": patient.full_name,
        "patient_hpn": patient.hpn,
        "patient_dob": patient.date_of_birth.isoformat() if patient.date_of_birth else None,
        "patient_age": age_today(patient.date_of_birth),
        "triage_category": request.triage_category,
        "triage_score": request.triage_score,
        "pharmacist_review": _review(request),
    }


def prescriber_detail(request: PrescriptionRequest, *, allergies: list[str], current: list[str]) -> dict:
    """``PrescriptionRequestDetail``."""
    return {
        **request_payload(request),
        "medications": _issued_medications(request),
        "requested_medications": request.medications,
        "patient": _patient(request, allergies=allergies, current=current),
        "approved_by": _name(request.approved_by),
        "first_approved_by": _name(request.first_approved_by),
        "rejected_by": _name(request.rejected_by),
        "clinical_notes": request.clinical_notes,
        "approved_medications": request.approved_medications,
        "triage_info": triage_info(request),
        "pharmacist_review": _review(request),
    }


def triage_info(request: PrescriptionRequest) -> dict:
    flags = request.triage_flags or []
    return {
        "category": request.triage_category,
        "score": request.triage_score,
        "reason": "; ".join(f["reason"] for f in flags) if flags else "No clinical flags: routine processing.",
        "flags": flags,
        "assigned_at": iso_z(request.triage_assigned_at),
    }


def triage_list_item(request: PrescriptionRequest, *, allergies: str | None = None) -> dict:
    """``PharmacistPrescriptionRequest``."""
    return {
        **prescriber_list_item(request, allergies=allergies),
        "medications": _issued_medications(request),
        "assigned_at": iso_z(request.triage_assigned_at),
        "pharmacist_reviewed": bool(request.pharmacist_action),
        "pharmacist_review_date": iso_z(request.pharmacist_reviewed_at),
        "pharmacist_review_action": request.pharmacist_action or None,
    }


def triage_detail(request: PrescriptionRequest, *, allergies: list[str], current: list[str]) -> dict:
    """``PharmacistPrescriptionRequestDetail``: flags per medication as ``clinical_concern``."""
    concerns: dict[str, list[str]] = {}
    for flag in request.triage_flags or []:
        concerns.setdefault(flag.get("medication", ""), []).append(flag.get("reason", ""))
    medications = [{**m, "clinical_concern": "; ".join(concerns.get(m.get("medication_name", ""), [])) or None}
                   for m in _issued_medications(request)]
    return {
        **request_payload(request),
        "medications": medications,
        "requested_medications": request.medications,
        "patient": _patient(request, allergies=allergies, current=current),
        "triage_info": triage_info(request),
        "review_history": _review(request),
    }


def item_status(item: SignedItem, *, ordered: bool = False) -> str:
    """``completed``, ``dispensed``, ``cancelled``, ``expired``, then ``ordered`` (``ordered``: an open
    request of the patient names this medication) or ``active``."""
    if item.completed_at:
        return "completed"
    if item.state == ItemState.DISPENSED:
        return "dispensed"
    if item.state == ItemState.CANCELLED or item.prescription.status == "cancelled":
        return "cancelled"
    if item.expires_at <= timezone.now():
        return "expired"
    return "ordered" if ordered else "active"


def signed_data(item: SignedItem | None) -> dict | None:
    if item is None or item.state == ItemState.PENDING or not item.signature:
        return None
    return {"payload": item.payload, "signature": item.signature}


def signed_fields(item: SignedItem | None) -> dict:
    """What ``GET /api/prescriptions/`` adds to each ``ApiMedication``."""
    if item is None:
        return {"signed_prescription_data": None, "nonce": None, "signature": None, "dispensed": False,
                "dispensed_at": None, "nominated_pharmacy": None}
    active = item.state == ItemState.ISSUED and item_status(item) == "active"
    data = signed_data(item) if active else None
    return {
        "signed_prescription_data": data,
        "nonce": item.nonce if data else None,
        "signature": item.signature if data else None,
        "dispensed": item.state == ItemState.DISPENSED,
        "dispensed_at": iso_z(item.dispensed_at),
        "nominated_pharmacy": pharmacy_summary(item.pharmacy),
    }


def verification_details(item: SignedItem) -> dict:
    """Only what a pharmacist needs to hand over the medicine."""
    payload = item.payload
    return {
        "prescription_id": payload.get("id"),
        "patient_name": payload.get("patient"),
        "patient_hpn": payload.get("hpn"),
        "medication": payload.get("medication"),
        "strength": payload.get("strength"),
        "dosage": payload.get("dosage"),
        "frequency": payload.get("frequency"),
        "controlled": item.controlled,
        "dispensed": item.state == ItemState.DISPENSED,
        "nominated_pharmacy": item.pharmacy.name if item.pharmacy_id else None,
        "expiry_date": payload.get("expiry"),
        "dispensed_at": iso_z(item.dispensed_at),
        "dispensed_by": item.dispensed_at_pharmacy.name if item.dispensed_at_pharmacy_id else None,
    }


def with_signed_items(prescriptions: list, rows: list[tuple]) -> list[dict]:
    """``ApiMedication`` items of ``GET /api/prescriptions/`` with their signed data, nomination
    and dispensing state (one query for all of them), and ``ordered`` for those an open request
    names (one more query, when there are items). ``rows``: (prescription, payload, medication)."""
    from prescriptions.selectors import items_by_medication, ordered_medication_ids

    items = items_by_medication(prescriptions=prescriptions)
    ordered = ordered_medication_ids(patient_ids={p.patient_id for p in prescriptions}) if items else set()
    out = []
    for prescription, payload, medication in rows:
        item = items.get((str(prescription.pk), str(medication.get("id") or prescription.pk)))
        extra = signed_fields(item)
        if item is not None:
            extra["status"] = item_status(item, ordered=item.medication_id in ordered)
        out.append({**payload, **extra})
    return out
