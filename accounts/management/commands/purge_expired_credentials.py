"""Delete one-time codes and password-reset tokens long expired, and expired sessions (daily)."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from accounts.retention import purge_expired_credentials


class Command(BaseCommand):
    help = "Delete one-time codes and password-reset tokens that expired more than --days ago, and expired sessions."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None,
                            help="Keep what expired within this many days (default: CREDENTIALS_RETENTION_DAYS)")

    def handle(self, *args, days=None, **options):
        if days is not None and days < 0:
            raise CommandError("--days must be 0 or more.")
        counts = purge_expired_credentials(retention=None if days is None else timedelta(days=days))
        self.stdout.write(" ".join(f"{name}={count}" for name, count in counts.items()))
