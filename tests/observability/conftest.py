"""CloudWatch switched on for one test: metrics and log shipping to the moto server, read back.

Each test gets its own metric namespace root (``PHBT<hex>/...``) so numbers never mix between
tests; log lines are told apart by request id and by time.
"""

from __future__ import annotations

import json
import logging
import logging.config
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from phb import metrics
from phb.aws.clients import aws_client
from phb.logs import build_logging
from phb.observability import flush_all

GROUPS = ("app", "medical-records", "payments", "appointments", "tracking", "audit")


@dataclass
class CloudWatchProbe:
    root: str
    started_ms: int
    log_prefix: str

    def flush(self) -> None:
        flush_all()

    # --- metrics ------------------------------------------------------------------------------
    def stats(self, area: str, name: str, dimensions: dict[str, str] | None = None) -> dict[str, float]:
        """SampleCount, Sum, Minimum, Maximum over the last hour, all datapoints together."""
        now = datetime.now(UTC)
        found = aws_client("cloudwatch").get_metric_statistics(
            Namespace=f"{self.root}/{area}",
            MetricName=name,
            Dimensions=[{"Name": k, "Value": v} for k, v in (dimensions or {}).items()],
            StartTime=now - timedelta(hours=1),
            EndTime=now + timedelta(minutes=5),
            Period=60,
            Statistics=["SampleCount", "Sum", "Minimum", "Maximum"],
        )["Datapoints"]
        if not found:
            return {"SampleCount": 0.0, "Sum": 0.0}
        return {
            "SampleCount": sum(d["SampleCount"] for d in found),
            "Sum": sum(d["Sum"] for d in found),
            "Minimum": min(d["Minimum"] for d in found),
            "Maximum": max(d["Maximum"] for d in found),
        }

    def rollup(self, area: str, name: str) -> float:
        """Sum of the series without dimensions. moto matches dimensions as a subset (a query
        without dimensions returns every series of the name), so the dimensioned series are
        subtracted; CloudWatch itself matches exactly."""
        everything = self.stats(area, name)["Sum"]
        dimensioned = [m["Dimensions"] for m in self.series(area) if m["MetricName"] == name and m["Dimensions"]]
        return everything - sum(
            self.stats(area, name, {d["Name"]: d["Value"] for d in dims})["Sum"] for dims in dimensioned
        )

    def series(self, area: str | None = None) -> list[dict[str, Any]]:
        """Every metric series (namespace, name, dimensions) published under this test's root."""
        client = aws_client("cloudwatch")
        out, token = [], None
        while True:
            kwargs: dict[str, Any] = {"NextToken": token} if token else {}
            if area:
                kwargs["Namespace"] = f"{self.root}/{area}"
            page = client.list_metrics(**kwargs)
            out.extend(m for m in page["Metrics"] if m["Namespace"].startswith(self.root + "/"))
            token = page.get("NextToken")
            if not token:
                return out

    # --- logs ---------------------------------------------------------------------------------
    def raw_events(self, group: str) -> list[str]:
        logs = aws_client("logs")
        out, token = [], None
        while True:
            kwargs: dict[str, Any] = {"logGroupName": f"{self.log_prefix}/{group}", "startTime": self.started_ms}
            if token:
                kwargs["nextToken"] = token
            page = logs.filter_log_events(**kwargs)
            out.extend(e["message"] for e in page["events"])
            token = page.get("nextToken")
            if not token:
                return out

    def lines(self, group: str) -> list[dict[str, Any]]:
        return [json.loads(message) for message in self.raw_events(group)]


@pytest.fixture
def cloudwatch(settings):
    """Metrics and CloudWatch Logs on, as in production, for the duration of one test."""
    root = f"PHBT{uuid.uuid4().hex[:10]}"
    settings.CLOUDWATCH_METRICS_ENABLED = True
    settings.CLOUDWATCH_LOGS_ENABLED = True
    settings.CLOUDWATCH_METRICS_NAMESPACE = root
    metrics.reset_for_tests()
    started_ms = int(time.time() * 1000) - 1000
    # The handlers are built from the configuration, so logging is configured again with them;
    # the closing dictConfig closes (and so flushes) them, and restores the plain set-up.
    logging.config.dictConfig(
        build_logging(level="INFO", cloudwatch=True, log_group_prefix=settings.CLOUDWATCH_LOG_GROUP_PREFIX)
    )
    try:
        yield CloudWatchProbe(root=root, started_ms=started_ms, log_prefix=settings.CLOUDWATCH_LOG_GROUP_PREFIX)
    finally:
        flush_all()
        logging.config.dictConfig(settings.LOGGING)
        metrics.reset_for_tests()


@pytest.fixture
def observability_urls(settings):
    settings.ROOT_URLCONF = "tests.observability.urls"


@pytest.fixture
def http(live_server):
    with httpx.Client(base_url=live_server.url, headers={"Accept": "application/json"}, timeout=60) as client:
        yield client
