"""Writes of clinical guidelines: create (text or file), edit, replace the file, delete, approve,
publish, bookmarks and the access log.

A guideline's files all live under one random key in the versioned guidelines bucket; replacing
the file writes a new S3 version, so earlier files stay reachable through ``file_versions``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied

from accounts.models import User
from phb import metrics
from phb.api.errors import ApiError, Conflict, ServiceUnavailable
from phb.filetypes import FileType
from phb.zones import today_in, zone_named
from storage import objects
from storage.filetypes import detect_guideline_kind, safe_filename
from storage.models import (
    ApprovalStatus,
    ClinicalGuideline,
    GuidelineAccess,
    GuidelineAccessAction,
    GuidelineBookmark,
    GuidelineContentType,
    GuidelineFileVersion,
)
from storage.selectors import guideline_can_edit, guideline_can_review, guideline_home_hospital

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = (
    "title", "description", "version", "category", "specialty", "keywords", "content_type", "text_content",
    "effective_date", "expiry_date", "target_roles", "priority",
)


# --- Files ------------------------------------------------------------------------------------
class CheckedFile:
    """An upload whose type was read from its bytes, with its size and SHA-256."""

    def __init__(self, upload: UploadedFile) -> None:
        self.upload = upload
        self.stream: IO[bytes] = upload.file
        self.size = int(upload.size or 0)
        max_bytes = settings.CLINICAL_GUIDELINE_MAX_BYTES
        if self.size <= 0:
            raise ApiError("The file is empty.", code="empty_file")
        if self.size >= max_bytes:
            raise ApiError(f"The file must be smaller than {max_bytes // (1024 * 1024)} MB.",
                           status_code=413, code="file_too_large")
        kind = detect_guideline_kind(self.stream)
        if kind is None:
            raise ApiError("Only PDF, Word (.doc, .docx) and plain-text files can be uploaded.",
                           status_code=415, code="unsupported_file_type")
        self.kind: FileType = kind
        self.file_name = safe_filename(upload.name or "", extension=f".{kind.extension}")
        digest = hashlib.sha256()
        self.stream.seek(0)
        for chunk in iter(lambda: self.stream.read(64 * 1024), b""):
            digest.update(chunk)
        self.stream.seek(0)
        self.sha256 = digest.hexdigest()


def _store_file(*, guideline: ClinicalGuideline, checked: CheckedFile, by: User) -> GuidelineFileVersion:
    """Write the file as a new S3 version of the guideline's key (no database write here: callers
    save the returned row and point the guideline at it inside their transaction)."""
    key = guideline.file_key or objects.new_key("guidelines", guideline.organization_id)
    try:
        version_id = objects.put_version(
            storage_name=objects.GUIDELINES,
            key=key,
            body=checked.stream,
            content_type=checked.kind.content_type,
            metadata={"guideline-id": guideline.guideline_id},
        )
    except (ClientError, BotoCoreError) as exc:  # nothing is saved: the same upload can be sent again
        logger.warning("guideline file not stored", extra={"event": "guideline_store_failed"})
        raise ServiceUnavailable("The file cannot be stored just now. Try again shortly.",
                                 code="storage_unavailable") from exc
    return GuidelineFileVersion(
        guideline=guideline,
        key=key,
        version_id=version_id,
        file_name=checked.file_name,
        content_type=checked.kind.content_type,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=by,
    )


def _point_at(guideline: ClinicalGuideline, version: GuidelineFileVersion) -> None:
    guideline.file_key = version.key
    guideline.file_name = version.file_name
    guideline.file_content_type = version.content_type
    guideline.file_size = version.size
    guideline.file_version_id = version.version_id


# --- Create, edit, delete ------------------------------------------------------------------
def _author_hospital(user: User):
    hospital = guideline_home_hospital(user=user)
    if hospital is None:
        raise PermissionDenied("Only verified professionals and hospital admins can add clinical guidelines.")
    return hospital


def _check_content(guideline: ClinicalGuideline) -> None:
    if guideline.expiry_date and guideline.effective_date and guideline.expiry_date < guideline.effective_date:
        raise ApiError("expiry_date: must not be before the effective date.", code="invalid")
    if guideline.content_type == GuidelineContentType.TEXT and not guideline.text_content.strip():
        raise ApiError("text_content: a text guideline needs its text.", code="invalid")


def guideline_create(*, author: User, data: dict[str, Any], upload: UploadedFile | None = None) -> ClinicalGuideline:
    """G3 (text) and G4 (with a file). New guidelines wait for their hospital admin's review."""
    hospital = _author_hospital(author)
    checked = CheckedFile(upload) if upload is not None else None
    fields = {k: v for k, v in data.items() if k in EDITABLE_FIELDS and v is not None}
    if "content_type" not in fields:
        fields["content_type"] = GuidelineContentType.PDF if checked is not None else GuidelineContentType.TEXT
    fields.setdefault("effective_date", today_in(zone_named(hospital.time_zone)))  # the hospital's day, not UTC's
    guideline = ClinicalGuideline(organization=hospital, created_by=author, **fields)
    _check_content(guideline)
    version = _store_file(guideline=guideline, checked=checked, by=author) if checked else None
    if version is not None:
        _point_at(guideline, version)
    with transaction.atomic():
        guideline.save()
        if version is not None:
            version.guideline = guideline
            version.save()
    metrics.record("GuidelineCreated", area="Storage", dimensions={"WithFile": "yes" if checked else "no"})
    logger.info("guideline created", extra={"event": "guideline_created", "guideline_id": guideline.guideline_id,
                                             "with_file": checked is not None})
    return guideline


def _require_editor(user: User, guideline: ClinicalGuideline) -> None:
    if not guideline_can_edit(user=user, guideline=guideline):
        raise PermissionDenied("Only the author or the hospital's admin can change this guideline.")


REVIEW_FIELDS = ("approval_status", "is_published", "approved_by", "approved_at", "published_at")


def _locked(guideline: ClinicalGuideline) -> ClinicalGuideline:
    """The guideline's row as it is now, locked until the transaction ends (callers hold no lock
    across an S3 call: the writes that take it do not touch S3)."""
    return ClinicalGuideline.objects.select_for_update().get(pk=guideline.pk)


def _back_to_review(guideline: ClinicalGuideline, *, by: User) -> None:
    """A change by anyone but the reviewing admin sends an approved guideline back to review."""
    if guideline_can_review(user=by, guideline=guideline):
        return
    if guideline.approval_status in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED) or guideline.is_published:
        guideline.approval_status = ApprovalStatus.PENDING_REVIEW
        guideline.is_published = False
        guideline.approved_by = None
        guideline.approved_at = None
        guideline.published_at = None


def guideline_update(*, guideline: ClinicalGuideline, by: User, data: dict[str, Any]) -> ClinicalGuideline:
    """G6: the edit form (fields left out keep their values).

    The row is re-read under its lock and only the fields the edit (and a return to review)
    changes are written, so a file replaced or a view or download counted since the request read
    the guideline is kept."""
    _require_editor(by, guideline)
    with transaction.atomic():
        locked = _locked(guideline)
        changed = [name for name in EDITABLE_FIELDS if name in data and getattr(locked, name) != data[name]]
        for name in changed:
            setattr(locked, name, data[name] if data[name] is not None else _default_for(name))
        if locked.content_type in (GuidelineContentType.PDF, GuidelineContentType.MIXED) and not locked.has_file \
                and locked.is_published:
            raise Conflict("Upload a file before making this a file guideline.", code="file_required")
        _check_content(locked)
        if changed:
            _back_to_review(locked, by=by)
            locked.save(update_fields=[*changed, *REVIEW_FIELDS, "updated_at"])
    return locked


def _default_for(name: str) -> Any:
    field = ClinicalGuideline._meta.get_field(name)
    return field.get_default()


def guideline_replace_file(*, guideline: ClinicalGuideline, by: User, upload: UploadedFile,
                           version: str | None = None) -> ClinicalGuideline:
    """G5: a new file becomes a new S3 version of the same key; the previous stays listed."""
    _require_editor(by, guideline)
    checked = CheckedFile(upload)
    # The upload goes to S3 before the row is locked, so no lock is held while bytes travel.
    file_version = _store_file(guideline=guideline, checked=checked, by=by)
    with transaction.atomic():
        locked = ClinicalGuideline.objects.select_for_update().get(pk=guideline.pk)
        file_version.guideline = locked
        _point_at(locked, file_version)
        if locked.content_type == GuidelineContentType.TEXT:
            locked.content_type = GuidelineContentType.MIXED
        if version:
            locked.version = version[:32]
        _back_to_review(locked, by=by)
        locked.save()
        file_version.save()
    metrics.record("GuidelineFileReplaced", area="Storage")
    logger.info("guideline file replaced", extra={"event": "guideline_file_replaced",
                                                   "guideline_id": locked.guideline_id})
    return locked


def guideline_delete(*, guideline: ClinicalGuideline, by: User) -> None:
    """G7: archived and hidden; the file gets a delete marker (its versions stay, see lifecycle).

    The marker comes first: S3 not answering is a 503 with nothing changed, so the author can
    retry. Until the row is archived the guideline still serves its file, which is read by its
    version id and so is untouched by the marker."""
    _require_editor(by, guideline)
    if guideline.file_key:
        try:
            objects.mark_deleted(storage_name=objects.GUIDELINES, key=guideline.file_key)
        except (ClientError, BotoCoreError) as exc:
            logger.warning("guideline file not marked deleted", extra={"event": "guideline_delete_failed",
                                                                        "guideline_id": guideline.guideline_id})
            raise ServiceUnavailable("The guideline cannot be deleted just now. Try again shortly.",
                                     code="storage_unavailable") from exc
    with transaction.atomic():
        guideline.is_active = False
        guideline.is_published = False
        guideline.approval_status = ApprovalStatus.ARCHIVED
        guideline.save(update_fields=["is_active", "is_published", "approval_status", "updated_at"])
        GuidelineBookmark.objects.filter(guideline=guideline).update(is_active=False)
    logger.info("guideline deleted", extra={"event": "guideline_deleted", "guideline_id": guideline.guideline_id})


# --- Review ------------------------------------------------------------------------------------
def _require_reviewer(user: User, guideline: ClinicalGuideline) -> None:
    if not guideline_can_review(user=user, guideline=guideline):
        raise PermissionDenied("Only an admin of the guideline's hospital can approve or publish it.")


def guideline_approve(*, guideline: ClinicalGuideline, by: User) -> ClinicalGuideline:
    """G8. Approving an approved guideline changes nothing. Judged on the row as it is now
    (locked), not on the copy the request read: an edit meanwhile may have archived it."""
    _require_reviewer(by, guideline)
    with transaction.atomic():
        guideline = _locked(guideline)
        if guideline.approval_status == ApprovalStatus.APPROVED:
            return guideline
        if guideline.approval_status == ApprovalStatus.ARCHIVED:
            raise Conflict("An archived guideline cannot be approved.", code="invalid_transition")
        guideline.approval_status = ApprovalStatus.APPROVED
        guideline.approved_by = by
        guideline.approved_at = timezone.now()
        guideline.save(update_fields=["approval_status", "approved_by", "approved_at", "updated_at"])
    logger.info("guideline approved", extra={"event": "guideline_approved", "guideline_id": guideline.guideline_id})
    return guideline


def guideline_publish(*, guideline: ClinicalGuideline, by: User) -> ClinicalGuideline:
    """G9. Only an approved guideline with its content in place can be published. Judged on the
    row as it is now (locked), not on the copy the request read: an edit meanwhile sends it back
    to review, and what was not reviewed is not published."""
    _require_reviewer(by, guideline)
    with transaction.atomic():
        guideline = _locked(guideline)
        if guideline.is_published:
            return guideline
        if guideline.approval_status != ApprovalStatus.APPROVED:
            raise Conflict("Approve the guideline before publishing it.", code="invalid_transition")
        if guideline.content_type in (GuidelineContentType.PDF, GuidelineContentType.MIXED) and not guideline.has_file:
            raise Conflict("Upload the guideline's file before publishing it.", code="file_required")
        if guideline.content_type == GuidelineContentType.TEXT and not guideline.text_content.strip():
            raise Conflict("Add the guideline's text before publishing it.", code="text_required")
        guideline.is_published = True
        guideline.published_at = timezone.now()
        guideline.save(update_fields=["is_published", "published_at", "updated_at"])
    metrics.record("GuidelinePublished", area="Storage")
    logger.info("guideline published", extra={"event": "guideline_published", "guideline_id": guideline.guideline_id})
    return guideline


# --- Bookmarks and access ---------------------------------------------------------------------
def guideline_bookmark_add(*, user: User, guideline: ClinicalGuideline, notes: str = "",
                           request: Any = None) -> GuidelineBookmark:
    """G11 (idempotent: bookmarking twice keeps one bookmark, with the latest notes)."""
    bookmark, created = GuidelineBookmark.objects.get_or_create(
        user=user, guideline=guideline, defaults={"notes": notes or ""}
    )
    if not created:
        bookmark.is_active = True
        if notes:
            bookmark.notes = notes
        bookmark.save(update_fields=["is_active", "notes"])
    if created:
        guideline_record_access(guideline=guideline, user=user, action=GuidelineAccessAction.BOOKMARKED,
                                request=request)
    return bookmark


def guideline_bookmark_remove(*, user: User, guideline: ClinicalGuideline) -> None:
    """G12 (removing a missing bookmark is not an error)."""
    GuidelineBookmark.objects.filter(user=user, guideline=guideline).delete()


def guideline_record_access(*, guideline: ClinicalGuideline, user: User, action: str, request: Any = None) -> None:
    ip = None
    agent = ""
    if request is not None:
        from accounts.throttles import client_ip

        meta_request = getattr(request, "_request", request)
        found = client_ip(meta_request)
        try:
            ip = str(ipaddress.ip_address(found))
        except ValueError:
            ip = None
        agent = (meta_request.META.get("HTTP_USER_AGENT") or "")[:255]
    GuidelineAccess.objects.create(guideline=guideline, user=user, action=action, ip_address=ip, user_agent=agent)
    counters: dict[str, Any] = {}
    if action == GuidelineAccessAction.VIEW:
        counters["access_count"] = F("access_count") + 1
    elif action == GuidelineAccessAction.DOWNLOAD:
        counters["access_count"] = F("access_count") + 1
        counters["download_count"] = F("download_count") + 1
    if counters:
        ClinicalGuideline.objects.filter(pk=guideline.pk).update(**counters)
