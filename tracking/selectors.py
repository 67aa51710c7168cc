"""Reads of the women's-health area, always scoped to the caller (``fetched_by``).

DynamoDB reads are a ``Query`` or ``GetItem`` on the caller's own partition (``USER#<id>``);
reads across users (counts only) are ``tracking.population``. Before reading, the caller's
queued writes are delivered (:func:`tracking.outbox.catch_up`) so a read after an outage
includes them.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import User
from phb.api.errors import ApiError
from phb.numbers import signed_whole_number
from tracking import kept_days, outbox
from tracking.birth_plan import birth_plan_document
from tracking.dynamo import keys, store
from tracking.dynamo.cursors import cursor_decode, cursor_encode
from tracking.fertility import fertility_overview
from tracking.fields import local_today
from tracking.kinds import (
    CONTRACTIONS,
    DAILY_LOGS,
    FERTILITY,
    KICK_SESSIONS,
    PREGNANCY_WEEKS,
    SEARCHES,
    contraction_alert,
    contraction_intervals,
)
from tracking.models import (
    BirthPlan,
    GoalStatus,
    HealthGoal,
    MenstrualCycle,
    PregnancyPlanner,
    PregnancyStatus,
    WomensHealthProfile,
)
from tracking.pregnancy import progress, upcoming_screenings
from tracking.serializers import cycle_payload, cycle_position, goal_payload, profile_completion, profile_payload
from tracking.verification import still_valid

MAX_RANGE_DAYS = 400
SPAN_GAP_DAYS = 7


def _pk(user: User) -> str:
    return keys.user_pk(user.pk)


def query_integer(value: Any, *, name: str, default: int) -> int:
    """An integer query parameter: ``default`` when left out, else ASCII digits with an optional
    minus sign; an empty value (``?limit=``) is not a number, a 400 like any other text."""
    if value is None:
        return default
    number = signed_whole_number(value, max_digits=100)
    if number is not None:
        return number
    raise ApiError(f"{name} must be a whole number.", code="invalid")


def page_limit(value: Any, *, default: int) -> int:
    """A ``limit`` query parameter: a whole number, clamped to 1 to ``TRACKING_PAGE_MAX``; 400 otherwise."""
    return max(1, min(query_integer(value, name="limit", default=default), settings.TRACKING_PAGE_MAX))


# --- Kick sessions and contractions: newest first, opaque cursors -------------------------------
def _page(*, user: User, listing: str, prefix: str, limit: int, cursor: str | None,
          extra: int = 0) -> tuple[list[dict[str, Any]], str | None]:
    """Newest-first page of ``limit`` items (plus ``extra`` older ones for context) in one Query."""
    start = cursor_decode(token=cursor, user_id=user.pk, listing=listing, prefix=prefix) if cursor else None
    outbox.catch_up(user_id=user.pk)
    items, _ = store.query_page(store.tracking_table(), pk=_pk(user), prefix=prefix, descending=True,
                                limit=limit + 1 + extra, start_sk=start)
    page = items[:limit]
    more = len(items) > limit
    next_cursor = cursor_encode(user_id=user.pk, listing=listing, sk=page[-1]["sk"]) if more and page else None
    return items, next_cursor


def kick_session_list(*, fetched_by: User, limit: Any = None, cursor: str | None = None) -> tuple[list[dict], str | None]:
    number = page_limit(limit, default=20)
    items, next_cursor = _page(user=fetched_by, listing="kick", prefix=keys.KICK, limit=number, cursor=cursor)
    return [KICK_SESSIONS.payload(i) for i in items[:number]], next_cursor


def contraction_list(*, fetched_by: User, limit: Any = None,
                     cursor: str | None = None) -> tuple[list[dict], str | None, bool]:
    """A page of contractions, oldest first inside the page (as the timer keeps them); pages
    walk back in time. Intervals use one extra older item; ``alert`` is about the latest three."""
    number = page_limit(limit, default=50)
    items, next_cursor = _page(user=fetched_by, listing="contraction", prefix=keys.CONTRACTION, limit=number,
                               cursor=cursor, extra=1)
    oldest_first = list(reversed(items[: number + 1]))
    intervals = contraction_intervals(oldest_first)
    payloads = [CONTRACTIONS.payload(i, interval=v) for i, v in zip(oldest_first, intervals, strict=True)]
    if len(oldest_first) > number:
        payloads = payloads[1:]
    alert = contraction_alert(payloads) if cursor is None else False
    return payloads, next_cursor, alert


def entry_exists(*, fetched_by: User, kind_prefix: str, entity_id: str) -> bool:
    return store.get_item(store.tracking_table(), pk=_pk(fetched_by), sk=f"{kind_prefix}{entity_id}") is not None


# --- Per-date entries: one Query over a date range ----------------------------------------------
def date_range(start: Any, end: Any, *, default_days: int) -> tuple[date, date]:
    today = local_today()
    try:
        end_date = date.fromisoformat(end) if end is not None else today
        start_date = date.fromisoformat(start) if start is not None else end_date - timedelta(days=default_days)
    except (TypeError, ValueError, OverflowError) as exc:  # Overflow: a default range before year 1
        raise ApiError("Dates must be YYYY-MM-DD.", code="invalid") from exc
    if start_date > end_date:
        raise ApiError("start_date must not be after end_date.", code="invalid")
    if (end_date - start_date).days > MAX_RANGE_DAYS:
        raise ApiError(f"A range covers at most {MAX_RANGE_DAYS} days.", code="invalid")
    return start_date, end_date


def _by_date(*, user: User, prefix: str, start: date, end: date) -> list[dict[str, Any]]:
    outbox.catch_up(user_id=user.pk)
    return store.query_all(store.tracking_table(), pk=_pk(user),
                           between=(f"{prefix}{start.isoformat()}", f"{prefix}{end.isoformat()}"))


def daily_log_list(*, fetched_by: User, start_date: Any = None, end_date: Any = None) -> list[dict]:
    start, end = date_range(start_date, end_date, default_days=30)
    return [DAILY_LOGS.payload(i) for i in _by_date(user=fetched_by, prefix=keys.DAILY_LOG, start=start, end=end)]


def fertility_list(*, fetched_by: User, start_date: Any = None, end_date: Any = None) -> list[dict]:
    start, end = date_range(start_date, end_date, default_days=90)
    return [FERTILITY.payload(i) for i in _by_date(user=fetched_by, prefix=keys.FERTILITY, start=start, end=end)]


def fertility_page(*, fetched_by: User, start_date: Any = None, end_date: Any = None) -> dict[str, Any]:
    """W13: the range's entries with the overview the fertility tracker page reads (``tracking.fertility``)."""
    entries = fertility_list(fetched_by=fetched_by, start_date=start_date, end_date=end_date)
    profile = profile_of(fetched_by=fetched_by)
    starts = list(cycles_of(fetched_by=fetched_by).values_list("cycle_start_date", flat=True))
    cycle_day, _ = cycle_position(profile, starts[0] if starts else None, local_today())
    if profile.last_menstrual_period is not None:
        starts.append(profile.last_menstrual_period)
    return fertility_overview(entries=entries, cycle_length=profile.average_cycle_length, cycle_day=cycle_day,
                              period_starts=starts)


def cycle_day_list(*, fetched_by: User, start_date: Any = None, end_date: Any = None) -> list[dict]:
    start, end = date_range(start_date, end_date, default_days=90)
    delivered = outbox.catch_up(user_id=fetched_by.pk)
    return kept_days.cycle_days_between(user=fetched_by, low=start, high=end, reuse=not delivered)


def _recent(*, user: User, prefix: str, limit: int) -> list[dict[str, Any]]:
    items, _ = store.query_page(store.tracking_table(), pk=_pk(user), prefix=prefix, descending=True, limit=limit)
    return items


# --- Cycles: PostgreSQL rows with their DynamoDB days -------------------------------------------
def cycles_of(*, fetched_by: User) -> QuerySet[MenstrualCycle]:
    return MenstrualCycle.objects.filter(user=fetched_by).order_by("-cycle_start_date")


def cycle_list(*, fetched_by: User, limit: Any = None, offset: Any = None) -> tuple[list[dict], int]:
    number = page_limit(limit, default=20)
    skip = max(0, query_integer(offset, name="offset", default=0))
    qs = cycles_of(fetched_by=fetched_by)
    total = qs.count()
    if skip >= total:  # also keeps an offset beyond any integer the database binds out of the query
        return [], total
    return _with_days(user=fetched_by, cycles=list(qs[skip: skip + number])), total


def cycle_get(*, fetched_by: User, cycle: MenstrualCycle) -> dict[str, Any]:
    return _with_days(user=fetched_by, cycles=[cycle])[0]


def cycle_window(cycle: MenstrualCycle) -> tuple[date, date]:
    """The days a cycle shows: start to end, or, while it is open, a bounded window from its start."""
    start = cycle.cycle_start_date
    if cycle.cycle_end_date is not None:
        return start, max(start, cycle.cycle_end_date)
    return start, start + timedelta(days=settings.TRACKING_OPEN_CYCLE_DAYS - 1)


def _spans(windows: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """The windows merged where they touch or nearly do (one Query per span; usually one)."""
    merged: list[tuple[date, date]] = []
    for low, high in sorted(windows):
        if merged and low <= merged[-1][1] + timedelta(days=SPAN_GAP_DAYS):
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _with_days(*, user: User, cycles: list[MenstrualCycle]) -> list[dict[str, Any]]:
    """The cycles with their tracker days, reading only the days of the cycles shown."""
    if not cycles:
        return []
    delivered = outbox.catch_up(user_id=user.pk)
    windows = [cycle_window(c) for c in cycles]
    days: list[dict[str, Any]] = []
    for low, high in _spans(windows):
        days.extend(kept_days.cycle_days_between(user=user, low=low, high=high, reuse=not delivered))
    days.sort(key=lambda d: d["date"])
    dates = [d["date"] for d in days]
    out = []
    for cycle, (low, high) in zip(cycles, windows, strict=True):
        first, last = bisect_left(dates, low.isoformat()), bisect_right(dates, high.isoformat())
        out.append(cycle_payload(cycle, days=days[first:last]))
    return out


# --- Profile, pregnancy, dashboard ---------------------------------------------------------------
def profile_of(*, fetched_by: User) -> WomensHealthProfile:
    """The caller's profile, or an unsaved one with the defaults."""
    return WomensHealthProfile.objects.filter(user=fetched_by).first() or WomensHealthProfile(user=fetched_by)


def profile_get(*, fetched_by: User) -> dict[str, Any]:
    profile = profile_of(fetched_by=fetched_by)
    latest = cycles_of(fetched_by=fetched_by).values_list("cycle_start_date", flat=True).first()
    return profile_payload(profile, latest_cycle_start=latest, verified=still_valid(profile.verified_at))


def due_date_get(*, fetched_by: User) -> dict[str, Any]:
    due = profile_of(fetched_by=fetched_by).estimated_due_date
    if due is None:
        return {"due_date": None, "pregnancy_week": None, "pregnancy_day": None, "trimester": None,
                "days_until_due": None}
    return progress(due_date=due, today=local_today()).as_dict()


def current_pregnancy_week(*, fetched_by: User) -> int | None:
    """The week a weekly entry made today belongs to (1–42), or None without a pregnancy."""
    profile = profile_of(fetched_by=fetched_by)
    if profile.estimated_due_date is None or profile.pregnancy_status != PregnancyStatus.PREGNANT:
        return None
    return max(1, progress(due_date=profile.estimated_due_date, today=local_today()).week)


UNSET_WEEKS = (None, "", 0, "0")


def weekly_entry_body(*, fetched_by: User, body: Any,
                      current_week: Callable[[], int | None] | None = None) -> Any:
    """A weekly entry's body as it is filed: ``pregnancy_week`` 0 or absent (the tracker page sends
    the profile's week, 0 when it has none) is the current week. The W12 endpoint and a sync item
    of type ``pregnancy_week`` both go through here; 409 ``not_pregnant`` without a pregnancy.
    ``current_week`` gives that week (a sync passes one that reads the profile once per batch);
    by default the profile is read here."""
    if not isinstance(body, dict) or body.get("pregnancy_week") not in UNSET_WEEKS:
        return body
    week = current_week() if current_week is not None else current_pregnancy_week(fetched_by=fetched_by)
    if week is None:
        raise ApiError("Your women's health profile has no pregnancy yet. Set your pregnancy status and due "
                       "date (or last period) in your profile, then your weekly entries are filed under "
                       "the right week.", status_code=409, code="not_pregnant", success=False)
    return {**body, "pregnancy_week": week}


def pregnancy_record(*, fetched_by: User) -> dict[str, Any] | None:
    """W11: due-date arithmetic merged with the latest weekly entry, plus every weekly entry."""
    profile = profile_of(fetched_by=fetched_by)
    outbox.catch_up(user_id=fetched_by.pk)
    weeks = store.query_all(store.tracking_table(), pk=_pk(fetched_by), prefix=keys.PREGNANCY_WEEK)
    if profile.estimated_due_date is None and not weeks:
        return None
    entries = [PREGNANCY_WEEKS.payload(i) for i in weeks]
    latest = max(entries, key=lambda e: e["updated_at"] or "", default=None)
    record: dict[str, Any] = {
        "pregnancy_status": profile.pregnancy_status,
        "estimated_due_date": profile.estimated_due_date.isoformat() if profile.estimated_due_date else None,
    }
    if profile.estimated_due_date:
        record.update(progress(due_date=profile.estimated_due_date, today=local_today()).as_dict())
        record["current_week"] = record["pregnancy_week"]
    elif latest:
        record["pregnancy_week"] = record["current_week"] = latest["pregnancy_week"]
    if latest:
        for name, value in latest.items():
            if name not in ("id", "pregnancy_week"):
                record.setdefault(name, value)
        record["latest_entry_week"] = latest["pregnancy_week"]
    record["weekly_entries"] = sorted(entries, key=lambda e: e["pregnancy_week"])
    return record


def dashboard(*, fetched_by: User) -> dict[str, Any]:
    profile = profile_of(fetched_by=fetched_by)
    today = local_today()
    cycles = cycles_of(fetched_by=fetched_by)
    current = cycles.filter(is_current_cycle=True).first() or cycles.first()
    outbox.catch_up(user_id=fetched_by.pk)
    fertility = [FERTILITY.payload(i) for i in _recent(user=fetched_by, prefix=keys.FERTILITY, limit=5)]
    logs = [DAILY_LOGS.payload(i) for i in _recent(user=fetched_by, prefix=keys.DAILY_LOG, limit=7)]
    goals = HealthGoal.objects.filter(user=fetched_by, status=GoalStatus.ACTIVE).order_by("-created_at")
    pregnant = profile.pregnancy_status == PregnancyStatus.PREGNANT and profile.estimated_due_date is not None
    current_pregnancy = progress(due_date=profile.estimated_due_date, today=today).as_dict() if pregnant else None
    return {
        "profile": profile_payload(profile, latest_cycle_start=current.cycle_start_date if current else None,
                                   verified=still_valid(profile.verified_at)),
        "current_cycle": cycle_payload(current, days=[]) if current else None,
        "current_pregnancy": current_pregnancy,
        "recent_fertility_data": fertility,
        "active_goals": goal_payloads(list(goals[:10])),
        "upcoming_screenings": upcoming_screenings(due_date=profile.estimated_due_date, today=today) if pregnant else [],
        "recent_health_logs": logs,
        "summary": {
            "total_cycles": cycles.count(),
            "total_pregnancies": 1 if profile.estimated_due_date else 0,
            "active_goals_count": goals.count(),
            "profile_completion": profile_completion(profile),
        },
    }


# --- Goals and birth plan ------------------------------------------------------------------------
def goal_payloads(goals: list[HealthGoal]) -> list[dict[str, Any]]:
    """The goals' payloads: their notes and streaks are kept on the goal (``services._goal_apply``),
    so a page reads no log, however long."""
    today = local_today()
    return [goal_payload(goal, today=today) for goal in goals]


def goals_of(*, fetched_by: User) -> QuerySet[HealthGoal]:
    return HealthGoal.objects.filter(user=fetched_by).order_by("-created_at")


def goal_list(*, fetched_by: User, status: str | None = None) -> QuerySet[HealthGoal]:
    """The caller's goals, optionally of one status (page them: ``phb.api.pagination``)."""
    qs = goals_of(fetched_by=fetched_by)
    if status is not None:
        if status not in GoalStatus.values:
            raise ApiError(f"status must be one of: {', '.join(GoalStatus.values)}.", code="invalid")
        qs = qs.filter(status=status)
    return qs


def birth_plan_get(*, fetched_by: User) -> dict[str, Any] | None:
    plan = BirthPlan.objects.filter(user=fetched_by).first()
    if plan is None:
        return None
    return {**birth_plan_document(plan.document), "updated_at": plan.updated_at.isoformat()}


def planner_get(*, fetched_by: User) -> PregnancyPlanner:
    return PregnancyPlanner.objects.filter(user=fetched_by).first() or PregnancyPlanner(user=fetched_by)


# --- Search history ------------------------------------------------------------------------------
def search_history_list(*, fetched_by: User, limit: Any = None) -> list[dict[str, Any]]:
    number = max(1, min(page_limit(limit, default=settings.SEARCH_HISTORY_MAX_TERMS), settings.SEARCH_HISTORY_MAX_TERMS))
    outbox.catch_up(user_id=fetched_by.pk)
    items = store.query_all(store.search_table(), pk=_pk(fetched_by), prefix=keys.TERM)
    items.sort(key=lambda i: int(i["ts"]), reverse=True)
    return [SEARCHES.payload(i) for i in items[:number]]
