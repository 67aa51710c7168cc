"""Apply migrations once per release across the fleet.

Every new instance runs this on boot. The first takes a lock in the shared database and migrates;
the others wait for the lock, then find nothing left to apply. Migrations must stay compatible
with the release still serving (add columns before code uses them, drop them a release later).
"""

from __future__ import annotations

import logging

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from phb.deploy.locks import fleet_lock

logger = logging.getLogger(__name__)


def pending_migrations() -> list[str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, backwards in plan if not backwards]


class Command(BaseCommand):
    help = "Apply pending migrations under a fleet-wide lock (one instance migrates, the others wait)."

    def add_arguments(self, parser):
        parser.add_argument("--release", required=True)
        parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for the lock")

    def handle(self, *args, release: str, timeout: float, **options):
        with fleet_lock("migrate", timeout=timeout):
            pending = pending_migrations()
            if not pending:
                self.stdout.write(f"migrate_once: release {release}: nothing to apply")
                logger.info("no migrations to apply", extra={"event": "migrate_once_noop", "release": release})
                return
            self.stdout.write(f"migrate_once: release {release}: applying {len(pending)} migration(s)")
            call_command("migrate", interactive=False, verbosity=options.get("verbosity", 1), stdout=self.stdout)
            logger.info("migrations applied", extra={"event": "migrate_once_applied", "release": release,
                                                     "count": len(pending)})
