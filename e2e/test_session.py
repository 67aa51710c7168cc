"""Staying signed in, and signing out: the access cookie lasts 30 minutes, the refresh cookie longer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e import people
from e2e.conftest import UI

pytestmark = pytest.mark.journey


def cookie(context: BrowserContext, name: str) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == name), None)


def expect_signed_in(page: Page) -> None:
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.get_by_text("Demo Patient").first).to_be_visible()
    expect(page.get_by_role("button", name="Sign out").first).to_be_visible()


def test_the_25_minute_refresh_keeps_the_patient_signed_in(ui: UI) -> None:
    page = ui.page("patient")
    page.clock.install()  # the page's timers run on a clock the test moves
    people.sign_in(page, ui.stack, email=people.PATIENT)
    page.goto("/account")
    expect_signed_in(page)
    access_before = cookie(page.context, "access_token")
    assert access_before, "no access cookie after sign-in"

    with page.expect_response(lambda r: "/api/token/refresh/" in r.url and r.request.method == "POST") as refresh:
        page.clock.run_for("25:30")
    assert refresh.value.status == 200, refresh.value.status
    access_after = cookie(page.context, "access_token")
    assert access_after and access_after["value"] != access_before["value"], "the refresh set no new access cookie"
    page.get_by_role("link", name="Appointments").first.click()
    expect(page).to_have_url(re.compile(r"/account/appointments"))
    expect(page.get_by_role("heading", name="Your Appointments", exact=True)).to_be_visible()


def test_a_reload_after_the_access_cookie_expired_keeps_the_patient_signed_in(ui: UI) -> None:
    page = ui.page("patient")
    people.sign_in(page, ui.stack, email=people.PATIENT)
    page.goto("/account")
    expect_signed_in(page)
    # Thirty minutes later the browser has dropped the access cookie; the refresh cookie is valid.
    page.context.clear_cookies(name="access_token")
    assert cookie(page.context, "refresh_token"), "no refresh cookie after sign-in"
    page.reload()
    expect_signed_in(page)
    assert cookie(page.context, "access_token"), "the returning visit set no new access cookie"


def test_signing_out_signs_out_everywhere(ui: UI) -> None:
    page = ui.page("patient")
    people.sign_in(page, ui.stack, email=people.PATIENT)
    other_tab = page.context.new_page()
    other_tab.goto("/account")
    expect_signed_in(other_tab)
    old_refresh = cookie(page.context, "refresh_token")
    assert old_refresh

    page.goto("/account")
    page.get_by_role("button", name="Sign out").first.click()
    expect(page).not_to_have_url(re.compile(r"/account"))
    other_tab.reload()
    expect(other_tab).to_have_url(re.compile(r"/login"))

    # The refresh cookie from before sign-out no longer opens a session.
    page.context.add_cookies([old_refresh])
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_placeholder("Enter your email")).to_be_visible()
