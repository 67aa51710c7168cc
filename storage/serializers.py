"""Input validation and output shapes of the storage endpoints (contract §6.1 for guidelines)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from accounts.models import Role, User
from phb.api import serializers
from phb.api.fields import from_json
from phb.api.schema import documented
from phb.api.timestamps import iso
from phb.zones import today_at
from storage.models import (
    TARGET_ROLES,
    ClinicalGuideline,
    GuidelineAccess,
    GuidelineBookmark,
    GuidelineCategory,
    GuidelineContentType,
    GuidelineFileVersion,
    GuidelinePriority,
    ImagingStudy,
    shown_approval_status,
)


class CommaListField(serializers.ListField):
    """A JSON list, or (multipart) one comma-joined string: ``keywords="a,b"``."""

    def get_value(self, dictionary: Any) -> Any:
        if hasattr(dictionary, "getlist"):
            if self.field_name not in dictionary:
                return serializers.empty
            return dictionary.getlist(self.field_name)
        return super().get_value(dictionary)

    def to_internal_value(self, data: Any) -> list:
        if isinstance(data, str) and not from_json(self):
            data = [data]
        if not isinstance(data, (list, tuple)):
            self.fail("not_a_list", input_type=type(data).__name__)
        # As sent (the API description's maxItems and item maxLength), before splitting.
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        longest = getattr(self.child, "max_length", None)
        for index, entry in enumerate(data):
            if not isinstance(entry, str):
                raise serializers.ValidationError({index: ["Not a valid string."]})
            if longest is not None and len(entry) > longest and "," not in entry:
                raise serializers.ValidationError({index: [f"Ensure this field has no more than {longest} characters."]})
        items: list[str] = []
        for entry in data:
            items.extend(part.strip() for part in entry.split(",") if part.strip())
        items = list(dict.fromkeys(items))
        if self.max_length is not None and len(items) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return self.run_child_validation(items)


_DATE_OR_BLANK = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}]}


class GuidelineDownloadInput(serializers.Serializer):
    """G10's query. ``format`` is DRF's choice of renderer (the API description lists its values);
    given, it names one: an empty ``?format=`` is a 400 like every other empty choice."""

    format = serializers.ChoiceField(choices=("bin", "json"), required=False)


class GuidelineInput(serializers.Serializer):
    title = serializers.CharField(max_length=255)
    description = serializers.CharField(max_length=20000)
    # The form sends "" for an untouched optional field: the same as leaving it out.
    version = serializers.CharField(max_length=32, required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=GuidelineCategory.choices)
    specialty = serializers.CharField(max_length=120, required=False, allow_blank=True)
    # Empty entries (a form's empty keywords="") are dropped.
    keywords = CommaListField(child=serializers.CharField(max_length=64, allow_blank=True), required=False,
                              max_length=50)
    content_type = serializers.ChoiceField(choices=GuidelineContentType.choices, required=False, allow_blank=True)
    text_content = serializers.CharField(required=False, allow_blank=True, max_length=500_000)
    effective_date = documented(serializers.DateField, _DATE_OR_BLANK)(required=False)
    expiry_date = documented(serializers.DateField, {**_DATE_OR_BLANK, "nullable": True})(required=False, allow_null=True)
    target_roles = CommaListField(child=serializers.ChoiceField(choices=TARGET_ROLES, allow_blank=True), required=False)
    priority = serializers.ChoiceField(choices=GuidelinePriority.choices, required=False, allow_blank=True)

    def to_internal_value(self, data: Any) -> dict:
        # Multipart sends an omitted optional date as "" sometimes: treat it as absent.
        if hasattr(data, "copy"):
            data = data.copy()
            for name in ("expiry_date", "effective_date", "version", "priority", "content_type"):
                if name in data and data.get(name) in ("", "null", "undefined"):
                    data.pop(name)
        return super().to_internal_value(data)


class GuidelineUploadInput(GuidelineInput):
    """G4's multipart form: the fields of :class:`GuidelineInput` and the file."""

    file = serializers.FileField()


class FileReplaceInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    version = serializers.CharField(max_length=32, required=False, allow_blank=True)


class BookmarkInput(serializers.Serializer):
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ImagingStartInput(serializers.Serializer):
    patient_id = serializers.UUIDField()
    size = serializers.IntegerField(min_value=1)
    sha256 = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, max_length=255)


def _user_name(user: User | None) -> str:
    return user.full_name if user is not None else ""


def guideline_payload(guideline: ClinicalGuideline, *, viewer: User, request: Any = None) -> dict[str, Any]:
    """The frontend's ``ClinicalGuideline`` (guidelinesService.ts)."""
    today = today_at(guideline.organization)  # the hospital's day, on its clock
    download_path = reverse("guideline-download", kwargs={"guideline_id": guideline.guideline_id})
    download_url = request.build_absolute_uri(download_path) if request is not None else download_path
    creator = guideline.created_by
    expired = bool(guideline.expiry_date and guideline.expiry_date < today)
    effective = bool(guideline.effective_date and guideline.effective_date <= today) and not expired
    has_file = guideline.has_file
    return {
        "id": guideline.pk,
        "guideline_id": guideline.guideline_id,
        "title": guideline.title,
        "description": guideline.description,
        "version": guideline.version,
        "organization": guideline.organization_id,
        "organization_name": guideline.organization.name,
        "created_by": str(guideline.created_by_id) if guideline.created_by_id else None,
        "created_by_name": _user_name(creator),
        # Staff see a colleague's work address; patients do not.
        "created_by_email": creator.email if creator is not None and viewer.role != Role.PATIENT else "",
        "category": guideline.category,
        "specialty": guideline.specialty,
        "keywords": list(guideline.keywords or []),
        "content_type": guideline.content_type,
        "text_content": guideline.text_content,
        "effective_date": iso(guideline.effective_date),
        "expiry_date": iso(guideline.expiry_date),
        "is_active": guideline.is_active,
        "is_published": guideline.is_published,
        "approval_status": shown_approval_status(guideline.approval_status, is_published=guideline.is_published),
        "approved_by": str(guideline.approved_by_id) if guideline.approved_by_id else None,
        "approved_by_name": _user_name(guideline.approved_by) if guideline.approved_by_id else None,
        "approved_at": iso(guideline.approved_at),
        "published_at": iso(guideline.published_at),
        "created_at": iso(guideline.created_at),
        "updated_at": iso(guideline.updated_at),
        "access_count": guideline.access_count,
        "download_count": guideline.download_count,
        "target_roles": list(guideline.target_roles or []),
        "priority": guideline.priority,
        "file_path": guideline.file_name if has_file else None,
        "file_name": guideline.file_name if has_file else None,
        "file_size": guideline.file_size if has_file else None,
        "file_content_type": guideline.file_content_type if has_file else None,
        "file_url": download_url if has_file else None,
        "download_url": download_url,
        "is_expired": expired,
        "is_effective": effective,
        "is_accessible": guideline.is_active and guideline.is_published and effective,
        "is_bookmarked": bool(getattr(guideline, "is_bookmarked", False)),
        "user_notes": getattr(guideline, "user_notes", None) or None,
    }


def file_version_payload(version: GuidelineFileVersion, *, current_version_id: str, request: Any = None) -> dict:
    path = reverse("guideline-download", kwargs={"guideline_id": version.guideline.guideline_id})
    path = f"{path}?version_id={version.version_id}"
    return {
        "version_id": version.version_id,
        "file_name": version.file_name,
        "content_type": version.content_type,
        "size": version.size,
        "sha256": version.sha256,
        "uploaded_by": str(version.uploaded_by_id) if version.uploaded_by_id else None,
        "uploaded_by_name": _user_name(version.uploaded_by) if version.uploaded_by_id else "",
        "uploaded_at": iso(version.uploaded_at),
        "is_current": version.version_id == current_version_id,
        "download_url": request.build_absolute_uri(path) if request is not None else path,
    }


def bookmark_payload(bookmark: GuidelineBookmark) -> dict[str, Any]:
    return {
        "id": bookmark.pk,
        "user": str(bookmark.user_id),
        "guideline": bookmark.guideline_id,
        "guideline_id": bookmark.guideline.guideline_id,
        "bookmarked_at": iso(bookmark.bookmarked_at),
        "notes": bookmark.notes,
        "is_active": bookmark.is_active,
    }


def access_payload(access: GuidelineAccess) -> dict[str, Any]:
    return {
        "id": access.pk,
        "guideline": access.guideline_id,
        "guideline_id": access.guideline.guideline_id,
        "user": str(access.user_id) if access.user_id else None,
        "action": access.action,
        "accessed_at": iso(access.accessed_at),
        "ip_address": access.ip_address or "",
        "user_agent": access.user_agent,
    }


def study_payload(study: ImagingStudy) -> dict[str, Any]:
    return {
        "id": str(study.pk),
        "patient_id": str(study.patient_id),
        "uploaded_by": str(study.uploaded_by_id) if study.uploaded_by_id else None,
        "hospital": study.hospital_id,
        "status": study.status,
        "description": study.description,
        "size": study.expected_size,
        "modality": study.modality,
        "study_date": iso(study.study_date),
        "study_instance_uid": study.study_instance_uid,
        "series_instance_uid": study.series_instance_uid,
        "sop_instance_uid": study.sop_instance_uid,
        "sop_class_uid": study.sop_class_uid,
        "body_part": study.body_part,
        "created_at": iso(study.created_at),
        "completed_at": iso(study.completed_at),
    }
