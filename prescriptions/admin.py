from django.contrib import admin

from accounts.admin import ReadOnlyAdmin
from prescriptions.models import PrescriptionRequest, SignedItem


@admin.register(PrescriptionRequest)
class PrescriptionRequestAdmin(ReadOnlyAdmin):
    """Changed only through the workflow (patients, prescribers, pharmacists): every change is audited."""

    list_display = ("reference", "status", "request_type", "urgency", "triage_category", "hospital", "pharmacy",
                    "created_at")
    list_filter = ("status", "request_type", "urgency", "triage_category", "pharmacist_action", "created_at")
    search_fields = ("reference", "id", "hospital__name", "pharmacy__code")
    date_hierarchy = "created_at"
    exclude = ("medications", "approved_medications", "additional_notes", "clinical_notes", "pharmacist_notes",
               "rejection_reason", "triage_flags")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SignedItem)
class SignedItemAdmin(ReadOnlyAdmin):
    """Signed, dispense-once prescription items: a dispensing record is never edited by hand."""

    list_display = ("id", "state", "controlled", "pharmacy", "dispensed_at_pharmacy", "expires_at", "dispensed_at")
    list_filter = ("state", "controlled", "created_at", "dispensed_at")
    search_fields = ("id", "prescription__id", "pharmacy__code")
    exclude = ("payload", "signature", "nonce", "pharmacist_name", "verification_notes")

    def has_delete_permission(self, request, obj=None):
        return False
