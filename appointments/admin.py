from django.contrib import admin

from accounts.admin import ReadOnlyAdmin
from appointments.models import (
    Appointment,
    BookingHold,
    DepartmentFee,
    Prescription,
    RosterException,
    RosterSession,
    SchedulerModelState,
    SchedulingEvent,
    Slot,
    SlotCapacity,
    StaffAvailability,
)
from phb.admin_lists import LargeTableAdmin, recent_values_filter
from phb.zones import zone_of
from records.admin_audit import HealthDataAdmin


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
class BookingHoldAdmin(LargeTableAdmin, ReadOnlyAdmin):
    """One each time a patient starts paying for a booking: the changelist reads no more of them than a
    page needs."""

    list_display = ("id", "department", "start", "state", "expires_at", "fee_amount", "created_at")
    list_filter = ("state", "priority", "hospital", "created_at")
    ordering = ("-created_at", "-id")
    search_fields = ("=id", "=payment_reference", "=patient__hpn", "=patient__email", "=appointment__appointment_id")
    search_help_text = "Exact: the hold's id, the payment reference, the patient's HPN or email, or the appointment's id."
    exclude = ("details",)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Appointment)
class AppointmentAdmin(LargeTableAdmin, HealthDataAdmin):
    """Every booking of every hospital: the changelist reads no more of them than a page needs
    (``phb.admin_lists``). A booking's page shows the patient's complaint, history and the doctor's
    notes, so opening one is an audited read (``records.admin_audit``)."""

    list_display = ("appointment_id", "hospital", "department", "start_at_hospital", "status", "priority",
                    "payment_status")
    list_filter = ("status", "priority", "payment_status", "hospital",
                   recent_values_filter("appointment_type", "appointment type"), "start")
    search_fields = ("=appointment_id", "=id", "=payment_reference", "=patient__hpn")
    search_help_text = "Exact: the appointment's id (either form), the payment reference or the patient's HPN."
    # Who, where, when, with whom and the slot change only through the booking service and the state
    # machine, under their locks: a department, doctor or patient changed here would leave the slot's
    # places, the doctor's per-slot limit and the patient's overlap check behind.
    readonly_fields = ("id", "appointment_id", "status", "start", "end", "slot", "fee_amount", "currency",
                       "payment_status", "payment_reference", "created_at", "updated_at", "patient", "doctor",
                       "hospital", "department", "cancelled_by", "referred_by", "referred_to_hospital",
                       "referred_to_department", "previous_start", "reschedule_count", "late_change_from",
                       "time_set_by_hospital")

    @admin.display(description="start (hospital's clock)", ordering="start")
    def start_at_hospital(self, obj: Appointment) -> str:
        """The time the patient and the hospital read, whatever zone the admin shows the rest in."""
        return obj.start.astimezone(zone_of(obj.hospital)).strftime("%Y-%m-%d %H:%M %Z")

    def get_queryset(self, request):
        # The kept list item (``appointments.list_items``) is the patient list's: the admin neither shows nor saves it.
        return super().get_queryset(request).defer("list_item")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Prescription)
class PrescriptionAdmin(LargeTableAdmin, HealthDataAdmin, ReadOnlyAdmin):
    """One or more a consultation: the changelist reads no more of them than a page needs. Its page
    shows the medicines, so opening one is an audited read."""

    list_display = ("id", "appointment", "status", "issued_at", "expires_at")
    list_filter = ("status", "issued_at")
    ordering = ("-issued_at", "-id")
    search_fields = ("=id", "=appointment__appointment_id", "=patient__hpn", "=patient__email")
    search_help_text = "Exact: the prescription's id, the appointment's id, or the patient's HPN or email."

    def has_delete_permission(self, request, obj=None):
        return False


# --- Rosters and the scheduler ----------------------------------------------------------------------
@admin.register(RosterSession)
class RosterSessionAdmin(admin.ModelAdmin):
    """Doctors' weekly sessions: a rostered department's slot capacity is their sum."""

    list_display = ("id", "doctor", "department", "weekday", "start_time", "end_time", "patients_per_slot", "is_active")
    list_filter = ("weekday", "is_active", "department__hospital")
    search_fields = ("department__name", "doctor__id")
    raw_id_fields = ("doctor", "department")


@admin.register(RosterException)
class RosterExceptionAdmin(admin.ModelAdmin):
    """Leave and extra sessions on a date."""

    list_display = ("id", "doctor", "kind", "date", "start_time", "end_time", "department", "hospital")
    list_filter = ("kind", "date", "hospital")
    search_fields = ("department__name", "doctor__id")
    raw_id_fields = ("doctor", "department", "hospital")
    date_hierarchy = "date"


@admin.register(StaffAvailability)
class StaffAvailabilityAdmin(admin.ModelAdmin):
    list_display = ("user", "is_available", "updated_at")
    list_filter = ("is_available",)
    search_fields = ("user__id",)
    raw_id_fields = ("user",)


@admin.register(SchedulingEvent)
class SchedulingEventAdmin(LargeTableAdmin, ReadOnlyAdmin):
    """Anonymised booking decisions and outcomes (the scheduler's training data): one a booking,
    so the changelist reads no more of them than a page needs (``phb.admin_lists``)."""

    list_display = ("id", "department_id_value", "urgency", "requested_at", "lead_minutes", "outcome",
                    "policy_version", "followed_recommendation", "exported_at")
    list_filter = ("outcome", "priority", "followed_recommendation",
                   recent_values_filter("policy_version", "policy version"), "requested_at")
    search_fields = ("=id", "=appointment__id", "=appointment__appointment_id", "=patient_key")
    search_help_text = "An exact id: the event's, the appointment's (either form) or the patient key."

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SchedulerModelState)
class SchedulerModelStateAdmin(ReadOnlyAdmin):
    """The serving scheduler version; change it with ``manage.py scheduler_models promote|rollback``."""

    list_display = ("name", "active_version", "previous_version", "promoted_at", "shipped_default")
    list_filter = ("active_version",)
    search_fields = ("name", "active_version")

    @admin.display(description="default without a row")
    def shipped_default(self, obj) -> str:
        from django.conf import settings

        return settings.SCHEDULER_DEFAULT_VERSION
