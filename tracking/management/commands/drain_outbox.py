"""Deliver tracking writes queued while DynamoDB was unavailable (run by a systemd timer)."""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand

from phb.management.arguments import at_least
from tracking.outbox import drain


class Command(BaseCommand):
    help = "Deliver queued women's-health writes to DynamoDB, per user in order, exactly once."

    def add_arguments(self, parser):
        parser.add_argument("--max-users", type=at_least(1), default=None, help="Stop after this many users.")
        parser.add_argument("--purge-days", type=at_least(0), default=30,
                            help="Delete delivered rows older than this many days (0 keeps them).")
        parser.add_argument("--loop", type=at_least(0, kind=float), default=0.0,
                            help="Keep draining every N seconds until nothing is pending (0: one pass).")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, max_users=None, purge_days=30, loop=0.0, **options):
        while True:
            report = drain(max_users=max_users, respect_breaker=False, purge_days=purge_days or None)
            if not loop or report.remaining == 0:
                break
            time.sleep(loop)
        if options.get("json"):
            self.stdout.write(_json(report.as_dict()))
        else:
            self.stdout.write(
                f"delivered={report.delivered} duplicates={report.duplicates} failed={report.failed} "
                f"conflicts={report.conflicts} "
                f"users={report.users} remaining={report.remaining}"
            )
        # Exit status 0 even with rows remaining: the timer tries again; an outage is not a crash.


def _json(data: dict) -> str:
    return json.dumps(data, sort_keys=True)
