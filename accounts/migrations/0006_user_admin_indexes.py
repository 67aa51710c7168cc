"""Indexes for the user admin: its changelist in order, and its search by part of an email, name
or HPN.

The search compares ``UPPER(column::text) LIKE UPPER('%term%')`` (Django's ``icontains``), which
no B-tree serves. On PostgreSQL a trigram GIN index on each of those exact expressions does
(``pg_trgm``, a trusted extension since PostgreSQL 13: the database's owner may create it; where
it cannot be created, the migration says so and the search reads the whole table, as before). They
are not in the migration state, so SQLite, which has neither, never sees them. Every index is built
concurrently: sign-ins and registrations go on (``phb.migration_ops``).
"""

import sys

from django.db import DatabaseError, migrations, models

from phb.migration_ops import AddIndexConcurrently, drop_index_concurrently

SEARCHED = ("email", "full_name", "hpn")


def _trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:  # no right to create it: the search still works, reading the whole table
        sys.stderr.write(f"accounts 0006: pg_trgm is not available ({type(exc).__name__}); the user admin's "
                         "search goes without its trigram indexes\n")
        return
    for column in SEARCHED:
        name = f"user_{column}_trigram"
        drop_index_concurrently(schema_editor, name)  # a build that failed half-way
        schema_editor.execute(f'CREATE INDEX CONCURRENTLY {name} ON accounts_user '
                              f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)')


def _drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in SEARCHED:
        drop_index_concurrently(schema_editor, f"user_{column}_trigram")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("accounts", "0005_user_record_sessions_version"),
    ]

    operations = [
        AddIndexConcurrently(model_name="user", index=models.Index(fields=["-date_joined", "-id"], name="user_recent")),
        migrations.RunPython(_trigram_indexes, _drop_trigram_indexes, elidable=False),
    ]
