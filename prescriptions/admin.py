from django.contrib import admin

from accounts.admin import ReadOnlyAdmin
from phb.admin_lists import LargeTableAdmin, recent_values_filter
from prescriptions.models import PrescriptionRequest, SignedItem


@admin.register(PrescriptionRequest)
class PrescriptionRequestAdmin(LargeTableAdmin, ReadOnlyAdmin):
    """Changed only through the workflow (patients, prescribers, pharmacists): every change is audited.
    One a repeat or acute request, so the changelist reads no more of them than a page needs."""

    list_display = ("reference", "status", "request_type", "urgency", "triage_category", "hospital", "pharmacy",
                    "created_at")
    list_filter = ("status", "request_type", "urgency", recent_values_filter("triage_category", "triage category"),
                   "pharmacist_action", "created_at")
    ordering = ("-created_at", "-id")
    search_fields = ("=reference", "=id", "=patient__hpn", "=patient__email", "=hospital__code", "=hospital__name",
                     "=pharmacy__code")
    search_help_text = ("Exact: the reference, the request's id, the patient's HPN or email, the hospital's code or "
                        "name, or the pharmacy's code.")
    exclude = ("medications", "approved_medications", "additional_notes", "clinical_notes", "pharmacist_notes",
               "rejection_reason", "triage_flags")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SignedItem)
class SignedItemAdmin(LargeTableAdmin, ReadOnlyAdmin):
    """Signed, dispense-once prescription items: a dispensing record is never edited by hand. One a
    prescribed medication, so the changelist reads no more of them than a page needs."""

    list_display = ("id", "state", "controlled", "pharmacy", "dispensed_at_pharmacy", "expires_at", "dispensed_at")
    list_filter = ("state", "controlled", "created_at", "dispensed_at")
    ordering = ("-created_at", "-id")
    search_fields = ("=id", "=prescription__id", "=medication_id", "=pharmacy__code")
    search_help_text = "Exact: the item's id, the prescription's id, the medication's id or the pharmacy's code."
    exclude = ("payload", "signature", "nonce", "pharmacist_name", "verification_notes")

    def has_delete_permission(self, request, obj=None):
        return False
