"""The system under test: a `make run` backend (phb.localrun) on a fresh database, the local
Paystack stand-in, and the real frontend built against the backend's URL.

Everything runs on loopback. The backend's mail goes to files (``EMAIL_URL=filemail://``), which
is how the suite reads the one-time codes a person would read in their inbox.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from e2e import frontend

ROOT = Path(__file__).resolve().parent.parent
API_PORT = int(os.environ.get("PHB_E2E_API_PORT", "8100"))
WEB_PORT = int(os.environ.get("PHB_E2E_WEB_PORT", "5173"))
# One site for cookies: the API and the frontend are both "localhost" (SameSite=Lax works).
API_URL = f"http://localhost:{API_PORT}"
WEB_URL = f"http://localhost:{WEB_PORT}"
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "phb-demo-Passw0rd!")


def wait_for_http(url: str, *, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


@dataclass
class Mailbox:
    """The backend's outgoing mail (Django's file backend: one file per connection)."""

    folder: Path

    def messages(self) -> list[email.message.EmailMessage]:
        found = []
        for path in sorted(self.folder.glob("*.log"), key=lambda p: (p.stat().st_mtime_ns, p.name)):
            for chunk in path.read_bytes().split(b"-" * 79):
                if chunk.strip():
                    found.append(email.message_from_bytes(chunk.strip() + b"\n", policy=email.policy.default))
        return found

    def mark(self) -> int:
        """How many messages were sent so far; pass it to ``wait_for_code(since=...)``."""
        return len(self.messages())

    def wait_for_code(self, address: str, *, since: int, timeout: float = 20.0) -> str:
        """The six-digit code in the newest message to ``address`` sent after ``since``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.messages()[since:]):
                if address.lower() not in str(message.get("To", "")).lower():
                    continue
                body = message.get_body(preferencelist=("plain", "html"))
                match = re.search(r"\b(\d{6})\b", body.get_content() if body is not None else "")
                if match:
                    return match.group(1)
            time.sleep(0.3)
        raise AssertionError(f"no code emailed to {address} within {timeout:.0f}s")


@dataclass
class Stack:
    api_url: str
    web_url: str
    standin_url: str
    mailbox: Mailbox
    var_dir: Path
    processes: list[subprocess.Popen]
    log_path: Path

    def standin(self, path: str, payload: dict | None = None) -> dict:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(f"{self.standin_url}{path}", data=data,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")

    def query(self, code: str) -> str:
        """What ``code`` prints, run by ``manage.py shell`` on the backend's database (read-only use:
        the suite asks who works where, as a person would read it off the staff list)."""
        return subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=self.env(),
                              capture_output=True, text=True, check=True, timeout=120).stdout.strip()

    def env(self) -> dict[str, str]:
        return json.loads((self.var_dir / "env.json").read_text())

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def attach(*, var_dir: Path) -> Stack:
    """A stack another process started in ``var_dir`` (``python -m e2e.stack``), for quick reruns."""
    env = json.loads((var_dir / "env.json").read_text())
    return Stack(api_url=API_URL, web_url=WEB_URL, standin_url=env["PAYSTACK_BASE_URL"],
                 mailbox=Mailbox(var_dir / "mail"), var_dir=var_dir, processes=[], log_path=var_dir / "backend.log")


def start(*, var_dir: Path) -> tuple[Stack, object]:
    """Start the Paystack stand-in, the backend and the frontend; returns the stack and the web server."""
    from payments.standin import start_standin_process
    from phb.localaws import free_port

    var_dir.mkdir(parents=True, exist_ok=True)
    mail_dir = var_dir / "mail"
    mail_dir.mkdir(exist_ok=True)
    dist = frontend.build(api_url=API_URL)

    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "REDIS_URL", "AWS_ENDPOINT_URL", "PAYSTACK_SECRET_KEY",
                          "DJANGO_SETTINGS_MODULE", "PYTEST_CURRENT_TEST"}}
    env.update({
        "PORT": str(API_PORT),
        "PHB_VAR_DIR": str(var_dir),
        "EMAIL_URL": f"filemail:///{mail_dir}",  # four slashes: an absolute path
        "FRONTEND_URL": WEB_URL,
        "CORS_ALLOWED_ORIGINS": WEB_URL,
        "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
        "DEMO_PASSWORD": DEMO_PASSWORD,
        "WEB_CONCURRENCY": "3",
        # One browser signs the same demo people in many times within a few minutes.
        "LOGIN_RATE_PER_ACCOUNT": "200/900",
        "OTP_REQUEST_RATE_PER_ACCOUNT": "200/900",
        "PYTHONUNBUFFERED": "1",
    })
    # The embedded defaults (SQLite in PHB_VAR_DIR), unless the operator names a database for e2e.
    if os.environ.get("PHB_E2E_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["PHB_E2E_DATABASE_URL"]
    secret = f"sk_test_e2e_{secrets.token_hex(12)}"
    standin, standin_url = start_standin_process(
        port=free_port(), secret_key=secret, webhook_url=f"http://127.0.0.1:{API_PORT}/api/payments/webhook/",
        env=env)
    env.update({"PAYSTACK_SECRET_KEY": secret, "PAYSTACK_BASE_URL": standin_url,
                "PAYSTACK_PUBLIC_KEY": "pk_test_local_standin"})
    (var_dir / "env.json").write_text(json.dumps({**env, "DJANGO_SETTINGS_MODULE": "phb.settings.dev"}))
    log_path = var_dir / "backend.log"
    log = log_path.open("ab")
    backend = subprocess.Popen([sys.executable, "-m", "phb.localrun"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    processes = [standin, backend]
    stack = Stack(api_url=API_URL, web_url=WEB_URL, standin_url=standin_url, mailbox=Mailbox(mail_dir),
                  var_dir=var_dir, processes=processes, log_path=log_path)
    try:
        wait_for_http(f"http://127.0.0.1:{API_PORT}/healthz", timeout=240, process=backend)
    except RuntimeError:
        stack.stop()
        raise RuntimeError("backend did not start:\n" + log_path.read_text()[-4000:]) from None
    web = frontend.serve_in_thread(dist=dist, host="localhost", port=WEB_PORT)
    return stack, web


def main() -> int:
    """Start the stack in the foreground; ``PHB_E2E_ATTACH=<dir> make e2e`` then reuses it."""
    import argparse

    parser = argparse.ArgumentParser(description="Serve the e2e stack until Ctrl-C.")
    parser.add_argument("--var-dir", default=str(ROOT / "var" / "e2e"))
    args = parser.parse_args()
    running, web = start(var_dir=Path(args.var_dir))
    print(f"e2e stack: {running.web_url} (API {running.api_url}); Ctrl-C stops", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        web.shutdown()
        running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
