from django.contrib import admin, messages

from accounts.admin import ReadOnlyAdmin
from payments.models import EventSource, Payment, PaymentEvent, PaymentStatus
from payments.reconcile import payments_check_now
from payments.refund_requests import payment_retry_failed_refund
from payments.services import payment_request_refund
from phb.admin_lists import LargeTableAdmin, recent_values_filter


class PaymentEventInline(admin.TabularInline):
    model = PaymentEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "source", "actor", "from_status", "to_status", "provider_status", "amount_minor",
              "currency", "message")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Payment)
class PaymentAdmin(LargeTableAdmin, ReadOnlyAdmin):
    """Money records: read-only. The actions only ask the provider: check now, retry a refund,
    ask again for a refund that failed (the last two take the change permission).
    One a booking, so the changelist reads no more of them than a page needs (``phb.admin_lists``)."""

    list_display = ("reference", "status", "amount", "currency", "provider", "patient_id", "created_at", "completed_at")
    list_filter = ("status", "provider", recent_values_filter("currency", "currency"), "created_at")
    search_fields = ("=reference", "=id", "=patient__email", "=appointment__appointment_id", "=provider_transaction_id")
    search_help_text = "Exact: the reference, the payment's id, the patient's email, the appointment's id or the provider's transaction id."
    readonly_fields = [f.name for f in Payment._meta.fields]
    inlines = [PaymentEventInline]
    actions = ["check_with_provider", "retry_refund", "retry_failed_refund"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Check with the provider now (unpaid payments and unsettled refunds)")
    def check_with_provider(self, request, queryset):
        report = payments_check_now(payments=queryset[:200], source=EventSource.ADMIN)
        self.message_user(request, report.line(), messages.WARNING if report.provider_errors else messages.INFO)

    @admin.action(description="Ask the provider again for refunds it has not accepted", permissions=["refund_retry"])
    def retry_refund(self, request, queryset):
        retried = 0
        for payment in queryset.filter(status=PaymentStatus.REFUND_PENDING, refund_provider_id="")[:50]:
            payment = payment_request_refund(payment_id=payment.pk, source=EventSource.ADMIN)
            retried += 1 if payment.refund_provider_id else 0
        self.message_user(request, f"{retried} refund(s) accepted by the provider.", messages.INFO)

    @admin.action(description="Refund again the payments whose refund failed", permissions=["refund_retry"])
    def retry_failed_refund(self, request, queryset):
        retried = accepted = 0
        for payment in queryset.filter(status=PaymentStatus.REFUND_FAILED)[:50]:
            result = payment_retry_failed_refund(payment_id=payment.pk, source=EventSource.ADMIN, actor=request.user)
            if result is None:
                continue  # retried meanwhile by someone else
            retried += 1
            accepted += 1 if result.refund_provider_id else 0
            self.log_change(request, payment, "Asked the provider to refund it again.")
        level = messages.INFO if retried == accepted else messages.WARNING
        self.message_user(request, f"{retried} failed refund(s) asked for again, {accepted} accepted by the provider.",
                          level)

    def has_refund_retry_permission(self, request) -> bool:
        """The rows stay read-only to everyone; asking the provider for a refund (one not accepted
        yet, or one that failed) moves money, so it takes the change permission (an operator who
        may only view payments cannot)."""
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")


@admin.register(PaymentEvent)
class PaymentEventAdmin(LargeTableAdmin, ReadOnlyAdmin):
    """Every change of every payment, newest first (``phb.admin_lists``)."""

    list_display = ("created_at", "payment", "kind", "source", "from_status", "to_status", "provider_status")
    list_filter = ("source", recent_values_filter("kind", "kind"), recent_values_filter("to_status", "to status"),
                   "created_at")
    search_fields = ("=payment__reference", "=payment__id", "=dedupe_key")
    search_help_text = "Exact: the payment's reference or id, or the event's dedupe key."
    ordering = ("-created_at", "-id")

    def has_delete_permission(self, request, obj=None):
        return False
