"""Fleet-wide locks in the database every instance shares.

PostgreSQL: a session-level advisory lock (released when the connection closes, so a crashed
holder never leaves it behind). SQLite (one instance only): an exclusive ``flock`` on a file next
to the database.
"""

from __future__ import annotations

import fcntl
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection


class LockBusy(Exception):
    pass


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock``."""
    return int.from_bytes(hashlib.sha256(f"phb:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def fleet_lock(name: str, *, wait: bool = True, timeout: float = 1800.0) -> Iterator[None]:
    """Hold the lock ``name`` while the block runs. ``wait=False`` raises :class:`LockBusy` at once
    when another process holds it; ``wait=True`` waits up to ``timeout`` seconds."""
    if connection.vendor == "postgresql":
        key = lock_key(name)
        deadline = time.monotonic() + timeout
        with connection.cursor() as cursor:
            while True:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
                if cursor.fetchone()[0]:
                    break
                if not wait or time.monotonic() > deadline:
                    raise LockBusy(name)
                time.sleep(1.0)
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    database = str(connection.settings_dict.get("NAME") or "")
    folder = Path(database).parent if database and database != ":memory:" and "mode=memory" not in database else None
    path = (folder or Path("/tmp")) / f".phb-lock-{hashlib.sha256(name.encode()).hexdigest()[:16]}"  # noqa: S108
    with open(path, "a") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait or time.monotonic() > deadline:
                    raise LockBusy(name) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
