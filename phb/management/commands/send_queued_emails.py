"""``manage.py send_queued_emails``: send the notification emails whose time has come (first
attempts a worker could not make, retries after a failure) and delete settled rows past their
keep (``phb.email_outbox``). Run every minute by ``phb-send-queued-emails.timer``."""

from __future__ import annotations

import json
from dataclasses import asdict

from django.core.management.base import BaseCommand

from phb.email_outbox import deliver_due
from phb.management.arguments import at_least


class Command(BaseCommand):
    help = "Send due notification emails from the outbox and delete settled rows past their keep."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=at_least(1), default=200, help="at most this many emails per run")
        parser.add_argument("--keep-days", type=at_least(0), default=None,
                            help="delete sent and given-up rows older than this (default EMAIL_OUTBOX_KEEP_DAYS; 0 keeps them)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options):
        report = deliver_due(limit=options["limit"], keep_days=options["keep_days"])
        if options["json"]:
            self.stdout.write(json.dumps(asdict(report)))
        else:
            self.stdout.write(f"sent {report.sent}, retrying {report.retrying}, given up {report.given_up}, "
                              f"purged {report.purged}")
