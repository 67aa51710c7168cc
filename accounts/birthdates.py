"""One birth-date rule for registration and profile changes."""

from __future__ import annotations

from datetime import date

from phb.zones import today_at

MIN_AGE_YEARS = 18
MAX_AGE_YEARS = 130


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def age_today(born: date | None) -> int | None:
    """Age in whole years on today's date in the hospitals' default zone (``phb.zones``); None
    without a birth date."""
    return None if born is None else age_on(born, today_at())


def birth_date_problem(born: date, *, today: date | None = None) -> str | None:
    """Why ``born`` is not an acceptable date of birth for an account holder, or None."""
    today = today or today_at()
    if born > today:
        return "Date of birth cannot be in the future."
    age = age_on(born, today)
    if age < MIN_AGE_YEARS:
        return f"You must be at least {MIN_AGE_YEARS} years old to register."
    if age > MAX_AGE_YEARS:
        return "Enter a real date of birth."
    return None
