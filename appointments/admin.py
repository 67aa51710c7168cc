from django.contrib import admin

from accounts.admin import ReadOnlyAdmin
from appointments.models import Appointment, BookingHold, DepartmentFee, Prescription, Slot, SlotCapacity


@admin.register(SlotCapacity)
class SlotCapacityAdmin(admin.ModelAdmin):
    """How many patients each department sees per 30-minute slot, per weekday or every day."""

    list_display = ("department", "weekday", "capacity")
    list_filter = ("weekday", "department__hospital")
    search_fields = ("department__name", "department__hospital__name")
    raw_id_fields = ("department",)


@admin.register(DepartmentFee)
class DepartmentFeeAdmin(admin.ModelAdmin):
    """Fees per department and priority; without a row the default table applies."""

    list_display = ("department", "priority", "amount", "currency")
    list_filter = ("priority", "currency", "department__hospital")
    search_fields = ("department__name", "department__hospital__name")
    raw_id_fields = ("department",)


@admin.register(Slot)
class SlotAdmin(ReadOnlyAdmin):
    """Capacity counters, changed only by the booking service."""

    list_display = ("id", "department", "start", "capacity", "in_use")
    list_filter = ("department__hospital", "start")
    search_fields = ("department__name",)
    date_hierarchy = "start"

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BookingHold)
class BookingHoldAdmin(ReadOnlyAdmin):
    list_display = ("id", "department", "start", "state", "expires_at", "fee_amount", "created_at")
    list_filter = ("state", "priority", "hospital")
    search_fields = ("id", "payment_reference")
    exclude = ("details",)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ("appointment_id", "hospital", "department", "start", "status", "priority", "payment_status")
    list_filter = ("status", "priority", "payment_status", "hospital", "appointment_type")
    search_fields = ("appointment_id", "id", "payment_reference")
    date_hierarchy = "start"
    raw_id_fields = ("patient", "doctor", "cancelled_by", "referred_by", "hospital", "department", "slot",
                     "referred_to_hospital", "referred_to_department")
    # Status, time and slot change only through the booking service and the state machine.
    readonly_fields = ("id", "appointment_id", "status", "start", "end", "slot", "fee_amount", "currency",
                       "payment_status", "payment_reference", "created_at", "updated_at")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Prescription)
class PrescriptionAdmin(ReadOnlyAdmin):
    list_display = ("id", "appointment", "status", "issued_at", "expires_at")
    list_filter = ("status", "issued_at")
    search_fields = ("id", "appointment__appointment_id")

    def has_delete_permission(self, request, obj=None):
        return False
