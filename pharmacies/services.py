"""Writes: a patient nominates a pharmacy or ends the nomination."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import NotFound

from accounts.models import User
from pharmacies.models import Nomination, Pharmacy
from phb.api.errors import ApiError
from records.audit import audit_record

logger = logging.getLogger(__name__)


def _patient_only(user: User) -> None:
    if not user.is_patient:
        raise ApiError("Only patients nominate a pharmacy.", status_code=403, code="patients_only")


def nomination_set(*, patient: User, pharmacy_id: object, nomination_type: str, notes: str = "",
                   request=None) -> Nomination:
    """End the current nomination (if any) and start one at ``pharmacy_id``. The patient's row
    is locked so two concurrent nominations cannot both become current."""
    _patient_only(patient)
    try:
        pharmacy = Pharmacy.objects.get(pk=int(str(pharmacy_id)), is_active=True)
    except (Pharmacy.DoesNotExist, ValueError, TypeError):
        raise NotFound("Pharmacy not found.") from None
    if not pharmacy.electronic_prescriptions_enabled:
        raise ApiError("This pharmacy does not accept electronic prescriptions.", code="not_nominatable")
    now = timezone.now()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=patient.pk).first()
        Nomination.objects.filter(patient=patient, is_current=True).update(is_current=False, ended_at=now)
        nomination = Nomination.objects.create(patient=patient, pharmacy=pharmacy, nomination_type=nomination_type,
                                               notes=(notes or "")[:500], nominated_at=now)
        audit_record(actor=patient, patient=patient, action="pharmacy_nominated", object_type="nomination",
                     object_id=str(nomination.pk), request=request)
    logger.info("pharmacy nominated", extra={"event": "pharmacy_nominated", "nomination_id": nomination.pk})
    return nomination


def nomination_end(*, patient: User, request=None) -> bool:
    _patient_only(patient)
    with transaction.atomic():
        current = Nomination.objects.select_for_update().filter(patient=patient, is_current=True).first()
        if current is None:
            return False
        current.is_current = False
        current.ended_at = timezone.now()
        current.save(update_fields=["is_current", "ended_at"])
        audit_record(actor=patient, patient=patient, action="pharmacy_nomination_ended", object_type="nomination",
                     object_id=str(current.pk), request=request)
    return True
