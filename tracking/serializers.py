"""Input serializers and output shapes of the PostgreSQL-backed resources (profile, cycles, goals)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field

from phb.api import serializers
from phb.api.timestamps import iso
from tracking.fields import LocalDateField, RoundedDecimalField, WholeNumberField, local_today, plain
from tracking.goals import icon_for, streaks_of
from tracking.kinds import PregnancyWeekInput
from tracking.models import FlowIntensity, GoalStatus, HealthGoal, MenstrualCycle, PregnancyStatus, WomensHealthProfile
from tracking.pregnancy import progress

# --- Profile (W5–W7) -----------------------------------------------------------------------------
DUE_DATE_PAST_DAYS = 60


class DueDateField(LocalDateField):
    """A current pregnancy's due date: at most 300 days ahead, at most 60 days ago (the same rule
    for the profile and the due-date endpoint; either one makes the profile pregnant)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_future_days=300, **kwargs)

    def to_internal_value(self, data: Any) -> date:
        found = super().to_internal_value(data)
        if found < local_today() - timedelta(days=DUE_DATE_PAST_DAYS):
            raise serializers.ValidationError(
                f"A due date more than {DUE_DATE_PAST_DAYS} days ago is not a current pregnancy.")
        return found


class ShortTextList(serializers.ListField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.CharField(max_length=100), max_length=50, required=False, **kwargs)


class ProfileInput(serializers.Serializer):
    average_cycle_length = WholeNumberField(min_value=15, max_value=60, required=False)
    average_period_duration = WholeNumberField(min_value=1, max_value=15, required=False)
    cycle_regularity = serializers.ChoiceField(choices=["regular", "irregular", "very_irregular", "unknown"],
                                               required=False)
    last_menstrual_period = LocalDateField(required=False, allow_null=True, allow_future_days=0)
    pregnancy_status = serializers.ChoiceField(choices=PregnancyStatus.choices, required=False)
    estimated_due_date = DueDateField(required=False, allow_null=True)
    height_cm = RoundedDecimalField(places=1, min_value=50, max_value=250, required=False, allow_null=True)
    weight_kg = RoundedDecimalField(places=1, min_value=20, max_value=300, required=False, allow_null=True)
    contraception_method = serializers.CharField(max_length=64, required=False, allow_blank=True)
    health_conditions = ShortTextList()
    medications = ShortTextList()
    allergies = ShortTextList()
    fertility_tracking_enabled = serializers.BooleanField(required=False)
    pregnancy_tracking_enabled = serializers.BooleanField(required=False)
    period_reminders = serializers.BooleanField(required=False)
    ovulation_reminders = serializers.BooleanField(required=False)


PROFILE_COMPLETION_FIELDS = ("average_cycle_length", "average_period_duration", "last_menstrual_period",
                             "pregnancy_status", "height_cm", "weight_kg", "contraception_method")


def profile_completion(profile: WomensHealthProfile) -> int:
    filled = sum(1 for name in PROFILE_COMPLETION_FIELDS if getattr(profile, name) not in (None, "", []))
    return round(100 * filled / len(PROFILE_COMPLETION_FIELDS))


def cycle_position(profile: WomensHealthProfile, latest_start: date | None, today: date) -> tuple[int | None, date | None]:
    start = max(filter(None, [latest_start, profile.last_menstrual_period]), default=None)
    if start is None or start > today:
        return None, None
    length = max(1, profile.average_cycle_length)
    elapsed = (today - start).days
    next_period = start + timedelta(days=length * (elapsed // length + 1))
    return elapsed + 1, next_period


def profile_payload(profile: WomensHealthProfile, *, latest_cycle_start: date | None, verified: bool) -> dict[str, Any]:
    today = local_today()
    cycle_day, next_period = cycle_position(profile, latest_cycle_start, today)
    pregnant = profile.pregnancy_status == PregnancyStatus.PREGNANT and profile.estimated_due_date is not None
    week = progress(due_date=profile.estimated_due_date, today=today).week if pregnant else None
    return {
        "id": str(profile.pk) if profile.pk and not profile._state.adding else None,
        "average_cycle_length": profile.average_cycle_length,
        "average_period_duration": profile.average_period_duration,
        "cycle_regularity": profile.cycle_regularity,
        "last_menstrual_period": iso(profile.last_menstrual_period),
        "pregnancy_status": profile.pregnancy_status,
        "current_pregnancy_week": week,
        "pregnancy_week": week,
        "estimated_due_date": iso(profile.estimated_due_date),
        "estimated_next_period": iso(next_period),
        "current_cycle_day": cycle_day,
        "height_cm": plain(profile.height_cm),
        "weight_kg": plain(profile.weight_kg),
        "contraception_method": profile.contraception_method,
        "health_conditions": profile.health_conditions,
        "medications": profile.medications,
        "allergies": profile.allergies,
        "fertility_tracking_enabled": profile.fertility_tracking_enabled,
        "pregnancy_tracking_enabled": profile.pregnancy_tracking_enabled,
        "period_reminders": profile.period_reminders,
        "ovulation_reminders": profile.ovulation_reminders,
        "is_verified": verified,
        "verification_date": iso(profile.verified_at),
        "profile_completion": profile_completion(profile),
        "created_at": iso(profile.created_at) if not profile._state.adding else None,
        "updated_at": iso(profile.updated_at) if not profile._state.adding else None,
    }


# --- Cycles (W8–W10) -----------------------------------------------------------------------------
class CycleInput(serializers.Serializer):
    cycle_start_date = LocalDateField(allow_future_days=1)
    cycle_end_date = LocalDateField(required=False, allow_null=True, allow_future_days=60)
    period_end_date = LocalDateField(required=False, allow_null=True, allow_future_days=15)
    flow_intensity = serializers.ChoiceField(choices=FlowIntensity.choices, default=FlowIntensity.MEDIUM)
    is_regular = serializers.BooleanField(default=True)
    is_current_cycle = serializers.BooleanField(default=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start = attrs["cycle_start_date"]
        for name in ("cycle_end_date", "period_end_date"):
            if attrs.get(name) is not None and attrs[name] < start:
                raise serializers.ValidationError({name: ["Must not be before cycle_start_date."]})
        return attrs


def cycle_payload(cycle: MenstrualCycle, *, days: list[dict[str, Any]]) -> dict[str, Any]:
    period_days = sum(1 for d in days if d.get("periodDay"))
    if cycle.period_end_date:
        period_length = (cycle.period_end_date - cycle.cycle_start_date).days + 1
    else:
        period_length = period_days or None
    return {
        "id": str(cycle.pk),
        "cycle_start_date": iso(cycle.cycle_start_date),
        "cycle_end_date": iso(cycle.cycle_end_date),
        "period_end_date": iso(cycle.period_end_date),
        "cycle_length": (cycle.cycle_end_date - cycle.cycle_start_date).days + 1 if cycle.cycle_end_date else None,
        "period_length": period_length,
        "flow_intensity": cycle.flow_intensity,
        "is_regular": cycle.is_regular,
        "is_current_cycle": cycle.is_current_cycle,
        "notes": cycle.notes,
        "created_at": iso(cycle.created_at),
        "updated_at": iso(cycle.updated_at),
        # The cycle tracker's localStorage shape, so it can switch storage without reshaping.
        "startDate": iso(cycle.cycle_start_date),
        "endDate": iso(cycle.cycle_end_date),
        "days": days,
    }


# --- Goals (W15–W17) -----------------------------------------------------------------------------
class GoalInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    category = serializers.CharField(required=False, allow_blank=True, max_length=64)
    target_value = RoundedDecimalField(places=2, min_value=0, max_value=10**9, required=False, allow_null=True)
    current_value = RoundedDecimalField(places=2, min_value=0, max_value=10**9, required=False)
    unit = serializers.CharField(required=False, allow_blank=True, max_length=32)
    frequency = serializers.CharField(required=False, allow_blank=True, max_length=32)
    status = serializers.ChoiceField(choices=GoalStatus.choices, required=False)
    is_active = serializers.BooleanField(required=False)
    reminders_enabled = serializers.BooleanField(required=False)
    start_date = LocalDateField(required=False, allow_future_days=366)
    target_date = LocalDateField(required=False, allow_null=True, allow_future_days=3660)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000,
                                  help_text="A note added to the goal's notes (a blank one adds nothing).")

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and "unit" not in data and "unit_of_measurement" in data:
            data = {**data, "unit": data["unit_of_measurement"]}
        return super().to_internal_value(data)


class GoalUpdateInput(GoalInput):
    title = serializers.CharField(max_length=200, required=False)
    goal_id = serializers.CharField(required=False, max_length=64)


def goal_payload(goal: HealthGoal, *, today: date) -> dict[str, Any]:
    """``notes``: the goal's latest notes, oldest first; ``streak``, ``best_streak``: its run of
    check-ins as of ``today`` (``tracking.goals``)."""
    streaks = streaks_of(goal.run, frequency=goal.frequency, today=today)
    target = goal.target_value
    current = goal.current_value or Decimal(0)
    percent = None
    if target:
        percent = float(min(Decimal(100), (current / target * 100).quantize(Decimal("0.1"))))
    return {
        "id": str(goal.pk),
        "title": goal.title,
        "description": goal.description,
        "category": goal.category,
        "icon": icon_for(goal.category),
        "target_value": plain(target),
        "current_value": plain(current),
        "unit": goal.unit,
        "unit_of_measurement": goal.unit,
        "frequency": goal.frequency,
        "status": goal.status,
        "is_active": goal.is_active,
        "is_completed": goal.status == GoalStatus.COMPLETED,
        "reminders_enabled": goal.reminders_enabled,
        "progress_percentage": percent,
        "start_date": iso(goal.start_date),
        "target_date": iso(goal.target_date),
        "notes": list(goal.recent_notes),
        "streak": streaks.streak,
        "best_streak": streaks.best_streak,
        "completed_at": iso(goal.completed_at),
        "created_at": iso(goal.created_at),
        "updated_at": iso(goal.updated_at),
    }


# --- Due date -----------------------------------------------------------------------------------
class DueDateInput(serializers.Serializer):
    due_date = serializers.CharField(allow_null=True, allow_blank=True)

    def validate_due_date(self, value: str | None) -> date | None:
        if not value:
            return None
        return DueDateField().run_validation(value)


# --- Offline sync ----------------------------------------------------------------------------------
class SyncInput(serializers.Serializer):
    """The sync body as described; ``tracking.sync.sync_apply`` checks it (each item on its own: an item
    that is not a valid entry is answered ``invalid`` in the results, not refused with the body)."""

    items = serializers.ListField(
        child=serializers.JSONField(), max_length=settings.TRACKING_SYNC_MAX_ITEMS,
        help_text="Entries `{client_id, type, data, base_version?}`; `data` is the body of that type's own "
                  "endpoint; `base_version` (entries kept per date or week: the entry's `version` when read, "
                  "0 when there was none) is required for those types.",
    )


# --- W12 weekly pregnancy entry: the body the endpoint takes --------------------------------------
@extend_schema_field({"oneOf": [{"type": "number", "minimum": 1, "maximum": 42, "description": "Rounded to a whole number."},
                                {"type": "integer", "enum": [0]}, {"type": "string", "enum": ["", "0"]}],
                      "nullable": True,
                      "description": "The week (1-42); 0, blank, null or absent: the profile's current week."})
class PregnancyWeekOrCurrentField(WholeNumberField):
    """Documents W12's ``pregnancy_week`` as the view reads it (it fills in the current week)."""


class PregnancyWeekRequest(PregnancyWeekInput):
    pregnancy_week = PregnancyWeekOrCurrentField(min_value=1, max_value=42, required=False, allow_null=True)
