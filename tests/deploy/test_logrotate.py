"""deploy/logrotate/phb: every log file the instance writes is rotated, checked by running the real
logrotate on the shipped configuration with its paths moved into a temporary folder."""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.aws_calls import ROOT

CONFIG = ROOT / "deploy" / "logrotate" / "phb"
BOOTSTRAP_LOG = "/var/log/phb-bootstrap.log"


def _logrotate() -> str:
    found = shutil.which("logrotate") or next(
        (p for p in ("/usr/sbin/logrotate", "/sbin/logrotate") if os.access(p, os.X_OK)), None)
    if not found:
        pytest.skip("logrotate is not installed (an apt package): run .ci/install-system-deps")
    return found


def _blocks(text: str) -> dict[str, list[str]]:
    """Each ``path {`` block of a logrotate configuration: its directives, comments left out."""
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        if line.endswith("{"):
            current = found.setdefault(line[:-1].strip(), [])
        elif line == "}":
            current = None
        elif line and current is not None:
            current.append(line)
    return found


def _moved(tmp_path: Path) -> Path:
    """The configuration with /var/log moved under ``tmp_path`` and ``su`` naming this user."""
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    text = CONFIG.read_text().replace("/var/log/", f"{tmp_path}/log/")
    text = re.sub(r"(?m)^(\s*su)\s+\S+\s+\S+$", rf"\1 {user} {group}", text)
    moved = tmp_path / "logrotate.conf"
    moved.write_text(text)
    moved.chmod(0o644)
    (tmp_path / "log" / "phb").mkdir(parents=True)
    return moved


def _run(config: Path, tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_logrotate(), *flags, "--state", str(tmp_path / "state"), str(config)],
                          capture_output=True, text=True, timeout=60)


def test_the_bootstrap_log_is_rotated_as_root_s_file_in_place():
    """phb-bootstrap appends to its log through ``tee -a`` as root, maybe still running: the file
    is copied then truncated (the writer's next line lands at the start), never recreated."""
    blocks = _blocks(CONFIG.read_text())
    assert BOOTSTRAP_LOG in blocks, f"{BOOTSTRAP_LOG} is not rotated"
    directives = blocks[BOOTSTRAP_LOG]
    assert "copytruncate" in directives
    assert not any(d.startswith(("create", "su ")) for d in directives), directives
    assert "missingok" in directives and "compress" in directives
    assert any(d.startswith("rotate ") for d in directives) and any(d.startswith("maxsize ") for d in directives)


def test_a_forced_rotation_keeps_the_bootstrap_s_open_log_writable(tmp_path):
    config = _moved(tmp_path)
    checked = _run(config, tmp_path, "--debug")
    assert checked.returncode == 0 and "error" not in (checked.stdout + checked.stderr).lower(), checked.stderr
    log = tmp_path / "log" / "phb-bootstrap.log"
    log.write_text("step 1\n" * 1000)
    log.chmod(0o644)
    with open(log, "a") as writer:  # as ``tee -a`` holds it
        result = _run(config, tmp_path, "--force")
        assert result.returncode == 0, result.stdout + result.stderr
        writer.write("step 2\n")
        writer.flush()
    assert (tmp_path / "log" / "phb-bootstrap.log.1").read_text() == "step 1\n" * 1000
    assert log.read_text() == "step 2\n", "the still-open writer's line went past a hole"
    stat = log.stat()
    assert (stat.st_uid, oct(stat.st_mode & 0o777)) == (os.getuid(), "0o644")
