"""``field__any=[...]``: membership in a list passed as one value, for lists the size of a page.

``field__in=ids`` writes one placeholder per id: the query's text and its number of parameters
change with the list, and each id is prepared and bound on its own. For a list the size of a
page (the caller's bookmarks among the 50 or 100 guidelines shown) that cost the ORM and the
driver more than the query: every request compiled 50 lookups, psycopg re-parsed a query text it
does not cache past 50 parameters, and PostgreSQL prepared a statement per list length.

On PostgreSQL ``field__any=ids`` is ``field = ANY(%s::<type>[])`` with the list as one array
parameter: one text whatever the length, so the project's kept page SQL (``phb.api.page_sql``),
psycopg's parsed query and the server's prepared statement are all reused, and the btree index
on ``field`` serves it as it serves ``IN``. Elsewhere (SQLite) it is ``field IN (...)``. An empty
list matches nothing, as ``__in`` does.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import ForeignKey, IntegerField, Lookup, UUIDField


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def _target(self) -> Any:
        field = self.lhs.output_field
        return getattr(field, "target_field", field)  # a foreign key compares its target's values

    def get_prep_lookup(self) -> list[Any]:
        if isinstance(self.rhs, (str, bytes)) or not hasattr(self.rhs, "__iter__"):
            raise TypeError("__any takes a list of values")
        target = self._target()
        return [target.get_prep_value(getattr(value, "pk", value)) for value in self.rhs]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        target = self._target()
        values = [target.get_db_prep_value(value, connection, prepared=True) for value in self.rhs]
        if not values:
            raise EmptyResultSet
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::{target.rel_db_type(connection)}[])", [*lhs_params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


def register() -> None:
    """Make ``__any`` available on integer (automatic keys included), UUID and foreign-key fields
    (``PhbConfig.ready``)."""
    for field_class in (IntegerField, UUIDField, ForeignKey):
        field_class.register_lookup(AnyOf)
