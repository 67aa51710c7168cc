"""W13's answer: the fertility tracker page's overview of the caller's cycle with her entries.

The page (FertilityTracker.tsx) reads ``fertility_data`` as one object: ``length`` (how many
entries it shows, 0: nothing logged yet), ``cycle_day``, ``cycle_length``, ``ovulation_day``,
``fertile_window{start, end, peak}``, ``prediction_accuracy``, ``temperature_readings[]`` and
``cervical_mucus[]``. A bare list of entries has none of these, and the page stopped on the first
(``fertile_window.start`` of a list). The entries themselves are ``entries``.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date
from typing import Any

LUTEAL_DAYS = 14  # ovulation is about two weeks before the next period
FERTILE_DAYS_BEFORE = 5  # sperm survive about five days: the window opens five days before ovulation


def _day_in_cycle(entry: dict[str, Any], starts: list[date]) -> int | None:
    """The entry's own cycle day, else its day counted from the latest period start on or before it."""
    if entry.get("cycle_day"):
        return entry["cycle_day"]
    on = date.fromisoformat(entry["date"])
    found = bisect_right(starts, on)
    return (on - starts[found - 1]).days + 1 if found else None


def fertility_overview(*, entries: list[dict[str, Any]], cycle_length: int, cycle_day: int | None,
                       period_starts: list[date]) -> dict[str, Any]:
    """``entries``: the range's entries in date order; ``period_starts``: the known period starts."""
    starts = sorted(set(period_starts))
    ovulation = max(1, cycle_length - LUTEAL_DAYS)
    return {
        "length": len(entries),
        "entries": entries,
        "cycle_day": cycle_day,
        "cycle_length": cycle_length,
        "ovulation_day": ovulation,
        "fertile_window": {"start": max(1, ovulation - FERTILE_DAYS_BEFORE), "end": ovulation + 1, "peak": ovulation},
        "prediction_accuracy": None,  # no measure of it is kept; the page shows an empty ring
        "temperature_readings": [
            {"day": _day_in_cycle(e, starts), "date": e["date"], "time": e.get("temperature_time") or "",
             "temperature": e["basal_body_temperature"]}
            for e in entries if e.get("basal_body_temperature") is not None
        ],
        "cervical_mucus": [
            {"day": _day_in_cycle(e, starts), "date": e["date"], "type": e["cervical_mucus"], "notes": e.get("notes") or ""}
            for e in entries if e.get("cervical_mucus")
        ],
    }
