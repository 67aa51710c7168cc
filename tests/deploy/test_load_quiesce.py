"""The load benchmark waits for the service to finish what the previous measurement sent before it
starts the next one, including requests whose workers are waiting on the emulator (no CPU)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from loadgen import open_connections, quiesce  # noqa: E402


def _settle() -> None:
    time.sleep(0.05)


def test_open_connections_counts_requests_queued_or_being_answered():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        assert open_connections(port) == 0  # the listening socket is not a request
        client = socket.create_connection(("127.0.0.1", port))
        _settle()
        assert open_connections(port) == 1  # queued, not accepted yet
        conn, _ = server.accept()
        client.close()
        _settle()
        assert open_connections(port) == 1  # the client has gone, the server has not answered
        conn.close()
        _settle()
        assert open_connections(port) == 0
    finally:
        server.close()


def test_quiesce_waits_for_an_open_request_even_when_no_worker_uses_cpu():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    master = subprocess.Popen(["sleep", "60"])  # a "master" without workers: no CPU used at all
    try:
        client = socket.create_connection(("127.0.0.1", port))
        conn, _ = server.accept()
        _settle()
        assert quiesce(master.pid, port=port, timeout=1.0) >= 1.0
        client.close()
        conn.close()
        _settle()
        assert quiesce(master.pid, port=port, timeout=5.0) < 1.0
    finally:
        server.close()
        master.kill()
        master.wait()
