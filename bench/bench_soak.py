"""Soak: a mixed workload of the main endpoints at a fixed concurrency, as deployed, for a while.

The service as in ``bench_load.py`` (production settings on a fresh PostgreSQL database, Redis,
CloudWatch on against the local emulator, gunicorn with ``deploy/gunicorn.conf.py``, loopback).
wrk (``-t2 -c16``) cycles over the profile, the appointment list, the medical record, the
guideline list, the cycles and the hospitals list of several callers for ``SOAK_SECONDS``
(default 300; ``SOAK_SECONDS=20`` for a quick check), in slices of at most 60 s. Prints:

- ``soak_error_rate``: responses >= 400 plus socket errors and timeouts, over all requests (target 0)
- ``soak_p99_ms``: the worst slice's 99th percentile latency
- ``soak_worker_rss_growth_mb``: the largest growth of one worker's RSS from the end of a warm-up
  to the end of the soak (target < 30), and ``soak_worker_recycles`` during the soak
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from loadgen import deployed_service, fresh_database, postgres_url, worker_boots, workers_rss, wrk, wrk_available  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS", "300"))
SLICE = 60.0


def mix(callers: dict) -> list[tuple[str, dict[str, str]]]:
    def c(name: str) -> dict[str, str]:
        headers = {"Cookie": callers[name]["cookie"]}
        if "med_token" in callers[name]:
            headers["X-Medical-Record-Token"] = callers[name]["med_token"]
        return headers

    return [
        ("/api/profile/", c("profile")),
        ("/api/appointments/", c("appointments_10")),
        ("/api/appointments/", c("appointments_200")),
        ("/api/profile/", c("appointments_1000")),
        ("/api/appointments/", c("appointments_1000")),
        ("/api/patient/medical-record/", c("medical_record_10")),
        ("/api/patient/medical-record/", c("medical_record_200")),
        ("/api/clinical-guidelines/?category=surgery", c("guidelines")),
        ("/api/womens-health/cycles/", c("cycles_10")),
        ("/api/womens-health/cycles/", c("cycles_1000")),
        ("/api/hospitals/", c("profile")),
        ("/api/prescriptions/", c("appointments_200")),
    ]


def main() -> int:
    if not wrk_available():
        print("# bench_soak: wrk is not installed (.ci/install-system-deps installs it); skipped")
        return 0
    database = postgres_url()
    if database is None:
        print("# bench_soak: needs PostgreSQL (DATABASE_URL=postgres://...); skipped")
        return 0
    with fresh_database(database, suffix="soak") as url, deployed_service(url) as (base, callers, master, logs):
        requests = mix(callers)
        warm = wrk(base, requests, seconds=min(30.0, max(5.0, SECONDS / 10)), master_pid=master.pid)
        if warm.errors:
            raise RuntimeError(f"{warm.errors} failed requests while warming up")
        before = workers_rss(master.pid)
        boots = worker_boots(logs)
        total = errors = 0
        worst_p99 = 0.0
        left = SECONDS
        while left > 0:
            run = wrk(base, requests, seconds=min(SLICE, left), master_pid=master.pid)
            total, errors = total + run.requests, errors + run.errors
            worst_p99 = max(worst_p99, run.p99_ms)
            left -= min(SLICE, left)
        after = workers_rss(master.pid)
        growth = max((after[p] - before[p] for p in after if p in before), default=float("nan"))
        print(f"soak_seconds: {SECONDS:.0f}")
        print(f"soak_requests: {total}")
        print(f"soak_rps: {total / SECONDS:.0f}")
        print(f"soak_error_rate: {errors / max(1, total):.5f}")
        print(f"soak_p99_ms: {worst_p99:.1f}")
        print(f"soak_worker_rss_mb: {max(after.values(), default=0):.0f}")
        print(f"soak_worker_rss_growth_mb: {growth:.1f}")
        print(f"soak_worker_recycles: {worker_boots(logs) - boots}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
