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

    # Log a day: cramps, on the date the form shows. The form starts at the UTC date, which in
    # Lagos's first hour of a day is still yesterday (docs/tracking.md); it is stored as shown.
    shown = datetime.date.fromisoformat(page.locator('input[type="date"]').input_value())
    page.get_by_text("Cramps", exact=True).click()
    with page.expect_response(lambda r: "/api/womens-health/logs/" in r.url and r.request.method == "POST") as saved:
        page.get_by_role("button", name="Save Daily Log").click()
    assert saved.value.status in (200, 201), saved.value.status
    assert saved.value.request.post_data_json["date"] == shown.isoformat()

    today = people.browser_now().date()  # the page's today, not this machine's
    assert shown in (today, today - datetime.timedelta(days=1)), (shown, today)
    page.goto("/account/womens-health/cycle-calendar")
    expect(page.get_by_text("Cycle Statistics")).to_be_visible()
    if shown.month != today.month:  # the calendar opens on today's month
        page.get_by_role("heading", name=f"{today:%B %Y}").locator("xpath=preceding::button[1]").click()
        expect(page.get_by_role("heading", name=f"{shown:%B %Y}")).to_be_visible()
    day_cell(page, shown.day).click()
    expect(page.get_by_text(f"{shown:%A, %B} {shown.day}, {shown.year}")).to_be_visible()
    expect(page.get_by_text("Logged Symptoms")).to_be_visible()
    expect(page.locator("main").get_by_text("Cramps", exact=True)).to_be_visible()

    # Her period started that day.
    with page.expect_response(lambda r: "/api/womens-health/" in r.url and r.request.method == "POST") as period:
        page.get_by_role("button", name="Mark Period Start").click()
    assert period.value.status in (200, 201), period.value.status
    expect(page.get_by_text("Failed to Load Calendar")).to_have_count(0)

    # An ovulation day ten days ahead: a prediction, and the calendar keeps working.
    ahead = shown + datetime.timedelta(days=10)
    if ahead.month != shown.month:
        ahead = shown.replace(day=28) if shown.day < 28 else shown
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


def test_patient_checks_in_on_a_goal_and_sees_her_streak_and_note(ui: UI) -> None:
    page = ui.page("patient")
    people.sign_in(page, ui.stack, email=people.PATIENT)
    people.verify_womens_health(page, ui.stack)

    page.goto("/account/womens-health/goals")
    add = page.get_by_role("button", name="+ Add New Goal").or_(page.get_by_role("button", name="Create Your First Goal"))
    add.first.click()
    page.get_by_role("button", name="Meditation Minutes").click()
    with page.expect_response(lambda r: r.url.endswith("/api/womens-health/goals/")
                              and r.request.method == "POST") as created:
        page.get_by_role("button", name="Add Goal ✨").click()
    assert created.value.status == 201, created.value.text()[:300]
    goal_id = created.value.json()["goal"]["id"]

    # The full update: a check-in with a note; the page reloads its goals and shows both.
    card = page.locator("div.rounded-2xl.shadow-sm").filter(
        has=page.get_by_role("heading", name="Meditation Minutes", exact=True)).first  # the newest goal comes first
    card.get_by_role("button", name="Full Update").click()
    page.get_by_placeholder("How are you feeling about this goal?").fill("Calmer this week")
    with page.expect_response(lambda r: f"/api/womens-health/goals/{goal_id}/" in r.url
                              and r.request.method == "PUT") as updated:
        page.get_by_role("button", name="Update Goal ✨").click()
    assert updated.value.status == 200, updated.value.text()[:300]
    assert updated.value.json()["goal"]["streak"] == 1

    for _ in range(2):  # as updated, and as read again
        expect(card.get_by_text("day streak")).to_be_visible()
        expect(card.get_by_text("🏆 Best: 1")).to_be_visible()
        expect(card.get_by_text('"Calmer this week"')).to_be_visible()
        page.reload()
