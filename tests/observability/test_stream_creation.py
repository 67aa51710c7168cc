"""Lines logged while the CloudWatch handler creates its log stream, against the moto server."""

from __future__ import annotations

import logging
import threading
import uuid

import pytest
from django.conf import settings

from phb.aws.clients import aws_client
from phb.logs import JsonFormatter
from phb.observability.cloudwatch_logs import BoundedCloudWatchLogHandler


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("payments", logging.INFO, __file__, 1, message, None, None)


@pytest.fixture
def fresh_stream():
    """A handler whose stream does not exist yet, and a hook that holds the sender thread inside
    ``CreateLogStream`` (a botocore event on the real client) until the test lets it go on."""
    client = aws_client("logs")
    group = f"{settings.CLOUDWATCH_LOG_GROUP_PREFIX}/app"
    stream = f"creation-{uuid.uuid4().hex}"
    inside, resume = threading.Event(), threading.Event()
    during: list[str] = []

    def hold(**_):
        for message in during:  # lines the sending thread itself logs meanwhile
            handler.handle(_record(message))
        inside.set()
        resume.wait(timeout=30)

    handler = BoundedCloudWatchLogHandler(
        log_group_name=group, log_stream_name=stream, boto3_client=client, create_log_group=False,
        send_interval=60, max_batch_count=1000, queue_limit=100, failure_cooldown=30,
    )
    handler.setFormatter(JsonFormatter())
    event = "before-call.cloudwatch-logs.CreateLogStream"
    client.meta.events.register(event, hold, unique_id=stream)

    def sent() -> list[str]:
        found = client.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
        return [e["message"] for e in found]

    try:
        yield handler, inside, resume, during, sent
    finally:
        resume.set()
        client.meta.events.unregister(event, unique_id=stream)
        handler.close()


def _start_first_send(handler, inside) -> threading.Thread:
    handler.handle(_record("first line"))
    flushing = threading.Thread(target=handler.flush, daemon=True)
    flushing.start()
    assert inside.wait(timeout=30), "the handler never created its stream"
    return flushing


def test_lines_logged_while_the_stream_is_created_are_sent_once_it_exists(fresh_stream):
    handler, inside, resume, _, sent = fresh_stream
    before = BoundedCloudWatchLogHandler.dropped_total
    flushing = _start_first_send(handler, inside)
    for i in range(20):  # a request thread logging while the sender waits on CreateLogStream
        handler.handle(_record(f"meanwhile {i}"))
    resume.set()
    flushing.join(timeout=30)
    handler.flush()
    messages = " ".join(sent())
    assert "first line" in messages
    assert all(f"meanwhile {i}\"" in messages for i in range(20)), messages
    assert BoundedCloudWatchLogHandler.dropped_total == before
    assert handler.queued() == (0, 0)


def test_lines_the_sending_thread_logs_during_creation_are_counted_as_dropped(fresh_stream):
    handler, inside, resume, during, sent = fresh_stream
    during += ["side effect a", "side effect b"]
    before = BoundedCloudWatchLogHandler.dropped_total
    flushing = _start_first_send(handler, inside)
    resume.set()
    flushing.join(timeout=30)
    handler.flush()
    messages = " ".join(sent())
    assert "first line" in messages and "side effect" not in messages
    assert BoundedCloudWatchLogHandler.dropped_total - before == 2


def test_lines_after_close_are_counted_as_dropped():
    handler = BoundedCloudWatchLogHandler(
        log_group_name=f"{settings.CLOUDWATCH_LOG_GROUP_PREFIX}/app", log_stream_name=f"closed-{uuid.uuid4().hex}",
        boto3_client=aws_client("logs"), create_log_group=False, send_interval=60,
    )
    handler.setFormatter(JsonFormatter())
    handler.close()
    before = BoundedCloudWatchLogHandler.dropped_total
    handler.handle(_record("after close"))
    assert BoundedCloudWatchLogHandler.dropped_total - before == 1
