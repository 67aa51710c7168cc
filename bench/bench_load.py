"""Load benchmark: the main lists under wrk, as deployed, against a bare Django view on the same server.

The service runs with production settings on PostgreSQL (a fresh database named after
``DATABASE_URL``'s, dropped afterwards), Redis, CloudWatch logs and metrics on (the local emulator),
gunicorn with ``deploy/gunicorn.conf.py`` and its default worker count, on loopback. wrk (``-t2
-c16``) drives one endpoint at a time for ``LOAD_SECONDS`` (default 10), ``LOAD_ROUNDS`` rounds
(default 2), each round starting with the bare view. For each endpoint it prints:

- ``<name>_rps_ratio``: requests/s ÷ the bare view's in the same run
- ``<name>_p99_ms``: the 99th percentile latency under that load
- ``<name>_cpu_ms_per_request``: worker CPU (user + system, from /proc) per request
- ``<name>_postgres_cpu_ms_per_request``, ``<name>_emulator_cpu_ms_per_request``,
  ``<name>_machine_cpu_ms_per_request``: the CPU the same run cost PostgreSQL's processes, the
  local emulator (moto, which also takes the CloudWatch logs and metrics) and the whole machine
  (wrk included), per request. Once every core is busy, requests/s can be no more than the
  number of cores ÷ the machine's CPU per request.

The lists are measured at several sizes of the caller's history: ``appointments`` (10 rows),
``appointments_200`` (``?limit=200``: 200 rows in one page), ``..._1000_rows`` (1,000 appointments,
the default page), ``..._1000_rows_page_10`` (the same caller, ``?limit=10``: the page of the
10-row caller with a history of 1,000 behind it), the medical record at 10/200/1,000 entries (and
1,000 with ``?limit=10``), guidelines at 50 and 1,000 (one
hospital, ``?category=``), cycles at 10 days and at 200 cycles with 1,000 days. Then
``worker_rss_growth_mb_50k_requests``: the largest growth of one worker's RSS over 50,000 requests
of the mix, after a warm-up. Targets are in ``bench/README.md``.
"""

from __future__ import annotations

import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))

from loadgen import (  # noqa: E402
    cpu_meters,
    deployed_service,
    fresh_database,
    postgres_url,
    quiesce,
    settle,
    worker_boots,
    workers_rss,
    wrk,
    wrk_available,
    wrk_count,
)

SECONDS = float(os.environ.get("LOAD_SECONDS", "10"))
ROUNDS = int(os.environ.get("LOAD_ROUNDS", "2"))
RSS_REQUESTS = int(os.environ.get("LOAD_RSS_REQUESTS", "50000"))
# (endpoint, its floor, the target of its req/s ratio to the bare view); bench/README.md.
RATIO_TARGETS = (
    ("profile", "floor_account", 0.8),
    ("appointments", "floor_appointments", None),
    ("appointments_200", "floor_appointments_200", 0.25),
    ("medical_record_200", "floor_medical_record_200", 0.25),
    ("guidelines_50", "floor_guidelines_50", 0.3),
)


def endpoints(callers: dict) -> list[tuple[str, str, dict[str, str]]]:
    def c(name: str, **extra: str) -> dict[str, str]:
        headers = {"Cookie": callers[name]["cookie"]}
        if "med_token" in callers[name]:
            headers["X-Medical-Record-Token"] = callers[name]["med_token"]
        return {**headers, **extra}

    return [
        ("profile", "/api/profile/", c("profile")),
        ("appointments", "/api/appointments/", c("appointments_10")),
        ("appointments_200", "/api/appointments/?limit=200", c("appointments_200")),
        ("appointments_1000_rows", "/api/appointments/", c("appointments_1000")),
        ("appointments_1000_rows_page_10", "/api/appointments/?limit=10", c("appointments_1000")),
        ("medical_record", "/api/patient/medical-record/", c("medical_record_10")),
        ("medical_record_200", "/api/patient/medical-record/", c("medical_record_200")),
        ("medical_record_1000_rows", "/api/patient/medical-record/", c("medical_record_1000")),
        ("medical_record_1000_rows_page_10", "/api/patient/medical-record/?limit=10", c("medical_record_1000")),
        ("guidelines_50", "/api/clinical-guidelines/?category=surgery", c("guidelines")),
        ("guidelines_1000_rows", "/api/clinical-guidelines/?category=prevention", c("guidelines")),
        ("cycles_10_days", "/api/womens-health/cycles/", c("cycles_10")),
        ("cycles", "/api/womens-health/cycles/", c("cycles_1000")),
        # Floors (bench/urls.py): the bare view plus only the queries and rows an endpoint must have.
        ("floor_account", f"/bench/floor/account/?user={callers['profile']['user_id']}", {}),
        ("floor_appointments", f"/bench/floor/appointments/?user={callers['appointments_10']['user_id']}", {}),
        ("floor_appointments_200",
         f"/bench/floor/appointments/?user={callers['appointments_200']['user_id']}&limit=200", {}),
        ("floor_medical_record_200", f"/bench/floor/medical-record/?user={callers['medical_record_200']['user_id']}", {}),
        ("floor_guidelines_50", f"/bench/floor/guidelines/?user={callers['guidelines']['user_id']}&category=surgery", {}),
    ]


def print_other_cpu(name: str, runs: list, meters: dict) -> None:
    for meter in meters:
        values = [r.other_cpu_ms_per_request(meter) for r in runs]
        print(f"{name}_{meter}_cpu_ms_per_request: {statistics.mean(values):.2f}")


def main() -> int:
    if not wrk_available():
        print("# bench_load: wrk is not installed (.ci/install-system-deps installs it); skipped")
        return 0
    database = postgres_url()
    if database is None:
        print("# bench_load: needs PostgreSQL (DATABASE_URL=postgres://...); skipped")
        return 0
    with fresh_database(database, suffix="load") as url, deployed_service(url) as (base, callers, master, logs):
        pid = master.pid
        port = int(base.rsplit(":", 1)[1])
        meters = cpu_meters(database_url=url)
        plan = endpoints(callers)
        if os.environ.get("LOAD_SERVE_SECONDS"):  # keep the seeded service up to look at it by hand
            import json
            import time

            print(json.dumps({"url": base, "callers": callers, "logs": str(logs), "master": pid}), flush=True)
            time.sleep(min(3600.0, float(os.environ["LOAD_SERVE_SECONDS"])))
            return 0
        for name, path, headers in plan:  # warm every worker on every endpoint (and check each answers)
            warm = wrk(f"{base}", [(path, headers)], seconds=1, master_pid=pid)
            if warm.errors:
                raise RuntimeError(f"{name}: {warm.errors} failed requests while warming up")
        wrk(base, [("/bench/constant/", {})], seconds=2, master_pid=pid)
        boots_before = worker_boots(logs)
        bare, runs = [], {name: [] for name, _, _ in plan}
        for _ in range(ROUNDS):
            quiesce(pid, port=port)  # the previous round's slowest endpoint may still be answering
            bare.append(wrk(base, [("/bench/constant/", {})], seconds=SECONDS, master_pid=pid, meters=meters))
            for name, path, headers in plan:
                settle(0.5)
                quiesce(pid, port=port)
                runs[name].append(wrk(base, [(path, headers)], seconds=SECONDS, master_pid=pid, meters=meters))
        bare_rps = statistics.mean(r.rps for r in bare)
        print(f"bare_rps: {bare_rps:.0f}")
        print(f"bare_p99_ms: {max(r.p99_ms for r in bare):.1f}")
        for number, run in enumerate(bare, start=1):
            print(f"bare_p99_ms_round_{number}: {run.p99_ms:.1f}")
            print(f"bare_tcp_retransmits_round_{number}: {run.tcp_retransmits}")
        print(f"bare_cpu_ms_per_request: {statistics.mean(r.cpu_ms_per_request for r in bare):.2f}")
        print_other_cpu("bare", bare, meters)
        for name, measured in runs.items():
            rps = statistics.mean(r.rps for r in measured)
            print(f"{name}_rps: {rps:.0f}")
            print(f"{name}_rps_ratio: {rps / bare_rps:.3f}")
            print(f"{name}_p99_ms: {max(r.p99_ms for r in measured):.1f}")
            print(f"{name}_cpu_ms_per_request: {statistics.mean(r.cpu_ms_per_request for r in measured):.2f}")
            print_other_cpu(name, measured, meters)
            print(f"{name}_errors: {sum(r.errors for r in measured)}")

        def cpu(name: str) -> float:
            return statistics.mean(r.cpu_ms_per_request for r in runs[name])

        def ratio(name: str) -> float:
            return statistics.mean(r.rps for r in runs[name]) / bare_rps

        # The names for the targets.
        print(f"profile_rps_ratio_pg: {ratio('profile'):.3f}")
        # Each ratio target against its floor in this run: the share of its floor's ratio the endpoint
        # reaches, and the share it would need for its target (above 1: nothing could meet it here).
        for name, floor, target in RATIO_TARGETS:
            print(f"{name}_share_of_floor: {ratio(name) / ratio(floor):.2f}")
            if target is not None:
                print(f"{name}_share_of_floor_needed: {target / ratio(floor):.2f}")
        print(f"appointments_cpu_ms_per_request_1000_rows: {cpu('appointments_1000_rows'):.2f}")
        print(f"appointments_cpu_us_per_row: {1000 * (cpu('appointments_200') - cpu('appointments')) / 190:.1f}")
        print(f"medical_record_cpu_ms_per_request_1000_rows: {cpu('medical_record_1000_rows'):.2f}")
        # What the history itself costs: the 1,000-row caller's page of 10 against the 10-row caller's
        # whole list (the default pages differ in size: 100 and 10 appointments, 200 and 10 entries).
        print(f"appointments_1000_rows_page_10_cpu_ratio: {cpu('appointments_1000_rows_page_10') / cpu('appointments'):.2f}")
        print("medical_record_1000_rows_page_10_cpu_ratio: "
              f"{cpu('medical_record_1000_rows_page_10') / cpu('medical_record'):.2f}")
        print(f"guidelines_cpu_ms_per_request_1000_rows: {cpu('guidelines_1000_rows'):.2f}")
        cycles_p50 = statistics.mean(r.p50_ms for r in runs["cycles"])
        cycles_10_p50 = statistics.mean(r.p50_ms for r in runs["cycles_10_days"])
        print(f"cycles_1000_days_cost_ratio: {cycles_p50 / cycles_10_p50:.2f}")  # latency, emulator included
        print(f"cycles_1000_days_cpu_ratio: {cpu('cycles') / cpu('cycles_10_days'):.2f}")  # the service's own work
        print(f"worker_recycles_during_load: {worker_boots(logs) - boots_before}")

        # Memory: one mix of every endpoint, RSS_REQUESTS requests after a warm-up of 2,000.
        # wrk runs bounded by time, sized from the rates measured above (a round-robin mix runs at
        # k / sum(1 / rate)), until the count is served, at most 10 minutes (loadgen.wrk_count).
        # The 1,000-day cycles caller stays out of the mix: with TRACKING_DAY_CACHE_SIZE=0 its rate
        # is the emulator's (moto's Query walks every item of the table), and in a round-robin mix
        # it would hold the whole run to a few requests a second. The 10-day caller exercises it.
        mixed = [(name, path, headers) for name, path, headers in plan if name != "cycles"]
        mix = [(path, headers) for _, path, headers in mixed] + [("/bench/constant/", {})]
        rates = [statistics.mean(r.rps for r in runs[name]) for name, _, _ in mixed] + [bare_rps]
        mix_rps = len(rates) / sum(1 / max(r, 0.1) for r in rates)

        wrk_count(base, mix, count=2000, rate=mix_rps, master_pid=pid)
        before = workers_rss(pid)
        boots = worker_boots(logs)
        served = wrk_count(base, mix, count=RSS_REQUESTS, rate=mix_rps, master_pid=pid)
        after = workers_rss(pid)
        growth = max((after[p] - before[p] for p in after if p in before), default=float("nan"))
        print(f"worker_rss_mb_before_50k_requests: {max(before.values()):.0f}")
        print(f"worker_rss_growth_mb_50k_requests: {growth:.1f}")
        print(f"worker_rss_requests_served: {served.requests}")
        print(f"worker_recycles_during_50k_requests: {worker_boots(logs) - boots}")
        for line in (logs / "error.log").read_text(errors="replace").splitlines():
            if any(word in line for word in ("TIMEOUT", "was sent", "exited with", "Worker failed", "out of memory")):
                print(f"# gunicorn: {line[:200]}")  # why a worker restarted, if one did
    return 0


if __name__ == "__main__":
    sys.exit(main())
