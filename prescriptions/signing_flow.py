"""Issuing signed items: claim, commit, call KMS, record.

``prescription_issued`` (sent after the issuing transaction commits) creates one pending item
per medication in a short transaction of its own, then signs them: each item is claimed with a
conditional UPDATE (committed at once), KMS signs with no transaction, lock or open cursor held,
and the signature is recorded with another conditional UPDATE. An item whose signing failed
stays pending; ``manage.py sign_pending_prescriptions`` (and the next issue) retry it. A prescription
whose items were never created (the worker died after the commit) gets them from the same command
(``items_missing``).
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from appointments.models import Prescription
from pharmacies.models import Pharmacy
from phb.api.timestamps import iso_z
from prescriptions import rules, signing
from prescriptions.models import ItemState, PrescriptionRequest, SignedItem

logger = logging.getLogger(__name__)

PAYLOAD_TYPE = "phb.prescription.v1"
CLAIM_SECONDS = 120  # a claim older than this (a crashed worker) may be taken over


def routed_pharmacy(*, request: PrescriptionRequest | None, patient) -> Pharmacy | None:
    """The pharmacy the request named while it is open and takes electronic prescriptions, else
    the patient's nominated one on the same terms, else none (any pharmacy, from the QR code)."""
    if request is not None and request.pharmacy_id and request.pharmacy.is_active \
            and request.pharmacy.electronic_prescriptions_enabled:
        return request.pharmacy
    from pharmacies.selectors import routable_nomination

    return routable_nomination(patient=patient)  # None for a closed nominated pharmacy


def _routed_pharmacy(prescription: Prescription) -> Pharmacy | None:
    return routed_pharmacy(request=getattr(prescription, "request", None), patient=prescription.patient)


def payload_for(*, prescription: Prescription, medication: dict, nonce: str, pharmacy: Pharmacy | None,
                expires_at) -> dict[str, Any]:
    prescriber = prescription.prescriber
    return {
        "type": PAYLOAD_TYPE,
        "id": str(prescription.pk),
        "nonce": nonce,
        "hpn": prescription.patient.hpn,
        "medication": str(medication.get("medication_name") or ""),
        "strength": str(medication.get("strength") or ""),
        "patient": prescription.patient.full_name,
        "prescriber": prescriber.full_name if prescriber else "",
        "dosage": str(medication.get("dosage") or ""),
        "frequency": str(medication.get("frequency") or ""),
        "pharmacy": {"code": pharmacy.code, "name": pharmacy.name} if pharmacy else None,
        "issued": iso_z(prescription.issued_at),
        "expiry": iso_z(expires_at),
    }


CLINICAL_KEYS = ("id", "hpn", "medication", "strength", "patient", "prescriber", "dosage", "frequency", "expiry")


def _same_prescription(a: dict, b: dict) -> bool:
    return all(a.get(key) == b.get(key) for key in CLINICAL_KEYS)


def items_create(*, prescription: Prescription) -> list[SignedItem]:
    """One pending item per medication. Idempotent: an item whose medication is unchanged is kept;
    after a correction, an item not yet dispensed whose medication changed or disappeared is
    cancelled and a new one (new nonce) is created."""
    prescription = Prescription.objects.select_related("patient", "prescriber").get(pk=prescription.pk)
    pharmacy = _routed_pharmacy(prescription)
    with transaction.atomic():
        live = {i.medication_id: i for i in SignedItem.objects.select_for_update().filter(
            prescription=prescription).exclude(state=ItemState.CANCELLED)}
        kept, created = [], []
        for medication in prescription.medications or []:
            medication_id = str(medication.get("id") or prescription.pk)
            controlled = rules.is_controlled(str(medication.get("medication_name") or ""))
            expires_at = prescription.expires_at
            if controlled:
                expires_at = min(expires_at, prescription.issued_at + timedelta(days=rules.CONTROLLED_VALID_DAYS))
            nonce = uuid.uuid4().hex
            payload = payload_for(prescription=prescription, medication=medication, nonce=nonce, pharmacy=pharmacy,
                                  expires_at=expires_at)
            old = live.pop(medication_id, None)
            if old is not None and (old.state == ItemState.DISPENSED or _same_prescription(old.payload, payload)):
                kept.append(old)
                continue
            if old is not None:
                SignedItem.objects.filter(pk=old.pk, state__in=[ItemState.PENDING, ItemState.ISSUED]).update(
                    state=ItemState.CANCELLED)
            created.append(SignedItem(
                prescription=prescription, medication_id=medication_id, nonce=nonce, pharmacy=pharmacy,
                controlled=controlled, expires_at=expires_at, payload=payload,
                state=ItemState.CANCELLED if prescription.status == "cancelled" else ItemState.PENDING,
            ))
        SignedItem.objects.filter(pk__in=[i.pk for i in live.values()],  # medications no longer prescribed
                                  state__in=[ItemState.PENDING, ItemState.ISSUED]).update(state=ItemState.CANCELLED)
        SignedItem.objects.bulk_create(created)
    return [*kept, *created]


def items_missing(*, within: timedelta = timedelta(days=1)) -> int:
    """Create the items of live prescriptions issued within ``within`` that have none: their
    after-commit step never ran (the worker died between the commit and it, or the database failed
    it). Those issued in the last ``CLAIM_SECONDS`` are left to the step itself. Returns how many
    prescriptions got their items."""
    now = timezone.now()
    ids = list(Prescription.objects.filter(issued_at__gte=now - within, issued_at__lt=now - timedelta(seconds=CLAIM_SECONDS),
                                           status=Prescription.Status.ACTIVE)
               .filter(~Exists(SignedItem.objects.filter(prescription=OuterRef("pk"))))
               .order_by("issued_at").values_list("pk", flat=True)[:500])
    done = 0
    for prescription_id in ids:
        try:
            items_create(prescription=Prescription(pk=prescription_id))
        except IntegrityError:  # created meanwhile by the step itself
            continue
        done += 1
    if done:
        logger.warning("prescription items created late", extra={"event": "prescription_items_recovered",
                                                                 "count": done})
    return done


def _kms_down(exc: Exception) -> bool:
    """A failure of KMS itself (unreachable, timing out, throttling, the key disabled or not
    allowed), not of one item's message (``ValidationException``)."""
    if isinstance(exc, BotoCoreError):
        return True
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") != "ValidationException"


def sign_pending(*, item_ids: list[Any] | None = None, limit: int = 500) -> int:
    """Sign pending items (these ids, or the oldest ``limit``). Returns how many were signed.

    KMS failing (not one item's message) ends the run at that item: during an outage each call
    waits out its timeouts, and 500 of them would outlast the job's 10 minutes."""
    qs = SignedItem.objects.filter(state=ItemState.PENDING)
    if item_ids is not None:
        qs = qs.filter(pk__in=item_ids)
    ids = list(qs.order_by("created_at").values_list("pk", flat=True)[:limit])
    signed = 0
    for item_id in ids:
        now = timezone.now()
        stale = now - timedelta(seconds=CLAIM_SECONDS)
        claimed = SignedItem.objects.filter(pk=item_id, state=ItemState.PENDING).filter(
            Q(signing_claimed_at__isnull=True) | Q(signing_claimed_at__lt=stale)).update(signing_claimed_at=now)
        if not claimed:
            continue  # another worker holds it
        payload = SignedItem.objects.values_list("payload", flat=True).get(pk=item_id)
        try:
            signature, key_id = signing.sign(payload)
        except Exception as exc:
            SignedItem.objects.filter(pk=item_id, signing_claimed_at=now).update(signing_claimed_at=None)
            logger.warning("prescription signing failed", exc_info=True,
                           extra={"event": "prescription_signing_failed", "item_id": str(item_id)})
            if _kms_down(exc):  # the items after it would wait on KMS the same way: the next run signs them
                break
            continue
        signed += SignedItem.objects.filter(pk=item_id, state=ItemState.PENDING, signing_claimed_at=now).update(
            signature=signature, key_id=key_id, state=ItemState.ISSUED, signed_at=timezone.now())
    if signed:
        logger.info("prescriptions signed", extra={"event": "prescriptions_signed", "count": signed})
    return signed


def on_prescription_issued(sender: Any = None, *, prescription: Prescription, **kwargs: Any) -> None:
    """Receiver of ``appointments.signals.prescription_issued`` (after commit)."""
    items = items_create(prescription=prescription)
    sign_pending(item_ids=[i.pk for i in items if i.state == ItemState.PENDING])


def cancel_items(*, prescription: Prescription) -> int:
    """Inside the caller's transaction: items not yet dispensed can no longer be dispensed."""
    return SignedItem.objects.filter(prescription=prescription,
                                     state__in=[ItemState.PENDING, ItemState.ISSUED]).update(state=ItemState.CANCELLED)
