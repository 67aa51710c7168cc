"""Sign issued prescription items whose signing failed (KMS unavailable): safe to run any time."""

from django.core.management.base import BaseCommand

from prescriptions.signing_flow import sign_pending


class Command(BaseCommand):
    help = "Sign prescription items still waiting for their KMS signature."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args, **options):
        signed = sign_pending(limit=max(1, min(options["limit"], 5000)))
        self.stdout.write(f"signed {signed} prescription item(s)")
