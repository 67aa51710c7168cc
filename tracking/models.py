"""PostgreSQL side of women's health: low-volume, relational or document data and the outbox.

Time series (kick sessions, contractions, cycle days, daily logs, fertility entries, weekly
pregnancy entries, search history) live in DynamoDB; see ``tracking/dynamo``. What stays here:

- ``WomensHealthProfile``: one row per user (settings, verification state, due date).
- ``MenstrualCycle``: a few rows a year, paged by offset with a total count (W8), deleted by id.
- ``HealthGoal``: a handful of rows edited in place (W15–W17), each with its ``GoalProgress`` log
  (one row per update that reports progress or adds a note: the goal's notes and streaks).
- ``BirthPlan``: one JSON document per user; ``PregnancyPlanner``: baby-name favourites and
  the baby-shower checklist.
- ``TrackingOutbox``: writes meant for DynamoDB that could not be delivered yet.
"""

from __future__ import annotations

import uuid
from datetime import date
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.utils import timezone

from phb.jsonfield import JSONField
from phb.zones import today_in
from tracking.goals import Run


class PregnancyStatus(models.TextChoices):
    NOT_PREGNANT = "not_pregnant", "Not pregnant"
    TRYING_TO_CONCEIVE = "trying_to_conceive", "Trying to conceive"
    PREGNANT = "pregnant", "Pregnant"
    POSTPARTUM = "postpartum", "Postpartum"
    BREASTFEEDING = "breastfeeding", "Breastfeeding"
    MENOPAUSE = "menopause", "Menopause"
    UNKNOWN = "unknown", "Unknown"


class WomensHealthProfile(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="womens_health_profile")
    verified_at = models.DateTimeField(null=True, blank=True)
    average_cycle_length = models.PositiveSmallIntegerField(default=28)
    average_period_duration = models.PositiveSmallIntegerField(default=5)
    cycle_regularity = models.CharField(max_length=32, default="unknown", blank=True)
    last_menstrual_period = models.DateField(null=True, blank=True)
    pregnancy_status = models.CharField(max_length=32, choices=PregnancyStatus.choices, default=PregnancyStatus.NOT_PREGNANT)
    estimated_due_date = models.DateField(null=True, blank=True)
    height_cm = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    contraception_method = models.CharField(max_length=64, blank=True)
    health_conditions = JSONField(default=list, blank=True)
    medications = JSONField(default=list, blank=True)
    allergies = JSONField(default=list, blank=True)
    fertility_tracking_enabled = models.BooleanField(default=True)
    pregnancy_tracking_enabled = models.BooleanField(default=False)
    period_reminders = models.BooleanField(default=True)
    ovulation_reminders = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["pregnancy_status"])]

    def __str__(self) -> str:
        return f"Women's health profile {self.pk}"


class FlowIntensity(models.TextChoices):
    SPOTTING = "spotting", "Spotting"
    LIGHT = "light", "Light"
    MEDIUM = "medium", "Medium"
    HEAVY = "heavy", "Heavy"
    VERY_HEAVY = "very_heavy", "Very heavy"


class MenstrualCycle(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="menstrual_cycles")
    cycle_start_date = models.DateField()
    cycle_end_date = models.DateField(null=True, blank=True)
    period_end_date = models.DateField(null=True, blank=True)
    flow_intensity = models.CharField(max_length=16, choices=FlowIntensity.choices, default=FlowIntensity.MEDIUM)
    is_regular = models.BooleanField(default=True)
    is_current_cycle = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-cycle_start_date"]
        indexes = [models.Index(fields=["user", "-cycle_start_date"])]
        constraints = [
            models.UniqueConstraint(fields=["user", "cycle_start_date"], name="tracking_cycle_one_per_start_date"),
            models.CheckConstraint(
                condition=models.Q(cycle_end_date__isnull=True) | models.Q(cycle_end_date__gte=models.F("cycle_start_date")),
                name="tracking_cycle_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Cycle {self.pk}"


class GoalStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"


GOAL_NOTES_SHOWN = 20  # a goal's latest notes in its payload


def tracking_today() -> date:
    """Today in ``TRACKING_TIME_ZONE``: the day the pages and check-ins count in, not UTC's."""
    return today_in(ZoneInfo(settings.TRACKING_TIME_ZONE))


class HealthGoal(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="health_goals")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=64, blank=True)
    target_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    current_value = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    unit = models.CharField(max_length=32, blank=True)
    frequency = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=16, choices=GoalStatus.choices, default=GoalStatus.ACTIVE)
    is_active = models.BooleanField(default=True)
    reminders_enabled = models.BooleanField(default=True)
    start_date = models.DateField(default=tracking_today)
    target_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Its check-ins' run (``tracking.goals.Run``), kept with every check-in so that showing the
    # streaks reads no history.
    streak_last_period = models.DateField(null=True, blank=True, editable=False,
                                          help_text="First day of the last period with a check-in")
    streak_length = models.PositiveIntegerField(default=0, editable=False,
                                                help_text="Consecutive periods with a check-in, ending there")
    best_streak = models.PositiveIntegerField(default=0, editable=False)
    # Its latest notes (at most ``GOAL_NOTES_SHOWN``, oldest first), kept with every note for the same reason.
    recent_notes = JSONField(default=list, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The list's order (``pagination.RECENT_FIRST``): a page is read in index order.
            models.Index(fields=["user", "-created_at", "-id"], name="goal_user_recent"),
            # The list filtered by status (``?status=``), in the same order.
            models.Index(fields=["user", "status", "-created_at", "-id"], name="goal_user_status_recent"),
        ]

    def __str__(self) -> str:
        return f"Goal {self.pk}"

    @property
    def run(self) -> Run:
        return Run(last_period=self.streak_last_period, length=self.streak_length, best=self.best_streak)

    @run.setter
    def run(self, value: Run) -> None:
        self.streak_last_period, self.streak_length, self.best_streak = value.last_period, value.length, value.best


class GoalProgress(models.Model):
    """One update of a goal: a check-in (``value`` set: the goal's ``current_value`` it reported),
    a note, or both. ``date`` is the local day (``TRACKING_TIME_ZONE``) it was made on."""

    goal = models.ForeignKey(HealthGoal, on_delete=models.CASCADE, related_name="progress_entries", db_index=False)
    date = models.DateField()
    value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["goal", "id"]
        indexes = [
            # A page of goals' check-in days (streaks) and notes, read for those goals at once.
            models.Index(fields=["goal", "date"], name="goal_progress_goal_date"),
        ]

    def __str__(self) -> str:
        return f"Goal progress {self.pk}"


class BirthPlan(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="birth_plan")
    document = JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Birth plan {self.pk}"


class PregnancyPlanner(models.Model):
    """The small planning lists kept in localStorage today: favourite baby names (ids into the
    bundled name list) and the baby-shower checklist."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pregnancy_planner")
    baby_name_favorites = JSONField(default=list, blank=True)
    baby_shower_checklist = JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Pregnancy planner {self.pk}"


class OutboxState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (will not be retried)"


class TrackingOutbox(models.Model):
    """A write for DynamoDB kept durably while DynamoDB was unavailable.

    Rows are delivered per user in ``id`` order. ``client_id`` is the write's idempotency key in
    DynamoDB as well, so delivering a row twice cannot create anything twice. ``payload`` holds
    the validated body (health data: never shown in the admin, never logged).
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tracking_outbox")
    client_id = models.CharField(max_length=80)
    kind = models.CharField(max_length=32)
    entity_id = models.CharField(max_length=80, blank=True)
    payload = JSONField(default=dict)
    base_version = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Entries kept per date or week: written only while the entry is at this version")
    batch = models.CharField(max_length=32, blank=True, editable=False,
                             help_text="Rows queued by one request share it: delivered together with rows of other "
                                       "requests, a synced edit is checked against what those wrote before it")
    state = models.CharField(max_length=16, choices=OutboxState.choices, default=OutboxState.PENDING)
    outcome = models.CharField(max_length=16, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, null=True, blank=True, editable=False,
                                   help_text="The drainer delivering this row now")
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="When an unfinished delivery's claim lapses")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["state", "user", "id"])]
        constraints = [
            models.UniqueConstraint(fields=["user", "client_id"], name="tracking_outbox_one_per_client_id"),
        ]

    def __str__(self) -> str:
        return f"Outbox {self.pk} ({self.kind}, {self.state})"
