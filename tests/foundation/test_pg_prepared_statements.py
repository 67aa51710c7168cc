"""On PostgreSQL the server binds the parameters, and a query a connection runs often becomes one of
its prepared statements: later runs send no query text to parse."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection, connections

from tests.helpers import client_for
from tests.pgtrace import sent_to_server

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements"),
]
THRESHOLD = 5  # runs of a query before psycopg prepares it, at the next (the settings' ``prepare_threshold``)


@pytest.fixture
def own() -> Iterator:
    """A connection of its own, as a worker holds one across requests."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def _lookup(wrapper, key: int) -> None:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations WHERE id > %s", [key])
        cursor.fetchone()


def test_a_query_run_often_is_prepared_and_then_sent_without_its_text(own):
    assert own.settings_dict["OPTIONS"]["server_side_binding"] is True
    first = sent_to_server(own, lambda: _lookup(own, 1))
    assert "Parse" in first and "Bind" in first  # parameters bound by the server, not written into the text
    for key in range(2, THRESHOLD + 2):  # prepared at its run after the threshold
        _lookup(own, key)
    with own.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                       ["%FROM django_migrations WHERE id > $1%"])
        assert cursor.fetchone()[0] == 1
    later = sent_to_server(own, lambda: _lookup(own, 99))
    assert "Parse" not in later and "Bind" in later and "Execute" in later


def test_the_signed_in_callers_query_is_prepared_after_a_few_requests(patient):
    client = client_for(patient)
    for _ in range(THRESHOLD + 1):
        assert client.get("/api/profile/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "accounts_user"' in statement and "$1" in statement for statement in prepared), prepared


def test_prepared_statements_can_be_turned_off_for_a_transaction_pooler():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "phb.settings.dev", "DB_PREPARED_STATEMENTS": "false"}
    code = ("import django; django.setup(); from django.db import connection; "
            "print(sorted(connection.settings_dict['OPTIONS']))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "server_side_binding" not in done.stdout and "prepare_threshold" not in done.stdout
