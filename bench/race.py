"""Races over HTTP: many clients send one request to a real server at the same moment."""

from __future__ import annotations

import http.client
import threading
from collections import Counter


def race_posts(url: str, path: str, attempts: list[tuple[str, str]], *, timeout: float = 60) -> dict[int, int]:
    """POSTs each ``(access token, JSON body)`` of ``attempts`` to ``path`` at once and counts the answers.

    Every client opens its own connection first, then one barrier releases them all together.
    Returns how many answers had each HTTP status.
    """
    host, port = url.removeprefix("http://").split(":")
    barrier = threading.Barrier(len(attempts))
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt(token: str, body: str) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        conn.connect()
        barrier.wait(timeout=timeout)
        conn.request("POST", path, body=body,
                     headers={"Content-Type": "application/json", "Cookie": f"access_token={token}"})
        response = conn.getresponse()
        response.read()
        conn.close()
        with lock:
            statuses.append(response.status)

    threads = [threading.Thread(target=attempt, args=pair) for pair in attempts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=2 * timeout)
    return dict(Counter(statuses))


def successes(statuses: dict[int, int]) -> int:
    """How many answers were 2xx."""
    return sum(count for status, count in statuses.items() if 200 <= status < 300)


def status_line(statuses: dict[int, int]) -> str:
    """``201x1 409x19``: each status and how many times it was answered, statuses in order."""
    return " ".join(f"{status}x{count}" for status, count in sorted(statuses.items()))
