"""PostgreSQL connections killed under load (``pg_terminate_backend`` on the live server's
connections, as a failover or a restart does): no request hangs, every failure is a JSON 503 the
client may retry, every write answered 201 is stored exactly once, and the service opens new
connections by itself."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection

from tests.factories import make_patient
from tests.payments.conftest import api_client
from tests.tracking.conftest import mark_verified
from tracking.models import HealthGoal

pytestmark = [
    pytest.mark.faults,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="kills PostgreSQL backends"),
]

GOALS = "/api/womens-health/goals/"
WRITERS, PER_WRITER = 4, 12


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _terminate_server_backends(*, keep: int) -> int:
    """Every connection to the test database but the test's own (``keep``) and this thread's:
    the live server's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
            [keep],
        )
        return cursor.fetchone()[0]


def _create(http: httpx.Client, title: str) -> tuple[str, int, float, dict]:
    began = time.monotonic()
    response = http.post(GOALS, json={"title": title, "target_value": 5, "unit": "days"})
    took = time.monotonic() - began
    try:
        body = response.json()
    except ValueError:
        body = {"not_json": response.text[:200]}
    return title, response.status_code, took, body


def test_killed_connections_cost_a_retry_never_a_write_or_a_500(api_server):
    patients = [mark_verified(make_patient()) for _ in range(WRITERS)]
    clients = [api_client(api_server, p) for p in patients]
    for client in clients:  # every server thread has opened its connection
        assert client.get(GOALS).status_code == 200

    stop = threading.Event()
    killed: list[int] = []
    test_pid = _backend_pid()

    def killer() -> None:
        try:
            while not stop.is_set():
                killed.append(_terminate_server_backends(keep=test_pid))
                time.sleep(0.05)
        finally:
            connection.close()

    def writer(index: int) -> list[tuple[str, int, float, dict]]:
        return [_create(clients[index], f"goal-{index}-{n}") for n in range(PER_WRITER)]

    killing = threading.Thread(target=killer)
    killing.start()
    try:
        with ThreadPoolExecutor(WRITERS) as pool:
            results = [r for batch in pool.map(writer, range(WRITERS)) for r in batch]
    finally:
        stop.set()
        killing.join(timeout=10)
    assert sum(killed) > 0, "no backend was terminated: the test proved nothing"

    statuses = Counter(status for _, status, _, _ in results)
    assert set(statuses) <= {201, 503}, statuses
    for title, status, took, body in results:
        assert took < 10, (title, took)
        assert "message" in body, (title, status, body)
    assert statuses[503] > 0, f"no request met a killed connection: {statuses}"

    # The client retries what answered 503; nothing answered 201 is lost or stored twice.
    for index, client in enumerate(clients):
        for title, status, _, _ in results:
            if status == 503 and title.startswith(f"goal-{index}-"):
                for _ in range(5):
                    if _create(client, title)[1] == 201:
                        break
    stored = Counter(HealthGoal.objects.filter(user__in=patients).values_list("title", flat=True))
    answered_created = {title for title, status, _, _ in results if status == 201}
    assert all(stored[title] == 1 for title in answered_created), "a 201 was lost or done twice"
    assert set(stored) == {f"goal-{i}-{n}" for i in range(WRITERS) for n in range(PER_WRITER)}
    duplicates = {t: c for t, c in stored.items() if c > 1}
    assert not duplicates, f"retried after a 503 and stored twice: {duplicates}"

    # Recovered by itself: every client is served again at once.
    for client in clients:
        assert client.get(GOALS).status_code == 200
