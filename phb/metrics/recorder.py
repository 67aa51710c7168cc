"""The recorder of this process: its buffer, the background sender, flush and exit."""

from __future__ import annotations

import atexit
import logging
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any

from phb.metrics.buffer import MetricsBuffer
from phb.metrics.series import MAX_DATUMS_PER_CALL, UNITS, Datum, SeriesKey, _datums, _Series

logger = logging.getLogger("phb.metrics")


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
