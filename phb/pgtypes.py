"""Faster loading of PostgreSQL ``timestamptz`` values.

Django registers its own ``timestamptz`` loader on every psycopg connection (a subclass of
psycopg's pure-Python loader, so psycopg's C loader is never used): each value goes through a
regular expression and several ``datetime`` calls, about 4 µs, and a list row carries up to four
of them. :class:`FastTzLoader` parses PostgreSQL's ISO output with ``datetime.fromisoformat``
(C code) and returns the same value Django's loader does: aware, in the connection's time zone
(or naive where ``USE_TZ`` is off). Anything ``fromisoformat`` does not read (``infinity``, BC
dates) goes to Django's loader, so errors and edge cases behave as before.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from django.db.backends.signals import connection_created


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


def install(sender, connection, **kwargs) -> None:  # noqa: ANN001, ARG001 (a connection_created receiver)
    if connection.vendor == "postgresql":
        connection.connection.adapters.register_loader("timestamptz", loader_for(connection.timezone))


def connect() -> None:
    connection_created.connect(install, dispatch_uid="phb.pgtypes.install")
