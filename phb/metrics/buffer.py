"""The aggregates of one process between two flushes, bounded in series and dimensions."""

from __future__ import annotations

import threading
from typing import Any

from phb.metrics.series import MAX_DIMENSIONS, OTHER, TIMING_UNITS, SeriesKey, _RequestStats, _Series


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
