"""Verify a signed prescription and dispense it exactly once.

Verification needs only the public key; it then looks up the item by (id, nonce) for its
current state. Dispensing is one conditional UPDATE on the item's own row
(``state = 'issued' AND expires_at > now``): under concurrent requests, from one pharmacy or
several, exactly one UPDATE matches; every other caller gets the reason and nothing changes.

The UPDATE runs with the prescription's request row locked (``SELECT ... FOR UPDATE``), as the
pharmacist's triage and the prescriber's decisions lock it: dispenses of the items of one
prescription queue there, so the last one to commit sees every other item dispensed and closes
the request, and a pharmacist's escalation either lands before the dispense (which is then
refused) or after it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import NotFound

from accounts.models import User
from pharmacies.selectors import pharmacy_of
from phb.api.errors import ApiError, Conflict
from prescriptions import verification
from prescriptions.models import ON_HOLD, ItemState, PrescriptionRequest, RequestStatus, SignedItem
from prescriptions.pharmacist_access import verified_pharmacist_check
from prescriptions.presenters import verification_details
from records.audit import audit_record

logger = logging.getLogger(__name__)


@dataclass
class Verification:
    valid: bool
    reason: str
    code: str
    item: SignedItem | None = None

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"valid": self.valid, "reason": self.reason, "code": self.code}
        if self.item is not None:
            body["details"] = verification_details(self.item)
        return body


def _find(prescription_id: Any, nonce: Any) -> SignedItem | None:
    if not isinstance(nonce, str) or not nonce:
        return None
    try:
        return (SignedItem.objects.select_related("prescription", "pharmacy", "dispensed_at_pharmacy")
                .filter(prescription_id=str(prescription_id), nonce=nonce).first())
    except (ValueError, DjangoValidationError):
        return None


ESCALATED = ("escalated", "A pharmacist escalated this prescription to the prescriber: it is on hold.")


def _escalated(item: SignedItem) -> bool:
    return PrescriptionRequest.objects.filter(ON_HOLD, prescription_id=item.prescription_id).exists()


def _locked_request(item: SignedItem) -> PrescriptionRequest | None:
    """The request the item's prescription was issued for, its row locked; None for a
    consultation prescription. Call inside a transaction."""
    return (PrescriptionRequest.objects.select_for_update(of=("self",))
            .filter(prescription_id=item.prescription_id).first())


def refusal(item: SignedItem) -> tuple[str, str] | None:
    """Why ``item`` cannot be dispensed now (code, reason), or None."""
    if item.state == ItemState.DISPENSED:
        where = f" at {item.dispensed_at_pharmacy.name}" if item.dispensed_at_pharmacy_id else ""
        return "already_dispensed", f"Already dispensed{where} on {item.dispensed_at:%Y-%m-%d %H:%M} UTC."
    if item.state == ItemState.CANCELLED or item.prescription.status == "cancelled":
        return "cancelled", "This prescription was cancelled by the prescriber or the pharmacy."
    if item.state == ItemState.PENDING:
        return "not_signed", "This prescription is not signed yet."
    if item.expires_at <= timezone.now():
        return "expired", f"This prescription expired on {item.expires_at:%Y-%m-%d}."
    if _escalated(item):
        return ESCALATED
    return None


def verify(*, payload: Any, signature: Any, caller: User | None = None, request=None) -> Verification:
    if not verification.verify(payload, signature):
        return Verification(False, "The signature does not match: the prescription was altered or was not "
                                   "issued by PHB.", "invalid_signature")
    item = _find(payload.get("id"), payload.get("nonce"))
    if item is None or item.payload != payload:
        return Verification(False, "No prescription with this signature is on record.", "not_found")
    audit_record(actor=caller if caller and caller.is_authenticated else None, patient=item.prescription.patient_id,
                 action="prescription_verified", object_type="signed_item", object_id=str(item.pk), request=request)
    refused = refusal(item)
    if refused:
        return Verification(False, refused[1], refused[0], item)
    return Verification(True, "Signature verified: this prescription can be dispensed.", "valid", item)


def dispense(*, pharmacist: User, prescription_id: Any, nonce: Any, pharmacy_code: str = "",
             pharmacist_name: str = "", notes: str = "", payload: Any = None, signature: Any = None,
             request=None) -> SignedItem:
    pharmacy = pharmacy_of(user=pharmacist)
    if pharmacy is None:
        raise ApiError("Only a pharmacist of a registered pharmacy can dispense.", status_code=403,
                       code="pharmacists_only")
    verified_pharmacist_check(user=pharmacist, doing="dispense prescriptions")
    if pharmacy_code and pharmacy_code.strip().upper() != pharmacy.code.upper():
        raise ApiError("That pharmacy code is not your pharmacy's.", status_code=403, code="pharmacy_mismatch")
    if payload is not None and not verification.verify(payload, signature):
        raise ApiError("The signature does not match: the prescription was altered.", code="invalid_signature")
    item = _find(prescription_id, nonce)
    if item is None or (payload is not None and item.payload != payload):
        raise NotFound("Prescription not found.")
    refused = refusal(item)
    if refused:
        raise Conflict(refused[1], code=refused[0])
    now = timezone.now()
    with transaction.atomic():
        rx = _locked_request(item)  # the hold is checked, and the request closed, under this lock
        if rx is not None and rx.is_on_hold:
            raise Conflict(ESCALATED[1], code=ESCALATED[0])
        won = SignedItem.objects.filter(pk=item.pk, state=ItemState.ISSUED, expires_at__gt=now).update(
            state=ItemState.DISPENSED, dispensed_at=now, dispensed_by=pharmacist, dispensed_at_pharmacy=pharmacy,
            pharmacist_name=(pharmacist_name or pharmacist.full_name or "")[:200],
            verification_notes=(notes or "")[:500])
        if won:
            audit_record(actor=pharmacist, patient=item.prescription.patient_id, action="prescription_dispensed",
                         object_type="signed_item", object_id=str(item.pk), request=request)
            if rx is not None and rx.status == RequestStatus.APPROVED and not SignedItem.objects.filter(
                    prescription_id=item.prescription_id, state__in=[ItemState.PENDING, ItemState.ISSUED]).exists():
                PrescriptionRequest.objects.filter(pk=rx.pk).update(status=RequestStatus.DISPENSED, updated_at=now)
    item.refresh_from_db()
    if not won:
        refused = refusal(item) or ("not_dispensable", "This prescription cannot be dispensed now.")
        raise Conflict(refused[1], code=refused[0])
    logger.info("prescription dispensed", extra={"event": "prescription_dispensed", "item_id": str(item.pk)})
    return item
