"""Create and converge the EC2 stack: security groups, instance role and profile, launch template
with the user-data, ALB and target group (/readyz), Auto Scaling group with CPU target tracking,
EBS snapshot lifecycle policy and the EC2 CPU alarm. Run after ``provision_aws``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from phb.aws.compute import compute_resources, names, start_instance_refresh
from phb.deploy.userdata import UserDataError


class Command(BaseCommand):
    help = "Create and converge the EC2 compute stack (idempotent); --check only reports drift."

    def add_arguments(self, parser):
        parser.add_argument("--release", default=settings.DEPLOY_RELEASE,
                            help="release the instances install (default: $PHB_RELEASE)")
        parser.add_argument("--check", action="store_true", help="Only report drift; exit 1 when there is some.")
        parser.add_argument("--refresh", action="store_true",
                            help="After converging, replace running instances with the launch template's "
                                 "default version (rolling instance refresh).")

    def handle(self, *args, release: str, check: bool, refresh: bool, **options):
        if not release:
            raise CommandError("--release (or PHB_RELEASE) is required: the version the instances install")
        problems = 0
        counts: dict[str, int] = {}
        try:
            for resource in compute_resources(release=release):
                changes = resource.ensure(check=check)
                for change in changes:
                    counts[change.action] = counts.get(change.action, 0) + 1
                    if change.action in ("drift", "missing"):
                        problems += 1
                    self.stdout.write(str(change))
                if not check and any(c.action == "missing" for c in changes):
                    # Something this command cannot create (the release artifact, a volume).
                    raise CommandError(f"stopped: {resource.kind} {resource.name} is missing; "
                                       f"{changes[0].detail or 'create it first'} and run again")
        except UserDataError as exc:
            raise CommandError(str(exc)) from exc
        summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
        self.stdout.write(f"provision_compute{' --check' if check else ''}: {summary}")
        if check and problems:
            raise CommandError(f"{problems} resource(s) differ from their declaration")
        if refresh and not check:
            refresh_id = start_instance_refresh()
            if refresh_id is None:
                self.stdout.write("instance refresh skipped: the local emulator has none")
            else:
                self.stdout.write(f"instance refresh {refresh_id} started on {names()['asg']}")
