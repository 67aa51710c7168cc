"""Appointment benchmarks.

last_place_race_winners: 20 patients book the last place of one slot at the same moment, over
HTTP, against gunicorn with 2 workers. Booking goes through the product path,
``POST /api/payments/initialize/`` with payments switched off (the waived path takes the hold and
confirms it in one transaction, through ``appointments.booking``). Target 1.
appointments_sql_queries_5 / _100: SQL queries of ``GET /api/appointments/`` for a patient with 5
and with 100 appointments. Target: equal.
doctor_queue_sql_queries_10 / _200: SQL queries of ``GET /api/department-pending-appointments/``
for a doctor whose department has 10 and 200 appointments (half pending, half theirs). Target: equal.

On PostgreSQL, the patient's page of 200 appointments in process (``appointments.list_items``),
milliseconds of this process's CPU and of wall-clock time (the database's work included) per
request, the median of interleaved rounds:
appointments_200_rendered_cpu_ms / _wall_ms: every row rendered from its columns (items not kept);
appointments_200_kept_cpu_ms / _wall_ms: every item as kept;
appointments_200_first_read_cpu_ms / _wall_ms: no item kept yet: each row rendered and its item
written.
"""

from __future__ import annotations

import json
import os
import sys

from common import bench_env, count_queries, gunicorn_server, local_aws, prepare_database, setup_django
from race import race_posts, status_line, successes

RACERS = 20
CAPACITY = 3


def setup_race() -> dict:
    """Department with capacity 3 per slot, two places already held, 20 approved patients."""
    from accounts.cookies import issue_tokens
    from appointments.models import SlotCapacity
    from tests.appointments.helpers import future_slot, hold, iso_z
    from tests.factories import DepartmentFactory, HospitalFactory, make_patient

    hospital = HospitalFactory()
    department = DepartmentFactory(hospital=hospital, name="General Medicine Race")
    SlotCapacity.objects.create(department=department, weekday=None, capacity=CAPACITY)
    start = future_slot(hospital, days=2, at="11:00")
    for _ in range(CAPACITY - 1):
        hold(make_patient(hospital=hospital), department, start)
    racers = [make_patient(hospital=hospital) for _ in range(RACERS)]
    return {
        "hospital_id": hospital.pk,
        "department_id": department.pk,
        "appointment_date": iso_z(start),
        "tokens": [str(issue_tokens(user=p).access_token) for p in racers],
        "racer_ids": [str(p.pk) for p in racers],
    }


def race(url: str, race_data: dict) -> tuple[int, dict[int, int]]:
    body = json.dumps({
        "hospital_id": race_data["hospital_id"], "department_id": race_data["department_id"],
        "appointment_date": race_data["appointment_date"], "appointment_type": "consultation",
        "priority": "normal", "chief_complaint": "Persistent cough", "symptoms_data": [],
        "amount": 2000, "payment_method": "card", "payment_provider": "paystack", "duration": 30,
    })
    statuses = race_posts(url, "/api/payments/initialize/", [(token, body) for token in race_data["tokens"]])
    return successes(statuses), statuses


def query_figures() -> dict[str, int]:
    from accounts.cookies import issue_tokens
    from tests.appointments.helpers import bulk_appointments
    from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_patient

    hospital = HospitalFactory()
    department = DepartmentFactory(hospital=hospital)
    out = {}
    for n in (5, 100):
        patient = make_patient(hospital=hospital)
        bulk_appointments(patients=[patient], department=department, count=n, status="confirmed")
        out[f"appointments_sql_queries_{n}"] = count_queries(str(issue_tokens(user=patient).access_token),
                                                             "/api/appointments/")
    for n in (10, 200):
        queue_department = DepartmentFactory(hospital=hospital)
        doctor = make_doctor(department=queue_department)
        patients = [make_patient(hospital=hospital) for _ in range(4)]
        bulk_appointments(patients=patients, department=queue_department, count=n // 2)
        bulk_appointments(patients=patients, department=queue_department, count=n // 2, doctor=doctor,
                          status="confirmed", offset=n // 2)
        out[f"doctor_queue_sql_queries_{n}"] = count_queries(str(issue_tokens(user=doctor).access_token),
                                                             "/api/department-pending-appointments/")
    return out


def list_figures(rounds: int = 15, calls: int = 10) -> dict[str, float]:
    import statistics
    import time

    from django.db import connection
    from django.test import Client, override_settings

    from accounts.cookies import issue_tokens
    from appointments.models import Appointment
    from tests.appointments.helpers import bulk_appointments
    from tests.factories import DepartmentFactory, HospitalFactory, make_patient

    if connection.vendor != "postgresql":
        return {}
    hospital = HospitalFactory()
    patient = make_patient(hospital=hospital)
    bulk_appointments(patients=[patient], department=DepartmentFactory(hospital=hospital), count=200)
    client = Client()
    client.cookies["access_token"] = str(issue_tokens(user=patient).access_token)
    path = "/api/appointments/?limit=200"

    def measure(before=None) -> tuple[float, float]:
        cpu = wall = 0.0
        for _ in range(calls):
            if before:
                before()
            c0, w0 = time.process_time(), time.perf_counter()
            response = client.get(path)
            cpu += time.process_time() - c0
            wall += time.perf_counter() - w0
            assert response.status_code == 200 and len(response.json()) == 200
        return cpu * 1000 / calls, wall * 1000 / calls

    def forget() -> None:
        Appointment.objects.filter(patient=patient).update(list_item=None)

    def rendered() -> tuple[float, float]:
        with override_settings(APPOINTMENT_LIST_ITEMS_KEPT=False):
            return measure()

    ways = {"rendered": rendered, "kept": measure, "first_read": lambda: measure(forget)}
    for way in ways.values():  # warm up
        way()
    found: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, way in ways.items():
            found[name].append(way())
    out = {}
    for name, pairs in found.items():
        out[f"appointments_200_{name}_cpu_ms"] = statistics.median(p[0] for p in pairs)
        out[f"appointments_200_{name}_wall_ms"] = statistics.median(p[1] for p in pairs)
    return out


def main() -> None:
    env = bench_env(PAYMENTS_ENABLED="false", LOG_LEVEL="WARNING")
    with local_aws(env):
        prepare_database(env)
        setup_django(env)
        race_data = setup_race()
        with gunicorn_server(env, workers=2) as (url, _):
            winners, statuses = race(url, race_data)
        from appointments.models import Appointment, Slot

        booked = Appointment.objects.filter(patient_id__in=race_data["racer_ids"]).count()
        slot = Slot.objects.get(department_id=race_data["department_id"])
        print(f"last_place_race_winners: {winners}")
        print(f"last_place_race_appointments_created: {booked}")
        print(f"last_place_race_slot_in_use: {slot.in_use}/{slot.capacity}")
        print(f"last_place_race_statuses: {status_line(statuses)}")
        for name, value in query_figures().items():
            print(f"{name}: {value}")
        for name, value in list_figures().items():
            print(f"{name}: {value:.2f}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
