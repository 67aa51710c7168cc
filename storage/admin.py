from django.contrib import admin

from accounts.admin import AppendOnlyAdmin
from phb.admin_lists import LargeTableAdmin
from records.admin_audit import HealthDataAdmin
from storage.models import (
    ClinicalGuideline,
    GuidelineAccess,
    GuidelineBookmark,
    GuidelineFileVersion,
    ImagingStudy,
    PrescriptionDocument,
    PrescriptionDocumentVersion,
)


class GuidelineFileVersionInline(admin.TabularInline):
    model = GuidelineFileVersion
    extra = 0
    can_delete = False
    fields = ("version_id", "file_name", "content_type", "size", "sha256", "uploaded_by", "uploaded_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ClinicalGuideline)
class ClinicalGuidelineAdmin(admin.ModelAdmin):
    """Content, approval and publication change only through the API's workflow: an admin of the
    guideline's hospital approves and publishes, and an edit sends an approved guideline back to
    review (``storage.services``). Here an operator can take a guideline down (``is_active``) and
    nothing else."""

    list_display = ("guideline_id", "title", "organization", "category", "approval_status", "is_published",
                    "is_active", "updated_at")
    list_filter = ("approval_status", "is_published", "is_active", "category", "priority", "content_type")
    search_fields = ("guideline_id", "title", "specialty", "organization__name")
    inlines = [GuidelineFileVersionInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in ClinicalGuideline._meta.fields if f.name not in ("id", "is_active")]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting the row would leave its file's versions in S3 with nothing pointing to them and
        # end the guideline's access trail: an operator takes a guideline down with ``is_active``.
        return False


@admin.register(GuidelineFileVersion)
class GuidelineFileVersionAdmin(AppendOnlyAdmin):
    list_display = ("guideline", "version_id", "file_name", "content_type", "size", "uploaded_at")
    list_filter = ("content_type", "uploaded_at")
    search_fields = ("guideline__guideline_id", "version_id", "sha256")


@admin.register(GuidelineBookmark)
class GuidelineBookmarkAdmin(admin.ModelAdmin):
    list_display = ("id", "guideline", "user_id", "is_active", "bookmarked_at")
    list_filter = ("is_active", "bookmarked_at")
    search_fields = ("guideline__guideline_id", "user__email")
    raw_id_fields = ("guideline", "user")


@admin.register(GuidelineAccess)
class GuidelineAccessAdmin(LargeTableAdmin, AppendOnlyAdmin):
    """Every view and download of a guideline (``phb.admin_lists``)."""

    list_display = ("id", "guideline", "user_id", "action", "accessed_at")
    list_filter = ("action", "accessed_at")
    search_fields = ("=guideline__guideline_id", "=user__email", "=user__id")
    search_help_text = "Exact: the guideline's id, or the user's email or id."


class PrescriptionDocumentVersionInline(admin.TabularInline):
    model = PrescriptionDocumentVersion
    extra = 0
    can_delete = False
    fields = ("version_id", "content_digest", "size", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PrescriptionDocument)
class PrescriptionDocumentAdmin(AppendOnlyAdmin):
    list_display = ("id", "prescription_id", "current_version_id", "size", "updated_at")
    list_filter = ("created_at", "updated_at")
    search_fields = ("id", "prescription__id", "verification_code")
    exclude = ("content_digest",)
    inlines = [PrescriptionDocumentVersionInline]


@admin.register(ImagingStudy)
class ImagingStudyAdmin(HealthDataAdmin, AppendOnlyAdmin):
    """A patient's study (modality, date, body part): opening one is an audited read."""

    list_display = ("id", "patient_id", "uploaded_by_id", "status", "modality", "study_date", "created_at")
    list_filter = ("status", "modality", "created_at")
    search_fields = ("id", "study_instance_uid", "sop_instance_uid", "patient__hpn")


@admin.register(PrescriptionDocumentVersion)
class PrescriptionDocumentVersionAdmin(AppendOnlyAdmin):
    list_display = ("id", "document_id", "version_id", "size", "created_at")
    list_filter = ("created_at",)
    search_fields = ("version_id", "document__id")
    exclude = ("content_digest",)
