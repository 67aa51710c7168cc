"""A pharmacy finds a patient's prescriptions by HPN (``PharmacyPrescriptionsPage.tsx``).

A pharmacist sees only the signed items routed to her own pharmacy: those of patients who
nominated it, or whose prescriber sent the prescription there. A patient who brings a
prescription from elsewhere shows its QR code, which the verification page checks and dispenses.
So an HPN alone opens nothing beyond what the pharmacy's triage queue already shows, and an
unknown HPN and a patient with nothing routed here get the same 404: the answer does not tell
who is registered.

Each item carries its nonce (what dispensing takes) only while it can be dispensed: signed,
issued, unexpired, its prescription live and its request not held by an escalation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from accounts.models import Role, User
from pharmacies.models import Pharmacy
from pharmacies.selectors import pharmacist_of
from phb.api.errors import ApiError
from phb.api.timestamps import iso_z
from prescriptions.models import ON_HOLD, ItemState, PrescriptionRequest, SignedItem
from prescriptions.pharmacist_access import verified_pharmacist_check
from prescriptions.presenters import item_status
from prescriptions.selectors import allergies_by_patient

STATUSES = ("active", "completed", "discontinued", "all")
# An HPN as typed or printed: 6 to 20 letters and digits, spaces allowed between them (and around).
HPN_PATTERN = r"^ *[0-9A-Za-z]( *[0-9A-Za-z]){5,19} *$"
CONTROLLED_NOTE = "CONTROLLED SUBSTANCE: check the patient's photo ID; no repeats."
NOT_FOUND_SUGGESTIONS = [
    "Check the HPN with the patient.",
    "A prescription sent to another pharmacy is dispensed from its QR code (Verify prescription).",
]


@dataclass(frozen=True)
class SearchResult:
    pharmacy: Pharmacy
    patient: User
    items: list[SignedItem]
    held: set  # ids of prescriptions whose request a pharmacist escalated


def clean_hpn(value: Any) -> str:
    """The HPN without the spaces it is shown with; 400 when it cannot be one."""
    if not isinstance(value, str) or not re.fullmatch(HPN_PATTERN[1:-1], value):
        problem = "hpn must be the patient's Health Personal Number, such as 123 456 789 0123."
        raise ApiError(problem, code="invalid_hpn", errors={"hpn": [problem]})
    return value.replace(" ", "")


def _status_of(item: SignedItem, *, held: bool) -> str:
    """The page's status: ``active`` (can be dispensed), ``on_hold`` (awaiting its signature, or its
    request escalated), ``completed`` (dispensed) or ``discontinued`` (cancelled or expired)."""
    state = item_status(item)
    if state in ("completed", "dispensed"):
        return "completed"
    if state in ("cancelled", "expired"):
        return "discontinued"
    if item.state == ItemState.PENDING or held:
        return "on_hold"
    return "active"


def search(*, pharmacist: User, hpn: Any, status: Any = "active") -> SearchResult:
    """The signed items routed to ``pharmacist``'s pharmacy for the patient with ``hpn``, newest
    first, narrowed to ``status`` (``active``, ``completed``, ``discontinued`` or ``all``).
    403 for anyone but a pharmacist of an active pharmacy; 404 when nothing is routed here."""
    staff = pharmacist_of(user=pharmacist)
    if staff is None or not staff.pharmacy.is_active:
        raise ApiError("Only pharmacists search prescriptions.", status_code=403, code="pharmacists_only")
    verified_pharmacist_check(user=pharmacist, doing="search prescriptions")
    status = status or "active"
    if status not in STATUSES:
        problem = f"status must be one of: {', '.join(STATUSES)}."
        raise ApiError(problem, code="invalid_status", errors={"status": [problem]})
    text = clean_hpn(hpn)
    patient = User.objects.filter(role=Role.PATIENT, is_active=True, hpn__iexact=text).first()
    items = [] if patient is None else list(
        SignedItem.objects.select_related("prescription", "prescription__prescriber", "pharmacy",
                                          "dispensed_at_pharmacy")
        .filter(prescription__patient=patient, pharmacy=staff.pharmacy)
        .order_by("-created_at", "-id")[:200]
    )
    held = set(PrescriptionRequest.objects.filter(ON_HOLD, prescription_id__in={i.prescription_id for i in items})
               .values_list("prescription_id", flat=True)) if items else set()
    if status != "all":
        items = [i for i in items if _status_of(i, held=i.prescription_id in held) == status]
    if patient is None or not items:
        raise ApiError("No prescriptions for this HPN at your pharmacy.", status_code=404, code="not_found",
                       suggestions=NOT_FOUND_SUGGESTIONS)
    return SearchResult(pharmacy=staff.pharmacy, patient=patient, items=items, held=held)


def _medication(item: SignedItem) -> dict:
    return next((m for m in item.prescription.medications
                 if isinstance(m, dict) and str(m.get("id") or item.prescription_id) == item.medication_id), {})


def _item(item: SignedItem, *, held: bool) -> dict:
    medication = _medication(item)
    payload = item.payload or {}
    status = _status_of(item, held=held)
    live = status == "active" and bool(item.signature)
    prescriber = item.prescription.prescriber
    refills = int(medication.get("refills_allowed") or 0)
    return {
        "id": str(item.prescription_id),
        "medication_name": payload.get("medication") or medication.get("medication_name", ""),
        "generic_name": medication.get("generic_name") or None,
        "strength": payload.get("strength") or medication.get("strength", ""),
        "form": medication.get("form", ""),
        "route": medication.get("route", ""),
        "dosage": payload.get("dosage") or medication.get("dosage", ""),
        "frequency": payload.get("frequency") or medication.get("frequency", ""),
        "start_date": iso_z(item.prescription.issued_at),
        "end_date": iso_z(item.expires_at),
        "is_ongoing": False,
        "patient_instructions": medication.get("patient_instructions") or None,
        "pharmacy_instructions": CONTROLLED_NOTE if item.controlled else None,
        "indication": medication.get("indication") or None,
        "prescription_number": item.nonce[:8].upper() if live else None,
        "refills_authorized": refills,
        "refills_remaining": refills,
        "status": status,
        "priority": 0,
        "prescribed_by": {"name": prescriber.full_name, "specialty": None} if prescriber is not None else None,
        "nominated_pharmacy": {"name": item.pharmacy.name, "code": item.pharmacy.code} if item.pharmacy_id else None,
        "dispensed": item.state == ItemState.DISPENSED,
        "dispensed_at": iso_z(item.dispensed_at),
        "dispensed_by_pharmacy": ({"name": item.dispensed_at_pharmacy.name}
                                  if item.dispensed_at_pharmacy_id else None),
        "nonce": item.nonce if live else None,
        "signature": item.signature if live else None,
        "drug_info": None,
    }


def result_payload(result: SearchResult, *, pharmacist: User) -> dict:
    """``PharmacyPrescriptionResponse``. Only what dispensing needs of the patient: her name, HPN
    and recorded allergies (the blood type and conditions are not sent)."""
    items = [_item(i, held=i.prescription_id in result.held) for i in result.items]
    controlled = sum(1 for i in result.items if i.controlled)
    allergies = allergies_by_patient(patient_ids=[result.patient.pk]).get(str(result.patient.pk))
    staff = pharmacist_of(user=pharmacist)
    return {
        "success": True,
        "patient": {"hpn": result.patient.hpn, "name": result.patient.full_name, "blood_type": None,
                    "allergies": allergies or None, "chronic_conditions": None, "is_high_risk": controlled > 0},
        "prescriptions": items,
        "summary": {"total_prescriptions": len(items), "controlled_substances": controlled,
                    "requires_enhanced_verification": controlled > 0},
        "verification_required": {"level_1_basic": True, "level_2_government_id": controlled > 0,
                                  "level_3_prescriber_contact": False},
        "accessed_at": iso_z(timezone.now()),
        "accessed_by": {"pharmacist": pharmacist.full_name,
                        "license_number": staff.registration_number if staff is not None else "",
                        "pharmacy": f"{result.pharmacy.name} ({result.pharmacy.code})"},
    }
