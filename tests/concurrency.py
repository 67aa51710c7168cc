"""Races on the real database: many threads released at one moment (PostgreSQL row locks)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.db import close_old_connections, connection

T = TypeVar("T")


def race(attempt: Callable[[T], Any], racers: Iterable[T], *, timeout: float = 30) -> list[Any]:
    """Runs ``attempt(racer)`` for every racer, each in its own thread with its own database
    connection, all released together by one barrier.

    Returns what each attempt returned, in the racers' order. An exception an attempt raises comes
    back as ``"error: <type>: <message>"`` and a thread still running after ``2 * timeout`` as
    ``"unfinished"``, so the caller's assertions on the outcomes show them.
    """
    racers = list(racers)
    barrier = threading.Barrier(len(racers))
    outcomes: list[Any] = ["unfinished"] * len(racers)

    def run(index: int, racer: T) -> None:
        try:
            barrier.wait(timeout=timeout)
            outcomes[index] = attempt(racer)
        except Exception as exc:
            outcomes[index] = f"error: {type(exc).__name__}: {exc}"
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i, racer)) for i, racer in enumerate(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=2 * timeout)
    return outcomes
