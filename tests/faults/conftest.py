"""Fault tests: AWS and Paystack hanging or refusing, PostgreSQL connections killed under load.

The API runs in a live server thread (threaded on PostgreSQL), Paystack is the local stand-in and
AWS the moto server; faults are made with real sockets: a port where nothing listens (refusing)
and a listener that accepts and never answers (hanging).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.payments.conftest import api_server, clinic, standin, standin_process  # noqa: F401


@contextmanager
def hanging_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:<port>``: accepts every connection, reads, never answers."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()
