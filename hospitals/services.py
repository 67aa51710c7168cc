"""Writes about hospital registrations."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from hospitals.models import Hospital, HospitalRegistration, RegistrationStatus
from phb.api.errors import ApiError

logger = logging.getLogger("hospitals")


def registration_create(*, user: User, hospital_id: int, is_primary: bool) -> HospitalRegistration:
    if not user.is_patient:
        raise ApiError("Only patients register with a hospital.", status_code=403, code="not_a_patient")
    hospital = Hospital.objects.filter(pk=hospital_id, is_active=True).first()
    if hospital is None:
        raise ApiError("Hospital not found.", status_code=404, code="not_found")
    with transaction.atomic():
        # The patient's row first: her registrations change one request at a time, so two
        # asking for different primary hospitals at once cannot both keep theirs (a 500).
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
        registration, created = HospitalRegistration.objects.select_for_update().get_or_create(
            user=user, hospital=hospital
        )
        if created and hospital.auto_approve_registrations:
            registration.status = RegistrationStatus.APPROVED
            registration.decided_at = timezone.now()
        if registration.status == RegistrationStatus.REJECTED:
            raise ApiError("This hospital declined your registration.", status_code=409, code="rejected")
        if is_primary and not registration.is_primary:
            HospitalRegistration.objects.filter(user=user, is_primary=True).exclude(pk=registration.pk).update(
                is_primary=False
            )
            registration.is_primary = True
        registration.save()
    user.__dict__.pop("_primary_registration_loaded", None)  # the caller's cached view is stale now
    logger.info("hospital registration", extra={"event": "registration", "new_registration": created})
    return registration


def registration_decide(*, registration: HospitalRegistration, approve: bool, decided_by: User) -> HospitalRegistration:
    with transaction.atomic():
        locked = HospitalRegistration.objects.select_for_update().get(pk=registration.pk)
        if locked.status != RegistrationStatus.PENDING:
            raise ApiError(f"This registration is already {locked.status}.", status_code=409, code="already_decided")
        locked.status = RegistrationStatus.APPROVED if approve else RegistrationStatus.REJECTED
        locked.decided_at = timezone.now()
        locked.decided_by = decided_by
        # A declined registration is nobody's primary hospital: while it was, the patient was
        # shown as registered (and offered no other hospital) but refused everywhere.
        if not approve:
            locked.is_primary = False
        locked.save(update_fields=["status", "decided_at", "decided_by", "is_primary"])
    return locked
