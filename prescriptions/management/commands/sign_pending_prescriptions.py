"""Sign issued prescription items whose signing failed (KMS unavailable), after creating those of
prescriptions whose after-commit step never ran: safe to run any time."""

from django.core.management.base import BaseCommand

from prescriptions.signing_flow import items_missing, sign_pending


class Command(BaseCommand):
    help = "Sign prescription items still waiting for their KMS signature."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args, **options):
        recovered = items_missing()
        if recovered:
            self.stdout.write(f"created the items of {recovered} prescription(s)")
        signed = sign_pending(limit=max(1, min(options["limit"], 5000)))
        self.stdout.write(f"signed {signed} prescription item(s)")
