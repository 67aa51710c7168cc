"""A loopback endpoint that accepts connections and never answers (a hung dependency)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class HangingEndpoint:
    url: str
    accepted: threading.Event = field(default_factory=threading.Event)
    connections: int = 0


@contextmanager
def hanging_endpoint() -> Iterator[HangingEndpoint]:
    """``url`` accepts TCP connections, reads nothing and never replies until the block ends."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.05)
    endpoint = HangingEndpoint(url=f"http://127.0.0.1:{server.getsockname()[1]}")
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            held.append(conn)
            endpoint.connections += 1
            endpoint.accepted.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        server.close()
