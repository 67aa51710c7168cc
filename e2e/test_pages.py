"""Every signed-in page of the frontend, for each kind of person, loads without an API error.

A visit to each route the frontend's router gives a patient, a doctor (professional view) and a
hospital admin (organisation layout). A page fails when any of its API calls answers 4xx or 5xx,
apart from the answers the frontend asks for on purpose and handles as "no":

- ``GET /api/hospitals/admin/profile/`` answers 404 to anyone but a hospital admin: the
  organisation sign-in check runs on every page and reads a 404 as "not an organisation user";
- ``GET /api/registry/my-info/`` answers 404 to anyone without a professional registration;
  the professional context reads it as "not a professional".

``/professional/practice-page`` (and its create/edit/preview pages) is not visited: a doctor's
public practice page is outside the contract this service implements, so the page shows its own
"Error loading practice page".

The journey also fails on an uncaught page error, a CORS error or a page that shows one of the
frontend's load-failure messages. The patient verifies her women's health access first, so its
pages load her data rather than the verification prompt.
"""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from e2e import people
from e2e.conftest import UI

pytestmark = pytest.mark.journey

PATIENT_ROUTES = (
    "account", "account/personal-details", "account/contact-preferences", "account/contact-support",
    "account/password", "account/security", "account/link-phb", "account/health-goals", "account/health-records",
    "account/womens-health", "account/womens-health/daily-log", "account/womens-health/cycle-calendar",
    "account/womens-health/pregnancy/tracker", "account/womens-health/pregnancy/journey",
    "account/womens-health/fertility", "account/womens-health/goals", "account/request-prescription",
    "account/nominated-pharmacy", "account/gp-record", "account/prescriptions", "account/appointments",
    "account/appointments/book", "account/appointments/view", "account/medical-records", "account/test-results",
    "account/test-results/all", "account/test-results/recent", "account/test-results/search", "find-pharmacy",
)
DOCTOR_ROUTES = tuple(f"professional/{route}" for route in (
    "dashboard", "appointments", "prescriptions", "calculators", "guidelines", "resources", "patients", "research",
    "forum", "profile", "pharmacy-resources",
))
ADMIN_ROUTES = tuple(f"organization/{route}" for route in (
    "dashboard", "patients", "patients/new", "clinical", "lab", "radiology", "pharmacy", "billing", "appointments",
    "surgery", "reports", "staff", "user-registrations", "admissions", "settings/profile", "settings/users",
))
EXPECTED_NO = {
    ("GET", "/api/hospitals/admin/profile/", 404),
    ("GET", "/api/registry/my-info/", 404),
}
# What the frontend's pages print when a load fails (its own wording).
LOAD_FAILURE = re.compile(r"Failed to (load|fetch)|Error loading|Something went wrong|Unable to load", re.IGNORECASE)


def unexpected_answers(ui: UI, since: int) -> list[str]:
    found = []
    for status, method, url in ui.responses[since:]:
        path = url.removeprefix(ui.stack.api_url).split("?", 1)[0]
        if status >= 400 and (method, path, status) not in EXPECTED_NO:
            found.append(f"{status} {method} {path}")
    return found


def visit_all(ui: UI, page: Page, routes: tuple[str, ...]) -> None:
    failures = []
    for route in routes:
        since = len(ui.responses)
        page.goto(f"/{route}")
        with contextlib.suppress(PlaywrightTimeoutError):  # a page that keeps polling is judged on what it has loaded
            page.wait_for_load_state("networkidle", timeout=15_000)
        bad = unexpected_answers(ui, since)
        shown = page.get_by_text(LOAD_FAILURE)
        if shown.count():
            bad.append(f"shows {shown.first.inner_text()[:120]!r}")
        if bad:
            failures.append(f"/{route}: " + "; ".join(bad))
    assert not failures, "\n".join(failures)


def test_every_patient_page_loads(ui: UI) -> None:
    page = ui.page("patient")
    people.sign_in(page, ui.stack, email=people.PATIENT)
    people.verify_womens_health(page, ui.stack)
    visit_all(ui, page, PATIENT_ROUTES)


def test_every_doctor_page_loads(ui: UI) -> None:
    page = ui.page("doctor")
    people.sign_in(page, ui.stack, email=people.DOCTOR)
    people.to_professional_view(page)
    visit_all(ui, page, DOCTOR_ROUTES)


def test_every_hospital_admin_page_loads(ui: UI) -> None:
    page = ui.page("admin")
    people.sign_in_hospital_admin(page, ui.stack)
    visit_all(ui, page, ADMIN_ROUTES)
