"""A patient's women's health journey: verify, log a day, mark a period and a future ovulation
day, and the pregnancy tracker while she is not pregnant."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import Page, expect

from e2e import people
from e2e.conftest import UI

pytestmark = pytest.mark.journey


def day_cell(page: Page, day: int):  # noqa: ANN201
    """A day of the shown month (the grid also shows a few days of the months around it)."""
    cells = page.locator("main").get_by_text(str(day), exact=True)
    return cells.first if day <= 14 else cells.last


def test_patient_tracks_her_cycle(ui: UI) -> None:
    page = ui.page("patient")
    people.sign_in(page, ui.stack, email=people.PATIENT)

    # Women's health data opens only after a second, emailed code.
    people.verify_womens_health(page, ui.stack)

    # Log today: cramps.
    page.get_by_text("Cramps", exact=True).click()
    with page.expect_response(lambda r: "/api/womens-health/logs/" in r.url and r.request.method == "POST") as saved:
        page.get_by_role("button", name="Save Daily Log").click()
    assert saved.value.status in (200, 201), saved.value.status

    today = people.browser_now().date()  # the page's today, not this machine's
    page.goto("/account/womens-health/cycle-calendar")
    expect(page.get_by_text("Cycle Statistics")).to_be_visible()
    day_cell(page, today.day).click()
    expect(page.get_by_text(f"{today:%A, %B} {today.day}, {today.year}")).to_be_visible()
    expect(page.get_by_text("Logged Symptoms")).to_be_visible()
    expect(page.locator("main").get_by_text("Cramps", exact=True)).to_be_visible()

    # Her period started today.
    with page.expect_response(lambda r: "/api/womens-health/" in r.url and r.request.method == "POST") as period:
        page.get_by_role("button", name="Mark Period Start").click()
    assert period.value.status in (200, 201), period.value.status
    expect(page.get_by_text("Failed to Load Calendar")).to_have_count(0)

    # An ovulation day ten days ahead: a prediction, and the calendar keeps working.
    ahead = today + datetime.timedelta(days=10)
    if ahead.month != today.month:
        ahead = today.replace(day=28) if today.day < 28 else today
    day_cell(page, ahead.day).click()
    with page.expect_response(lambda r: "/api/womens-health/fertility/" in r.url
                              and r.request.method == "POST") as ovulation:
        page.get_by_role("button", name="Mark Ovulation").click()
    assert ovulation.value.status in (200, 201), (ovulation.value.status, ovulation.value.text()[:300])
    expect(page.get_by_text("Failed to Load Calendar")).to_have_count(0)
    page.reload()
    expect(page.get_by_text("Cycle Statistics")).to_be_visible()
    expect(page.get_by_text("Failed to Load Calendar")).to_have_count(0)

    # The pregnancy tracker, while her profile is not pregnant: a reason, never a bare 400.
    page.goto("/account/womens-health/pregnancy/tracker")
    expect(page.get_by_role("heading", name="Pregnancy Tracker")).to_be_visible()
    page.get_by_text("Morning Sickness", exact=True).click()
    with page.expect_response(lambda r: "/api/womens-health/pregnancy" in r.url
                              and r.request.method == "POST") as tracked:
        page.get_by_role("button", name="Save Today's Tracking").click()
    assert tracked.value.status != 400, tracked.value.text()[:300]
    if tracked.value.status >= 400:
        assert "pregnan" in tracked.value.json().get("message", "").lower(), tracked.value.text()[:300]
    expect(page.get_by_role("heading", name="Pregnancy Tracker")).to_be_visible()
