"""A worker freezes what startup built before serving, and collects garbage between requests, not
inside them (deploy/gunicorn.conf.py, post_worker_init; phb/collector.py; phb/workers.py)."""

from __future__ import annotations

import httpx
import pytest

from tests.deploy.gunicorn_process import gunicorn_running


def _states(port: int, count: int) -> list[dict]:
    states = []
    with httpx.Client(timeout=15) as client:
        for _ in range(count):
            response = client.get(f"http://127.0.0.1:{port}/")
            assert response.status_code == 200
            states.append(response.json())
    return states


@pytest.mark.parametrize("threads", ["1", "4"])
def test_the_worker_serves_with_its_startup_heap_frozen_and_collects_once_after_each_request(tmp_path, threads):
    with gunicorn_running("tests.deploy.gc_app:application", tmp_path / "gunicorn.err",
                          GUNICORN_THREADS=threads) as port:
        states = _states(port, 12)
    assert states[0]["frozen"] > 10_000  # gunicorn and the application, not a handful
    assert states[0]["threshold"][0] == 100_000  # no routine collection inside a request
    totals = [sum(state["collections"]) for state in states]
    # Each answer is taken before its own request's collection: one collection between answers.
    assert [later - earlier for earlier, later in zip(totals, totals[1:])] == [1] * 11
    middle = [state["collections"][1] for state in states]
    assert middle[-1] - middle[0] == 1  # the tenth request's collection took the middle generation


def test_the_collection_schedule_can_be_left_to_python(tmp_path):
    with gunicorn_running("tests.deploy.gc_app:application", tmp_path / "gunicorn.err",
                          GUNICORN_GC_BETWEEN_REQUESTS="0") as port:
        states = _states(port, 3)
    assert states[0]["frozen"] > 10_000
    assert states[0]["threshold"][0] == 700  # Python's default
