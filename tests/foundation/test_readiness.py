"""/readyz answers within its deadline whatever hangs, and only an instance's own failures make it unready."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

from phb import health
from phb.aws.clients import reset_clients
from tests.hanging import hanging_endpoint
from tests.helpers import client_for


@pytest.fixture(autouse=True)
def _fresh_probes():
    health.clear_cache()
    reset_clients()
    yield
    health.clear_cache()
    reset_clients()


@contextmanager
def aws_at(url: str, **extra) -> Iterator[None]:
    with override_settings(AWS_ENDPOINT_URL=url, **extra):
        reset_clients()
        health.clear_cache()
        try:
            yield
        finally:
            reset_clients()
            health.clear_cache()


def timed_readyz():
    started = time.monotonic()
    response = client_for(None).get("/readyz")
    return response, time.monotonic() - started


@pytest.mark.django_db
def test_ready_when_everything_answers():
    response, _ = timed_readyz()
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": True, "aws": True}}


@pytest.mark.django_db
@pytest.mark.parametrize("probe_timeout", [1.0, 60.0])  # the probe's own timeout, and a probe that outlives the deadline
def test_answers_within_two_seconds_while_aws_hangs(probe_timeout):
    with hanging_endpoint() as hung, aws_at(hung.url, READYZ_AWS_TIMEOUT=probe_timeout, READYZ_DEADLINE_SECONDS=1.0):
        first, first_took = timed_readyz()
        second, second_took = timed_readyz()
        probes_started = hung.connections
    assert first_took < 2.0 and second_took < 2.0, (first_took, second_took)
    for response in (first, second):
        assert response.status_code == 200, response.json()  # shared AWS trouble: degraded, still in service
        body = response.json()
        assert body["status"] == "degraded" and body["checks"] == {"database": True, "aws": False}
    assert probes_started == 1  # a hung probe is not started again, and a failed answer is reused briefly


@pytest.mark.django_db
def test_aws_refusing_connections_is_degraded_not_unready():
    with aws_at("http://127.0.0.1:9"):
        response, _ = timed_readyz()
    assert response.status_code == 200 and response.json()["reasons"] == {"aws": "unreachable"}


_STS_REFUSAL = (
    b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    b"<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid."
    b"</Message></Error><RequestId>7e0bd4b6</RequestId></ErrorResponse>"
)


class _RefusingSts(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(403)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(_STS_REFUSAL)))
        self.end_headers()
        self.wfile.write(_STS_REFUSAL)

    def log_message(self, *args):
        pass


@pytest.mark.django_db
def test_credentials_refused_by_aws_make_the_instance_unready():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingSts)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with aws_at(f"http://127.0.0.1:{server.server_address[1]}"):
            response, _ = timed_readyz()
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["aws"] is False and body["reasons"]["aws"] == "credentials refused"
    assert "aws" in body["message"] and body["code"] == "not_ready"


@pytest.mark.django_db
def test_checks_that_finish_at_once_never_block_the_probe(settings):
    """A check done before its completion callback is attached runs the callback in the calling thread."""
    settings.READYZ_CACHE_SECONDS = 0
    answers: list[dict] = []

    def probe_repeatedly() -> None:
        for _ in range(10):
            answers.append(health.run_checks())

    worker = threading.Thread(target=probe_repeatedly, daemon=True)
    worker.start()
    worker.join(timeout=60)  # ten answers take at most ten deadlines; a blocked probe never returns
    assert not worker.is_alive(), "the probe blocked"
    assert len(answers) == 10


class _FinishedAtOnce:
    """An executor whose futures are done before ``submit`` returns: the completion callback
    then runs inside ``add_done_callback``, the case a busy worker hits now and then."""

    def submit(self, fn):
        from concurrent.futures import Future

        future: Future = Future()
        future.set_result(fn())
        return future


@pytest.mark.django_db
def test_a_check_done_before_its_callback_is_attached_still_answers(monkeypatch):
    health.run_checks()  # this process's pool and probes exist
    health.clear_cache()
    monkeypatch.setitem(health._state, "pool", _FinishedAtOnce())
    monkeypatch.setattr(health, "CHECKS", {"database": health._check_database,
                                           "aws": lambda: health.CheckResult(ok=True, blocking=False)})
    response, _ = timed_readyz()
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": True, "aws": True}}
