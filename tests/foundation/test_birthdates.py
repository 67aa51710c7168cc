"""Ages: one rule (``accounts.birthdates``) for registration, staff lists, prescriptions and admissions."""

from __future__ import annotations

from datetime import date

from accounts.birthdates import age_on, age_today, birth_date_problem
from phb.zones import today_at


def test_an_age_counts_whole_years_up_to_the_birthday():
    assert age_on(date(2000, 5, 1), date(2018, 4, 30)) == 17
    assert age_on(date(2000, 5, 1), date(2018, 5, 1)) == 18
    assert age_on(date(2000, 5, 1), date(2000, 5, 1)) == 0


def test_someone_born_on_29_february_turns_a_year_older_on_1_march_in_common_years():
    assert age_on(date(2004, 2, 29), date(2022, 2, 28)) == 17
    assert age_on(date(2004, 2, 29), date(2022, 3, 1)) == 18
    assert age_on(date(2004, 2, 29), date(2024, 2, 29)) == 20
    assert birth_date_problem(date(2004, 2, 29), today=date(2022, 2, 28)) is not None  # 17: too young
    assert birth_date_problem(date(2004, 2, 29), today=date(2022, 3, 1)) is None


def test_age_today_is_the_age_on_the_hospitals_date():
    assert age_today(None) is None
    today = today_at()
    for born in (date(1990, 1, 1), date(1988, 2, 29), date(today.year - 40, today.month, min(today.day, 28))):
        assert age_today(born) == age_on(born, today_at())
    assert age_today(date(today.year - 40, today.month, min(today.day, 28))) == 40
