from django.contrib import admin

from pharmacies.models import Nomination, Pharmacist, Pharmacy


@admin.register(Pharmacy)
class PharmacyAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "city", "state", "electronic_prescriptions_enabled", "is_active", "verified")
    list_filter = ("is_active", "verified", "electronic_prescriptions_enabled", "state", "city")
    search_fields = ("code", "name", "city", "postcode")
    raw_id_fields = ("hospital",)


@admin.register(Pharmacist)
class PharmacistAdmin(admin.ModelAdmin):
    """Which pharmacy each pharmacist account works at."""

    list_display = ("id", "pharmacy", "verified", "created_at")
    list_filter = ("verified", "pharmacy")
    search_fields = ("pharmacy__code", "pharmacy__name", "registration_number", "user__id")
    raw_id_fields = ("user", "pharmacy")


@admin.register(Nomination)
class NominationAdmin(admin.ModelAdmin):
    list_display = ("id", "pharmacy", "nomination_type", "is_current", "nominated_at", "ended_at")
    list_filter = ("is_current", "nomination_type", "nominated_at")
    search_fields = ("pharmacy__code", "pharmacy__name", "patient__id")
    raw_id_fields = ("patient", "pharmacy")
