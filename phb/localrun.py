"""`make run`: everything the service needs on its embedded defaults, in the foreground.

1. AWS: uses ``AWS_ENDPOINT_URL`` when set, else starts a moto server on loopback. CloudWatch
   logs and metrics are on either way unless the operator turns them off.
2. Side services declared in ``SIDECARS`` (the local Paystack stand-in when no key is set).
3. migrate, createcachetable, collectstatic, provision_aws, seed_demo (all idempotent).
4. gunicorn with at least 2 workers on 127.0.0.1:$PORT. Ctrl-C stops everything started here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from phb.localaws import start_moto_server, use_fake_credentials

ROOT = Path(__file__).resolve().parent.parent
# Each sidecar gets the environment, may start a process and update the environment;
# it returns the process (or None). Apps append to this list in phb/localsidecars.py.
Sidecar = Callable[[dict], "subprocess.Popen | None"]


def _manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, check=True)


def cloudwatch_on_unless_told(env: dict) -> None:
    """CloudWatch logs and metrics are on under ``make run`` whatever AWS it talks to (its own
    moto server, an emulator the operator runs, or an account); the operator turns either off
    by setting ``CLOUDWATCH_LOGS_ENABLED`` / ``CLOUDWATCH_METRICS_ENABLED`` to false."""
    env.setdefault("CLOUDWATCH_LOGS_ENABLED", "true")
    env.setdefault("CLOUDWATCH_METRICS_ENABLED", "true")
    state = ", ".join(f"{name.split('_')[1].lower()} {'on' if env[name].strip().lower() in ('1', 'true', 'yes', 'on') else 'off'}"
                      for name in ("CLOUDWATCH_LOGS_ENABLED", "CLOUDWATCH_METRICS_ENABLED"))
    print(f"localrun: CloudWatch {state} at {env.get('AWS_ENDPOINT_URL') or 'AWS'}", flush=True)


def main() -> int:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "phb.settings.dev")
    env.setdefault("PYTHONUNBUFFERED", "1")
    port = env.get("PORT", "8000")
    children: list[subprocess.Popen] = []
    Path(env.get("PHB_VAR_DIR", ROOT / "var")).mkdir(parents=True, exist_ok=True)

    def stop_all(*_: object) -> None:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()

    def on_signal(signum, frame):  # noqa: ARG001
        stop_all()
        sys.exit(0)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    try:
        if not env.get("AWS_ENDPOINT_URL"):
            use_fake_credentials()
            for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
                env.setdefault(key, os.environ[key])
            moto, url = start_moto_server()
            children.append(moto)
            env["AWS_ENDPOINT_URL"] = url
            print(f"localrun: moto server (local AWS) at {url}", flush=True)
        cloudwatch_on_unless_told(env)

        from phb.localsidecars import SIDECARS

        for sidecar in SIDECARS:
            process = sidecar(env)
            if process is not None:
                children.append(process)

        _manage(env, "migrate", "--noinput")
        _manage(env, "createcachetable")
        _manage(env, "collectstatic", "--noinput", "--verbosity", "0")
        _manage(env, "provision_aws")
        _manage(env, "seed_demo")

        workers = str(max(2, int(env.get("WEB_CONCURRENCY", "2"))))
        gunicorn = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "phb.wsgi:application",
                "--config", str(ROOT / "deploy" / "gunicorn.conf.py"),
                "--bind", f"127.0.0.1:{port}",
                "--workers", workers,
            ],
            env=env,
            cwd=ROOT,
        )
        children.append(gunicorn)
        print(f"localrun: serving on http://127.0.0.1:{port} with {workers} workers (Ctrl-C stops)", flush=True)
        return gunicorn.wait()
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
