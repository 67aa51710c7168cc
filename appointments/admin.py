from collections.abc import Callable

from django import forms
from django.contrib import admin

from accounts.admin import ReadOnlyAdmin
from accounts.models import Role
from appointments import rosters
from appointments.models import (
    Appointment,
    BookingHold,
    DepartmentFee,
    Prescription,
    RosterException,
    RosterExceptionKind,
    RosterSession,
    SchedulerModelState,
    SchedulingEvent,
    Slot,
    SlotCapacity,
    StaffAvailability,
)
from hospitals.models import StaffMember
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
def _roster_doctor_problem(doctor, department) -> str | None:
    """A roster row's doctor must be a doctor of its department's hospital, as the API's are."""
    if doctor.role != Role.DOCTOR or not doctor.is_active:
        return "Only an active doctor is rostered."
    if not StaffMember.objects.filter(user=doctor, hospital_id=department.hospital_id).exists():
        return "This doctor does not work at the department's hospital."
    return None


def _refuse_off_grid(start, end) -> None:
    problem = rosters.off_grid(start=start, end=end)
    if problem:
        raise forms.ValidationError(problem)


def _refuse_clash(doctor, department, clash: Callable[[], str | None]) -> None:
    """Refuse a roster row whose doctor may not work there or whose ``clash`` (asked under the
    doctor's row lock, inside the admin's save transaction) says it would double her."""
    problem = _roster_doctor_problem(doctor, department)
    if problem is None:
        rosters.doctor_lock(doctor_id=doctor.pk)
        problem = clash()
    if problem:
        raise forms.ValidationError(problem)


class RosterSessionForm(forms.ModelForm):
    """The API's rule (``rosters.session_clash``, under the doctor's row lock, inside the admin's
    save transaction): an active session that would overlap another of the doctor's sessions, or
    one of her coming extra sessions in another department, is refused."""

    class Meta:
        model = RosterSession
        fields = "__all__"

    def clean(self):
        data = super().clean()
        doctor, department = data.get("doctor"), data.get("department")
        start, end, weekday = data.get("start_time"), data.get("end_time"), data.get("weekday")
        if doctor is None or department is None or start is None or end is None or weekday is None:
            return data
        _refuse_off_grid(start, end)
        if not data.get("is_active"):  # an inactive session counts nowhere
            return data
        _refuse_clash(doctor, department, lambda: rosters.session_clash(
            doctor_id=doctor.pk, department=department, weekday=weekday, start=start, end=end,
            exclude=self.instance.pk))
        return data


class RosterExceptionForm(forms.ModelForm):
    """An extra session follows the API's rule (``rosters.extra_clash``, under the doctor's row
    lock): refused at a time the doctor is rostered in another department and not on leave."""

    class Meta:
        model = RosterException
        fields = "__all__"

    def clean(self):
        data = super().clean()
        doctor, department = data.get("doctor"), data.get("department")
        start, end, day = data.get("start_time"), data.get("end_time"), data.get("date")
        if start is not None and end is not None:
            _refuse_off_grid(start, end)
        if doctor is not None:
            self._hospital_of_roster(data, doctor=doctor, department=department)
        if data.get("kind") != RosterExceptionKind.EXTRA or None in (doctor, department, start, end, day):
            return data
        _refuse_clash(doctor, department, lambda: rosters.extra_clash(
            doctor_id=doctor.pk, department_id=department.pk, day=day, start=start, end=end,
            exclude=self.instance.pk))
        return data

    def _hospital_of_roster(self, data: dict, *, doctor, department) -> None:
        """``hospital`` is the roster the row changes, and whose admin lists it: an extra session's
        is its department's, a leave's the doctor's. Left empty, it is filled in; another one is
        refused."""
        if department is not None:
            expected = department.hospital
        else:
            place = StaffMember.objects.select_related("hospital").filter(user=doctor).first()
            expected = place.hospital if place is not None else None
        chosen = data.get("hospital")
        if chosen is None:
            data["hospital"] = expected
        elif expected is not None and chosen.pk != expected.pk:
            raise forms.ValidationError({"hospital": "This is another hospital than the department's (for an extra "
                                                     "session) or the doctor's (for leave)."})


@admin.register(RosterSession)
class RosterSessionAdmin(admin.ModelAdmin):
    """Doctors' weekly sessions: a rostered department's slot capacity is their sum. A session
    saved here is checked as the API checks one (``RosterSessionForm``)."""

    form = RosterSessionForm
    list_display = ("id", "doctor", "department", "weekday", "start_time", "end_time", "patients_per_slot", "is_active")
    list_filter = ("weekday", "is_active", "department__hospital")
    search_fields = ("department__name", "doctor__id")
    raw_id_fields = ("doctor", "department")


@admin.register(RosterException)
class RosterExceptionAdmin(admin.ModelAdmin):
    """Leave and extra sessions on a date; an extra session is checked as the API checks one
    (``RosterExceptionForm``)."""

    form = RosterExceptionForm
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
