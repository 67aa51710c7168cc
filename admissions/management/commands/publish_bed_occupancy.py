"""Send every department's bed occupancy to CloudWatch (a timer runs it every 5 minutes)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from admissions.occupancy import publish
from phb import metrics


class Command(BaseCommand):
    help = "Publish BedOccupancy (PHB/Admissions) for every department with beds."

    def handle(self, *args, **options):
        count = publish()
        sent = metrics.flush()
        self.stdout.write(f"publish_bed_occupancy: {count} departments, {sent} values sent")
