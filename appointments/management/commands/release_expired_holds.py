"""Give back the places of booking holds that expired (run every few minutes from cron/systemd).

Bookings already sweep their own slot under its lock; this keeps the counters tidy for slots
nobody books again.
"""

from django.core.management.base import BaseCommand

from appointments.booking import release_expired_holds


class Command(BaseCommand):
    help = "Release the slot places of expired booking holds."

    def handle(self, *args, **options):
        released = release_expired_holds()
        self.stdout.write(f"released {released} expired holds")
