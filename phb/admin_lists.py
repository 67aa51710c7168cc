"""Admin changelists that stay fast on tables of millions of rows (the audit trail).

Django's defaults read the whole table on every changelist: a ``SELECT DISTINCT`` per plain-field
list filter, a second ``COUNT(*)`` for "N total", the distinct years of a ``date_hierarchy``, and
a search that compares ``UPPER(column::text)``, which no index serves. On 2,000,000 audit events
that made the changelist take about 2 s and a search by an id 11-12 s (``bench/bench_admin.py``).
"""

from __future__ import annotations

from functools import cached_property

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections

RECENT_ROWS = 10_000
ESTIMATE_ABOVE = 100_000


class EstimatedCountPaginator(Paginator):
    """The exact count of a filtered list; for the whole table, PostgreSQL's own estimate of its
    rows (``pg_class.reltuples``, kept by autovacuum) once it holds more than ``ESTIMATE_ABOVE``.
    The estimate is off by what autovacuum has not seen yet, so the last page may be short or
    empty, or the oldest rows past it; the date filter reaches them."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is not None and not query.where:
            connection = connections[queryset.db]
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                                   [queryset.model._meta.db_table])
                    row = cursor.fetchone()
                if row and row[0] > ESTIMATE_ABOVE:
                    return row[0]
        return super().count


def recent_values_filter(field: str, title: str) -> type[admin.SimpleListFilter]:
    """A list filter offering the values of ``field`` in the newest ``RECENT_ROWS`` rows (by the
    model's ordering, which an index serves), not the distinct values of the whole table. Any
    value still filters through the URL (``?field=value``)."""

    class RecentValues(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request, model_admin):
            recent = model_admin.get_queryset(request).values_list(field, flat=True)[:RECENT_ROWS]
            return [(value, value) for value in sorted({v for v in recent if v})]

        def queryset(self, request, queryset):
            return queryset.filter(**{field: self.value()}) if self.value() else queryset

    RecentValues.title = title
    RecentValues.__name__ = f"Recent{field.title().replace('_', '')}Filter"
    return RecentValues
