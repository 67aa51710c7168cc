from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import OneTimeCode, PasswordResetToken, User
from phb.admin_lists import LargeTableAdmin


@admin.register(User)
class UserAdmin(LargeTableAdmin, BaseUserAdmin):
    """Every account: a changelist that reads no more than a page (``phb.admin_lists``). The search
    takes part of an email, a name or an HPN, through trigram indexes on PostgreSQL
    (``accounts/migrations/0006``)."""

    ordering = ("-date_joined", "-id")
    list_display = ("id", "email", "role", "is_active", "email_verified", "date_joined")
    list_filter = ("role", "is_active", "is_staff", "email_verified", "otp_required_for_login")
    search_fields = ("email", "full_name", "hpn")
    search_help_text = "Part of an email, a name or an HPN."
    exact_search = False
    readonly_fields = ("id", "hpn", "date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("id", "email", "password", "role", "hpn")}),
        ("Personal", {"fields": ("full_name", "gender", "date_of_birth", "phone", "address", "country", "state", "city")}),
        ("Preferences", {"fields": ("preferred_language", "secondary_languages", "custom_language", "contact_preferences",
                                    "otp_required_for_login", "has_completed_onboarding")}),
        ("Status", {"fields": ("is_active", "email_verified", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("date_joined", "last_login", "consent_terms_at", "consent_hipaa_at", "consent_data_processing_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Security records: visible to staff, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AppendOnlyAdmin(ReadOnlyAdmin):
    """Audit-like rows: readable, never edited or deleted by hand."""

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OneTimeCode)
class OneTimeCodeAdmin(ReadOnlyAdmin):
    list_display = ("id", "user_id", "purpose", "created_at", "expires_at", "attempts", "used_at")
    list_filter = ("purpose", "created_at")
    search_fields = ("user__email", "id")
    exclude = ("code_hash",)


@admin.register(PasswordResetToken)
class PasswordResetTokenAdmin(ReadOnlyAdmin):
    list_display = ("id", "user_id", "requires_code", "created_at", "expires_at", "verified_at", "used_at")
    list_filter = ("created_at", "requires_code", ("verified_at", admin.EmptyFieldListFilter), ("used_at", admin.EmptyFieldListFilter))
    search_fields = ("user__email", "id")
    exclude = ("token_hash", "secondary_hash")
