"""A worker killed at the gunicorn timeout logs where it was stuck (deploy/gunicorn.conf.py, worker_abort)."""

from __future__ import annotations

import time

import httpx

from tests.deploy.gunicorn_process import gunicorn_running


def test_a_timed_out_worker_logs_the_stack_it_was_stuck_in(tmp_path):
    err = tmp_path / "gunicorn.err"
    with gunicorn_running("tests.deploy.hanging_app:application", err, GUNICORN_TIMEOUT="2") as port:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=15)
        except httpx.HTTPError:
            pass  # the worker dies with the request in hand
        deadline = time.monotonic() + 15
        while "wait_forever" not in err.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.2)
    output = err.read_text(errors="replace")
    assert "WORKER TIMEOUT" in output
    assert "worker timeout: thread MainThread was at" in output, output[-3000:]
    assert "in wait_forever" in output
