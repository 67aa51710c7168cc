"""What a series holds between two flushes, and the PutMetricData entries a flush sends of it.

The units CloudWatch takes, one recorded value (:class:`Datum`), the aggregate of one series
(statistic set for counts, value/count pairs for timings), the stats of one route behind the
four request metrics, and the entries of one flush grouped by namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
