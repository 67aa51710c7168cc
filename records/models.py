"""Medical records: a patient's profile, clinical entries over time, clinicians' access
consents, patient documents in S3, and the append-only audit trail.

Clinical free text (``notes_encrypted``) is envelope-encrypted with KMS (``records.crypto``);
the database never holds it in plain text. Audit rows are append-only: the ORM refuses to
update or delete them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from phb.jsonfield import JSONField


class MedicalProfile(models.Model):
    """Profile facts of one patient's record. The HPN lives on the user."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="medical_profile"
    )
    blood_type = models.CharField(max_length=8, blank=True)
    genotype = models.CharField(max_length=8, blank=True)
    height_cm = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    allergies = JSONField(default=list, blank=True)
    chronic_conditions = JSONField(default=list, blank=True)
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_phone = models.CharField(max_length=32, blank=True)
    last_visit_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"medical profile {self.pk}"


class EntryKind(models.TextChoices):
    ENCOUNTER = "encounter", "Encounter"
    DIAGNOSIS = "diagnosis", "Diagnosis"
    TREATMENT = "treatment", "Treatment"
    MEDICATION = "medication", "Medication"
    LAB_RESULT = "lab_result", "Lab result"
    IMMUNIZATION = "immunization", "Immunization"
    PROCEDURE = "procedure", "Procedure"
    VITAL = "vital", "Vital signs"


class ClinicalEntry(models.Model):
    """One dated clinical fact. Structured fields in ``details``; free text encrypted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clinical_entries")
    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    title = models.CharField(max_length=200)
    occurred_on = models.DateField()
    end_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, blank=True)
    details = JSONField(default=dict, blank=True)
    provider_name = models.CharField(max_length=200, blank=True)
    hospital = models.ForeignKey(
        "hospitals.Hospital", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    appointment_ref = models.UUIDField(null=True, blank=True, help_text="Appointment this entry came from")
    notes_encrypted = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-occurred_on", "-created_at"]
        indexes = [
            # The medical record (``pagination.RECORD_ENTRIES``), in its order.
            models.Index(fields=["patient", "-occurred_on", "-created_at", "-id"], name="records_entry_patient_recent"),
            # The record summary (the encounters alone), in the record's order.
            models.Index(fields=["patient", "kind", "-occurred_on", "-created_at", "-id"],
                         name="records_entry_kind_recent"),
            # The admin's changelist, every record's entries in its order.
            models.Index(fields=["-occurred_on", "-created_at", "-id"], name="records_entry_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} entry {self.pk}"

    @property
    def notes_context(self) -> str:
        """Associated data binding a ciphertext to this row and column."""
        return f"records.ClinicalEntry.notes:{self.pk}"

    @property
    def notes(self) -> str:
        from records.crypto import decrypt_text

        return decrypt_text(self.notes_encrypted, context=self.notes_context) if self.notes_encrypted else ""

    @notes.setter
    def notes(self, value: str) -> None:
        from records.crypto import encrypt_text

        self.notes_encrypted = encrypt_text(value, context=self.notes_context) if value else ""


class ConsentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    GRANTED = "granted", "Granted"
    REVOKED = "revoked", "Revoked"
    CANCELLED = "cancelled", "Cancelled"


class AccessConsent(models.Model):
    """A clinician's request to see a patient's record and, once the patient's code is
    entered, the time-limited grant. Revoking ends it at once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_consents")
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    hospital = models.ForeignKey(
        "hospitals.Hospital", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    appointment_ref = models.UUIDField(null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    access_type = models.CharField(max_length=32, default="medical_records")
    duration_seconds = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=ConsentStatus.choices, default=ConsentStatus.PENDING)
    requested_at = models.DateTimeField(default=timezone.now)
    request_expires_at = models.DateTimeField()
    granted_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-requested_at"]
        indexes = [
            models.Index(fields=["clinician", "patient", "status"], name="records_consent_lookup"),
            # The patient's consents (``pagination.CONSENTS``), in the list's order.
            models.Index(fields=["patient", "-requested_at", "-id"], name="records_consent_patient_recent"),
            # A clinician's consents with one patient, in the list's order.
            models.Index(fields=["clinician", "patient", "-requested_at", "-id"], name="records_consent_pair_recent"),
            # The admin's changelist, newest first (records/0006).
            models.Index(fields=["-requested_at", "-id"], name="records_consent_recent"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["clinician", "patient"],
                condition=Q(status="pending"),
                name="records_one_pending_consent",
            )
        ]

    def __str__(self) -> str:
        return f"consent {self.pk}"

    def is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.status == ConsentStatus.GRANTED
            and self.revoked_at is None
            and self.expires_at is not None
            and self.expires_at > now
        )


def _records_storage():
    from django.core.files.storage import storages

    return storages["medical_records"]


class DocumentState(models.TextChoices):
    """Where an upload stands. ``pending`` is committed with its key before S3 is called and becomes
    ``stored`` once S3 took the file; only ``stored`` documents are ever shown. ``removing``: an
    upload never finished, claimed by ``expire_document_uploads`` while it deletes the object."""

    PENDING = "pending", "pending (upload under way)"
    STORED = "stored", "stored"
    REMOVING = "removing", "removing (upload never finished)"


class PatientDocument(models.Model):
    """A file a patient uploaded. Deleting hides it; S3 versioning keeps the bytes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="documents")
    file = models.FileField(storage=_records_storage, max_length=255)
    display_name = models.CharField(max_length=120)
    extension = models.CharField(max_length=8)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=DocumentState.choices, default=DocumentState.STORED)
    # When ``expire_document_uploads`` claimed it (``removing``); a claim older than its lease is taken over.
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        # The documents list (``pagination.DOCUMENTS``), in its order.
        indexes = [
            models.Index(fields=["patient", "-created_at", "-id"], name="records_doc_patient_recent"),
            # the admin's changelist, newest first, and its search by content hash (records/0006)
            models.Index(fields=["-created_at", "-id"], name="records_doc_recent"),
            models.Index(fields=["sha256"], name="records_doc_sha256"),
            # ``expire_document_uploads``: the few uploads never finished, oldest first, without
            # reading every document ever stored
            models.Index(fields=["created_at"], name="records_doc_unfinished",
                         condition=~models.Q(state="stored")),
        ]

    def __str__(self) -> str:
        return f"document {self.pk}"


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Audit events are append-only.")

    def delete(self):
        raise PermissionError("Audit events are append-only.")

    def bulk_update(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only.")


class AuditEvent(models.Model):
    """Who did what to whose PHI, when, from where. Append-only.

    Actor and patient are kept as plain ids (no foreign keys), so deleting an account can never
    cascade into, or rewrite, the trail.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.UUIDField(null=True, blank=True, db_index=True)
    actor_role = models.CharField(max_length=20, blank=True)
    patient_id = models.UUIDField(null=True, blank=True)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            # The patient's access log (``pagination.AUDIT_EVENTS``), in its order.
            models.Index(fields=["patient_id", "-occurred_at", "-id"], name="records_audit_patient_recent"),
            # A clinician's access log of one patient, in its order.
            models.Index(fields=["patient_id", "actor_id", "-occurred_at", "-id"], name="records_audit_patient_actor"),
            # The admin's search by an exact id (``records.admin``), with actor_id's and the patient's.
            models.Index(fields=["request_id"], name="records_audit_request"),
            models.Index(fields=["object_id"], name="records_audit_object"),
        ]
        constraints = [models.CheckConstraint(condition=~Q(action=""), name="records_audit_action_set")]

    def __str__(self) -> str:
        return f"audit {self.pk}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Audit events are append-only.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only.")
