"""Clinical guidelines, prescription documents and medical imaging studies.

The files live in S3 (one bucket per kind, see ``storage/aws_resources.py``); rows hold the
object key and S3 version ids. Keys are random (``<prefix>/<owner>/<uuid4>``): a user's file
name never becomes a key.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from phb.jsonfield import JSONField


# --- Clinical guidelines ------------------------------------------------------------------
class GuidelineCategory(models.TextChoices):
    EMERGENCY = "emergency", "Emergency"
    SURGERY = "surgery", "Surgery"
    MEDICATION = "medication", "Medication"
    DIAGNOSIS = "diagnosis", "Diagnosis"
    TREATMENT = "treatment", "Treatment"
    PREVENTION = "prevention", "Prevention"
    INFECTION_CONTROL = "infection_control", "Infection control"
    PATIENT_SAFETY = "patient_safety", "Patient safety"
    NURSING = "nursing", "Nursing"
    CARDIOLOGY = "cardiology", "Cardiology"
    PEDIATRIC = "pediatric", "Pediatric"
    OTHER = "other", "Other"


class GuidelineContentType(models.TextChoices):
    PDF = "pdf", "File"
    TEXT = "text", "Text"
    MIXED = "mixed", "File and text"


class GuidelinePriority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class ApprovalStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_REVIEW = "pending_review", "Pending review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    ARCHIVED = "archived", "Archived"


# A published guideline is shown with this approval status (stored: ``approved`` and ``is_published``).
PUBLISHED = "published"


def shown_approval_status(status: str, *, is_published: bool) -> str:
    """The lifecycle a page shows: draft, pending_review, approved, published, rejected, archived."""
    return PUBLISHED if is_published and status == ApprovalStatus.APPROVED else status


TARGET_ROLES = (
    "doctor", "nurse", "pharmacist", "lab_technician", "physician_assistant", "medical_secretary",
    "radiologist_tech", "paramedic", "midwife",
)
DEFAULT_TARGET_ROLES = ["doctor", "nurse"]
_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_guideline_id() -> str:
    return "CG-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))


def default_target_roles() -> list[str]:
    return list(DEFAULT_TARGET_ROLES)


class ClinicalGuideline(models.Model):
    guideline_id = models.CharField(max_length=16, unique=True, default=new_guideline_id, editable=False)
    organization = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.PROTECT, related_name="clinical_guidelines"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="clinical_guidelines"
    )
    title = models.CharField(max_length=255)
    description = models.TextField()
    version = models.CharField(max_length=32, default="1.0")
    category = models.CharField(max_length=32, choices=GuidelineCategory.choices, db_index=True)
    specialty = models.CharField(max_length=120, blank=True)
    keywords = JSONField(default=list, blank=True)
    content_type = models.CharField(max_length=8, choices=GuidelineContentType.choices, default=GuidelineContentType.PDF)
    text_content = models.TextField(blank=True)
    effective_date = models.DateField(default=timezone.localdate)
    expiry_date = models.DateField(null=True, blank=True)
    target_roles = JSONField(default=default_target_roles, blank=True)
    priority = models.CharField(max_length=8, choices=GuidelinePriority.choices, default=GuidelinePriority.MEDIUM)
    approval_status = models.CharField(
        max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING_REVIEW
    )
    is_published = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    access_count = models.PositiveIntegerField(default=0)
    download_count = models.PositiveIntegerField(default=0)
    # The current file (every version of it lives under the same key: S3 keeps the old ones).
    file_key = models.CharField(max_length=255, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    file_content_type = models.CharField(max_length=100, blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    file_version_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["is_active", "is_published", "approval_status"], name="guideline_visibility"),
            models.Index(fields=["organization", "approval_status"], name="guideline_org_status"),
            # The list's order (``pagination.GUIDELINES``), whole and by category: a page reads its
            # rows in index order and stops, whatever the number of guidelines.
            models.Index(fields=["-updated_at", "-id"], name="guideline_recent"),
            models.Index(fields=["category", "-updated_at", "-id"], name="guideline_category_recent"),
        ]

    def __str__(self) -> str:
        return self.guideline_id

    @property
    def has_file(self) -> bool:
        return bool(self.file_key and self.file_version_id)


class GuidelineFileVersion(models.Model):
    """One uploaded file of a guideline: an S3 object version under the guideline's key."""

    guideline = models.ForeignKey(ClinicalGuideline, on_delete=models.CASCADE, related_name="file_versions")
    key = models.CharField(max_length=255)
    version_id = models.CharField(max_length=255)
    file_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        # The versions list of a guideline (``pagination.FILE_VERSIONS``), in its order.
        indexes = [models.Index(fields=["guideline", "-uploaded_at", "-id"], name="guideline_version_recent")]
        constraints = [
            models.UniqueConstraint(fields=["guideline", "version_id"], name="guideline_file_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.guideline_id} file {self.pk}"


class GuidelineBookmark(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="guideline_bookmarks")
    guideline = models.ForeignKey(ClinicalGuideline, on_delete=models.CASCADE, related_name="bookmarks")
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    bookmarked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-bookmarked_at"]
        indexes = [
            # The caller's bookmarks (``pagination.BOOKMARKS``), in the list's order.
            models.Index(fields=["user", "-bookmarked_at", "-id"], name="guideline_bookmark_user"),
            # A hospital admin's bookmarks: every bookmark in order, the hospital's guidelines' kept.
            models.Index(fields=["-bookmarked_at", "-id"], name="guideline_bookmark_recent"),
        ]
        constraints = [models.UniqueConstraint(fields=["user", "guideline"], name="guideline_bookmark_unique")]

    def __str__(self) -> str:
        return f"bookmark {self.pk}"


class GuidelineAccessAction(models.TextChoices):
    VIEW = "view", "View"
    DOWNLOAD = "download", "Download"
    SHARED = "shared", "Shared"
    PRINTED = "printed", "Printed"
    BOOKMARKED = "bookmarked", "Bookmarked"


class GuidelineAccess(models.Model):
    """Append-only log of who viewed, downloaded or bookmarked a guideline."""

    guideline = models.ForeignKey(ClinicalGuideline, on_delete=models.CASCADE, related_name="accesses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=16, choices=GuidelineAccessAction.choices)
    accessed_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-accessed_at", "-id"]
        indexes = [
            # The access log (``pagination.GUIDELINE_ACCESSES``) of a user's own accesses.
            models.Index(fields=["user", "-accessed_at", "-id"], name="guideline_access_user"),
            # The access log of one guideline (``?guideline_id=``).
            models.Index(fields=["guideline", "-accessed_at", "-id"], name="guideline_access_guideline"),
            # A hospital admin's access log: every access in order, the hospital's guidelines' kept.
            models.Index(fields=["-accessed_at", "-id"], name="guideline_access_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.pk}"


# --- Prescription documents ---------------------------------------------------------------
class PrescriptionDocument(models.Model):
    """The PDF of one prescription. Corrections are new S3 versions of the same key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    prescription = models.OneToOneField(
        "appointments.Prescription", on_delete=models.PROTECT, related_name="document"
    )
    key = models.CharField(max_length=255, unique=True)
    verification_code = models.CharField(max_length=32, unique=True)
    current_version_id = models.CharField(max_length=255, blank=True)
    content_digest = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"prescription document {self.pk}"


class PrescriptionDocumentVersion(models.Model):
    document = models.ForeignKey(PrescriptionDocument, on_delete=models.PROTECT, related_name="versions")
    version_id = models.CharField(max_length=255)
    content_digest = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["document", "version_id"], name="prescription_doc_version_unique")
        ]

    def __str__(self) -> str:
        return f"prescription document version {self.pk}"


# --- Medical imaging ------------------------------------------------------------------------
class StudyStatus(models.TextChoices):
    PENDING = "pending", "Waiting for upload"
    AVAILABLE = "available", "Available"
    REJECTED = "rejected", "Rejected"


# A rejected study's ``rejection_reason`` starts with this while its object is being removed (a
# refusal, or an upload never completed: ``storage.imaging.ABANDONED``), and loses it once the
# object is gone.
REMOVING = "removing: "


class ImagingStudy(models.Model):
    """A DICOM file uploaded straight to S3 by a clinician; listed once its header was read."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="imaging_studies")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    hospital = models.ForeignKey("hospitals.Hospital", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    status = models.CharField(max_length=16, choices=StudyStatus.choices, default=StudyStatus.PENDING)
    key = models.CharField(max_length=255, unique=True)
    expected_size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    description = models.CharField(max_length=255, blank=True)
    version_id = models.CharField(max_length=255, blank=True)
    modality = models.CharField(max_length=16, blank=True)
    study_date = models.DateField(null=True, blank=True)
    study_instance_uid = models.CharField(max_length=64, blank=True)
    series_instance_uid = models.CharField(max_length=64, blank=True)
    sop_instance_uid = models.CharField(max_length=64, blank=True)
    sop_class_uid = models.CharField(max_length=64, blank=True)
    body_part = models.CharField(max_length=64, blank=True)
    rejection_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    upload_expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "imaging studies"
        indexes = [
            # The patient's own list (their available studies), in the list's order.
            models.Index(fields=["patient", "status", "-created_at", "-id"], name="imaging_patient_status_recent"),
            # The list's order (``pagination.RECENT_FIRST``): a patient's studies and a clinician's
            # own uploads are read in index order, the page's rows and no more.
            models.Index(fields=["patient", "-created_at", "-id"], name="imaging_patient_recent"),
            models.Index(fields=["uploaded_by", "-created_at", "-id"], name="imaging_uploader_recent"),
            # ``expire_imaging_uploads`` (hourly): the studies still waiting for their upload, and
            # removals under way, are a handful among every study ever stored.
            models.Index(fields=["upload_expires_at"], name="imaging_pending_expiry",
                         condition=models.Q(status=StudyStatus.PENDING)),
            models.Index(fields=["completed_at"], name="imaging_removing_claimed",
                         condition=models.Q(status=StudyStatus.REJECTED, rejection_reason__startswith=REMOVING)),
        ]

    def __str__(self) -> str:
        return f"imaging study {self.pk}"
