"""The email outbox in the Django admin: what went out, what waits and why, never a body."""

from __future__ import annotations

from django.contrib import admin

from phb.admin_lists import LargeTableAdmin, recent_values_filter
from phb.email_outbox import send_at_next_round
from phb.models import OutgoingEmail


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(LargeTableAdmin):
    list_display = ("id", "kind", "status", "attempts", "last_error", "created_at", "next_attempt_at", "settled_at")
    list_filter = ("status", recent_values_filter("kind", "kind"), "created_at")
    search_fields = ("=id", "=to")
    fields = ("kind", "to", "subject", "status", "attempts", "last_error", "created_at", "next_attempt_at",
              "claimed_until", "settled_at")
    readonly_fields = fields
    ordering = ("-id",)
    actions = ("send_now",)

    @admin.action(description="Send at the next round (pending emails waiting out a retry)", permissions=["send"])
    def send_now(self, request, queryset) -> None:
        count = send_at_next_round(email_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} email(s) will be sent at the next round.")

    def has_send_permission(self, request) -> bool:
        """The rows stay read-only to everyone; moving a retry forward takes the change permission
        (an operator who may only view the outbox cannot)."""
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
