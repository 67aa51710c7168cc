"""Fixtures of the browser suite: one backend + frontend for the session, a fresh browser
context per person, and guards that fail a journey on any 5xx, uncaught page error or CORS
error in the console. Failing journeys leave screenshots and console logs in ``e2e-artifacts/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

from e2e import people
from e2e import stack as stack_module
from e2e.stack import Stack

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("PHB_E2E_ARTIFACTS", ROOT / "e2e-artifacts"))
CHROMIUM = os.environ.get("PHB_E2E_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
INLINE_JS = (Path(__file__).parent / "paystack_inline.js").read_text()
# A returning visitor: the data storage notice answered and the pages' guided tours seen before.
RETURNING_VISITOR_JS = """try {
  const seen = {'data-storage-consent': 'accepted', phb_department_tour_completed: 'true',
    phb_add_department_tour_completed: 'true', hasSeenDashboardTour: 'true',
    hasSeenEmployeeDashboardTour: 'true', 'patient-management-tour-completed': 'true',
    'analytics-tour-completed': 'true'};
  for (const [key, value] of Object.entries(seen)) {
    if (!localStorage.getItem(key)) localStorage.setItem(key, value);
  }
} catch (e) {}"""
_CORS = re.compile(r"CORS policy|Access-Control-Allow-Origin", re.IGNORECASE)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    if os.environ.get("PHB_E2E_ATTACH"):
        yield stack_module.attach(var_dir=Path(os.environ["PHB_E2E_ATTACH"]))
        return
    var_dir = Path(tempfile.mkdtemp(prefix="phb-e2e-"))
    running, web = stack_module.start(var_dir=var_dir)
    try:
        yield running
    finally:
        web.shutdown()
        running.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(running.log_path, ARTIFACTS / "backend.log")
        shutil.rmtree(var_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


class UI:
    """Browser contexts for the people in one journey, and what went wrong in any of them."""

    def __init__(self, *, browser: Browser, stack: Stack) -> None:
        self.browser = browser
        self.stack = stack
        self.contexts: list[BrowserContext] = []
        self.pages: dict[str, Page] = {}
        self.problems: list[str] = []
        self.console: list[str] = []
        self.responses: list[tuple[int, str, str]] = []  # (status, method, URL) of every API answer
        self.checkouts: dict[str, str] = {}  # payment reference -> the stand-in's checkout URL

    # --- set-up -----------------------------------------------------------------------------
    def context(self, *, returning_visitor: bool = True) -> BrowserContext:
        """A browser; a returning visitor has answered the data storage notice before."""
        context = self.browser.new_context(base_url=self.stack.web_url, viewport={"width": 1366, "height": 900},
                                           locale="en-GB", timezone_id=people.BROWSER_TIME_ZONE)
        context.set_default_timeout(15_000)
        context.set_default_navigation_timeout(45_000)
        # Routes registered later take precedence: outside hosts are cut off (offline, as in CI),
        # except Paystack's inline script, which is replaced by the stand-in.
        context.route(re.compile(r"^https?://(?!localhost[:/]|127\.0\.0\.1[:/]).*"), lambda route: route.abort())
        context.route("https://js.paystack.co/**", lambda route: route.fulfill(
            status=200, content_type="application/javascript", body=INLINE_JS))
        context.route("**/api/payments/initialize/", self._capture_checkout)
        context.route("**/__paystack_standin/**", self._standin_route)
        context.on("page", self._watch)
        if returning_visitor:
            context.add_init_script(RETURNING_VISITOR_JS)
        self.contexts.append(context)
        return context

    def page(self, name: str, context: BrowserContext | None = None, *, returning_visitor: bool = True) -> Page:
        page = (context or self.context(returning_visitor=returning_visitor)).new_page()
        self.pages[name] = page
        return page

    def _watch(self, page: Page) -> None:
        def on_console(message) -> None:  # noqa: ANN001
            line = f"[{message.type}] {message.text}"
            self.console.append(line)
            if message.type == "error" and _CORS.search(message.text):
                self.problems.append(f"CORS error in the console: {message.text[:300]}")

        def on_response(response) -> None:  # noqa: ANN001
            if response.url.startswith(self.stack.api_url):
                self.responses.append((response.status, response.request.method, response.url))
            if response.status >= 400:
                self.console.append(f"[http] {response.status} {response.request.method} {response.url}")
            if response.status >= 500:
                self.problems.append(f"{response.status} from {response.request.method} {response.url}")

        page.on("console", on_console)
        page.on("dialog", lambda dialog: (self.console.append(f"[dialog] {dialog.message}"), dialog.accept()))
        page.on("pageerror", lambda error: self.problems.append(f"uncaught page error: {error}"))
        page.on("response", on_response)

    # --- the Paystack stand-in ---------------------------------------------------------------
    def _capture_checkout(self, route: Route) -> None:
        response = route.fetch()
        try:
            body = response.json()
        except Exception:  # noqa: BLE001
            body = {}
        data = body.get("data") if isinstance(body.get("data"), dict) else body
        reference = data.get("reference") or body.get("reference")
        url = data.get("payment_url") or data.get("authorization_url") or body.get("payment_url")
        if reference and url:
            self.checkouts[str(reference)] = str(url)
        route.fulfill(response=response)

    def _standin_route(self, route: Route) -> None:
        kind, _, reference = route.request.url.split("/__paystack_standin/", 1)[1].partition("/")
        reference = urllib.request.unquote(reference)
        if kind == "checkout":
            url = self.checkouts.get(reference)
            if url is None:
                route.fulfill(status=404, body=f"no checkout for {reference}")
            else:
                route.fulfill(status=302, headers={"Location": url})
            return
        try:
            tx = self.stack.standin(f"/_standin/transactions/{reference}")
        except OSError:
            tx = {"status": "unknown"}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(tx))

    # --- checks ----------------------------------------------------------------------------
    def answers(self, path: str, method: str = "GET") -> list[int]:
        """Statuses the API gave to ``method`` requests whose path contains ``path``."""
        return [status for status, verb, url in self.responses if verb == method and path in url]

    def wait_for_alert(self, page: Page, text: str, *, timeout_ms: int = 15_000) -> str:
        """Wait until the page has shown (and the suite has answered) an alert containing ``text``.

        A page that alerts after a request must not be navigated away from before its alert is
        answered: a navigation started under an open alert can wait for it until the timeout.
        """
        waited = 0
        while waited <= timeout_ms:
            shown = [line for line in self.console if line.startswith("[dialog] ") and text in line]
            if shown:
                return shown[-1]
            page.wait_for_timeout(100)  # lets Playwright dispatch the dialog event to its handler
            waited += 100
        raise AssertionError(f"no alert containing {text!r} within {timeout_ms} ms")

    def assert_clean(self) -> None:
        assert not self.problems, "the browser saw:\n" + "\n".join(self.problems)

    def save_artifacts(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        for person, page in self.pages.items():
            for index, open_page in enumerate([page, *[p for p in page.context.pages if p is not page]]):
                if open_page.is_closed():
                    continue
                try:
                    open_page.screenshot(path=str(ARTIFACTS / f"{safe}-{person}-{index}.png"), full_page=True,
                                         timeout=10_000)
                except Exception as error:  # noqa: BLE001
                    self.console.append(f"[suite] no screenshot of {person}: {error}")
        (ARTIFACTS / f"{safe}-console.txt").write_text("\n".join(self.console + ["", *self.problems]))

    def close(self) -> None:
        for context in self.contexts:
            with contextlib.suppress(Exception):
                context.close()


@pytest.fixture
def ui(request: pytest.FixtureRequest, browser: Browser, stack: Stack) -> Iterator[UI]:
    session = UI(browser=browser, stack=stack)
    yield session
    report = getattr(request.node, "rep_call", None)
    if report is None or report.outcome != "passed" or hasattr(report, "wasxfail"):
        session.save_artifacts(request.node.name)
    session.close()


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function):  # noqa: ANN201
    result = yield
    session = pyfuncitem.funcargs.get("ui")
    if isinstance(session, UI):
        session.assert_clean()
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report
