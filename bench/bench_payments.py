"""Payments benchmark: Paystack webhooks against gunicorn, Paystack being the local stand-in.

Prints:
- ``webhook_p50_ms`` / ``webhook_p95_ms``: one ``charge.success`` delivery processed (signature check,
  re-verify with Paystack, payment completed, appointment confirmed), over 200 payments.
- ``duplicate_webhook_p50_ms``: the same 200 deliveries sent again.
- ``duplicate_webhook_paystack_calls``: Paystack calls made while answering those duplicates (target 0).
- ``race_appointments_per_payment``: 10 verify calls and 3 webhook deliveries at once for one payment,
  on 2 gunicorn worker processes; appointments created per payment (target 1), over 10 payments.

Everything runs on loopback: gunicorn, a moto server and the stand-in; bounded loops only.
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, gunicorn_server, local_aws, manage, prepare_database  # noqa: E402
from payments.gateway import sign  # noqa: E402
from payments.standin import start_standin_process  # noqa: E402
from phb.localaws import free_port  # noqa: E402

WEBHOOKS = 200
RACES = 10
SECRET = "sk_test_bench_standin_secret"

SETUP = """
import json
from accounts.cookies import issue_tokens
from tests.factories import DepartmentFactory, HospitalFactory, make_patient
hospital = HospitalFactory(time_zone="Africa/Lagos")
department = DepartmentFactory(hospital=hospital, name="General Medicine")
patients = [make_patient(hospital=hospital) for _ in range(2)]
print(json.dumps({"department": department.pk, "hospital": hospital.pk,
                  "tokens": [str(issue_tokens(user=p).access_token) for p in patients]}))
"""

COUNT = """
import json
from appointments.models import Appointment
from payments.models import Payment
refs = json.loads('{refs}')
print(json.dumps([Appointment.objects.filter(payment_reference=r).count() for r in refs]))
"""


def slots(count: int, *, first_day: int) -> list[str]:
    out: list[str] = []
    day = date.today() + timedelta(days=first_day)
    while len(out) < count:
        for minutes in range(9 * 60, 17 * 60, 30):
            out.append(f"{day.isoformat()}T{minutes // 60:02d}:{minutes % 60:02d}:00Z")
        day += timedelta(days=1)
    return out[:count]


def booking(setup: dict, when: str) -> dict:
    return {"amount": 1, "payment_method": "card", "payment_provider": "paystack",
            "department_id": setup["department"], "hospital_id": setup["hospital"], "appointment_date": when,
            "appointment_type": "consultation", "priority": "normal", "chief_complaint": "Benchmark visit",
            "symptoms_data": [], "is_insurance_based": False, "insurance_details": {}}


def start_and_pay(api: httpx.Client, standin: httpx.Client, setup: dict, when: str) -> str:
    started = api.post("/api/payments/initialize/", json=booking(setup, when))
    started.raise_for_status()
    body = started.json()
    paid = standin.post(body["payment_url"], data={"outcome": "success", "webhook": "none"},
                        headers={"Accept": "application/json"})
    paid.raise_for_status()
    return body["reference"]


def webhook_body(standin: httpx.Client, reference: str) -> bytes:
    data = standin.get(f"/_standin/transactions/{reference}").json()
    return json.dumps({"event": "charge.success", "data": data}, separators=(",", ":")).encode()


def deliver(hooks: httpx.Client, body: bytes) -> float:
    started = time.perf_counter()
    response = hooks.post("/api/payments/webhook/", content=body,
                          headers={"Content-Type": "application/json", "x-paystack-signature": sign(body, SECRET)})
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"webhook answered {response.status_code}: {response.text[:200]}")
    return elapsed


def verify_calls(standin: httpx.Client) -> int:
    return standin.get("/_standin/stats").json()["calls"].get("verify", 0)


def main() -> int:
    env = bench_env(PAYSTACK_SECRET_KEY=SECRET, PAYMENTS_ENABLED="true", BOOKING_HOLD_MINUTES="60")
    with local_aws(env):
        prepare_database(env)
        setup = json.loads(manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])
        process, standin_url = start_standin_process(port=free_port(), secret_key=SECRET, webhook_url="", env=env)
        env["PAYSTACK_BASE_URL"] = standin_url
        try:
            with gunicorn_server(env, workers=2) as (url, _):
                standin = httpx.Client(base_url=standin_url, timeout=30)
                api = httpx.Client(base_url=url, timeout=60, cookies={"access_token": setup["tokens"][0]})
                hooks = httpx.Client(base_url=url, timeout=60)

                references = [start_and_pay(api, standin, setup, when) for when in slots(WEBHOOKS, first_day=1)]
                bodies = [webhook_body(standin, ref) for ref in references]
                first = [deliver(hooks, body) for body in bodies]
                before = verify_calls(standin)
                again = [deliver(hooks, body) for body in bodies]
                duplicate_calls = verify_calls(standin) - before
                done = {p["reference"]: p["status"] for p in api.get("/api/payments/history/").json()["payments"]}
                completed = sum(1 for ref in references if done.get(ref) == "completed")
                if completed != WEBHOOKS:
                    raise RuntimeError(f"only {completed} of {WEBHOOKS} payments completed")

                racer = httpx.Client(base_url=url, timeout=60, cookies={"access_token": setup["tokens"][1]})
                race_refs = [start_and_pay(racer, standin, setup, when) for when in slots(RACES, first_day=20)]
                for ref in race_refs:
                    body = webhook_body(standin, ref)
                    barrier = threading.Barrier(13)

                    def verify(ref=ref, barrier=barrier):
                        barrier.wait()
                        with httpx.Client(base_url=url, timeout=60,
                                          cookies={"access_token": setup["tokens"][1]}) as client:
                            return client.get(f"/api/payments/verify/{ref}/").status_code

                    def hook(body=body, barrier=barrier):
                        barrier.wait()
                        with httpx.Client(base_url=url, timeout=60) as client:
                            return client.post("/api/payments/webhook/", content=body, headers={
                                "Content-Type": "application/json", "x-paystack-signature": sign(body, SECRET)}
                            ).status_code

                    with ThreadPoolExecutor(max_workers=13) as pool:
                        codes = [f.result() for f in [pool.submit(verify) for _ in range(10)]
                                 + [pool.submit(hook) for _ in range(3)]]
                    if set(codes) != {200}:
                        raise RuntimeError(f"race answered {codes}")
                counts = json.loads(manage(env, "shell", "-c", COUNT.format(refs=json.dumps(race_refs)))
                                    .strip().splitlines()[-1])
        finally:
            process.terminate()
            process.wait(timeout=10)

    print(f"webhook_p50_ms: {statistics.median(first):.2f}")
    print(f"webhook_p95_ms: {statistics.quantiles(first, n=20)[18]:.2f}")
    print(f"duplicate_webhook_p50_ms: {statistics.median(again):.2f}")
    print(f"duplicate_webhook_paystack_calls: {duplicate_calls}")
    print(f"race_appointments_per_payment: {max(counts)} (min {min(counts)}, over {len(counts)} payments)")
    return 0 if duplicate_calls == 0 and set(counts) == {1} else 1


if __name__ == "__main__":
    sys.exit(main())
