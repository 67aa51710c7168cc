"""gunicorn started the way the deploy starts it (deploy/gunicorn.conf.py), for tests that need the
real server: one worker on a free loopback port, its error log in a file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from phb.localaws import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def gunicorn_running(app: str, error_log: Path, **env: str) -> Iterator[int]:
    """Serve the WSGI callable ``app`` (``module:name``) until the block ends; yields the port once
    a worker has booted. ``env`` adds to the environment (the config reads ``GUNICORN_*``)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", app, "--config", str(ROOT / "deploy" / "gunicorn.conf.py"),
         "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "GUNICORN_ERROR_LOG": "-", **env},
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=error_log.open("wb"),
    )
    try:
        deadline = time.monotonic() + 30
        while "Booting worker" not in error_log.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.1)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
