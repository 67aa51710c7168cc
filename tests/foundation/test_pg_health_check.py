"""A reused PostgreSQL connection is checked without a round trip, and one the server ended is replaced."""

from __future__ import annotations

import select
import time
from collections.abc import Iterator

import pytest
from django.db import connection, connections

from phb.pgbackend.base import DatabaseWrapper
from tests.pgtrace import sent_to_server

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend's check"),
]


@pytest.fixture
def wrapper() -> Iterator[DatabaseWrapper]:
    """A connection of its own, outside the test's transaction, as a worker holds one between requests."""
    own = connections.create_connection("default")
    own.ensure_connection()
    yield own
    own.close()


def _wait_until_readable(wrapper: DatabaseWrapper) -> None:
    poller = select.poll()
    poller.register(wrapper.connection.pgconn.socket, select.POLLIN)
    deadline = time.monotonic() + 10
    while not poller.poll(50) and time.monotonic() < deadline:
        pass


def test_the_settings_use_this_backend():
    assert isinstance(connections["default"], DatabaseWrapper)
    assert connections["default"].health_check_enabled


def test_an_idle_healthy_connection_is_usable_without_a_round_trip(wrapper):
    results = []
    assert sent_to_server(wrapper, lambda: results.append(wrapper.is_usable())) == []
    assert results == [True]
    # The trace records a real query (so the empty trace above means nothing was sent).
    assert sent_to_server(wrapper, lambda: wrapper.connection.execute("SELECT 1")) == ["SELECT 1"]


def test_the_check_at_a_requests_first_query_sends_only_the_query(wrapper):
    wrapper.close_if_unusable_or_obsolete()  # what request_started does

    def first_query() -> None:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT 42")

    assert sent_to_server(wrapper, first_query) == ["SELECT 42"]
    assert wrapper.health_check_done


def test_a_connection_the_server_ended_is_not_usable_and_is_replaced(wrapper):
    ended_pid = wrapper.connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [ended_pid])
        assert cursor.fetchone() == (True,)
    _wait_until_readable(wrapper)
    assert wrapper.is_usable() is False

    # At the next request, the first query gets a fresh connection instead of an error.
    wrapper.close_if_unusable_or_obsolete()
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != ended_pid


def test_a_connection_with_data_waiting_asks_the_server(wrapper):
    """Something the server sent to an idle connection (here a notification) is not taken on trust."""
    wrapper.connection.execute("LISTEN phb_health_check_test")
    other = connections.create_connection("default")
    try:
        other.ensure_connection()
        other.connection.execute("NOTIFY phb_health_check_test")
    finally:
        other.close()
    _wait_until_readable(wrapper)
    results = []
    assert sent_to_server(wrapper, lambda: results.append(wrapper.is_usable())) == ["SELECT 1"]
    assert results == [True]


def test_a_closed_connection_is_not_usable(wrapper):
    wrapper.connection.close()
    assert wrapper.is_usable() is False
