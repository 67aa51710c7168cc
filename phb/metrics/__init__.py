"""Business and request metrics for CloudWatch (namespace ``PHB/<area>``).

Call :func:`record` from anywhere. It only folds the value into an in-process aggregate under a
lock (about a microsecond) and never touches the network: a background thread sends the
aggregates with ``PutMetricData`` every ``CLOUDWATCH_METRICS_FLUSH_SECONDS``.

How values travel
    Counts (any unit but time) are sent as statistic sets (SampleCount, Sum, Minimum,
    Maximum): one datum per series and flush, however many events. Timings are sent as
    ``Values``/``Counts`` pairs of values rounded to two significant digits, so CloudWatch can
    still compute percentiles (p99 latency alarms need them; statistic sets cannot give
    percentiles).

Bounds
    At most ``CLOUDWATCH_METRICS_MAX_SERIES`` series are held between two flushes (further new
    series are dropped and counted); each metric keeps at most
    ``CLOUDWATCH_METRICS_MAX_SERIES_PER_METRIC`` dimension combinations for the life of the
    process, later combinations are folded into one series whose dimension values are
    ``_other``. Dimension names get a leading capital (``purpose`` -> ``Purpose``), values are
    scrubbed of PHI and cut to 100 characters.

Failure
    When CloudWatch cannot be reached the aggregates of that flush are dropped and counted
    (``stats()["dropped_unreachable"]``); nothing is retried or kept, nothing raises. The
    counts of dropped data are published as ``PHB/Observability MetricsDropped`` by the next
    flush that succeeds.

Exit
    The sender flushes once more when the process exits (``atexit``; gunicorn runs it when a
    worker leaves), skipping the network when the previous send failed moments ago.
"""

from __future__ import annotations

from phb.metrics.buffer import MetricsBuffer
from phb.metrics.recorder import (
    capture,
    enabled,
    flush,
    logger,
    namespace,
    record,
    record_request,
    reset_for_tests,
    shutdown,
    stats,
)
from phb.metrics.series import (
    MAX_DATUMS_PER_CALL,
    MAX_DIMENSIONS,
    MAX_VALUES_PER_DATUM,
    OTHER,
    REQUEST_METRICS,
    TIMING_UNITS,
    UNITS,
    Datum,
    SeriesKey,
)

__all__ = [
    "MAX_DATUMS_PER_CALL", "MAX_DIMENSIONS", "MAX_VALUES_PER_DATUM", "OTHER", "REQUEST_METRICS", "TIMING_UNITS",
    "UNITS", "Datum", "MetricsBuffer", "SeriesKey", "capture", "enabled", "flush", "logger", "namespace", "record",
    "record_request", "reset_for_tests", "shutdown", "stats",
]
