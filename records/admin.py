from django.contrib import admin, messages

from accounts.admin import ReadOnlyAdmin
from phb.admin_lists import LargeTableAdmin, recent_values_filter
from phb.api.errors import ApiError
from records.admin_audit import HealthDataAdmin
from records.documents import document_delete
from records.models import AccessConsent, AuditEvent, ClinicalEntry, DocumentState, MedicalProfile, PatientDocument


class _AuditedPhiAdmin(HealthDataAdmin, ReadOnlyAdmin):
    """Clinical data is written through the API only (so every write keeps who and when and is
    audited); staff opening one object in the admin is itself an audited read."""


@admin.register(MedicalProfile)
class MedicalProfileAdmin(LargeTableAdmin, _AuditedPhiAdmin):
    list_display = ("id", "patient_id", "blood_type", "last_visit_date", "updated_at")
    list_filter = (recent_values_filter("blood_type", "blood type"), recent_values_filter("genotype", "genotype"),
                   "updated_at")
    search_fields = ("=id", "=patient__hpn", "=patient__id")
    search_help_text = "Exact: the profile's id, or the patient's HPN or id."


@admin.register(ClinicalEntry)
class ClinicalEntryAdmin(LargeTableAdmin, _AuditedPhiAdmin):
    """Structured fields only: the encrypted notes are not shown here. Every entry of every
    record, so the changelist reads no more of them than a page needs (``phb.admin_lists``)."""

    list_display = ("id", "patient_id", "kind", "occurred_on", "status", "created_at")
    list_filter = ("kind", recent_values_filter("status", "status"), "occurred_on")
    search_fields = ("=id", "=patient__hpn", "=patient__id")
    search_help_text = "Exact: the entry's id, or the patient's HPN or id."
    exclude = ("notes_encrypted",)


@admin.register(AccessConsent)
class AccessConsentAdmin(LargeTableAdmin, ReadOnlyAdmin):
    """One each time a clinician asks for a record: the changelist reads no more of them than a page needs."""

    list_display = ("id", "patient_id", "clinician_id", "status", "requested_at", "expires_at", "revoked_at")
    list_filter = ("status", recent_values_filter("access_type", "access type"), "requested_at")
    ordering = ("-requested_at", "-id")
    search_fields = ("=id", "=patient__hpn", "=patient__email", "=clinician__email", "=appointment_ref")
    search_help_text = "Exact: the consent's id, the patient's HPN or email, the clinician's email or the appointment's id."


@admin.register(PatientDocument)
class PatientDocumentAdmin(LargeTableAdmin, _AuditedPhiAdmin):
    """A patient's uploads: the changelist reads no more of them than a page needs; opening one
    is an audited read, as for every other object holding a patient's health data."""

    list_display = ("id", "patient_id", "state", "extension", "size", "created_at", "deleted_at")
    list_filter = ("state", recent_values_filter("extension", "extension"), "created_at", "deleted_at")
    ordering = ("-created_at", "-id")
    search_fields = ("=id", "=patient__hpn", "=patient__email", "=sha256")
    search_help_text = "Exact: the document's id, the patient's HPN or email, or the file's SHA-256."
    exclude = ("display_name",)
    actions = ("hide_documents",)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting the row here would leave its file in S3 with nothing pointing to it: an operator
        # deletes a document as the patient does (``hide_documents``).
        return False

    def has_hide_permission(self, request) -> bool:
        return request.user.has_perm("records.delete_patientdocument")

    @admin.action(description="Delete the selected documents as the patient would (at most 50)", permissions=["hide"])
    def hide_documents(self, request, queryset) -> None:
        """``records.documents.document_delete`` for each: hidden from every list, the file given a
        delete marker (the bytes kept until retention ends), audited as the operator's delete. No
        transaction is held across the S3 calls."""
        hidden = failed = 0
        for document in queryset.filter(deleted_at__isnull=True, state=DocumentState.STORED).order_by("pk")[:50]:
            try:
                document_delete(document=document, actor=request.user, request=request)
            except ApiError:  # S3 not answering (shown again) or deleted meanwhile
                failed += 1
            else:
                hidden += 1
        self.message_user(request, f"{hidden} document(s) deleted" + (f"; {failed} could not be deleted just now, "
                                                                       "try again shortly." if failed else "."),
                          level=messages.WARNING if failed else messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(LargeTableAdmin, ReadOnlyAdmin):
    """Append-only: no add, change or delete, not even in bulk. The trail grows with every read of
    PHI, so its changelist reads no more of it than a page needs (``phb.admin_lists``)."""

    list_display = ("occurred_at", "action", "object_type", "object_id", "actor_role", "actor_id", "patient_id")
    list_filter = (
        recent_values_filter("action", "action"),
        recent_values_filter("object_type", "object type"),
        recent_values_filter("actor_role", "actor role"),
        "occurred_at",
    )
    search_fields = ("=actor_id", "=patient_id", "=object_id", "=request_id")
    search_help_text = "An exact id: the actor's, the patient's, the object's or the request's."

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}
