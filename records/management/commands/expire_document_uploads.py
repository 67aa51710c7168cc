"""``manage.py expire_document_uploads``: remove patients' document uploads that never finished (a
row left ``pending`` by a worker killed between S3 and the database) with their objects
(``records.document_expiry``). Run hourly by ``phb-expire-document-uploads.timer``."""

from __future__ import annotations

import json
from dataclasses import asdict

from django.core.management.base import BaseCommand

from phb.management.arguments import at_least
from records.document_expiry import document_uploads_expire


class Command(BaseCommand):
    help = "Remove document uploads that never finished (and their objects) past the grace period."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=at_least(1), default=200, help="at most this many uploads per run")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options):
        report = document_uploads_expire(limit=options["limit"])
        if options["json"]:
            self.stdout.write(json.dumps(asdict(report)))
        else:
            self.stdout.write(f"removed {report.removed} unfinished document upload(s), "
                              f"{report.retrying} left for the next run")
