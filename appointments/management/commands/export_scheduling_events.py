"""Ship finished scheduling events to the training-data bucket (run by a timer; safe to run twice).

``--backfill`` first creates events for past bookings that have none.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from appointments.scheduler import events


class Command(BaseCommand):
    help = "Export anonymised scheduling events to the ML training-data bucket (JSON Lines by date)."

    def add_arguments(self, parser):
        parser.add_argument("--backfill", action="store_true", help="create events for past bookings first")
        parser.add_argument("--limit", type=int, default=5000, help="events per batch")
        parser.add_argument("--max-batches", type=int, default=100)

    def handle(self, *args, **options):
        if not settings.SCHEDULER_EVENTS_EXPORT_ENABLED:
            self.stdout.write("scheduling event export is disabled (SCHEDULER_EVENTS_EXPORT_ENABLED)")
            return
        if options["backfill"]:
            self.stdout.write(f"backfilled {events.backfill()} events")
        total = 0
        for _ in range(max(1, options["max_batches"])):
            done = events.export_pending(limit=max(1, options["limit"]))
            total += done
            if done == 0:
                break
        self.stdout.write(f"exported {total} scheduling events")
