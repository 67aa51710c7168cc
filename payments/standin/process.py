"""The stand-in as a subprocess: for tests, benchmarks and ``make run``."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys


def start_standin_process(*, port: int, secret_key: str, webhook_url: str, env: dict[str, str] | None = None,
                          quiet: bool = True) -> tuple[subprocess.Popen, str]:
    """Start the stand-in as a subprocess on loopback and wait until it answers."""
    from phb.localaws import wait_for_http

    child_env = dict(env if env is not None else os.environ)
    child_env["PAYSTACK_STANDIN_SECRET_KEY"] = secret_key  # not on the command line (visible in ps)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (root, child_env.get("PYTHONPATH", "")) if p)
    process = subprocess.Popen(
        [sys.executable, "-m", "payments.standin", "--host", "127.0.0.1", "--port", str(port),
         "--webhook-url", webhook_url],
        env=child_env, cwd=root, start_new_session=True,
        stdout=subprocess.DEVNULL if quiet else None, stderr=subprocess.DEVNULL if quiet else None,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/_standin/health", timeout=20)
    except RuntimeError:
        process.kill()
        raise
    return process, url


def sidecar(env: dict) -> subprocess.Popen | None:
    """``make run``: without a Paystack secret key, serve payments from the local stand-in."""
    if env.get("PAYSTACK_SECRET_KEY"):
        return None
    from phb.localaws import free_port

    secret_key = f"sk_test_local_{secrets.token_hex(16)}"
    webhook_url = f"http://127.0.0.1:{env.get('PORT', '8000')}/api/payments/webhook/"
    process, url = start_standin_process(port=free_port(), secret_key=secret_key, webhook_url=webhook_url,
                                         env=env, quiet=False)
    env["PAYSTACK_BASE_URL"] = url
    env["PAYSTACK_SECRET_KEY"] = secret_key
    env.setdefault("PAYSTACK_PUBLIC_KEY", "pk_test_local_standin")
    print(f"localrun: Paystack stand-in at {url} (test checkout pages; webhooks to {webhook_url})", flush=True)
    return process
