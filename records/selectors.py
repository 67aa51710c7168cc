"""Reads of medical records, scoped to the caller.

Record reads use a fixed number of SQL queries whatever the number of entries (profile, entries,
nothing per row); notes decrypt with cached data keys.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Role, User
from phb.api.errors import ApiError
from phb.db import PrecompiledLookup
from phb.numbers import whole_number
from records.models import (
    AccessConsent,
    AuditEvent,
    ClinicalEntry,
    ConsentStatus,
    DocumentState,
    MedicalProfile,
    PatientDocument,
)


def clinician_can_access_patient(*, clinician: Any, patient: Any) -> bool:
    """True while ``clinician`` holds a live (granted, unexpired, unrevoked) consent for ``patient``."""
    if clinician is None or patient is None or not getattr(clinician, "is_authenticated", False):
        return False
    patient_id = getattr(patient, "pk", patient)
    if clinician.pk == patient_id:
        return False
    return AccessConsent.objects.filter(
        clinician=clinician,
        patient_id=patient_id,
        status=ConsentStatus.GRANTED,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).exists()


def live_consent(*, clinician: Any, patient_id: Any, consent_id: Any = None) -> AccessConsent | None:
    qs = AccessConsent.objects.filter(
        clinician=clinician,
        patient_id=patient_id,
        status=ConsentStatus.GRANTED,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )
    if consent_id is not None:
        qs = qs.filter(pk=consent_id)
    return qs.order_by("-expires_at").first()


def clinician_has_appointment(*, clinician: User, patient: User) -> bool:
    from appointments.selectors import clinician_has_appointment_with

    return bool(clinician_has_appointment_with(clinician=clinician, patient=patient))


def clinician_has_relationship(*, clinician: User, patient: User, require_appointment: bool = False) -> bool:
    """A doctor relates to a patient through an appointment at their hospital (or assigned to
    them) or, unless ``require_appointment``, through a live consent the patient granted."""
    if clinician is None or not getattr(clinician, "is_doctor", False) or clinician.pk == patient.pk:
        return False
    if clinician_has_appointment(clinician=clinician, patient=patient):
        return True
    return not require_appointment and clinician_can_access_patient(clinician=clinician, patient=patient)


def patient_lookup(*, clinician: User, patient_ref: object) -> User:
    """A patient by UUID or HPN, or a 404 (the same answer whatever the reason)."""
    text = str(patient_ref or "").strip()
    qs = User.objects.select_related("medical_profile").filter(role=Role.PATIENT, is_active=True)
    try:
        found = qs.filter(pk=uuid.UUID(text)).first()
    except ValueError:
        digits = text.replace(" ", "").replace("-", "")
        found = qs.filter(hpn=digits).first() if whole_number(digits, max_digits=32) is not None else None
    if found is None or found.pk == getattr(clinician, "pk", None):
        raise ApiError("Patient not found.", status_code=404, code="not_found")
    return found


# --- The record ------------------------------------------------------------------------------
# Read on every record request: compiled once per connection (``phb.db``).
_profile_of_patient = PrecompiledLookup(lambda patient_id: MedicalProfile.objects.filter(patient_id=patient_id),
                                        key_field="patient", sentinel=uuid.UUID(int=0))


def profile_of(*, patient: User) -> MedicalProfile | None:
    return _profile_of_patient.get(patient.pk)


# --- Documents -------------------------------------------------------------------------------
def documents_of(*, fetched_by: User) -> QuerySet[PatientDocument]:
    """The caller's own documents that S3 holds and that are not deleted (an upload still under
    way, or one that never finished, is never shown)."""
    return PatientDocument.objects.filter(patient=fetched_by, state=DocumentState.STORED,
                                          deleted_at__isnull=True).order_by("-created_at")


# --- Consents and access logs ----------------------------------------------------------------
def consents_of_patient(*, fetched_by: User) -> QuerySet[AccessConsent]:
    return AccessConsent.objects.select_related("clinician", "hospital").filter(patient=fetched_by)


def consents_between(*, clinician: User, patient: User) -> QuerySet[AccessConsent]:
    return AccessConsent.objects.select_related("hospital").filter(clinician=clinician, patient=patient)


def access_log_of_patient(*, fetched_by: User) -> QuerySet[AuditEvent]:
    """Who touched the caller's record (page it newest first; ``actors_of`` a page names them)."""
    return AuditEvent.objects.filter(patient_id=fetched_by.pk)


def access_log_by_clinician(*, clinician: User, patient: User) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(patient_id=patient.pk, actor_id=clinician.pk)


def actors_of(events: list[AuditEvent]) -> dict[str, User]:
    ids = {e.actor_id for e in events if e.actor_id}
    if not ids:
        return {}
    return {str(u.pk): u for u in User.objects.select_related("staff__hospital").filter(pk__in=ids)}


class EntryRow:
    """A clinical entry read as column values (what the record's presenters read), without the
    cost of a model instance per row."""

    __slots__ = ("id", "kind", "title", "occurred_on", "end_on", "status", "details", "provider_name",
                 "hospital_id", "hospital", "created_at", "updated_at", "notes_encrypted")
    COLUMNS = ("id", "kind", "title", "occurred_on", "end_on", "status", "details", "provider_name",
               "hospital_id", "hospital__name", "created_at", "updated_at", "notes_encrypted")

    class _Hospital:
        __slots__ = ("name",)

        def __init__(self, name: str) -> None:
            self.name = name

    def __init__(self, row: dict[str, Any]) -> None:
        self.id, self.kind, self.title = row["id"], row["kind"], row["title"]
        self.occurred_on, self.end_on, self.status = row["occurred_on"], row["end_on"], row["status"]
        self.details, self.provider_name, self.hospital_id = row["details"], row["provider_name"], row["hospital_id"]
        self.created_at, self.updated_at = row["created_at"], row["updated_at"]
        self.notes_encrypted = row["notes_encrypted"]
        self.hospital = self._Hospital(row["hospital__name"]) if row["hospital_id"] is not None else None

    @property
    def pk(self) -> Any:
        return self.id


def entries_of(*, patient: User) -> QuerySet:
    """The entries of ``patient``; page them with ``RECORD_ENTRIES`` and ``columns=EntryRow.COLUMNS``."""
    return ClinicalEntry.objects.filter(patient=patient)


def entry_rows(*, patient: User) -> QuerySet:
    """The entries of ``patient`` as :class:`EntryRow` column values."""
    return entries_of(patient=patient).values(*EntryRow.COLUMNS)


_NOTES_CONTEXT = "records.ClinicalEntry.notes:"  # + the entry's id: what its notes were sealed with


def _id_text(value: Any) -> str:
    """``str(value)`` for an entry id: a UUID written by orjson, in C (``str()`` of a UUID formats
    in Python, about 1 µs an entry of a record page)."""
    return orjson.dumps(value)[1:-1].decode() if type(value) is uuid.UUID else str(value)


def with_notes(rows: list[dict[str, Any]], *, complete: bool = False) -> list[tuple[EntryRow, str]]:
    """Each row with its notes decrypted. An entry whose notes cannot be decrypted is still listed,
    with empty notes, and logged; with ``complete``, KMS not answering raises
    :class:`records.crypto.KeyServiceUnavailable` instead."""
    import logging

    from records.crypto import decrypt_many

    entries = [EntryRow(row) for row in rows]
    opened = iter(decrypt_many([(entry.notes_encrypted, _NOTES_CONTEXT + _id_text(entry.id))
                                for entry in entries if entry.notes_encrypted], complete=complete))
    out: list[tuple[EntryRow, str]] = []
    for entry in entries:
        notes = next(opened) if entry.notes_encrypted else ""
        if notes is None:
            logging.getLogger("records.selectors").error(
                "clinical notes could not be decrypted",
                extra={"event": "notes_decrypt_failed", "entry": str(entry.id)},
            )
        out.append((entry, notes or ""))
    return out


def record_of(*, patient: User) -> tuple[MedicalProfile | None, list[tuple[EntryRow, str]]]:
    """Profile and every entry with its notes decrypted, newest first (the PDF export): two queries.
    Raises :class:`records.crypto.KeyServiceUnavailable` when KMS does not answer: a copy of the
    record never silently lacks notes a retry would show."""
    rows = entry_rows(patient=patient).order_by("-occurred_on", "-created_at", "-id")
    return profile_of(patient=patient), with_notes(list(rows), complete=True)
