"""Requests gunicorn refuses before the application (deploy/gunicorn.conf.py, phb/workers.py) get
the API's JSON error envelope, not an HTML page, with both worker kinds; the error log names the
status and the kind of error, never the request line (it carries the query string)."""

from __future__ import annotations

import json
import socket
import time

import pytest

from phb.workers import refusal_of
from tests.deploy.gunicorn_process import gunicorn_running

MARKER = "patientsurname"


def _ok_app(environ, start_response):  # noqa: ARG001 - the WSGI signature
    body = b'{"ok": true}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture(params=["1", "2"], ids=["sync", "gthread"])
def server(request, tmp_path):
    err = tmp_path / "gunicorn.err"
    with gunicorn_running("tests.deploy.test_server_refusals:_ok_app", err, GUNICORN_THREADS=request.param) as port:
        yield port, err, request.param


def _exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(raw)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(("raw", "status", "code"), [
    (f"GET /api/profile/?q={MARKER}{'x' * 5000} HTTP/1.1\r\nHost: a\r\n\r\n".encode(), 414, "uri_too_long"),
    (f"GET /?q={MARKER} HTTP/1.1\r\nHost: a\r\nX-Big: {'y' * 9000}\r\n\r\n".encode(), 431, "headers_too_large"),
    (f"GET /?q={MARKER} HTTP/1.1\r\nHost: a\r\n".encode() + b"".join(
        f"X-H{n}: 1\r\n".encode() for n in range(120)) + b"\r\n", 431, "headers_too_large"),
    (f"NOT A REQUEST {MARKER}\r\n\r\n".encode(), 400, "bad_request"),
])
def test_a_request_gunicorn_refuses_gets_the_json_envelope(server, raw, status, code):
    port, err, _ = server
    answered, headers, body = _exchange(port, raw)
    assert answered == status
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    payload = json.loads(body)
    assert payload["code"] == code and payload["message"] and payload["message"] == payload["error"]
    time.sleep(0.3)
    log = err.read_text(errors="replace")
    assert f"Request refused before the application: {status}" in log
    assert MARKER not in log


def test_an_ordinary_request_still_reaches_the_application(server):
    port, _, _ = server
    answered, headers, body = _exchange(port, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert (answered, json.loads(body)) == (200, {"ok": True})


def test_the_worker_kind_follows_the_threads_setting(server):
    _, err, threads = server
    expected = "phb.workers.ThreadWorker" if threads == "2" else "phb.workers.SyncWorker"
    assert f"Using worker: {expected}" in err.read_text(errors="replace")


@pytest.mark.parametrize(("exc", "status"), [
    (RuntimeError("boom"), 500),
    (__import__("gunicorn.http.errors", fromlist=["x"]).InvalidResponseHeaderName("bad"), 500),
    (__import__("gunicorn.http.errors", fromlist=["x"]).InvalidHeaderName("bad"), 400),
    (__import__("gunicorn.http.errors", fromlist=["x"]).UnsupportedTransferCoding("gzip"), 501),
])
def test_statuses_follow_gunicorns(exc, status):
    assert refusal_of(exc)[0] == status
