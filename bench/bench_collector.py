"""Garbage collection between requests (``phb.collector``) against Python's own schedule, in process:
worker CPU per request of three API calls served through Django's test client, with the startup
heap frozen as in the workers. On the database of ``DATABASE_URL`` (a throwaway test database;
SQLite in memory when unset).

- gc_python_cpu_us_<name>: Python's schedule (a young collection every 700 net allocations);
- gc_between_cpu_us_<name>: ``Schedule``: no routine collection inside a request, the young
  generation collected after it (the middle every 10th request, the heap every 1,000th), as
  ``phb.workers`` does once a request is answered; its collection is counted in the request;
- gc_between_speedup_<name>: python ÷ between;

for ``appointments_200`` (a patient's list, ``?limit=200``), ``guidelines_50`` (a doctor's page
of 50) and ``profile``. Medians of 9 interleaved rounds of 40 requests.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ROUNDS, CALLS = 9, 40


def _calls() -> dict[str, Callable[[], object]]:
    from django.test import Client

    from accounts.cookies import issue_tokens
    from bench.load_data import _appointments, _guidelines
    from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_hospital_admin, make_patient

    hospital = HospitalFactory(time_zone="Africa/Lagos")
    department = DepartmentFactory(hospital=hospital)
    doctor = make_doctor(department=department)
    patient = make_patient(hospital=hospital)
    _appointments(patient, department, doctor, 200)
    _guidelines(hospital, doctor, make_hospital_admin(hospital=hospital), 50, "surgery")

    def caller(user, path: str) -> Callable[[], object]:
        client = Client()
        client.cookies["access_token"] = issue_tokens(user=user).access_token

        def call() -> object:
            response = client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} answered {response.status_code}: {response.content[:200]!r}")
            return response

        return call

    calls = {
        "appointments_200": caller(patient, "/api/appointments/?limit=200"),
        "guidelines_50": caller(doctor, "/api/clinical-guidelines/?category=surgery"),
        "profile": caller(patient, "/api/profile/"),
    }
    assert len(calls["appointments_200"]().json()) == 200
    return calls


def main() -> None:
    from phb.collector import Schedule

    calls = _calls()
    for call in calls.values():  # every path's code and caches loaded before the heap is frozen
        for _ in range(5):
            call()
    schedule = Schedule()
    schedule.start()
    python_threshold = (700, 10, 10)
    between_threshold = gc.get_threshold()

    def python(call: Callable[[], object]) -> None:
        call()

    def between(call: Callable[[], object]) -> None:
        call()
        schedule.after_request()

    arms = {"python": (python_threshold, python), "between": (between_threshold, between)}
    for name, call in calls.items():
        timings: dict[str, list[float]] = {arm: [] for arm in arms}
        for round_ in range(ROUNDS):
            for arm in (arms if round_ % 2 else reversed(arms)):
                threshold, serve = arms[arm]
                gc.set_threshold(*threshold)
                for _ in range(5):
                    serve(call)
                started = time.process_time()
                for _ in range(CALLS):
                    serve(call)
                timings[arm].append((time.process_time() - started) * 1e6 / CALLS)
        us = {arm: statistics.median(values) for arm, values in timings.items()}
        print(f"gc_python_cpu_us_{name}: {us['python']:.0f}")
        print(f"gc_between_cpu_us_{name}: {us['between']:.0f}")
        print(f"gc_between_speedup_{name}: {us['python'] / us['between']:.2f}")


if __name__ == "__main__":
    from bench.common import run_in_test_database

    run_in_test_database(main, LOG_LEVEL="WARNING")  # no access line per request on stdout
