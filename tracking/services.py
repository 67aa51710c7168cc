"""Writes of the women's-health area.

PostgreSQL writes (profile, cycles, goals, due date, birth plan) are ordinary transactions.
DynamoDB writes go through :func:`tracking.outbox.deliver`: written now, or kept in the outbox
and reported ``queued`` when DynamoDB is unavailable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import NotFound

from accounts.models import User
from phb.api import serializers
from phb.api.errors import ApiError, Conflict
from tracking import outbox
from tracking.birth_plan import birth_plan_clean
from tracking.dynamo import keys, store
from tracking.dynamo.store import TrackingUnavailable
from tracking.fields import local_today, now_ms
from tracking.goals import Run, period_kind, run_after, run_of
from tracking.kinds import CONTRACTIONS, KINDS, SEARCHES, contraction_alert, contraction_intervals
from tracking.models import (
    GOAL_NOTES_SHOWN,
    BirthPlan,
    GoalProgress,
    GoalStatus,
    HealthGoal,
    MenstrualCycle,
    PregnancyPlanner,
    PregnancyStatus,
    WomensHealthProfile,
)
from tracking.writes import (
    DUPLICATE,
    QUEUED,
    OpResult,
    delete_op,
    make_op,
    search_clear_op,
    search_term_sk,
    search_trim,
)

logger = logging.getLogger("tracking.services")

_CLIENT_ID = serializers.RegexField(r"^[A-Za-z0-9._:\-]{1,64}$", max_length=64)


# --- PostgreSQL ---------------------------------------------------------------------------------
def profile_upsert(*, user: User, data: dict[str, Any]) -> WomensHealthProfile:
    profile, _ = WomensHealthProfile.objects.get_or_create(user=user)
    for name, value in data.items():
        setattr(profile, name, [] if value is None and name in ("health_conditions", "medications", "allergies")
                else value)
    if data.get("estimated_due_date") and profile.pregnancy_status != PregnancyStatus.PREGNANT:
        profile.pregnancy_status = PregnancyStatus.PREGNANT
    profile.save()
    return profile


def _cycles_locked(*, user_id: object) -> WomensHealthProfile:
    """The user's profile, locked for the rest of the transaction: cycle writes of one user take
    turns, and each reads the cycles as the one before it left them."""
    WomensHealthProfile.objects.get_or_create(user_id=user_id)
    return WomensHealthProfile.objects.select_for_update().get(user_id=user_id)


def cycle_create(*, user: User, data: dict[str, Any]) -> MenstrualCycle:
    """A new cycle, kept in sequence with the others: the cycle it starts inside ends the day
    before, and one that starts before a later cycle (a period logged afterwards) is not the
    current one and ends the day before the later one starts."""
    start: date = data["cycle_start_date"]
    try:
        with transaction.atomic():
            profile = _cycles_locked(user_id=user.pk)
            mine = MenstrualCycle.objects.filter(user=user)
            following = mine.filter(cycle_start_date__gt=start).order_by("cycle_start_date").first()
            if following is not None:
                end = data.get("cycle_end_date")
                if end is not None and end >= following.cycle_start_date:
                    raise ApiError("cycle_end_date: a past cycle must end before the next cycle starts "
                                   f"({following.cycle_start_date.isoformat()}).", code="invalid",
                                   cycle_end_date=["Must be before the next cycle's start."])
                data = {**data, "is_current_cycle": False,
                        "cycle_end_date": end or following.cycle_start_date - timedelta(days=1)}
            if data.get("is_current_cycle", True) or following is not None:
                previous = mine.filter(cycle_start_date__lt=start).order_by("-cycle_start_date").first()
                if previous is not None and (previous.cycle_end_date is None or previous.cycle_end_date >= start):
                    previous.is_current_cycle = False
                    previous.cycle_end_date = start - timedelta(days=1)
                    previous.save(update_fields=["is_current_cycle", "cycle_end_date", "updated_at"])
            if data.get("is_current_cycle", True):
                for previous in MenstrualCycle.objects.filter(user=user, is_current_cycle=True, cycle_start_date__lt=start):
                    previous.is_current_cycle = False
                    if previous.cycle_end_date is None:
                        previous.cycle_end_date = start - timedelta(days=1)
                    previous.save(update_fields=["is_current_cycle", "cycle_end_date", "updated_at"])
            cycle = MenstrualCycle.objects.create(user=user, **data)
            if profile.last_menstrual_period is None or profile.last_menstrual_period < start:
                profile.last_menstrual_period = start
                profile.save(update_fields=["last_menstrual_period", "updated_at"])
    except IntegrityError as exc:
        raise Conflict("A cycle starting on that date already exists.", code="cycle_exists") from exc
    return cycle


def cycle_delete(*, cycle: MenstrualCycle) -> None:
    """Delete a cycle and undo what starting it did: the cycle it ended (the day before it began)
    runs on to where it ended, current again if it was, and a last period taken from its start
    goes back to the latest remaining cycle's start (none: no last period)."""
    with transaction.atomic():
        profile = _cycles_locked(user_id=cycle.user_id)
        cycle = MenstrualCycle.objects.filter(pk=cycle.pk).first()  # as it stands now
        if cycle is None:
            raise NotFound()
        start = cycle.cycle_start_date
        mine = MenstrualCycle.objects.filter(user_id=cycle.user_id)
        previous = mine.filter(cycle_start_date__lt=start).order_by("-cycle_start_date").first()
        cycle.delete()
        if previous is not None and previous.cycle_end_date == start - timedelta(days=1):
            previous.cycle_end_date = cycle.cycle_end_date
            previous.is_current_cycle = previous.is_current_cycle or cycle.is_current_cycle
            previous.save(update_fields=["is_current_cycle", "cycle_end_date", "updated_at"])
        if profile.last_menstrual_period == start:
            profile.last_menstrual_period = MenstrualCycle.objects.filter(user_id=cycle.user_id).order_by(
                "-cycle_start_date").values_list("cycle_start_date", flat=True).first()
            profile.save(update_fields=["last_menstrual_period", "updated_at"])


def goal_create(*, user: User, data: dict[str, Any]) -> HealthGoal:
    """A new goal; a note given with it starts its notes (its starting value is not a check-in)."""
    goal = HealthGoal(user=user)
    return _goal_apply(goal, data, check_in=False)


def goal_update(*, goal: HealthGoal, data: dict[str, Any]) -> HealthGoal:
    """An update; one that reports ``current_value`` is a check-in of today, logged with its note."""
    data = {k: v for k, v in data.items() if k != "goal_id"}
    return _goal_apply(goal, data, check_in="current_value" in data)


def _goal_apply(goal: HealthGoal, data: dict[str, Any], *, check_in: bool) -> HealthGoal:
    note = data.pop("notes", "") or ""
    for name, value in data.items():
        setattr(goal, name, value)
    if note:
        goal.notes = note  # the latest note
    if goal.target_value and goal.current_value >= goal.target_value and goal.status == GoalStatus.ACTIVE:
        goal.status = GoalStatus.COMPLETED
    elif (goal.status == GoalStatus.COMPLETED and "status" not in data and goal.target_value
          and goal.current_value < goal.target_value and {"current_value", "target_value"} & data.keys()):
        goal.status = GoalStatus.ACTIVE  # a corrected value or a raised target: not reached after all
    if goal.status == GoalStatus.COMPLETED and goal.completed_at is None:
        goal.completed_at = timezone.now()
    elif goal.status != GoalStatus.COMPLETED:
        goal.completed_at = None
    if "is_active" not in data:
        goal.is_active = goal.status == GoalStatus.ACTIVE
    today = local_today()
    with transaction.atomic():
        stored = None
        if not goal._state.adding:  # what the goal keeps of its log, as committed: two updates at once queue here
            stored = HealthGoal.objects.select_for_update().only(
                "frequency", "streak_last_period", "streak_length", "best_streak", "recent_notes").get(pk=goal.pk)
        goal.run = _run_after_update(goal=goal, stored=stored, today=today, check_in=check_in)
        notes = list(stored.recent_notes) if stored is not None else []
        goal.recent_notes = [*notes, note][-GOAL_NOTES_SHOWN:] if note else notes
        goal.save()
        if check_in or note:
            GoalProgress.objects.create(goal=goal, date=today, note=note,
                                        value=goal.current_value if check_in else None)
    return goal


def _run_after_update(*, goal: HealthGoal, stored: HealthGoal | None, today: date, check_in: bool) -> Run:
    """The goal's run once this update is logged: one step on from the stored run, or the whole
    log read again when the goal's period changed (its frequency) or the day falls before the run."""
    if stored is None:
        return run_of([today] if check_in else [], frequency=goal.frequency)
    if period_kind(stored.frequency) == period_kind(goal.frequency):
        if not check_in:
            return stored.run
        stepped = run_after(stored.run, today, frequency=goal.frequency)
        if stepped is not None:
            return stepped
    days = list(GoalProgress.objects.filter(goal_id=goal.pk, value__isnull=False).values_list("date", flat=True))
    return run_of(days + ([today] if check_in else []), frequency=goal.frequency)


def due_date_set(*, user: User, due_date: date | None) -> WomensHealthProfile:
    profile, _ = WomensHealthProfile.objects.get_or_create(user=user)
    profile.estimated_due_date = due_date
    if due_date is not None:
        profile.pregnancy_status = PregnancyStatus.PREGNANT
        profile.pregnancy_tracking_enabled = True
    profile.save()
    return profile


def birth_plan_save(*, user: User, body: Any) -> BirthPlan:
    document = birth_plan_clean(body)
    plan, _ = BirthPlan.objects.update_or_create(user=user, defaults={"document": document})
    return plan


def planner_save(*, user: User, **lists: list[Any]) -> PregnancyPlanner:
    planner, _ = PregnancyPlanner.objects.get_or_create(user=user)
    for name, value in lists.items():
        setattr(planner, name, value)
    planner.save()
    return planner


# --- DynamoDB entries ---------------------------------------------------------------------------
@dataclass
class Recorded:
    """The outcome of one entry write: ``payload`` is the entry as the client will read it."""

    result: OpResult
    payload: dict[str, Any] | None = None
    existed: bool | None = None

    @property
    def queued(self) -> bool:
        return self.result.status == QUEUED


def client_id_clean(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return _CLIENT_ID.run_validation(value if isinstance(value, str) else str(value))
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({"client_id": ["Use 1-64 letters, digits or . _ : -"]}) from exc


def _insert_item(*, kind: str, pk: str, entity_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return KINDS[kind].action(table="", pk=pk, entity_id=entity_id, data=data, now_ms=now_ms())["Put"]["Item"]


def entry_record(*, user: User, kind: str, body: Any, client_id: str | None = None) -> Recorded:
    """Create (or upsert) one entry of ``kind`` from the body its endpoint takes."""
    spec = KINDS[kind]
    data = spec.validate(body)
    op = make_op(kind=kind, data=data, user_id=user.pk, client_id=client_id)
    pk = keys.user_pk(user.pk)
    result = outbox.deliver(user_id=user.pk, ops=[op])[0]
    if result.item is not None:
        item = result.item
    elif spec.insert:
        item = _insert_item(kind=kind, pk=pk, entity_id=op.entity_id, data=data)
    else:  # queued: show what will be stored
        item = spec.after(before=None, pk=pk, entity_id=op.entity_id, data=data, now_ms=now_ms())
    payload = spec.payload(item)
    if result.status == QUEUED and "version" in payload:
        payload["version"] = None  # given when the write is delivered; no version read can match it yet
    return Recorded(result=result, payload=payload, existed=result.existed)


def contraction_record(*, user: User, body: Any, client_id: str | None = None) -> tuple[Recorded, bool | None]:
    """Record a contraction; its interval (from the previous start) and the frontend's alert
    (the latest three under 5 minutes apart and over 60 s long) are derived here."""
    data = CONTRACTIONS.validate(body)
    op = make_op(kind=CONTRACTIONS.name, data=data, user_id=user.pk, client_id=client_id)
    pk = keys.user_pk(user.pk)
    table = store.tracking_table()
    try:
        outbox.catch_up(user_id=user.pk)
        latest, _ = store.query_page(table, pk=pk, prefix=keys.CONTRACTION, descending=True, limit=4)
    except TrackingUnavailable:
        latest = None
    result = outbox.deliver(user_id=user.pk, ops=[op])[0]
    item = _insert_item(kind=CONTRACTIONS.name, pk=pk, entity_id=op.entity_id, data=data)
    if latest is None or result.status == DUPLICATE:
        payload = CONTRACTIONS.payload(item)
        if result.status == DUPLICATE and result.id:
            payload["id"] = result.id
        return Recorded(result=result, payload=payload), None
    others = [i for i in latest if i["sk"] != item["sk"]]
    timeline = sorted([*others, item], key=lambda i: i["sk"])
    position = timeline.index(item)
    if position > 0:
        previous = timeline[position - 1]
    elif len(others) < 4:
        previous = None
    else:  # older than the latest four: one more read finds its predecessor
        try:
            earlier, _ = store.query_page(table, pk=pk, between=(keys.CONTRACTION, item["sk"]), descending=True, limit=2)
        except TrackingUnavailable:
            earlier = []
        previous = next((i for i in earlier if i["sk"] < item["sk"]), None)
    interval = None if previous is None else round((int(item["ts"]) - int(previous["ts"])) / 1000)
    recent = timeline[-4:]
    recent_payloads = [CONTRACTIONS.payload(i, interval=v) for i, v in
                       zip(recent, contraction_intervals(recent), strict=True)]
    return Recorded(result=result, payload=CONTRACTIONS.payload(item, interval=interval)), contraction_alert(recent_payloads)


def entry_delete(*, user: User, kind: str, entity_id: str) -> Recorded:
    """Delete one entry of the caller's partition; 404 when it is not there."""
    spec = KINDS[kind]
    sk = spec.sk(entity_id)
    try:
        outbox.catch_up(user_id=user.pk)  # an entry still queued counts as there
        existing = store.get_item(store.tracking_table(), pk=keys.user_pk(user.pk), sk=sk)
    except TrackingUnavailable:
        existing = {}  # unknown: queue the delete; deleting a missing item is harmless
    if existing is None:
        raise NotFound()
    result = outbox.deliver(user_id=user.pk, ops=[delete_op(table="tracking", sk=sk)])[0]
    return Recorded(result=result)


def search_record(*, user: User, body: Any) -> Recorded | None:
    """Add a search term; None when the term is blank (ignored, as the frontend does)."""
    data = SEARCHES.validate(body)
    if not data["term"]:
        return None
    data.setdefault("timestamp", now_ms())
    op = make_op(kind=SEARCHES.name, data=data, user_id=user.pk)
    result = outbox.deliver(user_id=user.pk, ops=[op])[0]
    if result.status != QUEUED:
        try:
            search_trim(user_id=user.pk)
        except TrackingUnavailable:
            pass  # trimmed by the next search; reads show the newest 50 meanwhile
    return Recorded(result=result, payload={"term": data["term"], "timestamp": data["timestamp"]})


def search_remove(*, user: User, term: str) -> Recorded:
    result = outbox.deliver(user_id=user.pk, ops=[delete_op(table="search", sk=search_term_sk(term))])[0]
    return Recorded(result=result)


def search_clear(*, user: User) -> Recorded:
    result = outbox.deliver(user_id=user.pk, ops=[search_clear_op()])[0]
    return Recorded(result=result)
