"""How the people of the demo hospital sign in, as they would in the browser."""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from e2e.stack import DEMO_PASSWORD, Stack

PATIENT = "patient@phb.test"
DOCTOR = "doctor@phb.test"
ADMIN = "admin@phb.test"
HOSPITAL_CODE = "PHBDEMO"
HOSPITAL_NAME = "PHB Demo General Hospital"
# The browsers' clock zone (the demo hospital's): "today" on a page is a date in this zone.
BROWSER_TIME_ZONE = "Africa/Lagos"


def browser_now() -> datetime.datetime:
    return datetime.datetime.now(ZoneInfo(BROWSER_TIME_ZONE))


def type_code(page: Page, code: str) -> None:
    """The six one-digit boxes of the login code."""
    boxes = page.locator('input[autocomplete="one-time-code"]')
    expect(boxes).to_have_count(6)
    for index, digit in enumerate(code):
        boxes.nth(index).fill(digit)


def sign_in(page: Page, stack: Stack, *, email: str, password: str = DEMO_PASSWORD) -> None:
    """Patient and doctor sign-in at /login: password, then the emailed code."""
    page.goto("/login")
    page.get_by_placeholder("Enter your email").fill(email)
    page.get_by_placeholder("Enter your password").fill(password)
    mark = stack.mailbox.mark()
    page.get_by_role("button", name=re.compile(r"^Sign in$")).click()
    expect(page.get_by_text("enter the 6-digit code sent to your email")).to_be_visible()
    type_code(page, stack.mailbox.wait_for_code(email, since=mark))  # the sixth digit submits the form
    expect(page).not_to_have_url(re.compile(r"/login"), timeout=20_000)


def sign_in_hospital_admin(page: Page, stack: Stack, *, email: str = ADMIN, code: str = HOSPITAL_CODE) -> None:
    page.goto("/organization/login")
    page.locator("#organization-email").fill(email)
    page.locator("#hospital-code").fill(code)
    page.locator("#organization-password").fill(DEMO_PASSWORD)
    mark = stack.mailbox.mark()
    page.locator("form button[type=submit]").click()
    page.get_by_placeholder("Enter verification code").fill(stack.mailbox.wait_for_code(email, since=mark))
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/organization/dashboard"), timeout=20_000)


def verify_womens_health(page: Page, stack: Stack, *, email: str = PATIENT) -> None:
    """Women's health data opens only after a second, emailed code; ends on the daily log."""
    page.goto("/account/womens-health/daily-log")
    prompt = page.get_by_text("Secure Your Women's Health Data")
    heading = page.get_by_role("heading", name="Daily Health Log")
    expect(prompt.or_(heading)).to_be_visible()
    if prompt.is_visible():  # verified once per account; a rerun on the same stack skips it
        mark = stack.mailbox.mark()
        page.get_by_role("button", name="VERIFY MY IDENTITY").click()
        page.get_by_placeholder("Enter 6-digit code").fill(stack.mailbox.wait_for_code(email, since=mark))
        page.get_by_role("button", name="VERIFY CODE").click()
    expect(heading).to_be_visible()


def accept_storage_notice(page: Page) -> None:
    """The first-visit data storage notice covers the page header until it is answered."""
    button = page.get_by_role("button", name="Accept").filter(visible=True).first
    button.wait_for(state="visible", timeout=10_000)
    button.click()
    expect(page.get_by_text("Data Storage Notice")).to_have_count(0)


def next_weekday(days_ahead: int) -> datetime.date:
    day = browser_now().date() + datetime.timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


def choose_slot(page: Page, *, symptoms: list[tuple[str, str]], day: datetime.date, slot: str) -> None:
    """The booking page up to Review: body parts and symptoms, a date and a time slot."""
    page.goto("/account/appointments/book")
    for part, symptom in symptoms:
        page.locator(f'[data-body-part="{part}"]').first.click()
        page.get_by_role("button", name=symptom, exact=True).click()
    page.get_by_role("button", name="Continue").click()
    page.locator('input[type="date"]').fill(day.isoformat())
    page.get_by_text(slot, exact=True).click()
    page.get_by_role("button", name="Review").click()
    for _part, symptom in symptoms:
        expect(page.get_by_text(re.compile(rf" - {re.escape(symptom)}$")).first).to_be_visible()


def pay_in_checkout(page: Page) -> Page:
    """Pay the amount the payment modal shows in the Paystack stand-in's window; returns that window."""
    modal = page.locator("div.fixed.inset-0", has=page.get_by_role("heading", name="Complete Payment"))
    pay = modal.get_by_role("button", name=re.compile(r"^Pay ₦[0-9,]+$"))
    expect(pay).to_be_enabled()
    amount = pay.inner_text().strip().removeprefix("Pay ₦")
    with page.expect_popup() as popup_info:
        pay.click()
    checkout = popup_info.value
    expect(checkout.get_by_text("Paystack stand-in: test checkout")).to_be_visible()
    checkout.get_by_role("button", name=f"Pay NGN {amount}.00").click()
    checkout.wait_for_url(re.compile(r"reference="))
    return checkout


def doctor_in(stack: Stack, department: str) -> str | None:
    """The e-mail of a demo doctor who works in ``department`` of the demo hospital, if any."""
    found = stack.query(
        "from hospitals.models import StaffMember\n"
        f"s = StaffMember.objects.filter(hospital__code='PHBDEMO', department__name={department!r}, user__role='doctor')"
        ".order_by('user__email').first()\n"
        "print('DOCTOR=' + (s.user.email if s else ''))")
    email = found.rpartition("DOCTOR=")[2].strip()
    return email or None


def to_professional_view(page: Page) -> None:
    """Doctors and pharmacists reach /professional/dashboard through the view toggle in the header
    (shown to anyone ``/api/registry/my-info/`` answers)."""
    page.goto("/account")
    page.locator("button", has=page.locator("span.sr-only", has_text="Patient View")).click()
    expect(page).to_have_url(re.compile(r"/professional/dashboard"))


def book_and_pay(page: Page, *, symptoms: list[tuple[str, str]], day: datetime.date, slot: str) -> None:
    choose_slot(page, symptoms=symptoms, day=day, slot=slot)
    page.get_by_role("button", name="Proceed to Payment").click()
    pay_in_checkout(page).close()
    expect(page.get_by_text("Payment Successful!")).to_be_visible(timeout=20_000)
