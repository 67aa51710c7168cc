"""Migration operations shared by the apps.

:class:`AddIndexConcurrently` adds an index to a table that is written all the time (the audit
trail, the scheduler's events, payments) without blocking those writes: on PostgreSQL it is built
with ``CREATE INDEX CONCURRENTLY``, elsewhere (SQLite) as a plain ``CREATE INDEX``. A migration
that uses it declares ``atomic = False``: a concurrent build cannot run inside a transaction. A
build that fails leaves an invalid index behind; running the migration again drops and rebuilds
it (``DROP INDEX IF EXISTS`` first, also concurrently).
"""

from __future__ import annotations

from django.db import migrations


def _concurrently(schema_editor) -> dict:
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def drop_index_concurrently(schema_editor, name: str) -> None:
    """Drop index ``name`` if it is there (PostgreSQL): also what a failed concurrent build left."""
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")


class AddIndexConcurrently(migrations.AddIndex):
    """``AddIndex``, built concurrently on PostgreSQL. The migration state is ``AddIndex``'s."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":  # a build that failed half-way left it invalid
            drop_index_concurrently(schema_editor, self.index.name)
        schema_editor.add_index(model, self.index, **_concurrently(schema_editor))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index, **_concurrently(schema_editor))
