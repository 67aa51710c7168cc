"""Pregnancy arithmetic from a due date (Naegele: the due date is 280 days after the last period)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

TERM_DAYS = 280
MAX_WEEK = 42

# Routine antenatal checks by gestational week (first week, last week, name).
SCREENINGS: list[tuple[int, int, str]] = [
    (8, 12, "Booking appointment and blood tests"),
    (10, 14, "Dating scan"),
    (11, 14, "Combined screening test"),
    (16, 16, "Antenatal check-up"),
    (18, 21, "Anomaly scan"),
    (24, 28, "Glucose tolerance test"),
    (25, 25, "Antenatal check-up"),
    (28, 28, "Antenatal check-up and anti-D if needed"),
    (31, 31, "Antenatal check-up"),
    (34, 34, "Antenatal check-up"),
    (36, 36, "Birth position check"),
    (38, 38, "Antenatal check-up"),
    (40, 40, "Antenatal check-up"),
    (41, 41, "Discussion about induction"),
]


@dataclass(frozen=True)
class Progress:
    due_date: date
    gestational_days: int
    week: int
    day: int
    trimester: int
    days_until_due: int

    def as_dict(self) -> dict:
        return {
            "due_date": self.due_date.isoformat(),
            "pregnancy_week": self.week,
            "pregnancy_day": self.day,
            "gestational_days": self.gestational_days,
            "trimester": self.trimester,
            "days_until_due": self.days_until_due,
            "conception_date": (self.due_date - timedelta(days=TERM_DAYS - 14)).isoformat(),
            "last_menstrual_period": (self.due_date - timedelta(days=TERM_DAYS)).isoformat(),
        }


def progress(*, due_date: date, today: date) -> Progress:
    """Completed weeks of pregnancy on ``today`` (0 to 42; the frontend shows this number)."""
    days_until = (due_date - today).days
    gestational = max(0, min(MAX_WEEK * 7, TERM_DAYS - days_until))
    week = gestational // 7
    trimester = 1 if week < 14 else 2 if week < 28 else 3
    return Progress(due_date=due_date, gestational_days=gestational, week=week, day=gestational % 7,
                    trimester=trimester, days_until_due=days_until)


def upcoming_screenings(*, due_date: date, today: date, limit: int = 3) -> list[dict]:
    current = progress(due_date=due_date, today=today)
    lmp = due_date - timedelta(days=TERM_DAYS)
    out = []
    for first, last, name in SCREENINGS:
        if last < current.week:
            continue
        out.append({
            "name": name,
            "week_from": first,
            "week_to": last,
            "date_from": (lmp + timedelta(weeks=first)).isoformat(),
            "date_to": (lmp + timedelta(weeks=last, days=6)).isoformat(),
        })
        if len(out) >= limit:
            break
    return out
