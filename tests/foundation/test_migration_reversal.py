"""Every migration of the project's apps can be taken back, with rows in its tables, and applied again.

Rolling a release back may mean reversing its migrations (``manage.py migrate <app> <migration>``).
Rows are written at the latest schema (a booked appointment, an admission in a bed, the people
and places they need), every migration of the project's apps is taken back, newest first, and
everything goes forward again; then rows are written again. A migration without a reverse (a
``RunPython`` without ``reverse_code``) fails here, as does a reverse that breaks on the rows.
Taking back a migration that created a table drops the table and its rows, as in any Django
project.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.admissions.helpers import admit, ward
from tests.appointments.helpers import book, future_slot
from tests.factories import DepartmentFactory, make_doctor, make_hospital_admin, make_patient
from tests.helpers import migrate_to_latest


def _project_apps(executor: MigrationExecutor) -> list[str]:
    root = Path(settings.BASE_DIR).resolve()
    with_migrations = {app for app, _ in executor.loader.disk_migrations}
    return [config.label for config in apps.get_app_configs()
            if Path(config.path).resolve().is_relative_to(root) and config.label in with_migrations]


def _rows(round_: int) -> None:
    department = DepartmentFactory()
    patient = make_patient(hospital=department.hospital)
    make_doctor(department=department)
    admin = make_hospital_admin(hospital=department.hospital)
    book(patient, department, future_slot(department.hospital, days=2))
    ward(department, code=f"W-{round_}")
    admit(actor=admin, patient=patient, department=department)


@pytest.mark.django_db(transaction=True)
def test_every_migration_goes_back_with_rows_in_its_tables_and_forward_again():
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    project_apps = _project_apps(executor)
    assert {"accounts", "appointments", "admissions", "records", "tracking"} <= set(project_apps)
    _rows(0)
    try:
        executor.migrate([(app, None) for app in project_apps])
        executor = MigrationExecutor(connection)
        assert not [key for key in executor.loader.applied_migrations if key[0] in project_apps]
        executor.migrate(leaves)
    finally:
        executor = migrate_to_latest()
    assert set(executor.loader.applied_migrations) >= set(executor.loader.graph.nodes)
    _rows(1)
