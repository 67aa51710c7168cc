"""Faster loading of PostgreSQL ``timestamptz`` values.

Django registers its own ``timestamptz`` loader on every psycopg connection (a subclass of
psycopg's pure-Python loader, so psycopg's C loader is never used): each value goes through a
regular expression and several ``datetime`` calls, about 4 µs, and a list row carries up to four
of them. Two faster loaders return the same values Django's does:

- where Django's time zone is UTC (``USE_TZ`` on, no ``TIME_ZONE`` for the database: the
  service's settings), psycopg's own C loader, which gives a value in the session's time zone,
  ``datetime.UTC`` for the ``UTC`` session that Django opens. A Python function per value costs
  more than the parsing itself, so this is the one a connection uses when it can
  (:func:`use_c_loader`, from ``phb.pgbackend``);
- otherwise :class:`FastTzLoader`, which parses PostgreSQL's ISO output with
  ``datetime.fromisoformat`` (C code) and gives values in Django's time zone (or naive where
  ``USE_TZ`` is off). Anything ``fromisoformat`` does not read (``infinity``, BC dates) goes to
  Django's loader, so errors and edge cases behave as before.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from django.db.backends.signals import connection_created
from psycopg import postgres
from psycopg.pq import Format
from psycopg.types.datetime import TimestamptzLoader

TIMESTAMPTZ_OID = postgres.types["timestamptz"].oid
_DEFAULT_LOADER = postgres.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
C_LOADER = None if _DEFAULT_LOADER is TimestamptzLoader else _DEFAULT_LOADER  # None without psycopg's C part


@lru_cache(maxsize=8)
def loader_for(timezone):  # noqa: ANN001, ANN201 (a tzinfo; a loader class)
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    class FastTzLoader(BaseTzLoader):
        def load(self, data):  # noqa: ANN001, ANN201
            try:
                value = datetime.fromisoformat(bytes(data).decode())
            except ValueError:
                return super().load(data)
            zone = self.timezone
            if zone is None:
                return value.replace(tzinfo=None)
            return value if value.tzinfo is zone else value.astimezone(zone)

    FastTzLoader.timezone = timezone  # Django's cursor re-registers its own loader when this differs
    return FastTzLoader


def use_c_loader(wrapper) -> bool:  # noqa: ANN001 (a PostgreSQL DatabaseWrapper)
    """Whether ``wrapper``'s connection can load timestamps with psycopg's C loader: Django's zone
    is UTC and so is the session's (psycopg gives ``datetime.UTC`` for that session)."""
    return (C_LOADER is not None and wrapper.timezone is UTC
            and wrapper.connection.info.parameter_status("TimeZone") == "UTC")


def register(wrapper) -> None:  # noqa: ANN001 (a PostgreSQL DatabaseWrapper)
    """The fastest loader that gives ``wrapper``'s connection Django's values."""
    loader = C_LOADER if use_c_loader(wrapper) else loader_for(wrapper.timezone)
    wrapper.connection.adapters.register_loader(TIMESTAMPTZ_OID, loader)


def install(sender, connection, **kwargs) -> None:  # noqa: ANN001, ARG001 (a connection_created receiver)
    if connection.vendor == "postgresql":
        register(connection)


def connect() -> None:
    connection_created.connect(install, dispatch_uid="phb.pgtypes.install")
