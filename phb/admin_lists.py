"""Admin changelists that stay fast on tables of millions of rows: the tables that grow with every
booking, payment, record entry and read (``README.md``, the admin).

Django's defaults read the whole table on every changelist: a ``SELECT DISTINCT`` per plain-field
list filter, a second ``COUNT(*)`` for "N total", the distinct years of a ``date_hierarchy``, and
a search that compares ``UPPER(column::text)``, which no index serves. On 2,000,000 audit events
that made the changelist take about 2 s and a search by an id 11-12 s (``bench/bench_admin.py``).

:class:`LargeTableAdmin` puts the pieces together: the estimated count, no second count, and a
search by exact values through indexes. Its list filters are the admin's own: choices, booleans
and dates cost no query; a plain text field is offered through :func:`recent_values_filter`.
"""

from __future__ import annotations

import uuid
from functools import cached_property, reduce
from operator import or_
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import Q

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
    """A list filter offering the values of ``field`` in the first ``RECENT_ROWS`` rows of the
    changelist's order (newest first, which an index serves), not the distinct values of the whole
    table. Any value still filters through the URL (``?field=value``)."""

    class RecentValues(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request, model_admin):
            newest_first = model_admin.get_ordering(request) or model_admin.model._meta.ordering or ("-pk",)
            recent = model_admin.get_queryset(request).order_by(*newest_first).values_list(field, flat=True)[:RECENT_ROWS]
            return [(value, value) for value in sorted({v for v in recent if v})]

        def queryset(self, request, queryset):
            return queryset.filter(**{field: self.value()}) if self.value() else queryset

    RecentValues.title = title
    RecentValues.__name__ = f"Recent{field.title().replace('_', '')}Filter"
    return RecentValues


def exact_values(field: models.Field, term: str) -> list[Any]:
    """The values of ``field`` that ``term`` may name, as stored: none where it cannot be one (a
    word for a number or a UUID, a number past the column's range). A UUID kept as text is also
    tried in its canonical (lower-case) form, and an email in lower case, as accounts keep it."""
    if isinstance(field, models.ForeignKey):
        field = field.target_field
    if isinstance(field, models.CharField):
        values = [term]
        if isinstance(field, models.EmailField):
            values.append(term.lower())
        try:
            values.append(str(uuid.UUID(term)))
        except ValueError:
            pass
        return [value for value in dict.fromkeys(values) if len(value) <= (field.max_length or len(value))]
    try:
        value = field.to_python(term)
        field.run_validators(value)
    except (ValidationError, ValueError, TypeError):
        return []
    return [value] if value is not None else []


RELATED_MATCHES = 1_000


def exact_search(model: type[models.Model], paths: list[str] | tuple[str, ...], term: str) -> Q | None:
    """Rows where one of ``paths`` (field names, ``__`` through relations) equals ``term`` as
    stored, or ``None`` where ``term`` can be none of them.

    Each condition is on a column of ``model`` itself, so that PostgreSQL can combine their
    indexes (a ``BitmapOr``): a path through a relation is first resolved to the related rows'
    keys (at most :data:`RELATED_MATCHES`), by a query of its own. An ``OR`` across a join would
    read the whole table."""
    if "\x00" in term:  # no column holds one, and PostgreSQL refuses it in a query
        return None
    conditions = [condition for path in paths if (condition := _column_condition(model, path, term)) is not None]
    return reduce(or_, conditions) if conditions else None


def _column_condition(model: type[models.Model], path: str, term: str) -> Q | None:
    first, _, rest = path.partition("__")
    field = model._meta.get_field(first)
    if rest and field.is_relation and rest != field.target_field.name:
        related = field.related_model
        matched = exact_search(related, [rest], term)
        if matched is None:
            return None
        keys = list(related._default_manager.filter(matched)
                    .values_list(field.target_field.attname, flat=True)[:RELATED_MATCHES])
        return Q(**{f"{field.attname}__in": keys}) if keys else None
    values = exact_values(get_fields_from_path(model, path)[-1], term)
    return Q(**{f"{field.attname if rest else path}__in": values}) if values else None


class LargeTableAdmin(admin.ModelAdmin):
    """A changelist for a table of millions of rows: PostgreSQL's estimate for the unfiltered
    count, no "N total" count, no date hierarchy, and a search by exact values only. Its
    ``search_fields`` name the columns, each with Django's ``=`` prefix (the search box's help
    says which); each should have an index."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    date_hierarchy = None
    exact_search = True  # False: Django's own search, for a table whose columns have indexes for it

    def get_search_results(self, request, queryset, search_term):
        if not self.exact_search:
            return super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if not term:
            return queryset, False
        paths = [name.removeprefix("=") for name in self.get_search_fields(request)]
        condition = exact_search(self.model, paths, term)
        return (queryset.filter(condition) if condition is not None else queryset.none()), False
