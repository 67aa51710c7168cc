"""DynamoDB hanging or refusing under the live API: writes are accepted into the outbox within the
client timeouts, other users are not held up, reads answer 503 fast, and once DynamoDB is back the
next read delivers every queued write exactly once, with no command run."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import httpx
import pytest
from django.conf import settings as django_settings

from phb.aws.clients import reset_clients
from phb.localaws import free_port
from tests.factories import make_patient
from tests.faults.conftest import hanging_endpoint
from tests.payments.conftest import api_client
from tests.tracking.conftest import mark_verified
from tracking.models import OutboxState, TrackingOutbox

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

WH = "/api/womens-health"
CONNECT, READ, BREAKER = 0.5, 1.0, 1.0
# One attempt: connect + read timeout, plus the request's own work on a busy machine.
BOUND = CONNECT + READ + 1.5


@contextmanager
def aws_at(settings, endpoint: str):
    """Every AWS client of the live server talks to ``endpoint`` until the block ends."""
    original = django_settings.AWS_ENDPOINT_URL
    settings.AWS_CONNECT_TIMEOUT, settings.AWS_READ_TIMEOUT, settings.AWS_MAX_ATTEMPTS = CONNECT, READ, 1
    settings.TRACKING_BREAKER_SECONDS = BREAKER
    settings.AWS_ENDPOINT_URL = endpoint
    reset_clients()
    try:
        yield
    finally:
        settings.AWS_ENDPOINT_URL = original
        reset_clients()


def timed(call) -> tuple[httpx.Response, float]:
    began = time.monotonic()
    response = call()
    return response, time.monotonic() - began


def kick(day: int, kicks: int) -> dict:
    return {"date": f"2025-06-{day:02d}T08:00:00Z", "kicks": kicks, "duration": 300}


def _recovered_kicks(http: httpx.Client) -> list[dict]:
    """Reads after the breaker's pause: the first one delivers the queue (catch-up), by itself."""
    deadline = time.monotonic() + 10 * BREAKER
    while True:
        response = http.get(f"{WH}/kick-sessions/", params={"limit": 50})
        if response.status_code == 200 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            return response.json()["kick_sessions"]
        time.sleep(BREAKER / 4)


@pytest.mark.parametrize("fault", ["hanging", "refusing"])
def test_dynamodb_fault_queues_writes_fast_and_recovers_by_itself(api_server, settings, fault):
    mother = mark_verified(make_patient())
    neighbour = make_patient()
    http, other = api_client(api_server, mother), api_client(api_server, neighbour)
    assert http.post(f"{WH}/kick-sessions/", json=kick(1, 5)).status_code == 201  # DynamoDB up

    with hanging_endpoint() if fault == "hanging" else _refusing() as endpoint, aws_at(settings, endpoint):
        outcome: dict = {}

        def first_write() -> None:
            outcome["write"] = timed(lambda: http.post(f"{WH}/kick-sessions/", json=kick(2, 7)))

        writer = threading.Thread(target=first_write)
        writer.start()
        time.sleep(0.2)
        # Another user's PostgreSQL write while that request waits on DynamoDB.
        profile, profile_took = timed(lambda: other.patch("/api/profile/", json={"city": "Ibadan"}))
        writer.join(timeout=30)
        response, took = outcome["write"]
        assert response.status_code == 202, response.text
        assert response.json()["queued"] is True and took < BOUND, took
        queued_id = response.json()["kick_session"]["id"]
        assert profile.status_code == 200, profile.text
        if not api_server.shared_connection:
            # On the in-memory SQLite test database the live server runs one request at a time
            # (tests/payments/conftest.py), so only PostgreSQL can show the neighbour not waiting.
            assert profile_took < 1.0, profile_took

        # The breaker is open: the next write and read do not wait on DynamoDB at all.
        second, second_took = timed(lambda: http.post(f"{WH}/kick-sessions/", json=kick(3, 9)))
        assert second.status_code == 202 and second_took < 1.0, second_took
        read, read_took = timed(lambda: http.get(f"{WH}/kick-sessions/"))
        assert read.status_code == 503 and read.json()["message"] and read.headers["Retry-After"]
        assert read_took < BOUND, read_took
        assert TrackingOutbox.objects.filter(user=mother, state=OutboxState.PENDING).count() == 2

    time.sleep(BREAKER)
    kicks = _recovered_kicks(http)
    assert sorted(k["kicks"] for k in kicks) == [5, 7, 9], "nothing lost, nothing twice"
    assert queued_id in {k["id"] for k in kicks}
    assert not TrackingOutbox.objects.filter(user=mother, state=OutboxState.PENDING).exists()
    again = _recovered_kicks(http)
    assert sorted(k["kicks"] for k in again) == [5, 7, 9]


@contextmanager
def _refusing():
    yield f"http://127.0.0.1:{free_port()}"
