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


def streaks(check_in_days: Iterable[date], *, frequency: str, today: date) -> Streaks:
    kind = period_kind(frequency)
    current = period_of(today, kind)
    periods = sorted({period_of(day, kind) for day in check_in_days if day <= today})
    if not periods:
        return Streaks()
    best = run = 0
    previous = None
    for period in periods:
        run = run + 1 if previous is not None and next_period(previous, kind) == period else 1
        best = max(best, run)
        previous = period
    last = periods[-1]
    ongoing = last == current or next_period(last, kind) == current
    return Streaks(streak=run if ongoing else 0, best_streak=best)
