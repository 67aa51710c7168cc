"""What a goal's progress log says: its streaks and its icon.

A goal's period is its ``frequency``: ``weekly`` (Monday to Sunday), ``monthly`` (a calendar
month), anything else a day. A period counts when the goal had a check-in in it (an update that
reported ``current_value``). ``streak`` is the run of consecutive counted periods that ends in the
current period, or in the one before it while the current one is still under way; ``best_streak``
is the longest run the goal ever had.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

DAILY, WEEKLY, MONTHLY = "daily", "weekly", "monthly"

# The emoji the goals page shows for a goal, by category: those of its own goal templates
# (fitness, nutrition, wellness, reproductive) and of the categories the API's goal type names.
CATEGORY_ICONS = {
    "fitness": "👟",
    "exercise": "👟",
    "nutrition": "🥗",
    "hydration": "💧",
    "sleep": "😴",
    "wellness": "🧘‍♀️",
    "mental_health": "🧘‍♀️",
    "reproductive": "💊",
    "reproductive_health": "💊",
}
DEFAULT_ICON = "🎯"


def icon_for(category: str) -> str:
    return CATEGORY_ICONS.get((category or "").strip().lower(), DEFAULT_ICON)


def period_kind(frequency: str) -> str:
    kind = (frequency or "").strip().lower()
    return kind if kind in (WEEKLY, MONTHLY) else DAILY


def period_of(day: date, kind: str) -> date:
    """The first day of the period ``day`` falls in."""
    if kind == WEEKLY:
        return day - timedelta(days=day.weekday())
    if kind == MONTHLY:
        return day.replace(day=1)
    return day


def next_period(start: date, kind: str) -> date:
    if kind == WEEKLY:
        return start + timedelta(days=7)
    if kind == MONTHLY:
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=1)


@dataclass(frozen=True)
class Streaks:
    streak: int = 0
    best_streak: int = 0


@dataclass(frozen=True)
class Run:
    """What a goal keeps of its check-ins (``HealthGoal.streak_*``), so that reading its streaks
    costs the same whatever its history: the last counted period, the run of consecutive counted
    periods ending there, and the longest run."""

    last_period: date | None = None
    length: int = 0
    best: int = 0


def run_of(check_in_days: Iterable[date], *, frequency: str) -> Run:
    """The run of a whole history (a goal's frequency changed, or its history was loaded)."""
    run = Run()
    kind = period_kind(frequency)
    for period in sorted({period_of(day, kind) for day in check_in_days}):
        run = _extended(run, period, kind)
    return run


def run_after(run: Run, day: date, *, frequency: str) -> Run | None:
    """``run`` with a check-in on ``day`` added; None when ``day`` falls before the last counted
    period (the history must then be read again: :func:`run_of`)."""
    kind = period_kind(frequency)
    period = period_of(day, kind)
    if run.last_period is not None and period < run.last_period:
        return None
    return run if period == run.last_period else _extended(run, period, kind)


def _extended(run: Run, period: date, kind: str) -> Run:
    follows = run.last_period is not None and next_period(run.last_period, kind) == period
    length = run.length + 1 if follows else 1
    return Run(last_period=period, length=length, best=max(run.best, length))


def streaks_of(run: Run, *, frequency: str, today: date) -> Streaks:
    """The streaks shown on ``today``: the run counts while it ends in the current period or the one before."""
    if run.last_period is None:
        return Streaks()
    kind = period_kind(frequency)
    current = period_of(today, kind)
    ongoing = run.last_period == current or next_period(run.last_period, kind) == current
    return Streaks(streak=run.length if ongoing else 0, best_streak=run.best)


def streaks(check_in_days: Iterable[date], *, frequency: str, today: date) -> Streaks:
    """The streaks of a whole history on ``today`` (check-ins dated after it are not counted)."""
    return streaks_of(run_of([d for d in check_in_days if d <= today], frequency=frequency),
                      frequency=frequency, today=today)
