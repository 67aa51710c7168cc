"""PostgreSQL not answering (a failover in progress, a network path dropping packets): opening a
connection gives up after ``DB_CONNECT_TIMEOUT`` seconds, well inside gunicorn's 30 s worker timeout,
so the request is answered with the API's JSON 503 instead of the worker being killed (the load
balancer's 502). Runs on SQLite too: the settings are loaded in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.deploy.aws_calls import ROOT
from tests.faults.conftest import hanging_endpoint

GUNICORN_TIMEOUT = 30

pytestmark = pytest.mark.faults

PROBE = """
import json, time
import django
django.setup()
from django.db import connection, OperationalError
started = time.monotonic()
try:
    connection.ensure_connection()
    outcome = "connected"
except OperationalError:
    outcome = "OperationalError"
print(json.dumps({"outcome": outcome, "seconds": time.monotonic() - started}))
"""


def _probe(database_url: str, **extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DB_CONNECT_TIMEOUT")}
    env.update(DJANGO_SETTINGS_MODULE="phb.settings.base", DATABASE_URL=database_url, **extra)
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=GUNICORN_TIMEOUT + 30)


def test_a_database_that_never_answers_fails_the_connection_within_the_timeout():
    with hanging_endpoint() as url:
        port = url.rsplit(":", 1)[1]
        try:
            done = _probe(f"postgres://phb:secret@127.0.0.1:{port}/phb", DB_CONNECT_TIMEOUT="3")
        except subprocess.TimeoutExpired as exc:
            raise AssertionError("opening a connection still waits on an unanswering server") from exc
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["outcome"] == "OperationalError"
    assert result["seconds"] < 3 + 3, result


def test_the_default_timeout_leaves_the_request_time_to_answer():
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.DATABASES['default']['OPTIONS']['connect_timeout'])")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DB_CONNECT_TIMEOUT")}
    env.update(DJANGO_SETTINGS_MODULE="phb.settings.base", DATABASE_URL="postgres://phb@db.internal:5432/phb")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert 1 <= int(done.stdout.strip()) <= GUNICORN_TIMEOUT // 3
    given = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                           env={**env, "DATABASE_URL": "postgres://phb@db.internal:5432/phb?connect_timeout=2"})
    assert given.stdout.strip() == "2", "a timeout in DATABASE_URL wins"
