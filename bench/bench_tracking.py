"""Women's-health tracking benchmarks (DynamoDB on the local moto server).

sync_500_dynamodb_calls: DynamoDB calls of one ``POST /api/womens-health/sync/`` with 500 new
    kick sessions, idempotency checks included. Target at most 25.
sync_500_repeat_dynamodb_calls: the same 500 sent again (all duplicates).
latest_50_dynamodb_calls: DynamoDB calls of ``GET /api/womens-health/kick-sessions/?limit=50``
    for a user with 500 sessions. Target 1.
latest_50_p50_ms / latest_50_p95_ms: latency of that request over HTTP against gunicorn
    (2 workers), sequential, after warm-up.
sync_500_ms: wall time of the 500-item sync (in-process, the emulator's speed dominates).
"""

from __future__ import annotations

import http.client
import os
import statistics
import sys
import time

from common import bench_env, gunicorn_server, local_aws, prepare_database, setup_django

ITEMS = 500
READS = 100


def _client(token: str):
    from rest_framework.test import APIClient

    client = APIClient()
    client.cookies["access_token"] = token
    return client


def setup_user():
    from django.utils import timezone

    from accounts.cookies import issue_tokens
    from tests.factories import make_patient
    from tracking.models import WomensHealthProfile

    user = make_patient()
    WomensHealthProfile.objects.create(user=user, verified_at=timezone.now())
    return user, str(issue_tokens(user=user).access_token)


def items() -> list[dict]:
    base = 1_735_711_200_000  # 2025-01-01T06:00:00Z
    return [{"client_id": f"bench-{i}", "type": "kick_session",
             "data": {"date": base + i * 3_600_000, "kicks": 5 + i % 12, "duration": 300 + i}} for i in range(ITEMS)]


def dynamodb_calls(counter) -> int:
    return sum(v for k, v in counter.items() if k.startswith("dynamodb."))


def sync_figures(token: str) -> dict[str, float]:
    from phb.aws.clients import count_aws_calls

    client = _client(token)
    batch = items()
    started = time.perf_counter()
    with count_aws_calls() as calls:
        response = client.post("/api/womens-health/sync/", {"items": batch}, format="json")
    elapsed = (time.perf_counter() - started) * 1000
    body = response.json()
    assert response.status_code == 200 and body["summary"]["created"] == ITEMS, body.get("summary")
    with count_aws_calls() as repeat:
        again = client.post("/api/womens-health/sync/", {"items": batch}, format="json").json()
    assert again["summary"]["duplicate"] == ITEMS
    with count_aws_calls() as read:
        listed = client.get("/api/womens-health/kick-sessions/", {"limit": 50})
    assert len(listed.json()["kick_sessions"]) == 50
    return {
        "sync_500_dynamodb_calls": dynamodb_calls(calls),
        "sync_500_repeat_dynamodb_calls": dynamodb_calls(repeat),
        "latest_50_dynamodb_calls": dynamodb_calls(read),
        "sync_500_ms": round(elapsed, 1),
    }


def latency(url: str, token: str) -> dict[str, float]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Cookie": f"access_token={token}", "Accept": "application/json"}
    samples = []
    for i in range(READS + 10):
        started = time.perf_counter()
        conn.request("GET", "/api/womens-health/kick-sessions/?limit=50", headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"status {response.status}")
        if i >= 10:  # warm-up: worker start, first client creation
            samples.append((time.perf_counter() - started) * 1000)
    conn.close()
    samples.sort()
    return {"latest_50_p50_ms": round(statistics.median(samples), 2),
            "latest_50_p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2)}


def main() -> None:
    env = bench_env(LOG_LEVEL="WARNING")
    with local_aws(env):
        prepare_database(env)
        setup_django(env)
        _, token = setup_user()
        figures = sync_figures(token)
        with gunicorn_server(env, workers=2) as (url, _):
            figures.update(latency(url, token))
        for name, value in figures.items():
            print(f"{name}: {value}", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
