"""Create and converge every AWS resource the service uses; ``--check`` only reports drift."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from phb.aws.registry import declared_resources


class Command(BaseCommand):
    help = "Create and converge every AWS resource the service uses (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Only report drift; exit 1 when there is some.")

    def handle(self, *args, check: bool = False, **options):
        problems = 0
        counts: dict[str, int] = {}
        for resource in declared_resources():
            for change in resource.ensure(check=check):
                counts[change.action] = counts.get(change.action, 0) + 1
                if change.action in ("drift", "missing"):
                    problems += 1
                self.stdout.write(str(change))
        summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
        self.stdout.write(f"provision_aws{' --check' if check else ''}: {summary or 'nothing declared'}")
        if check and problems:
            raise CommandError(f"{problems} resource(s) differ from their declaration")
