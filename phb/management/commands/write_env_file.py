"""Write the service's environment file from SSM Parameter Store (run by deploy/bin/phb-bootstrap).

Runs with ``DJANGO_SETTINGS_MODULE=phb.settings.base`` (the production settings need the very
variables this writes).
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from phb.deploy.envfile import EnvFileError, parameters_under, render, write_atomically


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CommandError(f"{flag} takes NAME=VALUE, not {item!r}")
        out[name] = value
    return out


class Command(BaseCommand):
    help = "Write /etc/phb/phb.env (systemd EnvironmentFile) from the parameters under an SSM path."

    def add_arguments(self, parser):
        parser.add_argument("--parameter-path", required=True, help="e.g. /phb/production/env")
        parser.add_argument("--output", required=True, type=Path)
        parser.add_argument("--group", help="group that may read the file (the service's)")
        parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                            help="a value that wins over the parameters (release, region)")
        parser.add_argument("--default", action="append", default=[], metavar="NAME=VALUE",
                            help="a value used only when no parameter gives one")
        parser.add_argument("--allowed-host", action="append", default=[],
                            help="appended to DJANGO_ALLOWED_HOSTS (the instance's address, for ALB health checks)")

    def handle(self, *args, parameter_path: str, output: Path, group: str | None, set: list[str],
               default: list[str], allowed_host: list[str], **options):
        variables = {**_pairs(default, "--default"), **parameters_under(parameter_path), **_pairs(set, "--set")}
        if not variables:
            raise CommandError(f"no parameters under {parameter_path}")
        if allowed_host:
            hosts = [h for h in variables.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h]
            variables["DJANGO_ALLOWED_HOSTS"] = ",".join(hosts + [h for h in allowed_host if h not in hosts])
        try:
            written = write_atomically(output, render(variables), group=group)
        except EnvFileError as exc:
            raise CommandError(str(exc)) from exc
        state = "written" if written else "unchanged"
        self.stdout.write(f"write_env_file: {output} {state}: {', '.join(sorted(variables))}")
