"""Delivering queued writes holds no transaction or row lock while DynamoDB answers."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import override_settings

from accounts.models import User
from phb.aws.clients import reset_clients
from tests.hanging import hanging_endpoint
from tracking import outbox
from tracking.kinds import KICK_SESSIONS
from tracking.models import OutboxState, TrackingOutbox
from tracking.writes import make_op


@pytest.mark.django_db(transaction=True)
def test_other_writers_go_ahead_while_dynamodb_hangs_mid_delivery(mother, other_patient):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # a write that would wait on the drainer fails fast instead
            cursor.execute("SET lock_timeout = '3s'")
    ops = [make_op(kind=KICK_SESSIONS.name, user_id=mother.pk,
                   data=KICK_SESSIONS.validate({"date": f"2025-09-01T{h:02d}:00:00Z", "kicks": h, "duration": 9}))
           for h in range(3)]
    outbox.enqueue(user_id=mother.pk, ops=ops)
    head = TrackingOutbox.objects.filter(user=mother).order_by("id").first()
    finished = threading.Event()
    reports: list[outbox.DrainReport] = []

    def drain() -> None:
        try:
            reports.append(outbox.drain_user(user_id=mother.pk, respect_breaker=False))
        finally:
            connection.close()
            finished.set()

    with hanging_endpoint() as hung, override_settings(
        AWS_ENDPOINT_URL=hung.url, AWS_MAX_ATTEMPTS=1, AWS_CONNECT_TIMEOUT=1, AWS_READ_TIMEOUT=20
    ):
        reset_clients()
        worker = threading.Thread(target=drain)
        worker.start()
        assert hung.accepted.wait(10), "the drainer never reached DynamoDB"
        # The drainer now waits on DynamoDB. Writes to the very rows it delivers, and to another
        # user's profile, go through at once (they would wait for it if it held a lock).
        assert TrackingOutbox.objects.filter(pk=head.pk).update(last_error="touched") == 1
        assert User.objects.filter(pk=other_patient.pk).update(city="Ibadan") == 1
        assert not finished.is_set(), "the writes above waited for the drainer"
    worker.join(timeout=30)
    reset_clients()
    assert finished.is_set() and len(reports) == 1
    rows = list(TrackingOutbox.objects.filter(user=mother).order_by("id"))
    assert [r.state for r in rows] == [OutboxState.PENDING] * 3
    assert all(r.claim_token is None and r.claimed_until is None for r in rows)
    assert rows[0].attempts == 1 and rows[0].last_error == "dynamodb_unavailable"
    # Once DynamoDB answers again the same rows arrive, once.
    again = outbox.drain_user(user_id=mother.pk, respect_breaker=False)
    assert again.delivered == 3 and outbox.pending_count() == 0


def test_a_second_drainer_leaves_claimed_rows_alone(mother):
    ops = [make_op(kind=KICK_SESSIONS.name, user_id=mother.pk,
                   data=KICK_SESSIONS.validate({"date": "2025-09-02T08:00:00Z", "kicks": 4, "duration": 9}))]
    outbox.enqueue(user_id=mother.pk, ops=ops)
    report = outbox.DrainReport()
    token, rows = outbox._claim(user_id=mother.pk, limit=10, report=report)
    second = outbox.drain_user(user_id=mother.pk, respect_breaker=False)
    assert second.delivered == 0 and second.blocked_users == [str(mother.pk)]
    TrackingOutbox.objects.filter(claim_token=token).update(claimed_until="2000-01-01T00:00:00Z")
    lapsed = outbox.drain_user(user_id=mother.pk, respect_breaker=False)
    assert lapsed.delivered == 1 and outbox.pending_count() == 0
