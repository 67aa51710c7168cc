"""Estimate simulator parameters from exported scheduling events (plain counting, numpy only).

Each estimate needs ``MIN_EVENTS`` events; below that the documented default stays.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import numpy as np

from appointments.scheduler.params import SimulatorParams

MIN_EVENTS = 50


def fit(rows: list[dict]) -> tuple[SimulatorParams, dict]:
    params = SimulatorParams()
    report: dict = {"events": len(rows), "fitted": []}
    if len(rows) < MIN_EVENTS:
        report["note"] = f"fewer than {MIN_EVENTS} events: defaults kept"
        return params, report
    requested = [datetime.fromisoformat(r["requested_at"]) for r in rows]
    days = {(t.date(), t.weekday()) for t in requested}
    weekday_days = Counter(w for _, w in days)
    per_weekday = Counter(t.weekday() for t in requested)
    per_hour = Counter(t.hour for t in requested if t.weekday() < 5)
    n_weekdays = sum(n for w, n in weekday_days.items() if w < 5)
    if n_weekdays:
        params.hourly_arrivals = [per_hour.get(h, 0) / n_weekdays for h in range(24)]
        mean_weekday = sum(per_weekday.get(w, 0) for w in range(5)) / n_weekdays
        params.weekday_factor = [
            (per_weekday.get(w, 0) / weekday_days[w] / mean_weekday) if weekday_days.get(w) and mean_weekday
            else params.weekday_factor[w] for w in range(7)]
        report["fitted"] += ["hourly_arrivals", "weekday_factor"]
    urgency = Counter(int(r["urgency"]) for r in rows)
    params.urgency_weights = [urgency.get(u, 0) + 0.5 for u in range(1, 11)]  # add-half smoothing
    report["fitted"].append("urgency_weights")
    lead_days = np.asarray([max(0, r["lead_minutes"]) / 1440.0 for r in rows])
    params.asap_share = float(np.mean(lead_days < 1.0))
    report["fitted"].append("asap_share")
    attended = [r for r in rows if r["outcome"] in ("completed", "no_show")]
    if len(attended) >= MIN_EVENTS:
        x = np.asarray([max(0, r["lead_minutes"]) / 1440.0 for r in attended])
        y = np.asarray([r["outcome"] == "no_show" for r in attended], dtype=float)
        slope, base = np.polyfit(x, y, 1) if np.ptp(x) > 0 else (0.0, float(y.mean()))
        params.no_show_base = float(min(0.5, max(0.0, base)))
        params.no_show_per_day = float(min(0.2, max(0.0, slope)))
        report["fitted"] += ["no_show_base", "no_show_per_day"]
    final = [r for r in rows if r["outcome"] != "pending"]
    if len(final) >= MIN_EVENTS:
        params.cancel_base = float(np.mean([r["outcome"] == "cancelled" for r in final]))
        params.cancel_per_day = 0.0
        report["fitted"].append("cancel_base")
    first, last = min(requested), max(requested)
    params.fitted_from = {"events": len(rows), "from": first.isoformat(), "to": last.isoformat(),
                          "sha256_of_event_ids": _ids_hash(rows)}
    return params, report


def _ids_hash(rows: list[dict]) -> str:
    import hashlib

    digest = hashlib.sha256()
    for event_id in sorted(str(r.get("event_id", "")) for r in rows):
        digest.update(event_id.encode())
    return digest.hexdigest()
