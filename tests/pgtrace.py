"""What a PostgreSQL connection sent to the server, read from libpq's protocol trace."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper


def sent_to_server(wrapper: BaseDatabaseWrapper, action: Callable[[], Any]) -> list[str]:
    """The messages this connection sent while ``action`` ran: a simple query's text, else the
    message's name (``Parse``, ``Bind``, ``Execute``, ``Sync``, ...)."""
    with tempfile.TemporaryFile() as trace:
        pgconn = wrapper.connection.pgconn
        pgconn.trace(trace.fileno())
        try:
            action()
        finally:
            pgconn.untrace()
        trace.seek(0)
        lines = trace.read().decode().splitlines()
    # A line: timestamp, F (from the client) or B (from the server), length, message, fields.
    sent = [line.split("\t") for line in lines if line.split("\t")[1:2] == ["F"]]
    return [fields[4].strip().strip('"') if fields[3] == "Query" else fields[3] for fields in sent]
