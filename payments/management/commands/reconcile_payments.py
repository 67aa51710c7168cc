"""Ask Paystack about payments and refunds whose outcome never reached us (systemd timer)."""

from django.core.management.base import BaseCommand

from payments.reconcile import payments_reconcile
from phb.management.arguments import at_least


class Command(BaseCommand):
    help = "Reconcile unpaid payments past their booking window and unsettled refunds with Paystack."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=at_least(1), default=200, help="at most this many of each kind per round")

    def handle(self, *args, **options):
        report = payments_reconcile(limit=options["limit"])
        self.stdout.write(report.line())
