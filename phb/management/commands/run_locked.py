"""Run a periodic job on one instance of the fleet at a time (the systemd timers call this).

``manage.py run_locked drain_outbox [args...]``: when another instance holds the job's lock, this
round is skipped (exit 0); the next timer tick tries again.
"""

from __future__ import annotations

import logging
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from phb.deploy.locks import LockBusy, fleet_lock

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run a management command under a fleet-wide lock; skip when it already runs elsewhere."

    def add_arguments(self, parser):
        parser.add_argument("job")
        parser.add_argument("job_args", nargs="*")

    def handle(self, *args, job: str, job_args: list[str], **options):
        started = time.monotonic()
        try:
            with fleet_lock(f"job:{job}", wait=False):
                call_command(job, *job_args, stdout=self.stdout, stderr=self.stderr)
        except LockBusy:
            self.stdout.write(f"run_locked: {job} is running elsewhere; skipped")
            logger.info("job skipped: lock held elsewhere", extra={"event": "job_skipped", "job": job})
            return
        except Exception as exc:
            # Through the log's scrubbing filter, not as a raw traceback on stderr (which the timer's unit
            # appends to the shipped jobs log): a job's exception can carry what it was working on.
            logger.exception("job failed", extra={"event": "job_failed", "job": job})
            raise CommandError(f"{job} failed ({type(exc).__name__}); the scrubbed traceback is in the log") from None
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        logger.info("job finished", extra={"event": "job_finished", "job": job, "duration_ms": duration_ms})
