"""``manage.py expire_imaging_uploads``: remove imaging studies whose upload was never completed,
``IMAGING_UPLOAD_ABANDON_HOURS`` after their upload window closed, with every version of their
object (``storage.imaging.imaging_uploads_expire``). Run hourly by
``phb-expire-imaging-uploads.timer``."""

from __future__ import annotations

import json
from dataclasses import asdict

from django.core.management.base import BaseCommand

from phb.management.arguments import at_least
from storage.imaging import imaging_uploads_expire


class Command(BaseCommand):
    help = "Remove imaging studies never completed (and their uploaded objects) past the grace period."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=at_least(1), default=200, help="at most this many studies per run")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options):
        report = imaging_uploads_expire(limit=options["limit"])
        if options["json"]:
            self.stdout.write(json.dumps(asdict(report)))
        else:
            self.stdout.write(
                f"removed {report.removed} abandoned imaging upload(s) "
                f"({report.versions_removed} object version(s)), {report.retrying} left for the next run"
            )
