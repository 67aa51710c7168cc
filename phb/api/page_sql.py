"""A list page's SQL compiled once per shape and re-run with each request's values.

Building a page's queryset (its columns and their joins, the order, the slice) and compiling it to
SQL costs the ORM more than PostgreSQL's whole work for a small page. Between two requests of one
list, only the WHERE clause changes: the caller's scope, the filters, the cursor. The columns,
joins, order and size belong to the list.

So :func:`page_rows` compiles only the WHERE clause of each request's queryset. The first time a
WHERE clause compiles to a given text (for the same model, columns, order and size, on that
database connection), the whole page query is compiled by the ORM as usual. Its SQL is kept only
if its parameters are exactly the WHERE clause's, in order: nothing else in it takes a value. A
later request whose WHERE clause compiles to the same text runs the kept SQL with its own
parameters and gets the rows as ``values()`` gives them (the same converters, worked out once).

Only a queryset of one table qualifies: no joins in its filters, no annotations, filtered
relations, extra, distinct, slicing or set operations. Anything else, or a WHERE clause that cannot be compiled alone, goes
the ORM's way every time. ``DB_PAGE_SQL_CACHE_SIZE`` bounds the shapes kept per connection (0 keeps
none).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import QuerySet

from phb.lru import BoundedLRU


@dataclass(frozen=True)
class _Kept:
    sql: str
    names: tuple[str, ...]
    converters: dict


_NOT_KEPT = "not kept"  # the shape's full query takes values besides the WHERE clause's
_local = threading.local()


def _kept_for(alias: str) -> BoundedLRU:
    by_connection = getattr(_local, "by_connection", None)
    if by_connection is None:
        by_connection = _local.by_connection = {}
    connection = connections[alias]
    kept = by_connection.get(id(connection))
    if kept is None:
        kept = by_connection[id(connection)] = BoundedLRU(size=lambda: settings.DB_PAGE_SQL_CACHE_SIZE)
    return kept


def forget() -> None:
    """Drop every kept shape of this thread."""
    _local.by_connection = {}


def _tables(query: Any) -> int:
    """Tables the query reads (a join the filters trimmed stays in ``alias_map`` with no references)."""
    return sum(1 for alias in query.alias_map if query.alias_refcount.get(alias))


def _one_table(queryset: QuerySet) -> bool:
    query = queryset.query
    return (
        _tables(query) <= 1
        and not query.annotations
        and not query._filtered_relations
        and not query.extra
        and not query.extra_tables
        and not query.distinct
        and query.combinator is None
        and not query.select_for_update
        and query.low_mark == 0
        and query.high_mark is None
    )


def _where(queryset: QuerySet) -> tuple[str, tuple[Any, ...]] | None:
    query = queryset.query
    compiler = query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.compile(query.where)
    except (EmptyResultSet, FullResultSet):
        return None
    except Exception:  # noqa: BLE001 (a clause that needs the whole query set up: the ORM's way)
        return None
    if _tables(query) > 1:  # compiling set up a join after all
        return None
    return sql, tuple(params)


def kept(filtered: QuerySet, *, shape: tuple, build: Callable[[], QuerySet]) -> tuple[_Kept | None, tuple[Any, ...]]:
    """The SQL kept for ``build()`` (a query of ``filtered``'s rows whose every other part ``shape``
    names), compiled by the ORM the first time, with ``filtered``'s values; ``(None, ())`` where
    ``build()`` must go the ORM's way."""
    if settings.DB_PAGE_SQL_CACHE_SIZE <= 0 or not _one_table(filtered):
        return None, ()
    where = _where(filtered)
    if where is None:
        return None, ()
    where_sql, params = where
    kept_by_shape = _kept_for(filtered.db)
    key = (filtered.model._meta.label, *shape, where_sql)
    found = kept_by_shape.get(key)
    if found is None:
        found = _compile(build(), params=params)
        kept_by_shape.put(key, found)
    return (None, ()) if found is _NOT_KEPT else (found, params)


def page_rows(filtered: QuerySet, *, columns: tuple[str, ...], ordering: tuple[str, ...], size: int,
              build: Callable[[], QuerySet]) -> list[dict[str, Any]]:
    """The rows of ``build()`` (``filtered`` as ``columns`` values, in ``ordering``, ``size`` rows at
    most), from a kept SQL where ``filtered``'s shape has one."""
    found, params = kept(filtered, shape=("rows", columns, ordering, size), build=build)
    if found is None:
        return list(build())
    connection = connections[filtered.db]
    with connection.cursor() as cursor:
        cursor.execute(found.sql, params)
        rows = cursor.fetchall()
    names = found.names
    items = [dict(zip(names, row, strict=True)) for row in rows]
    # The ORM's converters (``compiler.apply_converters``), a column at a time: the columns that have
    # one are few (a JSON document), and copying every row to convert one value cost more than the
    # conversion itself.
    for position, (converters, expression) in found.converters.items():
        name = names[position]
        for item in items:
            value = item[name]
            for converter in converters:
                value = converter(value, expression, connection)
            item[name] = value
    return items


def _compile(page: QuerySet, *, params: tuple[Any, ...]) -> _Kept | str:
    query = page.query
    compiler = query.get_compiler(using=page.db)
    try:
        sql, full_params = compiler.as_sql()
    except (EmptyResultSet, FullResultSet):
        return _NOT_KEPT
    if tuple(full_params) != params or query.extra_select or query.annotation_select:
        return _NOT_KEPT
    columns = [s[0] for s in compiler.select[0: compiler.col_count]]
    return _Kept(sql=sql, names=tuple(query.values_select),
                 converters=compiler.get_converters(columns))
