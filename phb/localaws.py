"""A local AWS for development and tests: a moto server subprocess on loopback.

Used by ``make run`` (phb.localrun) and by the test settings when ``AWS_ENDPOINT_URL`` is not
set. Real HTTP, so gunicorn workers, browsers following signed URLs and several processes all
see the same emulator.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except Exception:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")
            time.sleep(0.1)


def start_moto_server(*, port: int | None = None) -> tuple[subprocess.Popen, str]:
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/moto-api/")
    except RuntimeError:
        process.kill()
        raise
    return process, url


def use_fake_credentials() -> None:
    """Emulator only: fake credentials so nothing can reach a real account."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_REGION", "us-east-1")


def ensure_moto_for_this_process() -> str:
    """Start a moto server owned by this process unless AWS_ENDPOINT_URL is already set."""
    existing = os.environ.get("AWS_ENDPOINT_URL")
    if existing:
        return existing
    use_fake_credentials()
    process, url = start_moto_server()
    os.environ["AWS_ENDPOINT_URL"] = url
    atexit.register(_stop, process)
    return url


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
