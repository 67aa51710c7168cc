from django.contrib import admin

from accounts.admin import AppendOnlyAdmin, ReadOnlyAdmin
from records.admin_audit import HealthDataAdmin
from tracking.models import (
    BirthPlan,
    GoalProgress,
    HealthGoal,
    MenstrualCycle,
    PregnancyPlanner,
    TrackingOutbox,
    WomensHealthProfile,
)


class _HealthDataAdmin(HealthDataAdmin):
    """A woman's own health data: opening one is an audited read (``records.admin_audit``)."""

    patient_field = "user_id"


@admin.register(WomensHealthProfile)
class WomensHealthProfileAdmin(_HealthDataAdmin):
    list_display = ("id", "user_id", "pregnancy_status", "verified_at", "updated_at")
    list_filter = ("pregnancy_status", "fertility_tracking_enabled", "pregnancy_tracking_enabled")
    search_fields = ("id", "user__id", "user__email")
    readonly_fields = ("id", "user", "verified_at", "created_at", "updated_at")


@admin.register(MenstrualCycle)
class MenstrualCycleAdmin(_HealthDataAdmin):
    list_display = ("id", "user_id", "cycle_start_date", "cycle_end_date", "is_current_cycle")
    list_filter = ("is_current_cycle", "flow_intensity", "is_regular")
    search_fields = ("id", "user__id", "user__email")
    readonly_fields = ("id", "user", "created_at", "updated_at")


@admin.register(HealthGoal)
class HealthGoalAdmin(_HealthDataAdmin):
    list_display = ("id", "user_id", "category", "status", "created_at")
    list_filter = ("status", "category", "is_active")
    search_fields = ("id", "user__id", "user__email")
    readonly_fields = ("id", "user", "created_at", "updated_at", "completed_at", "streak_last_period",
                       "streak_length", "best_streak")


@admin.register(GoalProgress)
class GoalProgressAdmin(AppendOnlyAdmin):
    """The goal's log as the patient made it (the goal keeps its run and latest notes from it)."""

    list_display = ("id", "goal_id", "date", "value", "created_at")
    list_filter = ("date",)
    search_fields = ("goal__id", "goal__user__id", "goal__user__email")
    exclude = ("note",)  # health data
    readonly_fields = ("goal", "date", "value", "created_at")


@admin.register(BirthPlan)
class BirthPlanAdmin(_HealthDataAdmin):
    list_display = ("id", "user_id", "updated_at")
    list_filter = ("updated_at",)
    search_fields = ("id", "user__id", "user__email")
    exclude = ("document",)  # health data
    readonly_fields = ("id", "user", "created_at", "updated_at")


@admin.register(PregnancyPlanner)
class PregnancyPlannerAdmin(_HealthDataAdmin):
    list_display = ("id", "user_id", "updated_at")
    list_filter = ("updated_at",)
    search_fields = ("id", "user__id", "user__email")
    readonly_fields = ("id", "user", "updated_at")


@admin.register(TrackingOutbox)
class TrackingOutboxAdmin(ReadOnlyAdmin):
    """Queued DynamoDB writes: visible for operations, changed only by ``drain_outbox``."""

    list_display = ("id", "user_id", "kind", "state", "outcome", "attempts", "last_error", "created_at",
                    "delivered_at")
    list_filter = ("state", "kind", "outcome")
    search_fields = ("client_id", "user__id")
    exclude = ("payload",)  # health data

    def has_delete_permission(self, request, obj=None):
        return False
