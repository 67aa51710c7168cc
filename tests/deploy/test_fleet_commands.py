"""Commands the instances run: migrations once per release across the fleet, periodic jobs on one
instance at a time, the environment file from Parameter Store."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from phb.deploy.envfile import EnvFileError, parse, quote, render
from phb.deploy.locks import LockBusy, fleet_lock
from tests.deploy.aws_calls import ROOT


def command(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


class Holder(threading.Thread):
    """Holds a fleet lock from another thread (its own database connection) for ``seconds``."""

    def __init__(self, name: str, seconds: float):
        super().__init__(daemon=True)
        self.lock_name, self.seconds = name, seconds
        self.held = threading.Event()

    def run(self):
        from django.db import connections

        try:
            with fleet_lock(self.lock_name):
                self.held.set()
                time.sleep(self.seconds)
        finally:
            connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_migrate_once_applies_pending_migrations_once():
    call_command("migrate", "token_blacklist", "zero", verbosity=0)
    first = command("migrate_once", "--release", "v9")
    assert "applying" in first and "migration(s)" in first
    second = command("migrate_once", "--release", "v9")
    assert "nothing to apply" in second


@pytest.mark.django_db(transaction=True)
def test_migrate_once_waits_for_the_instance_that_migrates():
    holder = Holder("migrate", 1.5)
    holder.start()
    assert holder.held.wait(10)
    started = time.monotonic()
    out = command("migrate_once", "--release", "v9")
    assert time.monotonic() - started >= 1.0, "did not wait for the lock"
    assert "nothing to apply" in out
    holder.join()


@pytest.mark.django_db(transaction=True)
def test_run_locked_skips_a_job_running_elsewhere():
    holder = Holder("job:check", 2.0)
    holder.start()
    assert holder.held.wait(10)
    assert "running elsewhere; skipped" in command("run_locked", "check")
    holder.join()
    assert "skipped" not in command("run_locked", "check")


@pytest.mark.django_db(transaction=True)
def test_fleet_lock_without_waiting_raises_when_held():
    holder = Holder("job:x", 1.0)
    holder.start()
    assert holder.held.wait(10)
    with pytest.raises(LockBusy):
        with fleet_lock("job:x", wait=False):
            pass
    holder.join()
    with fleet_lock("job:x", wait=False):
        pass


@pytest.mark.django_db(transaction=True)
def test_two_instances_booting_together_migrate_once():
    """Two processes (two instances of a new release) start at the same moment."""
    if connection.vendor != "postgresql":
        pytest.skip("several instances share PostgreSQL (RDS); SQLite serves one instance")
    call_command("migrate", "token_blacklist", "zero", verbosity=0)
    env = {**os.environ, "DATABASE_URL": _database_url(), "DJANGO_SETTINGS_MODULE": "phb.settings.test"}
    processes = [
        subprocess.Popen([sys.executable, "manage.py", "migrate_once", "--release", "v10"], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=180) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    texts = sorted(out for out, _ in outputs)
    assert sum("applying" in t for t in texts) == 1, texts
    assert sum("nothing to apply" in t for t in texts) == 1, texts


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


# --- the environment file -------------------------------------------------------------------------------
def test_env_file_round_trips_awkward_values():
    values = {"A": 'q"uote', "B": "back\\slash", "C": "$HOME `id`", "D": "", "E": "sp ace=x"}
    assert parse(render(values)) == values


@pytest.mark.parametrize("bad", [{"A": "two\nlines"}, {"lower": "x"}, {"1X": "y"}])
def test_env_file_refuses_what_systemd_would_misread(bad):
    with pytest.raises(EnvFileError):
        render(bad)


def test_quote_escapes_for_systemd():
    assert quote('a"b\\c') == '"a\\"b\\\\c"'


def test_write_env_file_refuses_an_empty_path(tmp_path):
    with pytest.raises(CommandError, match="no parameters"):
        command("write_env_file", "--parameter-path", "/phb/nothing-here", "--output", str(tmp_path / "env"))


def test_write_env_file_is_unchanged_when_nothing_changed(tmp_path):
    from phb.aws.clients import aws_client

    aws_client("ssm").put_parameter(Name="/phb/unchanged/env/X", Value="1", Type="String", Overwrite=True)
    target = tmp_path / "env"
    assert "written" in command("write_env_file", "--parameter-path", "/phb/unchanged/env", "--output", str(target))
    assert "unchanged" in command("write_env_file", "--parameter-path", "/phb/unchanged/env", "--output", str(target))


@pytest.mark.django_db(transaction=True)
def test_run_locked_logs_a_failed_job_through_the_scrubbing_filter(captured_lines):
    """The job's exception (here loaddata's, naming the fixture it could not find) is logged
    scrubbed; the command fails with the job's name and the exception's type only."""
    with pytest.raises(CommandError) as failed:
        command("run_locked", "loaddata", "ada.obi@example.org.json")
    assert str(failed.value) == "loaddata failed (CommandError); the scrubbed traceback is in the log"
    logged = captured_lines.getvalue()
    assert '"message": "job failed"' in logged and "No fixture named '[email]' found." in logged
    assert "ada.obi@example.org" not in logged + str(failed.value)
