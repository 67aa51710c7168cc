"""Schema fuzzing: Schemathesis against ``/api/schema/`` of the service as deployed (gunicorn).

Starts the service the way ``make run`` does (a moto server as AWS, the local Paystack stand-in,
migrate, provision, the demo seed, gunicorn) on a free loopback port, on a database of its own:
``<DATABASE_URL's name>_fuzz`` (dropped and created again) when ``DATABASE_URL`` names
PostgreSQL, else a SQLite file in a temporary directory. It then runs Schemathesis once per
caller — anonymous, the demo patient, the demo doctor and the demo hospital admin (access tokens
minted for the seeded accounts) — and exits non-zero when any run finds a failure.

Checks: no 5xx, errors and data in the declared content type (JSON), responses matching the
schema (status codes, bodies), valid input accepted, invalid input refused.

Bounded: ``FUZZ_MAX_EXAMPLES`` cases per operation (default 8) and ``FUZZ_MAX_SECONDS`` per
signed-in caller (default 80, a third of it for the anonymous one; Schemathesis fills the budget
with coverage, fuzzing and then stateful sequences). ``FUZZ_ROLES`` picks callers (comma-separated), ``FUZZ_SEED`` fixes the
random seed, ``FUZZ_REPORT_DIR`` keeps Schemathesis' reports (default ``var/fuzz``).
``FUZZ_BASE_URL`` fuzzes a service already running there (its ``DATABASE_URL`` in the
environment, for the tokens) instead of starting one. ``FUZZ_CONCURRENT=1`` runs the callers at
once against the one service (each one's output in ``<report dir>/<role>.log``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ROLES = {
    "anonymous": None,
    "patient": "patient@phb.test",
    "doctor": "doctor@phb.test",
    "hospital_admin": "admin@phb.test",
    "pharmacist": "pharmacist@phb.test",
}
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
    # Schema-violating input is refused: JSON values have the type the schema states
    # (phb.api.fields), and the schema states what each endpoint accepts. Schemathesis'
    # negative_data_rejection, judged on the body as sent (fuzz/hooks.py).
    "negative_data_rejection_as_sent",
]
# Operations that end the caller's own session are fuzzed anonymously only: a signed-in run
# that logged itself out would test the 401 path for the rest of its budget.
SESSION_ENDING = r"^/api/(logout|password/change)/$"

_MINT_TOKENS = """
import json, sys
import django
django.setup()
from django.utils import timezone
from accounts.cookies import issue_tokens
from accounts.models import User
from tracking.models import WomensHealthProfile
emails = json.loads(sys.argv[1])
users = {role: User.objects.get(email=email) for role, email in emails.items()}
# The women's-health area's own code check (tracking.verification), done as if the code was entered,
# so that the fuzzer reaches the area's data endpoints instead of their 403.
for user in users.values():
    WomensHealthProfile.objects.update_or_create(user=user, defaults={"verified_at": timezone.now()})
print(json.dumps({role: str(issue_tokens(user=user).access_token) for role, user in users.items()}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fresh_postgres(url: str) -> str:
    """A fresh ``<name>_fuzz`` database next to the one ``url`` names; returns its URL."""
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'phb'}_fuzz"
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _wait_ready(base: str, process: subprocess.Popen, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"fuzz: the service exited early ({process.returncode}); see the log")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    raise SystemExit(f"fuzz: the service did not answer /healthz within {seconds:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _command(role: str, *, base: str, token: str | None, report_dir: Path, max_examples: str,
             max_seconds: str, seed: str) -> list[str]:
    """The Schemathesis command line for one caller (``token`` None: anonymous)."""
    command = [
        str(Path(PYTHON).parent / "schemathesis"),
        "--config-file", str(ROOT / "fuzz" / "schemathesis.toml"),
        "run", f"{base}/api/schema/",
        "--checks", ",".join(CHECKS),
        "--max-examples", max_examples,
        "--seed", seed,
        "--workers", "1",  # threads parse hypothesis lambdas concurrently: CPython 3.11 AST errors
        "--request-timeout", "20",
        "--no-shrink",
        "--no-color",
        "--generation-database", "none",
        "--report", "junit",
        "--report-junit-path", str(report_dir / f"{role}.xml"),
        "--suppress-health-check", "all",
        "--warnings", "off",
    ]
    if token:
        command += ["-H", f"Authorization: Bearer {token}", "--exclude-path-regex", SESSION_ENDING]
        command += ["--max-time", max_seconds]
    else:  # anonymous: mostly 401s and the public operations
        command += ["--max-time", str(max(20, int(max_seconds) // 3))]
    return command


def _run_callers(commands: dict[str, list[str]], *, env: dict, report_dir: Path, max_seconds: int,
                 at_once: bool) -> list[str]:
    """Run each caller's command, one after another or all at once (``FUZZ_CONCURRENT``: the
    callers then meet on the same service's objects); returns the callers that found failures.
    At once, each caller's output goes to ``<report dir>/<role>.log``."""
    failed = []
    if at_once:
        running = {}
        try:
            for role, command in commands.items():
                with open(report_dir / f"{role}.log", "w") as log:
                    running[role] = (time.monotonic(), subprocess.Popen(
                        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
            for role, (role_started, process) in running.items():
                try:
                    returncode = process.wait(timeout=max(0.0, role_started + max_seconds + 180 - time.monotonic()))
                except subprocess.TimeoutExpired:
                    returncode = -1
                failed += _reported(role, returncode, time.monotonic() - role_started)
        finally:
            for _, process in running.values():
                if process.poll() is None:
                    process.kill()
                    process.wait()
        return failed
    for role, command in commands.items():
        role_started = time.monotonic()
        result = subprocess.run(command, cwd=ROOT, env=env, timeout=max_seconds + 180)
        failed += _reported(role, result.returncode, time.monotonic() - role_started)
    return failed


def _reported(role: str, returncode: int, elapsed: float) -> list[str]:
    print(f"fuzz_{role}: {'ok' if returncode == 0 else 'FAILED'} in {elapsed:.0f} s", flush=True)
    return [] if returncode == 0 else [role]


def main() -> int:
    roles = [r.strip() for r in os.environ.get("FUZZ_ROLES", ",".join(ROLES)).split(",") if r.strip()]
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise SystemExit(f"fuzz: unknown roles {sorted(unknown)}; known: {sorted(ROLES)}")
    max_examples = os.environ.get("FUZZ_MAX_EXAMPLES", "8")
    max_seconds = os.environ.get("FUZZ_MAX_SECONDS", "80")
    seed = os.environ.get("FUZZ_SEED", "16")
    report_dir = Path(os.environ.get("FUZZ_REPORT_DIR", ROOT / "var" / "fuzz"))
    report_dir.mkdir(parents=True, exist_ok=True)

    env = dict(os.environ)
    env.update(PYTHONUNBUFFERED="1")
    started = time.monotonic()
    scratch = None
    service = None
    if env.get("FUZZ_BASE_URL"):
        base = env["FUZZ_BASE_URL"].rstrip("/")
    else:
        scratch = Path(tempfile.mkdtemp(prefix="phb-fuzz-"))
        port = _free_port()
        env.update(
            DJANGO_SETTINGS_MODULE="phb.settings.dev",
            DJANGO_DEBUG="false",
            PORT=str(port),
            PHB_VAR_DIR=str(scratch),
            # Fuzzing is not an attack on the login throttles; they have tests of their own.
            LOGIN_RATE_PER_ACCOUNT="100000/60",
            LOGIN_RATE_PER_IP="100000/60",
            OTP_REQUEST_RATE_PER_ACCOUNT="100000/60",
            REGISTRATION_RATE_PER_IP="100000/60",
            PATIENT_SEARCH_RATE_PER_ACCOUNT="100000/60",
        )
        if env.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
            env["DATABASE_URL"] = _fresh_postgres(env["DATABASE_URL"])
        else:
            env.pop("DATABASE_URL", None)
        base = f"http://127.0.0.1:{port}"
        with open(report_dir / "service.log", "w") as log:
            service = subprocess.Popen(
                [PYTHON, "-m", "phb.localrun"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    env.setdefault("DJANGO_SETTINGS_MODULE", "phb.settings.dev")
    failed: list[str] = []
    try:
        if service is not None:
            _wait_ready(base, service, seconds=240)
            print(f"fuzz: service up on {base} in {time.monotonic() - started:.0f} s", flush=True)
        # The first schema build of each worker takes seconds on a busy machine: do it once here.
        urllib.request.urlopen(f"{base}/api/schema/", timeout=120).read()
        signed_in = {role: ROLES[role] for role in roles if ROLES[role]}
        tokens = json.loads(
            subprocess.run(
                [PYTHON, "-c", _MINT_TOKENS, json.dumps(signed_in)],
                cwd=ROOT, env=env, check=True, capture_output=True, text=True,
            ).stdout.strip().splitlines()[-1]
        ) if signed_in else {}
        # fuzz/hooks.py registers the check judged on the body as sent.
        fuzz_env = {**env, "SCHEMATHESIS_HOOKS": "fuzz.hooks",
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))}
        commands = {role: _command(role, base=base, token=tokens.get(role), report_dir=report_dir,
                                   max_examples=max_examples, max_seconds=max_seconds, seed=seed)
                    for role in roles}
        failed = _run_callers(commands, env=fuzz_env, report_dir=report_dir, max_seconds=int(max_seconds),
                              at_once=env.get("FUZZ_CONCURRENT", "").lower() in ("1", "true", "yes"))
    finally:
        if service is not None:
            _stop(service)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"fuzz: {len(roles) - len(failed)}/{len(roles)} callers clean in {time.monotonic() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
