"""Helpers shared by the benchmarks: a real gunicorn server on loopback, a load loop, RSS, and
the SQL query count of one request in process.

Benchmarks print ``name: value`` lines. Ratios are measured inside one run (shared, noisy
machines). Every loop is bounded in count and time and talks to 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from phb.localaws import free_port, start_moto_server, use_fake_credentials, wait_for_http  # noqa: E402


def run_in_test_database(main: Callable[[], None], **env_defaults: str) -> None:
    """Run ``main`` in this process with the benchmark settings on a throwaway test database
    (created on ``DATABASE_URL``'s server; SQLite in memory when unset), dropped afterwards.
    ``env_defaults`` are set where the environment does not set them."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phb.settings.bench")
    os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")
    for key, value in env_defaults.items():
        os.environ.setdefault(key, value)
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        main()
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)


def bench_env(**extra: str) -> dict[str, str]:
    """Environment for a benchmark server: its own SQLite file (or DATABASE_URL), a moto server."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "phb.settings.bench")
    if "DATABASE_URL" not in env:
        env["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='phb-bench-')}/bench.sqlite3"
    env.update(extra)
    return env


@contextmanager
def local_aws(env: dict[str, str]) -> Iterator[str]:
    if env.get("AWS_ENDPOINT_URL"):
        yield env["AWS_ENDPOINT_URL"]
        return
    use_fake_credentials()
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        env.setdefault(key, os.environ[key])
    process, url = start_moto_server()
    env["AWS_ENDPOINT_URL"] = url
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine: do not fail the run on the way out
            process.kill()
            process.wait(timeout=10)


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def prepare_database(env: dict[str, str]) -> None:
    manage(env, "migrate", "--noinput")
    manage(env, "createcachetable")
    manage(env, "provision_aws")


@contextmanager
def gunicorn_server(env: dict[str, str], *, workers: int = 2, app: str = "phb.wsgi:application") -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", app, "--config", str(ROOT / "deploy" / "gunicorn.conf.py"),
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/healthz", timeout=60)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def measure_rps(url: str, path: str, *, seconds: float = 5.0, concurrency: int = 4,
                headers: dict[str, str] | None = None, max_requests: int = 200_000) -> float:
    """Requests per second over keep-alive connections from ``concurrency`` threads."""
    host, port = url.removeprefix("http://").split(":")
    deadline = time.perf_counter() + seconds
    counts = [0] * concurrency
    errors = [0] * concurrency

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        while time.perf_counter() < deadline and counts[i] < max_requests // concurrency:
            try:
                conn.request("GET", path, headers=headers or {})
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    errors[i] += 1
                counts[i] += 1
            except Exception:
                errors[i] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if sum(errors):
        raise RuntimeError(f"{sum(errors)} failed requests to {path}")
    return sum(counts) / elapsed


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def worker_pids(master_pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master_pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


class PeakRss:
    """Samples the peak RSS of a set of processes in a background thread."""

    def __init__(self, pids: list[int], interval: float = 0.01) -> None:
        self.pids, self.interval = pids, interval
        self.peak: dict[int, float] = {pid: rss_mb(pid) for pid in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                try:
                    self.peak[pid] = max(self.peak[pid], rss_mb(pid))
                except FileNotFoundError:
                    pass
            time.sleep(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def setup_django(env: dict[str, str]) -> None:
    """Django in this process, on the benchmark's database and AWS emulator."""
    os.environ.update(env)
    import django

    django.setup()


def count_queries(token: str, path: str, *, check: Callable[[Any], bool] | None = None, **extra: str) -> int:
    """SQL queries of ``GET path`` signed in with ``token``, in process (Django set up), counted on
    the second call so that first-use caches do not count. ``extra`` are request headers in WSGI
    form; the answer must be 200 and pass ``check``."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.cookies["access_token"] = token
    client.get(path, **extra)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, **extra)
    assert response.status_code == 200 and (check is None or check(response)), response.content[:300]
    return len(ctx.captured_queries)
