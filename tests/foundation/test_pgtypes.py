"""PostgreSQL timestamps are parsed in C (phb.pgtypes, phb.pgbackend) and come back exactly as Django's own loader
gives them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import DataError, connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.test import override_settings
from psycopg.pq import Format

from accounts.models import User
from phb import pgtypes
from phb.pgtypes import loader_for

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL loader"),
]

VALUES = [
    "2031-01-06 08:00:00+00", "2031-01-06 08:00:00.5+00", "2031-01-06 08:00:00.123456+00",
    "2024-02-29 23:59:59.999999+00", "2026-03-29 01:30:00+01", "2026-10-25 01:30:00+05:30",
    "1970-01-01 00:00:00-03", "0001-01-02 12:00:00+00", "9999-12-31 23:59:59.999999+00",
    "1890-06-01 12:00:00+00:19:32",
]


def _fetch(values: list[str], *, fast: bool, python: bool = False) -> list:
    """The values as this connection loads them (Django sets the session to its own time zone)."""
    with connection.cursor() as cursor:
        if not fast:  # Django's own loader, on this cursor only
            register_tzloader(connection.timezone, cursor.cursor)
        elif python:  # the Python loader used where the C one cannot be
            cursor.cursor.adapters.register_loader("timestamptz", loader_for(connection.timezone))
        cursor.execute("SELECT v::timestamptz FROM unnest(%s::text[]) AS v", [values])
        return [row[0] for row in cursor.fetchall()]


def _registered():
    return connection.connection.adapters.get_loader(pgtypes.TIMESTAMPTZ_OID, Format.TEXT)


def test_the_connection_uses_psycopgs_c_loader():
    assert pgtypes.C_LOADER is not None, "psycopg's C part (psycopg[binary] or [c]) is a requirement"
    connection.ensure_connection()
    assert _registered() is pgtypes.C_LOADER
    with connection.cursor() as cursor:
        assert cursor.cursor.adapters.get_loader(pgtypes.TIMESTAMPTZ_OID, Format.TEXT) is pgtypes.C_LOADER


def test_values_equal_djangos_loader():
    fast, django = _fetch(VALUES, fast=True), _fetch(VALUES, fast=False)
    assert fast == django
    assert fast[0] == datetime(2031, 1, 6, 8, 0, tzinfo=UTC)
    assert fast[5] == datetime(2026, 10, 24, 20, 0, tzinfo=UTC)
    assert [value.tzinfo for value in fast] == [value.tzinfo for value in django]
    assert all(value.tzinfo is connection.timezone for value in fast)
    assert _fetch(VALUES, fast=True, python=True) == django


def test_a_server_side_cursor_gets_djangos_values_and_the_connection_keeps_the_c_loader(django_user_model):
    user = User.objects.create_user(email="cursor@example.com", password="x-Passw0rd-long", full_name="Cursor")
    joined = User.objects.filter(pk=user.pk).values_list("date_joined", flat=True)
    assert list(joined.iterator(chunk_size=10)) == [user.date_joined]  # a named cursor, outside a transaction
    assert _registered() is pgtypes.C_LOADER


@pytest.mark.django_db(transaction=True)
def test_without_use_tz_values_are_naive_as_djangos():
    with override_settings(USE_TZ=False):
        values = _fetch(VALUES[:3], fast=True)
        assert values == _fetch(VALUES[:3], fast=False)
        assert values[0] == datetime(2031, 1, 6, 8, 0) and values[0].tzinfo is None
    assert _fetch(VALUES, fast=True) == _fetch(VALUES, fast=False)


@pytest.mark.parametrize("literal", ["infinity", "-infinity", "4714-11-24 00:00:00+00 BC"])
def test_values_python_cannot_hold_fail_as_before(literal):
    with pytest.raises(DataError):
        _fetch([literal], fast=True)
    with pytest.raises(DataError):
        _fetch([literal], fast=False)
