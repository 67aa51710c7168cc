"""Entries recorded per type over recent days (population counts through the data-type index)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from tracking.population import activity_counts


class Command(BaseCommand):
    help = "Count women's-health entries per type over the last N days (no user data)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7)

    def handle(self, *args, days=7, **options):
        for name, count in activity_counts(days=max(1, min(days, 366))).items():
            self.stdout.write(f"{name}: {count}")
