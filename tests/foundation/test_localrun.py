"""`make run`'s launcher on its embedded defaults: SQLite + its own moto server + gunicorn x2.

Starts the real thing on a free port, checks /healthz and /readyz, sends concurrent writes
through both workers to one SQLite file (WAL, immediate transactions, busy timeout), then
stops it with Ctrl-C (SIGINT) and checks that everything it started is gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from phb.localaws import free_port, wait_for_http

ROOT = Path(__file__).resolve().parents[2]


def _descendants(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    parents: dict[int, list[int]] = {}
    for line in out.splitlines():
        child, parent = (int(x) for x in line.split())
        parents.setdefault(parent, []).append(child)
    found, stack = set(), [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            os.kill(pid, 0)
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
            if state != "Z":
                alive.add(pid)
        except (ProcessLookupError, FileNotFoundError):
            pass
    return alive


@pytest.mark.slow
def test_make_run_serves_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PAYSTACK_"))}
    env.update(PORT=str(port), PHB_VAR_DIR=str(tmp_path), DEMO_PASSWORD="Demo-pass-for-test-1",
               # 40 registrations from one address: the registration throttle has tests of its own, and
               # its counters in a shared Redis may hold an earlier run's registrations
               REGISTRATION_RATE_PER_IP="1000/3600")
    process = subprocess.Popen([sys.executable, "-m", "phb.localrun"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_http(f"{base}/healthz", timeout=180)
        except RuntimeError:
            process.kill()
            pytest.fail(process.stdout.read().decode()[-4000:])
        assert httpx.get(f"{base}/readyz").json()["checks"] == {"database": True, "aws": True}
        assert (tmp_path / "phb.sqlite3").exists()

        def register(i: int) -> int:
            body = {"full_name": "Load Test", "email": f"load{i}@example.test", "password": "Load-test-pass-1",
                    "date_of_birth": "1990-01-01", "consent_terms": True, "consent_hipaa": True,
                    "consent_data_processing": True}
            return httpx.post(f"{base}/api/registration/", json=body, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(register, range(40)))
        assert statuses == [201] * 40

        demo = httpx.post(f"{base}/api/login/", json={"email": "patient@phb.test", "password": "Demo-pass-for-test-1"})
        assert demo.status_code == 200 and demo.json()["require_otp"] is True
    finally:
        started = _descendants(process.pid)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail("make run did not stop on Ctrl-C")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _alive(started):
        time.sleep(0.2)
    assert len(started) >= 4, "expected moto, gunicorn master and two workers"
    assert not _alive(started), "processes left behind after Ctrl-C"


@pytest.mark.slow
def test_make_run_ships_logs_and_metrics_to_the_aws_it_is_given(tmp_path):
    """With ``AWS_ENDPOINT_URL`` naming an emulator the operator runs, CloudWatch logs and
    metrics still reach it (they are off only when the operator says so)."""
    import boto3

    from phb.localaws import start_moto_server

    moto, aws = start_moto_server()
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PAYSTACK_", "CLOUDWATCH_"))}
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    env.update(PORT=str(port), PHB_VAR_DIR=str(tmp_path), DEMO_PASSWORD="Demo-pass-for-test-1",
               AWS_ENDPOINT_URL=aws, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_REGION="us-east-1", CLOUDWATCH_METRICS_FLUSH_SECONDS="1",
               CLOUDWATCH_LOGS_SEND_INTERVAL_SECONDS="1")
    process = subprocess.Popen([sys.executable, "-m", "phb.localrun"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_http(f"{base}/healthz", timeout=180)
        except RuntimeError:
            process.kill()
            pytest.fail(process.stdout.read().decode()[-4000:])
        assert httpx.get(f"{base}/api/profile/").status_code == 401
        logs = boto3.client("logs", endpoint_url=aws, **credentials)
        cloudwatch = boto3.client("cloudwatch", endpoint_url=aws, **credentials)
        events, request_lines, metric_names = [], [], set()
        deadline = time.monotonic() + 60
        # Set-up (seed_demo) logs too: wait for the request's own line, not just any line.
        while time.monotonic() < deadline and not (request_lines and metric_names):
            time.sleep(1)
            events = logs.filter_log_events(logGroupName="/phb/app")["events"]
            request_lines = [e for e in events if "request" in e["message"]]
            metric_names = {m["MetricName"] for m in cloudwatch.list_metrics()["Metrics"]}
        assert events, "no log line reached CloudWatch"
        assert request_lines, "the request's log line did not reach CloudWatch"
        assert metric_names, "no metric reached CloudWatch"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        moto.terminate()
        moto.wait(timeout=10)
