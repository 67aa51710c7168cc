"""DynamoDB unreachable: writes are kept in PostgreSQL and answered 202, reads answer 503, and
after recovery the queued writes arrive in order, once, through drain_outbox or the next request."""

from __future__ import annotations

import io
import threading
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.db import connection

from tests.helpers import client_for
from tests.tracking.conftest import WH, dynamodb_outage
from tracking.models import OutboxState, TrackingOutbox


def drain_command() -> str:
    out = io.StringIO()
    call_command("drain_outbox", stdout=out)
    return out.getvalue()


def test_writes_queue_reads_503_then_drain_delivers_exactly_once(api, mother, settings):
    settings.TRACKING_BREAKER_SECONDS = 10
    before = api.post(f"{WH}/kick-sessions/", {"date": "2025-05-01T08:00:00Z", "kicks": 10, "duration": 300},
                      format="json")
    assert before.status_code == 201

    with dynamodb_outage():
        kick = api.post(f"{WH}/kick-sessions/", {"date": "2025-05-02T08:00:00Z", "kicks": 12, "duration": 400},
                        format="json")
        assert kick.status_code == 202, kick.json()
        assert kick.json()["success"] is True and kick.json()["queued"] is True and kick.json()["message"]
        queued_id = kick.json()["kick_session"]["id"]
        assert kick.json()["kick_session"]["completed"] is True

        log_v1 = api.post(f"{WH}/logs/", {"date": "2025-05-02", "mood": "low"}, format="json")
        log_v2 = api.post(f"{WH}/logs/", {"date": "2025-05-02", "mood": "good", "symptoms": ["nausea"]},
                          format="json")
        assert log_v1.status_code == log_v2.status_code == 202
        contraction = api.post(f"{WH}/contractions/", {"startTime": 1746172800000, "endTime": 1746172870000},
                               format="json")
        assert contraction.status_code == 202 and contraction.json()["contraction"]["duration"] == 70
        search = api.post("/api/search-history/", {"term": "Back pain"}, format="json")
        assert search.status_code == 202 and search.json()["queued"] is True
        items = [{"client_id": f"off-{i}", "type": "kick_session",
                  "data": {"date": f"2025-05-03T0{i}:00:00Z", "kicks": i, "duration": 60}} for i in range(5)]
        synced = api.post(f"{WH}/sync/", {"items": items}, format="json")
        assert synced.status_code == 202
        assert [r["status"] for r in synced.json()["results"]] == ["queued"] * 5
        resent = api.post(f"{WH}/sync/", {"items": items}, format="json")
        assert [r["status"] for r in resent.json()["results"]] == ["queued"] * 5

        for path in ("/kick-sessions/", "/logs/", "/contractions/", "/dashboard/", "/pregnancy/", "/fertility/"):
            read = api.get(f"{WH}{path}")
            assert read.status_code == 503, path
            assert read.json()["message"] and read.json()["code"] == "tracking_unavailable"
            assert read["Retry-After"]
        assert api.get("/api/search-history/").status_code == 503
        # PostgreSQL-only reads keep working
        assert api.get(f"{WH}/profile/").status_code == 200
        assert api.get(f"{WH}/goals/").status_code == 200

        assert drain_command().endswith("remaining=10\n"), "still down: nothing delivered, nothing lost"

    rows = TrackingOutbox.objects.filter(user=mother).order_by("id")
    assert [r.kind for r in rows] == ["kick_session", "daily_log", "daily_log", "contraction", "search"] + [
        "kick_session"] * 5
    assert all(r.state == OutboxState.PENDING for r in rows)

    report = drain_command()
    assert "delivered=10" in report and "remaining=0" in report, report
    assert drain_command().endswith("remaining=0\n")

    kicks = api.get(f"{WH}/kick-sessions/", {"limit": 50}).json()["kick_sessions"]
    assert len(kicks) == 7 and len({k["id"] for k in kicks}) == 7
    assert queued_id in {k["id"] for k in kicks}, "the id given while queued is the id stored"
    log = api.get(f"{WH}/logs/", {"start_date": "2025-05-02", "end_date": "2025-05-02"}).json()["logs"]
    assert len(log) == 1 and log[0]["mood"] == "good" and log[0]["symptoms"] == ["nausea"], "in order"
    assert api.get("/api/search-history/").json()["history"][0]["term"] == "Back pain"
    assert len(api.get(f"{WH}/contractions/").json()["contractions"]) == 1

    again = api.post(f"{WH}/sync/", {"items": items}, format="json").json()
    assert [r["status"] for r in again["results"]] == ["duplicate"] * 5


def test_an_entry_kept_per_date_answered_queued_has_no_version_yet(api, mother, settings):
    """A queued save's answer does not claim a version: the entry gets one when it is delivered,
    and a device syncing with a made-up version would meet a needless conflict."""
    settings.TRACKING_BREAKER_SECONDS = 0
    with dynamodb_outage():
        queued = api.post(f"{WH}/logs/", {"date": "2025-06-02", "mood": "low"}, format="json")
        assert queued.status_code == 202, queued.json()
        assert queued.json()["log"]["version"] is None
        day = api.post(f"{WH}/cycle-days/", {"date": "2025-06-02", "periodDay": True}, format="json")
        assert day.status_code == 202, day.json()
        assert day.json()["day"]["version"] is None
    assert drain_command().endswith("remaining=0\n")
    logs = api.get(f"{WH}/logs/", {"start_date": "2025-06-02", "end_date": "2025-06-02"}).json()["logs"]
    assert isinstance(logs[0]["version"], int) and logs[0]["version"] > 1


def test_the_next_request_delivers_queued_writes_first(api, mother, settings):
    settings.TRACKING_BREAKER_SECONDS = 0
    with dynamodb_outage():
        queued = api.post(f"{WH}/logs/", {"date": "2025-06-01", "mood": "low"}, format="json")
        assert queued.status_code == 202
    # back up: the next write goes after the queued one, and a read sees both
    fresh = api.post(f"{WH}/logs/", {"date": "2025-06-01", "mood": "excellent"}, format="json")
    assert fresh.status_code == 200 and fresh.json()["action"] == "updated"
    logs = api.get(f"{WH}/logs/", {"start_date": "2025-06-01", "end_date": "2025-06-01"}).json()["logs"]
    assert logs[0]["mood"] == "excellent"
    assert not TrackingOutbox.objects.filter(user=mother, state=OutboxState.PENDING).exists()


def test_a_read_catches_up_on_queued_writes(api, mother, settings):
    settings.TRACKING_BREAKER_SECONDS = 0
    with dynamodb_outage():
        assert api.post(f"{WH}/kick-sessions/", {"date": "2025-06-02T08:00:00Z", "kicks": 3, "duration": 30},
                        format="json").status_code == 202
    listed = api.get(f"{WH}/kick-sessions/").json()["kick_sessions"]
    assert [k["kicks"] for k in listed] == [3]


def test_an_ambiguous_failure_is_not_applied_twice(api, mother, settings):
    """DynamoDB took the write but the answer was lost: the queued copy finds it there."""
    from tracking.outbox import enqueue
    from tracking.writes import make_op

    settings.TRACKING_BREAKER_SECONDS = 0
    response = api.post(f"{WH}/kick-sessions/", {"date": "2025-06-03T08:00:00Z", "kicks": 11, "duration": 90,
                                                 "client_id": "ambiguous-1"}, format="json")
    assert response.status_code == 201
    data = {"date": 1748937600000, "kicks": 11, "duration": 90}
    enqueue(user_id=mother.pk, ops=[make_op(kind="kick_session", data=data, user_id=mother.pk,
                                            client_id="ambiguous-1")])
    assert "delivered=0 duplicates=1" in drain_command()
    assert len(api.get(f"{WH}/kick-sessions/").json()["kick_sessions"]) == 1


def test_other_users_queues_are_independent(mother, stranger, settings):
    settings.TRACKING_BREAKER_SECONDS = 0
    # the once-a-minute background drain (any user's rows) stays out of this test: whether it is
    # due would depend on how long ago another test ran one in this process
    settings.TRACKING_OUTBOX_BACKGROUND_SECONDS = 10**9
    with dynamodb_outage():
        client_for(mother).post(f"{WH}/logs/", {"date": "2025-06-05", "mood": "low"}, format="json")
    # the stranger is not blocked by the mother's queue and never sees it
    own = client_for(stranger).post(f"{WH}/logs/", {"date": "2025-06-05", "mood": "good"}, format="json")
    assert own.status_code == 201
    theirs = client_for(stranger).get(f"{WH}/logs/", {"start_date": "2025-06-05", "end_date": "2025-06-05"})
    assert [log["mood"] for log in theirs.json()["logs"]] == ["good"]
    assert TrackingOutbox.objects.filter(user=mother, state=OutboxState.PENDING).count() == 1


def test_queued_metric_is_recorded(api, settings):
    from phb import metrics

    settings.TRACKING_BREAKER_SECONDS = 0
    with dynamodb_outage(), metrics.capture() as recorded:
        api.post(f"{WH}/kick-sessions/", {"date": "2025-06-04T08:00:00Z", "kicks": 1, "duration": 5}, format="json")
    queued = [d for d in recorded if d.name == "TrackingWriteQueued"]
    assert len(queued) == 1
    assert queued[0].namespace.endswith("/Tracking") and queued[0].value == 1


@pytest.mark.django_db(transaction=True)
def test_two_drainers_at_once_deliver_in_order_once(mother, settings):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite runs drainers one after another; the row lock is exercised on PostgreSQL")
    from tracking import outbox
    from tracking.kinds import DAILY_LOGS, KICK_SESSIONS
    from tracking.writes import make_op

    moods = ["poor", "low", "neutral", "good", "excellent"] * 8
    ops = [make_op(kind=DAILY_LOGS.name, data=DAILY_LOGS.validate({"date": "2025-08-01", "mood": m}),
                   user_id=mother.pk) for m in moods]
    ops += [make_op(kind=KICK_SESSIONS.name, user_id=mother.pk,
                    data=KICK_SESSIONS.validate({"date": f"2025-08-01T{h:02d}:00:00Z", "kicks": h, "duration": 9}))
            for h in range(10)]
    outbox.enqueue(user_id=mother.pk, ops=ops)
    reports = []

    def run():
        try:
            reports.append(outbox.drain(respect_breaker=False))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.delivered for r in reports) == 50 and sum(r.duplicates for r in reports) == 0
    assert outbox.pending_count() == 0
    api = client_for(mother)
    log = api.get(f"{WH}/logs/", {"start_date": "2025-08-01", "end_date": "2025-08-01"}).json()["logs"][0]
    assert log["mood"] == "excellent"
    assert len(api.get(f"{WH}/kick-sessions/", {"limit": 50}).json()["kick_sessions"]) == 10


@contextmanager
def dynamodb_refuses(marker: bytes = b"", message: str = "refused"):
    """DynamoDB refuses writes (PutItem, BatchWriteItem, TransactWriteItems) whose request carries ``marker`` outright,
    with a 400 that is not about capacity: nothing of such a call is stored."""
    from botocore.exceptions import ClientError

    from phb.aws.clients import aws_resource
    from tests.aws_faults import before_calls

    def refuse(params=None, model=None, **_):
        if marker in (params or {}).get("body", b""):
            raise ClientError({"Error": {"Code": "ValidationException", "Message": message},
                               "ResponseMetadata": {"HTTPStatusCode": 400}}, model.name)

    with before_calls(aws_resource("dynamodb").meta.client, "PutItem", "BatchWriteItem", "TransactWriteItems",
                      handler=refuse):
        yield


def test_a_queued_sync_item_refused_on_delivery_is_queued_again_when_resent(api, mother, settings):
    settings.TRACKING_BREAKER_SECONDS = 0
    item = {"client_id": "offline-log", "type": "daily_log", "base_version": 0,
            "data": {"date": "2025-06-10", "mood": "low"}}
    with dynamodb_outage():
        assert sync_statuses(api, [item]) == ["queued"]
    with dynamodb_refuses():
        assert "failed=1" in drain_command()
    assert TrackingOutbox.objects.get(user=mother, client_id="offline-log").state == OutboxState.FAILED

    with dynamodb_outage():  # the client sends it again while DynamoDB cannot take it
        assert sync_statuses(api, [item]) == ["queued"]
    row = TrackingOutbox.objects.get(user=mother, client_id="offline-log")
    assert row.state == OutboxState.PENDING, "queued means kept for delivery"
    assert "delivered=1" in drain_command()
    logs = api.get(f"{WH}/logs/", {"start_date": "2025-06-10", "end_date": "2025-06-10"}).json()["logs"]
    assert [log["mood"] for log in logs] == ["low"]


def test_a_write_dynamodb_refuses_is_reported_not_kept_and_applied_when_sent_again(api, mother, settings):
    settings.TRACKING_BREAKER_SECONDS = 0
    items = [
        {"client_id": "k-1", "type": "kick_session", "data": {"date": "2025-06-11T08:00:00Z", "kicks": 4, "duration": 60}},
        {"client_id": "log-1", "type": "daily_log", "base_version": 0, "data": {"date": "2025-06-11", "mood": "low"}},
        {"client_id": "k-2", "type": "kick_session", "data": {"date": "2025-06-11T09:00:00Z", "kicks": 5, "duration": 60}},
    ]
    with dynamodb_refuses(b"LOG#"):
        response = api.post(f"{WH}/sync/", {"items": items}, format="json")
        assert response.status_code == 200, response.content
        results = response.json()["results"]
        assert [r["status"] for r in results] == ["created", "failed", "created"], "the rest of the batch is applied"
        assert results[1]["message"].startswith("This entry could not be stored")
        assert response.json()["summary"]["failed"] == 1
        single = api.post(f"{WH}/logs/", {"date": "2025-06-12", "mood": "good"}, format="json")
        assert single.status_code == 502 and single.json()["message"], single.content
    assert not TrackingOutbox.objects.filter(user=mother).exists()

    assert sync_statuses(api, items) == ["duplicate", "created", "duplicate"]
    assert api.post(f"{WH}/logs/", {"date": "2025-06-12", "mood": "good"}, format="json").status_code == 201
    logs = api.get(f"{WH}/logs/", {"start_date": "2025-06-11", "end_date": "2025-06-12"}).json()["logs"]
    assert sorted(log["mood"] for log in logs) == ["good", "low"]


def sync_statuses(api, items) -> list[str]:
    response = api.post(f"{WH}/sync/", {"items": items}, format="json")
    assert response.status_code in (200, 202), response.content
    return [r["status"] for r in response.json()["results"]]


@pytest.mark.parametrize("queued_first", [False, True])
def test_a_refusal_quoting_the_entry_is_logged_without_its_words(api, mother, settings, caplog, queued_first):
    settings.TRACKING_BREAKER_SECONDS = 0
    term = "hiv self test after the argument with Tunde"
    items = [
        {"client_id": "k-1", "type": "kick_session", "data": {"date": "2025-06-11T08:00:00Z", "kicks": 4, "duration": 60}},
        {"client_id": "s-1", "type": "search", "data": {"term": term}},
    ]
    refusal = f"One or more parameter values were invalid: term: {term}"
    if queued_first:  # delivered by drain_outbox
        with dynamodb_outage():
            assert sync_statuses(api, items) == ["queued", "queued"]
        with dynamodb_refuses(b"TERM#", message=refusal):
            assert "failed=1" in drain_command()
    else:
        with dynamodb_refuses(b"TERM#", message=refusal):
            assert sync_statuses(api, items) == ["created", "failed"]
    assert "Tunde" not in caplog.text and "hiv" not in caplog.text.lower()
    refused = [r for r in caplog.records if getattr(r, "event", None) == "tracking_outbox_refused"]
    assert refused and refused[0].error_code == "ValidationException", "what was refused is still told"
