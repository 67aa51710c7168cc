"""gunicorn's own error log (the traceback of a request that failed in the worker) passes through the
application's scrubbing filter before it is written (deploy/gunicorn.conf.py, JsonAccessLogger)."""

from __future__ import annotations

import time

import httpx

from tests.deploy.gunicorn_process import gunicorn_running


def test_a_failing_request_is_logged_without_the_personal_data_of_its_exception(tmp_path):
    err = tmp_path / "gunicorn.err"
    with gunicorn_running("tests.deploy.raising_app:application", err) as port:
        answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=15)
        deadline = time.monotonic() + 10
        while "RuntimeError" not in err.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.1)
    output = err.read_text(errors="replace")
    assert answer.status_code == 500 and answer.json()["message"]
    assert "Traceback" in output and "RuntimeError" in output, output[-2000:]
    assert "ada.obi@example.org" not in output and "08031234567" not in output
    assert "[email]" in output and "[phone]" in output
