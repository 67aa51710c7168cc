"""Prescription and pharmacy benchmarks.

dispense_race_winners: 20 pharmacists of two pharmacies dispense one signed prescription at the
same moment, over HTTP, against gunicorn with 2 workers. Target 1 (the others are told it was
already dispensed).
pharmacies_nearby_sql_queries_100 / _5000: SQL queries of ``GET /api/pharmacies/nearby/`` with
100 and with 5,000 pharmacies in the area. Target: equal.
pharmacies_nearby_p50_ms: median latency of that call over HTTP with 5,000 pharmacies spread over
about 220 x 220 km around the caller (10 km radius, 20 results), 200 requests.
"""

from __future__ import annotations

import http.client
import json
import random
import statistics
import sys
import time

from common import bench_env, count_queries, gunicorn_server, local_aws, prepare_database, setup_django
from race import race_posts

RACERS = 20
LATENCY_REQUESTS = 200
LAGOS = (6.6018, 3.3515)
ABUJA = (9.0765, 7.3986)


def setup_race() -> dict:
    from django.db import transaction

    from accounts.cookies import issue_tokens
    from pharmacies.models import Nomination
    from prescriptions import approval, requests
    from prescriptions.models import SignedItem
    from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_patient
    from tests.pharmacies.factories import PharmacyFactory, make_pharmacist

    hospital = HospitalFactory()
    doctor = make_doctor(department=DepartmentFactory(hospital=hospital))
    patient = make_patient(hospital=hospital)
    pharmacies = [PharmacyFactory(latitude=0.0, longitude=0.0), PharmacyFactory(latitude=0.0, longitude=0.0)]
    Nomination.objects.create(patient=patient, pharmacy=pharmacies[0])
    rx = requests.request_create(patient=patient, request_type="repeat", urgency="routine", medications=[
        {"medication_name": "Metformin", "strength": "500mg", "quantity": 56, "is_repeat": True}])
    with transaction.atomic():  # signing runs after this commits
        approval.approve(doctor=doctor, request_id=rx.pk, medications=[])
    item = SignedItem.objects.get(prescription__request=rx)
    if item.state != "issued":
        raise RuntimeError(f"the prescription was not signed ({item.state})")
    racers = []
    for i in range(RACERS):
        pharmacy = pharmacies[i % 2]
        racers.append({"token": str(issue_tokens(user=make_pharmacist(pharmacy=pharmacy)).access_token),
                       "code": pharmacy.code})
    return {"item": str(item.pk), "prescription_id": item.payload["id"], "nonce": item.nonce, "racers": racers}


def race(url: str, data: dict) -> tuple[int, dict[int, int]]:
    attempts = [(racer["token"], json.dumps({"prescription_id": data["prescription_id"], "nonce": data["nonce"],
                                             "pharmacy_code": racer["code"], "pharmacist_name": "bench"}))
                for racer in data["racers"]]
    statuses = race_posts(url, "/api/prescriptions/dispense/", attempts)
    return statuses.get(200, 0), statuses


def scatter(count: int, center: tuple[float, float], *, spread: float, prefix: str) -> None:
    from pharmacies.models import Pharmacy

    rng = random.Random(count)
    Pharmacy.objects.bulk_create([
        Pharmacy(code=f"{prefix}{i:05d}", name=f"Bench Pharmacy {prefix}{i}", address_line_1=f"{i} Bench Road",
                 city="Bench", latitude=center[0] + rng.uniform(-spread, spread),
                 longitude=center[1] + rng.uniform(-spread, spread), verified=True)
        for i in range(count)], batch_size=1000)


def nearby_path(center: tuple[float, float]) -> str:
    return f"/api/pharmacies/nearby/?latitude={center[0]}&longitude={center[1]}&radius=10&limit=20"


def found_some(response) -> bool:
    return response.json()["count"] > 0


def latency_p50(url: str, token: str, path: str) -> float:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    timings = []
    for _ in range(LATENCY_REQUESTS):
        started = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": f"access_token={token}"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"nearby answered {response.status}")
        timings.append((time.perf_counter() - started) * 1000)
    conn.close()
    return statistics.median(timings)


def main() -> None:
    env = bench_env(LOG_LEVEL="WARNING")
    with local_aws(env):
        prepare_database(env)
        setup_django(env)
        from accounts.cookies import issue_tokens
        from tests.factories import make_patient

        race_data = setup_race()
        token = str(issue_tokens(user=make_patient()).access_token)
        scatter(100, ABUJA, spread=0.08, prefix="BA")
        scatter(5000, LAGOS, spread=1.0, prefix="BL")
        queries_100 = count_queries(token, nearby_path(ABUJA), check=found_some)
        queries_5000 = count_queries(token, nearby_path(LAGOS), check=found_some)
        with gunicorn_server(env, workers=2) as (url, _):
            winners, statuses = race(url, race_data)
            p50 = latency_p50(url, token, nearby_path(LAGOS))
        from prescriptions.models import SignedItem

        state = SignedItem.objects.get(pk=race_data["item"]).state
        print(f"dispense_race_winners: {winners}")
        print(f"dispense_race_statuses: {json.dumps(statuses, sort_keys=True)}")
        print(f"dispense_race_item_state: {state}")
        print(f"pharmacies_nearby_sql_queries_100: {queries_100}")
        print(f"pharmacies_nearby_sql_queries_5000: {queries_5000}")
        print(f"pharmacies_nearby_p50_ms: {p50:.1f}")


if __name__ == "__main__":
    sys.exit(main())
