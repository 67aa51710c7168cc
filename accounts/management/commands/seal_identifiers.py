"""``manage.py seal_identifiers``: seal the national identity numbers of rows written before
numbers were sealed (``accounts.identifiers``), leaving only their masked form in the clear. Run
once after upgrading (again until it reports 0); safe to run at any time."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from accounts.identifiers import seal_identifiers
from phb.management.arguments import at_least


class Command(BaseCommand):
    help = "Seal plain national identity numbers left from before they were sealed (KMS)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=at_least(1), default=500, help="at most this many users per run")

    def handle(self, *args, **options):
        self.stdout.write(f"sealed {seal_identifiers(limit=options['limit'])}")
