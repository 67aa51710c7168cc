"""Django's PostgreSQL backend with a health check that does not ask the server.

With ``CONN_HEALTH_CHECKS`` on, Django checks a reused connection at the first query of each
request, and its PostgreSQL check is ``SELECT 1``: one round trip, and the server's CPU for it, on
every request that touches the database. A connection idle between requests has nothing to read;
when the server ends it (a restart, a failover, ``pg_terminate_backend``, an idle timeout) it
sends a termination notice or closes the socket, and the socket becomes readable. So a reused
connection is taken as usable when psycopg knows it is open and idle and its socket has nothing
waiting, which a non-blocking ``poll`` tells without sending anything. Anything else (data
waiting, a transaction left open, a state psycopg does not call healthy) falls back to Django's
``SELECT 1``. A peer that vanished without closing the socket goes unnoticed by both checks
until the query's own error.

Cursors: where the connection loads timestamps with psycopg's C loader (``phb.pgtypes``), a cursor
is the connection's own. Django's ``create_cursor`` reads the registered loader's ``timezone`` to
decide whether to register its own on each cursor, and psycopg's C loader has none; when Django's
time zone or the session's is no longer UTC, the connection goes back to a Python loader in
Django's zone before Django's cursor is made.
"""

from __future__ import annotations

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq

from phb import pgtypes


class DatabaseWrapper(base.DatabaseWrapper):
    def create_cursor(self, name=None):  # noqa: ANN001, ANN201 (Django's signature)
        adapters = self.connection.adapters
        if adapters.get_loader(pgtypes.TIMESTAMPTZ_OID, pq.Format.TEXT) is not pgtypes.C_LOADER:
            return super().create_cursor(name)
        if not pgtypes.use_c_loader(self):  # Django's zone or the session's changed since the connection opened
            adapters.register_loader(pgtypes.TIMESTAMPTZ_OID, pgtypes.loader_for(self.timezone))
            return super().create_cursor(name)
        if not name:
            return self.connection.cursor()
        adapters.register_loader(pgtypes.TIMESTAMPTZ_OID, pgtypes.loader_for(self.timezone))  # what Django's check reads
        try:
            return super().create_cursor(name)
        finally:
            adapters.register_loader(pgtypes.TIMESTAMPTZ_OID, pgtypes.C_LOADER)

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            pgconn = connection.pgconn
            if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
                return super().is_usable()
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
            waiting = poller.poll(0)
        except (psycopg.Error, OSError, ValueError):
            return False
        return not waiting or super().is_usable()
