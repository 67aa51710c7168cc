"""``/etc/phb/phb.env`` from SSM Parameter Store: one parameter per variable under a path
(``/phb/production/env/DJANGO_SECRET_KEY`` -> ``DJANGO_SECRET_KEY=...``), SecureStrings decrypted.

Written for systemd's ``EnvironmentFile=``: double-quoted values with ``\\`` and ``"`` escaped
(systemd does not expand ``$`` there). Values with a newline are refused. The file is written
atomically with mode 0640 (root, and the service's group).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from phb.aws.clients import aws_client

_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


class EnvFileError(ValueError):
    pass


def parameters_under(path: str) -> dict[str, str]:
    """Every parameter directly under ``path`` (not recursive), name -> decrypted value."""
    path = "/" + path.strip("/")
    found: dict[str, str] = {}
    paginator = aws_client("ssm").get_paginator("get_parameters_by_path")
    for page in paginator.paginate(Path=path, Recursive=False, WithDecryption=True):
        for parameter in page["Parameters"]:
            found[parameter["Name"].rsplit("/", 1)[-1]] = parameter["Value"]
    return found


def quote(value: str) -> str:
    if "\n" in value or "\r" in value or "\0" in value:
        raise EnvFileError("a value holds a line break")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(variables: dict[str, str]) -> str:
    lines = ["# Written by manage.py write_env_file from SSM Parameter Store. Do not edit: changes are",
             "# overwritten on the next boot. Change the parameters instead."]
    for name in sorted(variables):
        if not _NAME.fullmatch(name):
            raise EnvFileError(f"{name!r} is not a valid environment variable name")
        lines.append(f"{name}={quote(variables[name])}")
    return "\n".join(lines) + "\n"


def parse(text: str) -> dict[str, str]:
    """Read back what :func:`render` writes (the subset of systemd's syntax it uses)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, raw = line.partition("=")
        if not (raw.startswith('"') and raw.endswith('"')):
            raise EnvFileError(f"unquoted value for {name}")
        out[name] = re.sub(r"\\(.)", r"\1", raw[1:-1])
    return out


def write_atomically(path: Path, text: str, *, group: str | None = None) -> bool:
    """Write ``text`` (mode 0640) unless the file already holds exactly it. True when written."""
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o640)
        if group:
            import grp

            os.chown(tmp, 0, grp.getgrnam(group).gr_gid)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
