"""Fit the booking simulator's parameters from the exported scheduling events.

Reads the events from the training-data bucket (``--from-database`` reads the table instead),
estimates arrivals per hour and weekday, the urgency mix, the share asking for the earliest slot,
and no-show and cancellation rates by lead time, and writes a JSON file for
``make train-scheduler SIM_PARAMS=...``. Any estimate without enough events keeps its default.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand

from appointments.scheduler import events
from appointments.scheduler.fitting import fit


class Command(BaseCommand):
    help = "Fit the scheduling simulator from exported events; writes simulator parameters as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--out", default="var/scheduler-sim-params.json")
        parser.add_argument("--from-database", action="store_true")

    def handle(self, *args, **options):
        if options["from_database"]:
            from appointments.models import SchedulingEvent

            rows = [events.export_row(e) for e in SchedulingEvent.objects.all().iterator()]
        else:
            rows = events.read_exported()
        params, report = fit(rows)
        out = Path(options["out"])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(params.to_json())
        self.stdout.write(json.dumps({"out": str(out), **report}, indent=2))
