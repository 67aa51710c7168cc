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

import atexit
import logging
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger("phb.metrics")

TIMING_UNITS = frozenset({"Seconds", "Milliseconds", "Microseconds"})
# CloudWatch refuses a whole PutMetricData call for one bad unit: anything else becomes "None".
UNITS = TIMING_UNITS | frozenset({
    "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits",
    "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
})
MAX_DIMENSIONS = 30
MAX_VALUES_PER_DATUM = 150
MAX_DATUMS_PER_CALL = 100
OTHER = "_other"


@dataclass(frozen=True)
class Datum:
    """One recorded value, as :func:`capture` reports it."""

    namespace: str
    name: str
    value: float
    unit: str
    dimensions: dict[str, str] = field(default_factory=dict)


class _Series:
    __slots__ = ("count", "maximum", "minimum", "total", "values")

    def __init__(self, timing: bool) -> None:
        self.count = 0
        self.total = 0.0
        self.minimum = float("inf")
        self.maximum = float("-inf")
        self.values: dict[float, int] | None = {} if timing else None

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        if value < self.minimum:
            self.minimum = value
        if value > self.maximum:
            self.maximum = value
        if self.values is not None:
            bucket = _quantize(value)
            self.values[bucket] = self.values.get(bucket, 0) + 1


    def merge(self, other: _Series) -> None:
        self.count += other.count
        self.total += other.total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)
        if self.values is not None and other.values is not None:
            for bucket, n in other.values.items():
                self.values[bucket] = self.values.get(bucket, 0) + n

    @classmethod
    def of_counts(cls, *, events: int, hits: int) -> _Series:
        """``events`` values of 0 or 1, ``hits`` of them 1 (an error flag per request)."""
        series = cls(False)
        series.count, series.total = events, float(hits)
        series.minimum = 1.0 if hits == events else 0.0
        series.maximum = 1.0 if hits else 0.0
        return series


class _RequestStats:
    """Everything one (route, method, service) needs between two flushes: a few additions per
    request; the twelve series it stands for are built at flush time."""

    __slots__ = ("errors_4xx", "errors_5xx", "latency")

    def __init__(self) -> None:
        self.latency = _Series(True)
        self.errors_4xx = 0
        self.errors_5xx = 0


REQUEST_METRICS = ("Latency", "RequestCount", "4XXError", "5XXError")


def _quantize(value: float) -> float:
    """Two significant digits: at most 90 distinct values per decade, within 5 % of the input."""
    if value <= 0:
        return 0.0
    return float(f"{value:.2g}")


SeriesKey = tuple[str, str, str, tuple[tuple[str, str], ...]]


class MetricsBuffer:
    """Aggregates between two flushes. Thread-safe; every structure has a fixed upper size."""

    def __init__(self, *, max_series: int, max_series_per_metric: int) -> None:
        self.max_series = max_series
        self.max_series_per_metric = max_series_per_metric
        self._lock = threading.RLock()
        self._series: dict[SeriesKey, _Series] = {}
        self._requests: dict[tuple[str, str, str, str], _RequestStats] = {}
        self._admitted: dict[tuple[str, str], set[tuple[tuple[str, str], ...]]] = {}
        self._admitted_total = 0
        self._dims_cache: dict[tuple[tuple[str, Any], ...], tuple[tuple[str, str], ...]] = {}
        self.counters = {"recorded": 0, "dropped_overflow": 0, "folded_cardinality": 0}

    def add(self, namespace: str, name: str, value: float, unit: str,
            dimension_sets: list[tuple[tuple[str, str], ...]]) -> None:
        self.add_many(namespace, [(name, value, unit)], dimension_sets)

    def add_many(self, namespace: str, values: list[tuple[str, float, str]],
                 dimension_sets: list[tuple[tuple[str, str], ...]]) -> None:
        with self._lock:
            for name, value, unit in values:
                self.counters["recorded"] += 1
                for dims in dimension_sets:
                    dims = self._admit(namespace, name, dims)
                    key = (namespace, name, unit, dims)
                    series = self._series.get(key)
                    if series is None:
                        if len(self._series) >= self.max_series:
                            self.counters["dropped_overflow"] += 1
                            continue
                        series = self._series[key] = _Series(unit in TIMING_UNITS)
                    series.add(float(value))

    def add_request(self, namespace: str, route: str, method: str, service: str, status: int,
                    duration_ms: float) -> None:
        key = (namespace, route, method, service)
        with self._lock:
            self.counters["recorded"] += 1
            stats = self._requests.get(key)
            if stats is None:
                if len(self._requests) >= self.max_series:
                    self.counters["dropped_overflow"] += 1
                    return
                stats = self._requests[key] = _RequestStats()
            stats.latency.add(duration_ms)
            if status >= 500:
                stats.errors_5xx += 1
            elif status >= 400:
                stats.errors_4xx += 1

    def _expand_requests(self, requests: dict[tuple[str, str, str, str], _RequestStats]) -> None:
        """Fold request stats into series by Route+Method, by Service and for the whole API."""
        for (namespace, route, method, service), stats in requests.items():
            dimension_sets = [
                self.normalise({"Route": route, "Method": method}), (), self.normalise({"Service": service}),
            ]
            events = stats.latency.count
            parts = {
                "Latency": ("Milliseconds", stats.latency),
                "RequestCount": ("Count", _Series.of_counts(events=events, hits=events)),
                "4XXError": ("Count", _Series.of_counts(events=events, hits=stats.errors_4xx)),
                "5XXError": ("Count", _Series.of_counts(events=events, hits=stats.errors_5xx)),
            }
            for name, (unit, part) in parts.items():
                for dims in dimension_sets:
                    dims = self._admit(namespace, name, dims)
                    series_key = (namespace, name, unit, dims)
                    series = self._series.get(series_key)
                    if series is None:
                        series = self._series[series_key] = _Series(unit in TIMING_UNITS)
                    series.merge(part)

    def _admit(self, namespace: str, name: str,
               dims: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        if not dims:
            return dims
        admitted = self._admitted.get((namespace, name))
        if admitted is not None and dims in admitted:
            return dims
        if self._admitted_total < self.max_series and (admitted is None or len(admitted) < self.max_series_per_metric):
            if admitted is None:
                admitted = self._admitted[(namespace, name)] = set()
            admitted.add(dims)
            self._admitted_total += 1
            return dims
        self.counters["folded_cardinality"] += 1
        return tuple((k, OTHER) for k, _ in dims)

    def normalise(self, dimensions: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
        if not dimensions:
            return ()
        raw = tuple(sorted(dimensions.items(), key=lambda kv: str(kv[0])))
        try:
            found = self._dims_cache.get(raw)
        except TypeError:  # an unhashable value
            found, raw = None, tuple((str(k), str(v)) for k, v in raw)
        if found is not None:
            return found
        from phb.logs import scrub_text

        out: dict[str, str] = {}
        for key, value in raw[:MAX_DIMENSIONS]:
            key = str(key).strip()[:255] or "Dimension"
            key = key[0].upper() + key[1:]
            text = scrub_text(str(value)).strip()[:100] or "none"
            out[key] = text
        normalised = tuple(sorted(out.items()))
        with self._lock:
            if len(self._dims_cache) >= 4096:
                self._dims_cache.clear()
            self._dims_cache[raw] = normalised
        return normalised

    def drain(self) -> dict[SeriesKey, _Series]:
        with self._lock:
            requests, self._requests = self._requests, {}
            self._expand_requests(requests)
            taken, self._series = self._series, {}
        return taken

    def __len__(self) -> int:
        return len(self._series) + len(self._requests)


# --- Process state ------------------------------------------------------------------------------
_state_lock = threading.Lock()
_send_lock = threading.Lock()
_buffer: MetricsBuffer | None = None
_sender: _Sender | None = None
_pid: int | None = None
_captures: list[list[Datum]] = []
_counters = {"sent": 0, "dropped_unreachable": 0, "send_failures": 0, "flushes": 0}
_pending_drops = {"metrics": 0, "logs": 0, "overflow_seen": 0}
_last_failure: float | None = None  # time.monotonic() of the last failed send
_atexit_registered = False


def _settings() -> Any:
    from django.conf import settings

    return settings


def _get_buffer() -> MetricsBuffer:
    """The buffer of this process (a fresh one after a fork, so nothing is sent twice)."""
    global _buffer, _pid, _sender
    pid = os.getpid()
    if _buffer is not None and _pid == pid:
        return _buffer
    with _state_lock:
        if _buffer is None or _pid != pid:
            conf = _settings()
            _buffer = MetricsBuffer(
                max_series=conf.CLOUDWATCH_METRICS_MAX_SERIES,
                max_series_per_metric=conf.CLOUDWATCH_METRICS_MAX_SERIES_PER_METRIC,
            )
            _sender = None
            _pid = pid
    return _buffer


def enabled() -> bool:
    return bool(_settings().CLOUDWATCH_METRICS_ENABLED)


def namespace(area: str) -> str:
    return f"{_settings().CLOUDWATCH_METRICS_NAMESPACE}/{area}"


def record(name: str, value: float = 1.0, *, unit: str = "Count", area: str = "App",
           dimensions: dict[str, str] | None = None, rollup: bool = True) -> None:
    """Count or time one event under ``PHB/<area>``. Dimensions must have bounded cardinality.

    With dimensions and ``rollup`` (the default) the value also goes to the series without
    dimensions, which alarms watch (an alarm cannot sum over dimension values).
    """
    if _captures:
        datum = Datum(namespace(area), name, float(value), unit, {str(k): str(v) for k, v in (dimensions or {}).items()})
        for sink in _captures:
            sink.append(datum)
    value = float(value)
    if not enabled() or not math.isfinite(value):  # CloudWatch refuses NaN and infinities
        return
    if unit not in UNITS:
        unit = "None"
    buffer = _get_buffer()
    dims = buffer.normalise(dimensions)
    sets = [dims, ()] if dims and rollup else [dims]
    buffer.add(namespace(area), name, value, unit, sets)
    _ensure_sender()


def record_request(*, route: str, method: str, service: str, status: int, duration_ms: float,
                   area: str = "API") -> None:
    """One HTTP request: ``Latency``, ``RequestCount``, ``4XXError`` and ``5XXError`` under
    ``PHB/<area>`` by Route+Method, by Service and for the whole API (a few additions here; the
    series are built at flush time)."""
    if _captures:
        dims = {"Route": route, "Method": method}
        for name, value, unit in (("Latency", duration_ms, "Milliseconds"), ("RequestCount", 1.0, "Count"),
                                  ("4XXError", float(400 <= status < 500), "Count"),
                                  ("5XXError", float(status >= 500), "Count")):
            for sink in _captures:
                sink.append(Datum(namespace(area), name, float(value), unit, dims))
    if not enabled():
        return
    _get_buffer().add_request(namespace(area), route, method, service, status, float(duration_ms))
    _ensure_sender()


@contextmanager
def capture() -> Iterator[list[Datum]]:
    """Every value recorded in this process while the block runs (enabled or not): for tests."""
    sink: list[Datum] = []
    _captures.append(sink)
    try:
        yield sink
    finally:
        _captures.remove(sink)


def stats() -> dict[str, int]:
    """Counters of this process: recorded, sent, dropped (overflow, unreachable), folded."""
    out = dict(_counters)
    buffer = _buffer if _pid == os.getpid() else None
    out.update(buffer.counters if buffer is not None else {"recorded": 0, "dropped_overflow": 0,
                                                           "folded_cardinality": 0})
    out["buffered_series"] = len(buffer) if buffer is not None else 0
    return out


# --- Sending ------------------------------------------------------------------------------------
class _Sender(threading.Thread):
    def __init__(self, interval: float) -> None:
        super().__init__(name="phb-metrics-sender", daemon=True)
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                flush()
            except Exception:  # the sender must never die
                logger.exception("metrics flush failed", extra={"event": "metrics_flush_error"})


def _ensure_sender() -> None:
    global _sender, _atexit_registered
    if _sender is not None:
        return
    with _state_lock:
        if _sender is not None:
            return
        sender = _Sender(float(_settings().CLOUDWATCH_METRICS_FLUSH_SECONDS))
        sender.start()
        _sender = sender
        if not _atexit_registered:
            atexit.register(shutdown)
            _atexit_registered = True


def _datums(taken: dict[SeriesKey, _Series], timestamp: datetime) -> dict[str, list[tuple[dict[str, Any], int]]]:
    """PutMetricData entries grouped by namespace, each with the number of events it carries."""
    out: dict[str, list[tuple[dict[str, Any], int]]] = {}
    for (ns, name, unit, dims), series in taken.items():
        base: dict[str, Any] = {
            "MetricName": name,
            "Timestamp": timestamp,
            "Unit": unit,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
        }
        entries = out.setdefault(ns, [])
        if series.values is not None:
            items = sorted(series.values.items())
            for start in range(0, len(items), MAX_VALUES_PER_DATUM):
                part = items[start:start + MAX_VALUES_PER_DATUM]
                entries.append((
                    {**base, "Values": [v for v, _ in part], "Counts": [float(c) for _, c in part]},
                    sum(c for _, c in part),
                ))
        else:
            entries.append((
                {**base, "StatisticValues": {
                    "SampleCount": float(series.count),
                    "Sum": series.total,
                    "Minimum": series.minimum,
                    "Maximum": series.maximum,
                }},
                series.count,
            ))
    return out


def _self_report(taken: dict[SeriesKey, _Series]) -> str | None:
    """Add the drops not yet reported to this flush (``PHB/Observability``); return that namespace."""
    buffer = _buffer
    overflow_total = buffer.counters["dropped_overflow"] if buffer is not None else 0
    _pending_drops["metrics"] += overflow_total - _pending_drops["overflow_seen"]
    _pending_drops["overflow_seen"] = overflow_total
    _pending_drops["logs"] += _log_drops()
    if not (_pending_drops["metrics"] or _pending_drops["logs"]):
        return None
    ns = namespace("Observability")
    for name, key in (("MetricsDropped", "metrics"), ("LogEventsDropped", "logs")):
        if _pending_drops[key]:
            series = _Series(False)
            series.add(float(_pending_drops[key]))
            taken[(ns, name, "Count", ())] = series
    return ns


def _log_drops() -> int:
    from phb.logs import cloudwatch_log_drops_take

    return cloudwatch_log_drops_take()


def flush(*, skip_if_failing: bool = False) -> int:
    """Send everything aggregated so far; return the number of events sent. Never raises."""
    global _last_failure
    if _buffer is None or _pid != os.getpid():
        return 0
    with _send_lock:
        taken = _buffer.drain()
        report_ns = _self_report(taken)
        if not taken:
            return 0
        _counters["flushes"] += 1
        batches = _datums(taken, datetime.now(UTC))
        recently_failed = (_last_failure is not None
                           and time.monotonic() - _last_failure < 2 * _settings().CLOUDWATCH_METRICS_FLUSH_SECONDS)
        if skip_if_failing and recently_failed:
            _counters["dropped_unreachable"] += sum(n for entries in batches.values() for _, n in entries)
            return 0
        from phb.aws.clients import aws_client

        sent = 0
        failed = False
        for ns, entries in batches.items():
            for start in range(0, len(entries), MAX_DATUMS_PER_CALL):
                chunk = entries[start:start + MAX_DATUMS_PER_CALL]
                events = sum(n for _, n in chunk)
                if not failed:
                    try:
                        aws_client("cloudwatch").put_metric_data(Namespace=ns, MetricData=[d for d, _ in chunk])
                    except Exception as exc:
                        failed = True
                        _last_failure = time.monotonic()
                        _counters["send_failures"] += 1
                        logger.warning(
                            "CloudWatch metrics could not be sent; the data of this flush is dropped",
                            extra={"event": "metrics_dropped", "error": type(exc).__name__},
                        )
                    else:
                        sent += events
                        if ns == report_ns:
                            _pending_drops["metrics"] = _pending_drops["logs"] = 0
                        continue
                if ns != report_ns:
                    _counters["dropped_unreachable"] += events
                    _pending_drops["metrics"] += events
        _counters["sent"] += sent
        return sent


def shutdown() -> None:
    """Stop the sender and send what is left (worker exit). Safe to call more than once."""
    global _sender
    sender = _sender if _pid == os.getpid() else None
    if sender is not None:
        sender.stopping.set()
        _sender = None
    with suppress(Exception):  # exiting: never raise
        flush(skip_if_failing=True)


def reset_for_tests() -> None:
    """Forget buffered data and counters of this process (tests only)."""
    global _buffer, _pid, _last_failure
    shutdown_sender = _sender
    if shutdown_sender is not None:
        shutdown_sender.stopping.set()
    with _state_lock:
        globals()["_sender"] = None
        _buffer = None
        _pid = None
        _last_failure = None
        for key in _counters:
            _counters[key] = 0
        for key in _pending_drops:
            _pending_drops[key] = 0
