"""The background sender: batching, bounds, dropping when CloudWatch is unreachable, exit flush."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from phb import metrics
from phb.aws.clients import count_aws_calls, reset_clients
from phb.localaws import free_port, wait_for_http
from phb.metrics import recorder
from tests.factories import UserFactory
from tests.helpers import client_for, silent_server

ROOT = Path(__file__).resolve().parents[2]

BUSINESS = [
    ("PaymentSuccess", "Payments", None),
    ("PaymentFailure", "Payments", {"Reason": "declined"}),
    ("OTPVerificationFailure", "Auth", {"purpose": "login"}),
    ("MedicalRecordAccess", "MedicalRecords", None),
    ("MedicalRecordAccessError", "MedicalRecords", None),
    ("BookingCompleted", "Appointments", {"Priority": "normal"}),
    ("BookingFailure", "Appointments", {"Reason": "slot_full"}),
    ("TrackingWriteQueued", "Tracking", None),
]


@pytest.fixture
def blackhole():
    """A TCP endpoint that accepts connections and never answers (a hung CloudWatch)."""
    with silent_server() as port:
        yield f"http://127.0.0.1:{port}"


def test_every_business_metric_is_batched_into_one_datum_per_series(cloudwatch):
    for name, area, dims in BUSINESS:
        for _ in range(3):
            metrics.record(name, area=area, dimensions=dims)
    with count_aws_calls() as calls:
        sent = metrics.flush()
    assert sent > 0
    # One PutMetricData per namespace, whatever the number of events (24 here). Earlier tests in the
    # same process may leave a self-report (MetricsDropped) or a late request metric in the buffer,
    # each adding at most one namespace, so allow two beyond ours.
    areas = len({area for _, area, _ in BUSINESS})
    assert areas <= calls["cloudwatch.PutMetricData"] <= areas + 2
    for name, area, dims in BUSINESS:
        if dims:
            found = cloudwatch.stats(area, name, {k[0].upper() + k[1:]: v for k, v in dims.items()})
            assert (found["Sum"], found["SampleCount"]) == (3, 3), name
        assert cloudwatch.rollup(area, name) == 3, name


def test_exit_flush_sends_on_a_freshly_booted_machine(cloudwatch, monkeypatch):
    """``time.monotonic()`` counts from boot: a worker exiting in its first minutes has never failed
    a send, so its exit flush must not be taken for one following a recent failure."""
    metrics.record("BookingCompleted", area="Appointments")
    monkeypatch.setattr(recorder.time, "monotonic", lambda: 5.0)
    metrics.shutdown()
    assert cloudwatch.rollup("Appointments", "BookingCompleted") == 1


def test_dimensions_are_bounded_and_scrubbed(cloudwatch, settings):
    settings.CLOUDWATCH_METRICS_MAX_SERIES_PER_METRIC = 5
    metrics.reset_for_tests()
    for i in range(20):
        metrics.record("Probe", area="Test", dimensions={"Key": f"value-{i}"})
    metrics.record("Leaky", area="Test", dimensions={"purpose": "jane.doe@example.test"})
    assert metrics.stats()["folded_cardinality"] == 15
    metrics.flush()
    probe = [m for m in cloudwatch.series("Test") if m["MetricName"] == "Probe" and m["Dimensions"]]
    values = sorted(m["Dimensions"][0]["Value"] for m in probe)
    assert values == sorted([*(f"value-{i}" for i in range(5)), "_other"])
    assert cloudwatch.stats("Test", "Probe", {"Key": "_other"})["Sum"] == 15
    leaky = [m["Dimensions"] for m in cloudwatch.series("Test") if m["MetricName"] == "Leaky" and m["Dimensions"]]
    assert leaky == [[{"Name": "Purpose", "Value": "[email]"}]]


def test_buffer_is_bounded_between_flushes(cloudwatch, settings):
    settings.CLOUDWATCH_METRICS_MAX_SERIES = 10
    metrics.reset_for_tests()
    for i in range(50):
        metrics.record(f"Name{i}", area="Test")
    assert metrics.stats()["buffered_series"] == 10
    assert metrics.stats()["dropped_overflow"] == 40
    metrics.flush()
    assert len([m for m in cloudwatch.series("Test")]) == 10
    assert cloudwatch.stats("Observability", "MetricsDropped")["Sum"] == 40


@pytest.mark.django_db
def test_requests_make_no_cloudwatch_call(cloudwatch):
    """Emission never sits on the request path: the calls happen at flush time only."""
    user = UserFactory(otp_required_for_login=False)
    client = client_for(user)
    with count_aws_calls() as during_requests:
        for _ in range(5):
            assert client.get("/api/profile/").status_code == 200
    assert not [c for c in during_requests if c.startswith(("cloudwatch.", "logs."))]
    with count_aws_calls() as at_flush:
        cloudwatch.flush()
    assert at_flush["cloudwatch.PutMetricData"] >= 1 and at_flush["logs.PutLogEvents"] >= 1


@pytest.mark.django_db
def test_unreachable_cloudwatch_drops_with_a_counter_and_never_slows_requests(cloudwatch, settings, blackhole):
    import logging.config

    from phb.logs import build_logging
    from phb.observability.cloudwatch_logs import BoundedCloudWatchLogHandler

    user = UserFactory(otp_required_for_login=False)
    settings.AWS_ENDPOINT_URL = blackhole
    # A request that waited on CloudWatch would take at least this long; requests that do not stay
    # far below it even on a loaded machine.
    settings.AWS_READ_TIMEOUT = 1
    settings.AWS_CONNECT_TIMEOUT = 1
    settings.AWS_MAX_ATTEMPTS = 1
    reset_clients()
    logging.config.dictConfig(build_logging(level="INFO", cloudwatch=True, log_group_prefix="/phb"))
    log_drops_before = BoundedCloudWatchLogHandler.dropped_total
    try:
        client = client_for(user)
        slowest = 0.0
        for _ in range(20):
            started = time.monotonic()
            assert client.get("/api/profile/").status_code == 200
            slowest = max(slowest, time.monotonic() - started)
        assert slowest < settings.AWS_READ_TIMEOUT, "a request waited on CloudWatch"

        started = time.monotonic()
        assert metrics.flush() == 0  # nothing raised, nothing sent
        assert time.monotonic() - started < 5, "one failed call ends the flush"
        dropped = metrics.stats()["dropped_unreachable"]
        assert dropped >= 20 * 4  # four request metrics per request at least
        from phb.logs import flush_cloudwatch_logs

        flush_cloudwatch_logs()
        assert BoundedCloudWatchLogHandler.dropped_total - log_drops_before >= 20
    finally:
        settings.AWS_ENDPOINT_URL = os.environ["AWS_ENDPOINT_URL"]
        reset_clients()
        logging.config.dictConfig(build_logging(level="INFO", cloudwatch=True, log_group_prefix="/phb"))

    # CloudWatch is back: the next flush reports what was lost.
    metrics.record("AfterOutage", area="Test")
    assert metrics.flush() > 0
    assert cloudwatch.stats("Observability", "MetricsDropped")["Sum"] == dropped
    assert cloudwatch.stats("Observability", "LogEventsDropped")["Sum"] >= 20


def test_log_queue_is_bounded_while_cloudwatch_hangs(settings, blackhole):
    import logging

    from phb.logs import JsonFormatter, cloudwatch_handler
    from phb.observability.cloudwatch_logs import BoundedCloudWatchLogHandler

    settings.AWS_ENDPOINT_URL = blackhole
    settings.AWS_READ_TIMEOUT = 1
    settings.AWS_MAX_ATTEMPTS = 1
    reset_clients()
    try:
        handler = cloudwatch_handler(log_group="/phb/app", queue_limit=50)
        handler.setFormatter(JsonFormatter())
        before = BoundedCloudWatchLogHandler.dropped_total
        started = time.monotonic()
        for i in range(500):
            handler.handle(logging.LogRecord("payments", logging.INFO, __file__, 1, f"line {i}", None, None))
        assert time.monotonic() - started < 1.0
        assert handler.queued()[0] <= 50
        assert BoundedCloudWatchLogHandler.dropped_total - before >= 450
        handler.close()
        assert BoundedCloudWatchLogHandler.dropped_total - before == 500
    finally:
        settings.AWS_ENDPOINT_URL = os.environ["AWS_ENDPOINT_URL"]
        reset_clients()


def test_metrics_are_flushed_when_a_gunicorn_worker_exits(tmp_path):
    """A real gunicorn worker with a ten-minute flush interval: its data arrives at exit."""
    from tests.observability.conftest import CloudWatchProbe

    root = f"PHBT{uuid.uuid4().hex[:10]}"
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "phb.settings.test",
        "CLOUDWATCH_METRICS_ENABLED": "true",
        "CLOUDWATCH_METRICS_NAMESPACE": root,
        "CLOUDWATCH_METRICS_FLUSH_SECONDS": "600",
        "CLOUDWATCH_LOGS_ENABLED": "false",
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "phb.wsgi:application", "--config", str(ROOT / "deploy" / "gunicorn.conf.py"),
         "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(tmp_path / "gunicorn.err").open("wb"),
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
        for _ in range(3):
            assert httpx.get(f"http://127.0.0.1:{port}/api/not-a-route/").status_code == 404
        probe = CloudWatchProbe(root=root, started_ms=0, log_prefix=settings.CLOUDWATCH_LOG_GROUP_PREFIX)
        assert probe.stats("API", "RequestCount", {"Route": "unmatched", "Method": "GET"})["Sum"] == 0
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    worker_output = (tmp_path / "gunicorn.err").read_text(errors="replace")[-4000:]
    assert probe.stats("API", "RequestCount", {"Route": "unmatched", "Method": "GET"})["Sum"] == 3, worker_output


def test_capture_sees_what_code_records_even_when_sending_is_off(settings):
    settings.CLOUDWATCH_METRICS_ENABLED = False
    with metrics.capture() as seen:
        metrics.record("BookingFailure", area="Appointments", dimensions={"Reason": "slot_full"})
    assert [(d.namespace, d.name, d.dimensions) for d in seen] == [
        ("PHB/Appointments", "BookingFailure", {"Reason": "slot_full"})
    ]
    assert metrics.stats()["buffered_series"] == 0
