"""Reads of prescription requests and signed items, always scoped to the caller.

- a patient: their own requests and items;
- a doctor: requests of patients whose primary hospital is the doctor's hospital;
- a pharmacist: requests routed to their pharmacy.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.utils import timezone

from accounts.models import User
from appointments.models import Prescription
from hospitals.selectors import staff_of
from pharmacies.selectors import pharmacy_of
from prescriptions.models import (
    OPEN_REQUEST_STATUSES,
    ItemState,
    PrescriptionRequest,
    RequestStatus,
    SignedItem,
    Urgency,
)

_RELATED = ("patient", "pharmacy", "hospital", "approved_by", "rejected_by", "first_approved_by",
            "pharmacist_reviewed_by")


def requests_of_patient(*, fetched_by: User, status: str = "") -> QuerySet[PrescriptionRequest]:
    qs = PrescriptionRequest.objects.select_related(*_RELATED).filter(patient=fetched_by)
    return qs.filter(status=status) if status else qs


def requests_for_prescriber(*, fetched_by: User, status: str = "") -> QuerySet[PrescriptionRequest]:
    if not fetched_by.is_doctor:
        return PrescriptionRequest.objects.none()
    staff = staff_of(user=fetched_by)
    if staff is None:
        return PrescriptionRequest.objects.none()
    qs = PrescriptionRequest.objects.select_related(*_RELATED).filter(hospital_id=staff.hospital_id)
    return qs.filter(status=status) if status else qs


def pending_counts(*, fetched_by: User) -> dict[str, int]:
    """One query: the prescriber's hospital's requests awaiting a decision (``pending``), and the
    urgent ones of them (``urgent``)."""
    pending = requests_for_prescriber(fetched_by=fetched_by, status=RequestStatus.REQUESTED)
    return pending.aggregate(pending=Count("pk"), urgent=Count("pk", filter=Q(urgency=Urgency.URGENT)))


def requests_for_pharmacy(*, fetched_by: User) -> QuerySet[PrescriptionRequest]:
    pharmacy = pharmacy_of(user=fetched_by)
    if pharmacy is None:
        return PrescriptionRequest.objects.none()
    return PrescriptionRequest.objects.select_related(*_RELATED).filter(pharmacy_id=pharmacy.pk)


_CANCELLED_LAST = Case(When(state=ItemState.CANCELLED, then=Value(1)), default=Value(0))


def items_of_patient(*, fetched_by: User) -> QuerySet[SignedItem]:
    return SignedItem.objects.select_related("prescription", "prescription__prescriber", "pharmacy",
                                             "dispensed_at_pharmacy").filter(prescription__patient=fetched_by)


def item_of_patient(*, fetched_by: User, item_ref: str) -> SignedItem | None:
    """The patient's item by medication id, item id or (single-medication) prescription id. A
    corrected medication has a cancelled item and its live successor under the same medication
    id: the live one (the list's) is meant; otherwise the oldest match, as before."""
    qs = items_of_patient(fetched_by=fetched_by).order_by(_CANCELLED_LAST, "created_at", "id")
    found = qs.filter(medication_id=item_ref).first()
    if found is None:
        try:
            found = qs.filter(Q(pk=item_ref) | Q(prescription_id=item_ref)).first()
        except (ValueError, DjangoValidationError):  # not a UUID
            found = None
    return found


def items_by_medication(*, prescriptions: list[Prescription]) -> dict[tuple[str, str], SignedItem]:
    """One query: the items of these prescriptions, keyed by (prescription id, medication id)."""
    if not prescriptions:
        return {}
    items = SignedItem.objects.select_related("prescription", "pharmacy", "dispensed_at_pharmacy").filter(
        prescription__in=[p.pk for p in prescriptions])
    return {(str(i.prescription_id), i.medication_id): i for i in items}


def _named_medication_ids(medications) -> set[str]:
    return {str(m["medication_id"]) for m in medications or []
            if isinstance(m, dict) and m.get("medication_id") not in (None, "")}


def ordered_medication_ids(*, patient_ids) -> set[str]:
    """One query: the medication ids named by these patients' open requests (``OPEN_REQUEST_STATUSES``),
    i.e. the issued medications a repeat is already on its way for."""
    rows = PrescriptionRequest.objects.filter(patient_id__in=set(patient_ids), status__in=OPEN_REQUEST_STATUSES
                                              ).values_list("medications", flat=True)
    return set().union(*(_named_medication_ids(medications) for medications in rows))


def open_order_of(*, patient: User, medication_id: str) -> PrescriptionRequest | None:
    """The patient's oldest open request naming this medication, or None."""
    rows = (PrescriptionRequest.objects.filter(patient=patient, status__in=OPEN_REQUEST_STATUSES)
            .order_by("created_at", "id").values_list("pk", "medications"))
    found = next((pk for pk, medications in rows if medication_id in _named_medication_ids(medications)), None)
    return None if found is None else requests_of_patient(fetched_by=patient).get(pk=found)


def triage_inputs(*, patient: User, excluding: object = None) -> tuple[list[str], list[str], dict[str, datetime]]:
    """(allergies, current medication names, last issue time per lower-cased medication name), from
    the patient's prescriptions other than ``excluding`` (the one being triaged, once issued)."""
    from records.models import MedicalProfile

    profile = MedicalProfile.objects.filter(patient=patient).only("allergies").first()
    allergies = _allergy_names(profile.allergies if profile else [])
    now = timezone.now()
    current: list[str] = []
    last_issued: dict[str, datetime] = {}
    recent = Prescription.objects.filter(patient=patient).exclude(status="cancelled")
    if excluding is not None:
        recent = recent.exclude(pk=excluding)
    recent = recent.order_by("-issued_at")[:100]
    for prescription in recent:
        for medication in prescription.medications or []:
            name = str(medication.get("medication_name") or "").strip()
            if not name:
                continue
            if prescription.expires_at > now:
                current.append(name)
            last_issued.setdefault(name.lower(), prescription.issued_at)
    return allergies, current, last_issued


def _allergy_names(entries) -> list[str]:
    names = []
    for entry in entries or []:
        if isinstance(entry, dict):
            entry = entry.get("name") or entry.get("allergen") or entry.get("substance") or ""
        if entry:
            names.append(str(entry))
    return names


def allergies_by_patient(*, patient_ids: list) -> dict[str, str]:
    """One query: each patient's recorded allergies, joined for display (lists of requests)."""
    from records.models import MedicalProfile

    rows = MedicalProfile.objects.filter(patient_id__in=set(patient_ids)).values_list("patient_id", "allergies")
    return {str(pid): ", ".join(_allergy_names(allergies)) for pid, allergies in rows}
