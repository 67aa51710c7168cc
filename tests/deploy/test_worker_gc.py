"""A worker freezes what startup built before serving (deploy/gunicorn.conf.py, post_worker_init)."""

from __future__ import annotations

import httpx

from tests.deploy.gunicorn_process import gunicorn_running


def test_the_worker_serves_with_its_startup_heap_frozen(tmp_path):
    with gunicorn_running("tests.deploy.gc_app:application", tmp_path / "gunicorn.err") as port:
        response = httpx.get(f"http://127.0.0.1:{port}/", timeout=15)
    assert response.status_code == 200
    assert response.json()["frozen"] > 10_000  # gunicorn and the application, not a handful
