"""phb.collector.Schedule: no routine collection inside a request, one after it, and the older
generations on their turn. Run against the interpreter's real collector."""

from __future__ import annotations

import gc
import weakref

import pytest

from phb.collector import Schedule


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


@pytest.fixture
def collections():
    """The generation of every collection the interpreter runs during the test; the collector's
    state is restored afterwards."""
    seen: list[int] = []

    def record(phase: str, info: dict) -> None:
        if phase == "start":
            seen.append(info["generation"])

    threshold = gc.get_threshold()
    gc.callbacks.append(record)
    try:
        yield seen
    finally:
        gc.callbacks.remove(record)
        gc.set_threshold(*threshold)
        gc.unfreeze()


def test_start_freezes_the_loaded_heap_and_raises_the_in_request_threshold(collections):
    schedule = Schedule(backstop=50_000)
    schedule.start()
    assert gc.get_freeze_count() > 1_000
    assert gc.get_threshold()[0] == 50_000
    assert collections == [2]  # the one full collection before freezing


def test_a_request_runs_no_collection_and_its_cycles_are_freed_right_after_it(collections):
    schedule = Schedule()
    schedule.start()
    collections.clear()
    cycle = _Node()
    alive = weakref.ref(cycle)
    del cycle
    page = [{"row": index, "ids": [index]} for index in range(20_000)]  # far past Python's 700
    assert collections == []
    assert alive() is not None
    del page
    assert schedule.after_request() == 0
    assert collections == [0]
    assert alive() is None


def test_older_generations_take_their_turn(collections):
    schedule = Schedule(middle_every=10, full_every=100)
    schedule.start()
    collections.clear()
    answered = [schedule.after_request() for _ in range(300)]
    assert answered == collections
    assert answered.count(2) == 3
    assert answered.count(1) == 27
    assert [index + 1 for index, generation in enumerate(answered) if generation == 2] == [100, 200, 300]


def test_a_request_that_builds_cycles_without_end_is_still_collected(collections):
    schedule = Schedule(backstop=5_000)
    schedule.start()
    collections.clear()
    first = weakref.ref(_Node())
    for _ in range(20_000):
        _Node()
    assert collections, "the backstop threshold never triggered a collection"
    assert first() is None
