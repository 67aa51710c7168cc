"""Appointments, the slots and holds that keep bookings within capacity, and prescriptions.

Capacity is kept on :class:`Slot` rows, one per department and 30-minute start time. Every
booking path locks the slot row (``select_for_update``) before it counts; ``Slot.in_use`` is
changed only with ``F()`` increments and a check constraint ``in_use <= capacity`` rejects any
write that would overbook, even from code that forgot the lock.
"""

from __future__ import annotations

import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from hospitals.models import Department, Hospital, StaffMember
from phb.jsonfield import JSONField

APPOINTMENT_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_appointment_id() -> str:
    """A human-friendly reference such as ``APT-7K3F9Q2M`` (no 0/O/1/I)."""
    return "APT-" + "".join(secrets.choice(APPOINTMENT_ID_ALPHABET) for _ in range(8))


class Priority(models.TextChoices):
    NORMAL = "normal", "Normal"
    URGENT = "urgent", "Urgent"
    EMERGENCY = "emergency", "Emergency"


class AppointmentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No show"
    RESCHEDULED = "rescheduled", "Rescheduled"


# Statuses whose appointment occupies a place in its slot.
OCCUPYING_STATUSES = (
    AppointmentStatus.PENDING,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.IN_PROGRESS,
    AppointmentStatus.COMPLETED,
    AppointmentStatus.NO_SHOW,
)
# Statuses of an appointment the patient still has to attend (used for overlap checks).
LIVE_STATUSES = (AppointmentStatus.PENDING, AppointmentStatus.CONFIRMED, AppointmentStatus.IN_PROGRESS)


class PaymentStatus(models.TextChoices):
    PAID = "paid", "Paid"
    WAIVED = "waived", "Waived"
    REFUNDED = "refunded", "Refunded"


class SlotCapacity(models.Model):
    """How many patients a department sees at once in one slot; per weekday or for every day.

    Without a row the setting ``BOOKING_DEFAULT_SLOT_CAPACITY`` applies. A weekday row wins over
    the every-day row (``weekday`` empty). Capacity 0 closes the department on that day.
    """

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="slot_capacities")
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, null=True, blank=True, help_text="Empty: every day without its own row"
    )
    capacity = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["department_id", "weekday"]
        constraints = [
            models.UniqueConstraint(fields=["department", "weekday"], name="slotcapacity_unique_weekday"),
            models.UniqueConstraint(
                fields=["department"], condition=Q(weekday__isnull=True), name="slotcapacity_unique_everyday"
            ),
            models.CheckConstraint(condition=Q(capacity__lte=500), name="slotcapacity_reasonable"),
        ]

    def __str__(self) -> str:
        return f"capacity {self.department_id}/{self.weekday}"


class DepartmentFee(models.Model):
    """The fee for one department and priority; without a row the default table applies."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="fees")
    priority = models.CharField(max_length=16, choices=Priority.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="NGN")

    class Meta:
        ordering = ["department_id", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["department", "priority"], name="departmentfee_unique_priority"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="departmentfee_amount_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"fee {self.department_id}/{self.priority}"


class Slot(models.Model):
    """The lock row and counter for one department's slot. Created on first booking."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="slots")
    start = models.DateTimeField()
    end = models.DateTimeField()
    capacity = models.PositiveSmallIntegerField()
    in_use = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["department", "start"], name="slot_unique_department_start"),
            models.CheckConstraint(condition=Q(in_use__lte=F("capacity")), name="slot_in_use_within_capacity"),
            models.CheckConstraint(condition=Q(in_use__gte=0), name="slot_in_use_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"slot {self.department_id}@{self.start.isoformat()}"


class HoldState(models.TextChoices):
    HELD = "held", "Held"
    CONFIRMED = "confirmed", "Confirmed"
    RELEASED = "released", "Released"
    EXPIRED = "expired", "Expired"


class BookingHold(models.Model):
    """A place taken in a slot while the patient pays. Counts against capacity while ``held``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="booking_holds")
    hospital = models.ForeignKey(Hospital, on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="holds")
    start = models.DateTimeField()
    end = models.DateTimeField()
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    appointment_type = models.CharField(max_length=32, default="consultation")
    details = JSONField(default=dict, blank=True)
    fee_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="NGN")
    state = models.CharField(max_length=16, choices=HoldState.choices, default=HoldState.HELD)
    expires_at = models.DateTimeField()
    appointment = models.OneToOneField(
        "Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="hold"
    )
    payment_reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["slot", "state", "expires_at"]),
            models.Index(fields=["patient", "state", "start"]),
            models.Index(fields=["state", "expires_at"]),
            # the admin's changelist, newest first, and its search by payment reference (appointments/0007)
            models.Index(fields=["-created_at", "-id"], name="booking_hold_recent"),
            models.Index(fields=["payment_reference"], name="booking_hold_payment_reference"),
        ]

    def __str__(self) -> str:
        return f"hold {self.pk}"


class Appointment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    appointment_id = models.CharField(max_length=20, unique=True, default=new_appointment_id, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="appointments")
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="appointments")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="appointments")
    doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="doctor_appointments"
    )
    slot = models.ForeignKey(Slot, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments")
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.PENDING)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    appointment_type = models.CharField(max_length=32, default="consultation")

    # What the patient told us when booking.
    chief_complaint = models.TextField(blank=True)
    symptoms_data = JSONField(default=list, blank=True)
    medical_history = models.TextField(blank=True)
    allergies = models.TextField(blank=True)
    current_medications = models.TextField(blank=True)
    is_insurance_based = models.BooleanField(default=False)
    insurance_details = JSONField(default=dict, blank=True)

    # Money: always computed on the server.
    fee_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="NGN")
    payment_status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.WAIVED)
    payment_reference = models.CharField(max_length=100, blank=True)

    # Clinical notes and outcome.
    general_notes = models.TextField(blank=True)
    doctor_notes = models.TextField(blank=True)
    medical_summary = JSONField(default=dict, blank=True)

    # Lifecycle.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancellation_reason = models.TextField(blank=True)
    no_show_at = models.DateTimeField(null=True, blank=True)
    reschedule_count = models.PositiveSmallIntegerField(default=0)
    previous_start = models.DateTimeField(null=True, blank=True)
    late_change_from = models.DateTimeField(
        null=True, blank=True,
        help_text="The start the patient's late-cancellation window is measured from when she moved the "
                  "appointment inside that window (a late move keeps the earlier deadline); empty otherwise",
    )
    time_set_by_hospital = models.BooleanField(
        default=False,
        help_text="The hospital set or gave up the current time (a doctor's proposed time, or a request for a "
                  "new one): the patient's cancellation is refunded whatever the time",
    )

    # Referral.
    referred_to_hospital = models.ForeignKey(
        Hospital, null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals_in"
    )
    referred_to_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals_in"
    )
    referral_reason = models.TextField(blank=True)
    referred_at = models.DateTimeField(null=True, blank=True)
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The patient-list item as last rendered (``appointments.list_items``): written only by the list,
    # cleared by the database whenever what it shows changes (PostgreSQL; SQLite keeps none).
    list_item = models.TextField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-start"]
        indexes = [
            # The patient's list (``pagination.APPOINTMENTS``, the index read backwards).
            models.Index(fields=["patient", "start", "id"], name="appointment_patient_start"),
            # The hospital admin's lists (``APPOINTMENTS``), whole, by date or by status.
            models.Index(fields=["hospital", "start", "id"], name="appointment_hospital_start"),
            # A doctor's lists: their department's part; a hospital admin's list by department.
            models.Index(fields=["department", "start", "id"], name="appointment_department_start"),
            # The same of one status: the doctor's list filtered by it, their department queue's pending.
            models.Index(fields=["department", "status", "start", "id"], name="appointment_department_status"),
            # A doctor's lists: the part assigned to them; an admin's list by doctor.
            models.Index(fields=["doctor", "start", "id"], name="appointment_doctor_start"),
            models.Index(fields=["doctor", "status"]),
            # The admin's changelist in its order, and its search by payment reference.
            models.Index(fields=["-start", "-id"], name="appointment_recent"),
            models.Index(fields=["payment_reference"], name="appointment_payment_reference"),
        ]
        constraints = [
            # A patient never has two live appointments starting together (slots are a fixed grid).
            models.UniqueConstraint(
                fields=["patient", "start"],
                condition=Q(status__in=["pending", "confirmed", "in_progress"]),
                name="appointment_patient_no_overlap",
            ),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="appointment_end_after_start"),
        ]

    def __str__(self) -> str:
        return self.appointment_id

    @property
    def late_cancel_from(self):
        """The start the patient's late-cancellation window is measured from: ``start``, or the
        earlier start a late move of hers kept (``late_change_from``)."""
        return min(filter(None, (self.late_change_from, self.start)))

    @property
    def duration_minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


class Prescription(models.Model):
    """A structured prescription issued within an appointment.

    ``medications`` is a list of objects with the keys ``medication_name``, ``generic_name``,
    ``strength``, ``form``, ``route``, ``dosage``, ``frequency``, ``duration``,
    ``patient_instructions``, ``indication`` (see ``appointments.prescriptions``).
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # None for a prescription issued outside a consultation (an approved repeat request).
    appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="prescriptions")
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="prescriptions")
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="issued_prescriptions"
    )
    medications = JSONField(default=list)
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at"]
        # The patient's prescriptions (``pagination.PRESCRIPTIONS``), in the list's order.
        indexes = [
            models.Index(fields=["patient", "-issued_at", "-id"], name="prescription_patient_recent"),
            # the admin's changelist, newest first (built concurrently: appointments/0007)
            models.Index(fields=["-issued_at", "-id"], name="prescription_recent"),
        ]

    def __str__(self) -> str:
        return f"prescription {self.pk}"


# --- Doctor rosters ----------------------------------------------------------------------------
class RosterSession(models.Model):
    """A doctor's weekly session in a department: on ``weekday`` from ``start_time`` to
    ``end_time`` (hospital wall clock), seeing ``patients_per_slot`` patients per 30-minute slot.

    A department with at least one active session takes its slot capacity from its roster (the
    sum over the doctors rostered on each slot); a department without one keeps :class:`SlotCapacity`.
    """

    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roster_sessions")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="roster_sessions")
    weekday = models.PositiveSmallIntegerField(choices=SlotCapacity.Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()
    patients_per_slot = models.PositiveSmallIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["department_id", "weekday", "start_time"]
        indexes = [models.Index(fields=["department", "weekday", "is_active"])]
        constraints = [
            models.CheckConstraint(condition=Q(start_time__lt=F("end_time")), name="roster_session_start_before_end"),
            models.CheckConstraint(condition=Q(patients_per_slot__gte=1, patients_per_slot__lte=20),
                                   name="roster_session_patients_per_slot"),
        ]

    def __str__(self) -> str:
        return f"session {self.pk}"


class RosterExceptionKind(models.TextChoices):
    LEAVE = "leave", "Leave"
    EXTRA = "extra", "Extra session"


class RosterException(models.Model):
    """A dated change to a doctor's roster: leave (the whole day, or a part of it) or an extra session."""

    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roster_exceptions")
    kind = models.CharField(max_length=8, choices=RosterExceptionKind.choices)
    date = models.DateField()
    start_time = models.TimeField(null=True, blank=True, help_text="Empty with end_time: the whole day")
    end_time = models.TimeField(null=True, blank=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="roster_exceptions",
        help_text="Required for an extra session",
    )
    patients_per_slot = models.PositiveSmallIntegerField(default=1)
    hospital = models.ForeignKey(
        Hospital, null=True, blank=True, on_delete=models.CASCADE, related_name="roster_exceptions",
        help_text="The hospital whose roster it changes: the department's, or the doctor's when it was recorded",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "start_time"]
        indexes = [
            models.Index(fields=["date", "kind"]),
            # The hospital admin's list, latest date first (``appointments.staff.ROSTER_EXCEPTIONS``).
            models.Index(fields=["hospital", "-date", "-id"], name="roster_exception_hospital_date"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="leave") | (Q(department__isnull=False) & Q(start_time__isnull=False)
                                             & Q(end_time__isnull=False)),
                name="roster_extra_has_department_and_times",
            ),
            models.CheckConstraint(
                condition=Q(start_time__isnull=True, end_time__isnull=True) | Q(start_time__lt=F("end_time")),
                name="roster_exception_start_before_end",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk}"

    def save(self, *args, **kwargs) -> None:
        if self.hospital_id is None:
            self.hospital_id = recorded_hospital_id(doctor_id=self.doctor_id, department_id=self.department_id)
        super().save(*args, **kwargs)


def recorded_hospital_id(*, doctor_id: object, department_id: int | None) -> int | None:
    """The hospital a roster exception belongs to: its department's, otherwise the doctor's."""
    if department_id is not None:
        return Department.objects.filter(pk=department_id).values_list("hospital_id", flat=True).first()
    return StaffMember.objects.filter(user_id=doctor_id).values_list("hospital_id", flat=True).first()


class StaffAvailability(models.Model):
    """A doctor's own switch: unavailable doctors take no new bookings (their sessions count for nothing)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability")
    is_available = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "staff availability"

    def __str__(self) -> str:
        return f"availability {self.user_id}"


# --- Scheduling decisions (anonymised training data) -------------------------------------------
class SchedulingOutcome(models.TextChoices):
    PENDING = "pending", "Pending"
    COMPLETED = "completed", "Completed"
    NO_SHOW = "no_show", "No-show"
    CANCELLED = "cancelled", "Cancelled"


class SchedulingEvent(models.Model):
    """One booking decision and, later, its outcome. Anonymised by construction: a keyed hash
    stands for the patient; no names, complaints or free text are ever stored here."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="scheduling_event"
    )
    hospital_id_value = models.PositiveIntegerField("hospital id")
    department_id_value = models.PositiveIntegerField("department id", db_index=True)
    patient_key = models.CharField(max_length=32, help_text="HMAC of the patient id; never the id itself")
    doctor_key = models.CharField(max_length=32, blank=True)
    urgency = models.PositiveSmallIntegerField()
    priority = models.CharField(max_length=16, choices=Priority.choices)
    requested_at = models.DateTimeField(db_index=True)
    slot_start = models.DateTimeField()
    lead_minutes = models.IntegerField()
    open_slots = JSONField(default=list, blank=True, help_text="Minutes from request to each open slot")
    policy_version = models.CharField(max_length=64, blank=True)
    followed_recommendation = models.BooleanField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=SchedulingOutcome.choices, default=SchedulingOutcome.PENDING)
    outcome_at = models.DateTimeField(null=True, blank=True)
    export_batch = models.UUIDField(null=True, blank=True, db_index=True)
    export_claimed_at = models.DateTimeField(null=True, blank=True)
    exported_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-requested_at"]
        # The admin's search for one pseudonymous patient's events (``phb.admin_lists``).
        indexes = [models.Index(fields=["patient_key"], name="scheduling_event_patient")]

    def __str__(self) -> str:
        return f"scheduling event {self.pk}"


class SchedulerModelState(models.Model):
    """Which scheduler policy version serves recommendations (one row per model name)."""

    name = models.CharField(max_length=64, unique=True, default="appointment-scheduler")
    active_version = models.CharField(max_length=64)
    previous_version = models.CharField(max_length=64, blank=True)
    evaluation = JSONField(default=dict, blank=True)
    promoted_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} {self.active_version}"
