"""A worker killed at the gunicorn timeout logs where it was stuck (deploy/gunicorn.conf.py, worker_abort)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from phb.localaws import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_a_timed_out_worker_logs_the_stack_it_was_stuck_in(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GUNICORN_TIMEOUT": "2", "GUNICORN_ERROR_LOG": "-"}
    err = tmp_path / "gunicorn.err"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "tests.deploy.hanging_app:application", "--config",
         str(ROOT / "deploy" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err.open("wb"),
    )
    try:
        deadline = time.monotonic() + 30
        while "Booting worker" not in err.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.1)
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=15)
        except httpx.HTTPError:
            pass  # the worker dies with the request in hand
        deadline = time.monotonic() + 15
        while "wait_forever" not in err.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    output = err.read_text(errors="replace")
    assert "WORKER TIMEOUT" in output
    assert "worker timeout: thread MainThread was at" in output, output[-3000:]
    assert "in wait_forever" in output
