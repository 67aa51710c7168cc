"""CloudWatch observability: request metrics, log shipping, alarms and dashboards.

- ``requests``: the after-response hook that times every request per route template.
- ``cloudwatch_logs``: the bounded watchtower handler behind ``phb.logs.cloudwatch_handler``.
- ``definitions``: every alarm, threshold and dashboard in one module.
- ``resources``: the SNS topic, alarms and dashboards as provisioning resources.
"""

from __future__ import annotations


def flush_all() -> None:
    """Send buffered metrics and log lines now (tests, gunicorn ``worker_exit``). Never raises."""
    from contextlib import suppress

    from phb import metrics
    from phb.logs import flush_cloudwatch_logs

    metrics.flush()
    with suppress(Exception):  # exiting or unreachable: never raise from here
        flush_cloudwatch_logs()
