"""Payments tests run over real HTTP: the API in a live server thread, Paystack as the local
stand-in subprocess (``payments.standin``) that the adapter reaches through ``PAYSTACK_BASE_URL``.

On PostgreSQL the live server is fully threaded, so the concurrency tests race for real. The
in-memory SQLite test database is one connection shared by every server thread (Django's live
server design), which cannot run two transactions at once; there the server handles one request
at a time and the same tests check the idempotency and dedupe paths instead of lock contention.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connections
from django.test.testcases import LiveServerThread, _StaticFilesHandler
from django.utils import timezone

from accounts.cookies import issue_tokens
from payments.gateway import sign
from payments.standin import start_standin_process
from phb.localaws import free_port
from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_patient

SECRET = settings.PAYSTACK_SECRET_KEY


class _OneAtATimeWSGIServer(ThreadedWSGIServer):
    """Threaded connections, but one request inside Django at a time (not one connection)."""

    _request_lock = threading.Lock()

    def set_app(self, application):
        lock = self._request_lock

        def one_at_a_time(environ, start_response):
            with lock:
                return application(environ, start_response)

        super().set_app(one_at_a_time)


class _ApiServerThread(LiveServerThread):
    def __init__(self, *args, serialize: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if serialize:
            self.server_class = _OneAtATimeWSGIServer


class ApiServer:
    def __init__(self) -> None:
        override = {
            conn.alias: conn for conn in connections.all() if conn.vendor == "sqlite" and conn.is_in_memory_db()
        }
        self.shared_connection = bool(override)
        self.thread = _ApiServerThread("127.0.0.1", _StaticFilesHandler, connections_override=override,
                                     serialize=self.shared_connection)
        self.thread.daemon = True
        for conn in override.values():
            conn.inc_thread_sharing()
        self.thread.start()
        self.thread.is_ready.wait()
        if self.thread.error:
            raise self.thread.error
        self.url = f"http://127.0.0.1:{self.thread.port}"

    def stop(self) -> None:
        self.thread.terminate()
        for conn in self.thread.connections_override.values():
            conn.dec_thread_sharing()


@pytest.fixture(scope="session")
def api_server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        server = ApiServer()
    yield server
    server.stop()


class Standin:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)

    def calls(self) -> dict[str, int]:
        return self.http.get("/_standin/stats").json()["calls"]

    def deliveries(self) -> list[dict]:
        return self.http.get("/_standin/stats").json()["deliveries"]

    def transaction(self, reference: str) -> dict:
        return self.http.get(f"/_standin/transactions/{reference}").json()

    def fault(self, operation: str, *, status: int = 0, count: int = 1, delay: float = 0) -> None:
        self.http.post("/_standin/faults", json={"operation": operation, "status": status, "count": count,
                                                  "delay": delay})

    def redeliver(self, reference: str) -> int:
        return self.http.post(f"/_standin/transactions/{reference}/webhook").json()["delivered_status"]

    def drain(self, timeout: float = 15.0) -> None:
        """Cancel the deliveries still to come and wait for those already sending, so that none
        reaches the API after its test ended."""
        self.http.post("/_standin/reset")
        deadline = time.monotonic() + timeout
        while self.http.get("/_standin/stats").json()["pending"]:
            assert time.monotonic() < deadline, "the stand-in still has deliveries in flight"
            time.sleep(0.05)

    def pay(self, payment_url: str, *, outcome: str = "success", amount: int | None = None,
            currency: str | None = None, webhook: str = "none") -> dict:
        """Submit the test checkout page (as the patient's browser would)."""
        form = {"outcome": outcome, "webhook": webhook}
        if amount is not None:
            form["amount"] = str(amount)
        if currency is not None:
            form["currency"] = currency
        response = self.http.post(payment_url, data=form, headers={"Accept": "application/json"})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="session")
def standin_process():
    process, url = start_standin_process(port=free_port(), secret_key=SECRET, webhook_url="")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def standin(standin_process, api_server, settings, transactional_db):
    """A reset stand-in whose webhooks reach the API server, and the API pointed at the stand-in."""
    settings.PAYSTACK_BASE_URL = standin_process
    settings.PAYMENTS_ENABLED = True
    client = Standin(standin_process)
    client.http.post("/_standin/reset")
    client.http.post("/_standin/config", json={"webhook_url": f"{api_server.url}/api/payments/webhook/",
                                               "refund_webhook_delay": 0.2, "refund_outcome": "processed"})
    yield client
    client.drain()
    client.http.close()


def api_client(api_server: ApiServer, user=None) -> httpx.Client:
    client = httpx.Client(base_url=api_server.url, timeout=60,
                          headers={"Accept": "application/json", "Connection": "close"})
    if user is not None:
        client.cookies.set(settings.AUTH_COOKIE_ACCESS, str(issue_tokens(user=user).access_token))
    return client


@pytest.fixture
def clinic(standin):
    """A hospital with a general and a specialist department, a registered patient and a doctor."""
    hospital = HospitalFactory(time_zone="Africa/Lagos")
    general = DepartmentFactory(hospital=hospital, name="General Medicine")
    cardiology = DepartmentFactory(hospital=hospital, name="Cardiology")
    patient = make_patient(hospital=hospital)
    doctor = make_doctor(department=general)
    return {"hospital": hospital, "general": general, "cardiology": cardiology, "patient": patient, "doctor": doctor}


def slot_start(days: int = 3, hour: int = 10, minute: int = 0) -> str:
    """A future slot on the hospital's wall clock, written as the booking page does (labelled Z)."""
    day = (timezone.now().astimezone(ZoneInfo("Africa/Lagos")) + timedelta(days=days)).date()
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00Z"


def booking_body(department, *, when: str | None = None, **overrides) -> dict:
    body = {
        "amount": 2000,
        "payment_method": "card",
        "payment_provider": "paystack",
        "department_id": department.pk,
        "hospital_id": department.hospital_id,
        "appointment_date": when or slot_start(),
        "appointment_type": "consultation",
        "priority": "normal",
        "chief_complaint": "Persistent cough",
        "symptoms_data": [{"body_part_id": "chest", "body_part_name": "Chest", "symptom_name": "Cough",
                           "description": "Two weeks"}],
        "medical_history": "",
        "allergies": "",
        "current_medications": "",
        "duration": 30,
        "is_insurance_based": False,
        "insurance_details": {},
    }
    body.update(overrides)
    return body


def signed_post(api_server: ApiServer, payload: bytes, *, signature: str | None = "sign") -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["x-paystack-signature"] = sign(payload, SECRET)
    elif signature is not None:
        headers["x-paystack-signature"] = signature
    headers["Connection"] = "close"
    return httpx.post(f"{api_server.url}/api/payments/webhook/", content=payload, headers=headers, timeout=60)


def initialize(http: httpx.Client, department, *, statuses: tuple[int, ...] = (200,), **overrides) -> dict:
    """Y2 with ``booking_body(department, **overrides)``, answered with one of ``statuses``."""
    response = http.post("/api/payments/initialize/", json=booking_body(department, **overrides))
    assert response.status_code in statuses, response.text
    return response.json()


def history_status(http: httpx.Client, reference: str, status: str, timeout: float = 10.0) -> dict:
    """The payment's history item once it has ``status`` (polled: refunds settle through webhooks)."""
    deadline = time.monotonic() + timeout
    while True:
        items = {p["reference"]: p for p in http.get("/api/payments/history/").json()["payments"]}
        if items[reference]["status"] == status or time.monotonic() > deadline:
            assert items[reference]["status"] == status, items[reference]
            return items[reference]
        time.sleep(0.05)


def paid_appointment(api_server: ApiServer, standin: Standin, department, patient, when: str) -> tuple[dict, str]:
    """A booking paid through the stand-in's checkout and verified: Y2's answer and the appointment's id."""
    http = api_client(api_server, patient)
    started = initialize(http, department, when=when)
    standin.pay(started["payment_url"], webhook="sync")
    body = http.get(f"/api/payments/verify/{started['reference']}/").json()
    assert body["status"] == "completed", body
    return started, body["appointment_id"]

def slot_within_a_day() -> str:
    """The first bookable slot between 1 and 23 hours from now (Lagos wall clock)."""
    zone = ZoneInfo("Africa/Lagos")
    now = timezone.now().astimezone(zone)
    for day in range(3):
        date = (now + timedelta(days=day)).date()
        for minutes in range(9 * 60, 17 * 60, 30):
            start = datetime.combine(date, datetime.min.time(), tzinfo=zone) + timedelta(minutes=minutes)
            if timedelta(hours=1) < start - now < timedelta(hours=23):
                return start.strftime("%Y-%m-%dT%H:%M:00Z")
    raise AssertionError("no slot in the next day")
