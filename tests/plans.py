"""PostgreSQL query plans of list pages, for the tests that check a page is read in index order."""

from __future__ import annotations

import json
import re
from typing import Any

from django.db import connection
from django.db.models import Model, Q, QuerySet
from psycopg import ClientCursor
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from phb.api import pagination


def _root(document: Any) -> dict[str, Any]:
    return (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]


def _numbered(sql: str) -> str:
    """Django's ``%s`` placeholders as PostgreSQL's ``$1``, ``$2``, ... (and ``%%`` as ``%``)."""
    numbers = iter(range(1, sql.count("%s") + 1))
    return re.sub(r"%s|%%", lambda m: "%" if m.group() == "%%" else f"${next(numbers)}", sql)


def execute_arguments(params: Any) -> str:
    """``params`` as ``EXECUTE`` takes them: written values (the server binds no parameters of a
    utility statement)."""
    return ClientCursor(connection.connection).mogrify(", ".join(["%s"] * len(params)), params)


def explain(query: QuerySet) -> dict[str, Any]:
    """The plan's root node, with sorting disabled: a plan without an ordered index would still sort.

    Under ``"Generic Plan"`` it also holds the plan PostgreSQL may keep for the query once it is a
    prepared statement (the service prepares a query it runs often: ``DB_PREPARED_STATEMENTS``),
    planned for any values of its parameters instead of these ones."""
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = _root(cursor.fetchone()[0])
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE phb_plan AS {_numbered(sql)}")
        arguments = execute_arguments(params)
        cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE phb_plan ({arguments})" if params else
                       "EXPLAIN (FORMAT JSON) EXECUTE phb_plan")
        plan["Generic Plan"] = _root(cursor.fetchone()[0])
        cursor.execute("DEALLOCATE phb_plan")
        cursor.execute("SET LOCAL plan_cache_mode = auto")
    return plan


def analyze(*models: type[Model]) -> None:
    """The planner's statistics of the models' tables, fresh (as autovacuum keeps them on a live database)."""
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def spread(model: type[Model], field: str, *, minutes: int = 60 * 24 * 1000) -> None:
    """Spread ``field`` of every row over the last ``minutes`` (a row gets the same offset on every
    run): rows written in one go, ``auto_now_add`` ones included, would otherwise share one time."""
    quote = connection.ops.quote_name
    table, column = quote(model._meta.db_table), quote(model._meta.get_field(field).column)
    pk = quote(model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = now() - interval '1 minute' * (abs(hashtext({pk}::text)) %% %s)",
            [minutes],
        )


def later_page(queryset: QuerySet, *, spec: pagination.PageSpec, columns: tuple[str, ...] = (),
               partition: tuple[Q, ...] = ()) -> list[Any]:
    """The cursor's values of the second page, as the list issues it after its first page."""
    page = pagination.paginate(Request(APIRequestFactory().get("/")), queryset, spec=spec, columns=columns,
                               partition=partition)
    assert page.next_cursor is not None, "the history holds more than one page"
    return pagination.decode_cursor(page.next_cursor, length=len(spec.ordering))


def page_plan(queryset: QuerySet, *, spec: pagination.PageSpec, columns: tuple[str, ...] = (),
              partition: tuple[Q, ...] = (), next_page: bool = False) -> dict[str, Any]:
    """The plan of the list's first page, or of its second (after the first page's last row)."""
    after = later_page(queryset, spec=spec, columns=columns, partition=partition) if next_page else None
    return explain(pagination.page_query(queryset, spec=spec, limit=spec.default, columns=columns, after=after,
                                         partition=partition))


def _children(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [child for child in plan.get("Plans", []) if "Subplan Name" not in child]


def _empty(plan: dict[str, Any]) -> bool:
    """Whether the planner proved the node returns no row (filters that contradict each other)."""
    if plan["Node Type"] == "Result" and plan.get("One-Time Filter") == "false":
        return True
    children = _children(plan)
    return bool(children) and all(_empty(child) for child in children)


def _main(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The main query's nodes (subqueries of the select list, and parts proved empty, left out)."""
    found = [plan]
    for child in _children(plan):
        if not _empty(child):
            found += _main(child)
    return found


def nodes(plan: dict[str, Any]) -> list[str]:
    return [node["Node Type"] for node in _main(plan)]


def index_conditions(plan: dict[str, Any]) -> list[str]:
    """The conditions the main query's index scans start and stop on."""
    return [node["Index Cond"] for node in _main(plan) if "Index Cond" in node]


_RANGE = "<=|>=|<|>"


def _compares(column: str, condition: str, operators: str) -> bool:
    """Whether ``condition`` compares ``column`` (bare or cast, as in ``(name)::text``) by one of ``operators``."""
    return re.search(rf"\b{re.escape(column)}\b(\)::[\w ]+?)?\s*(?:{operators})\s", condition) is not None


def assert_read_in_index_order(plan: dict[str, Any], *, bounded_by: str | None = None,
                               scoped_by: str | tuple[str, ...] | None = None) -> None:
    """No sort, an index read, and (for a later page) the cursor's first column among the index's
    conditions, so the scan starts at the page instead of at the caller's first row.

    With ``scoped_by`` (a column, or one per part of a partitioned list), an index scan starts and
    stops on that column: the page is read from the scope's rows (and, for a later page, from the
    cursor on), not walked through every row of the table with the scope as a filter."""
    if "Generic Plan" in plan:
        assert_read_in_index_order(plan["Generic Plan"], bounded_by=bounded_by, scoped_by=scoped_by)
    found = nodes(plan)
    assert "Sort" not in found and "Incremental Sort" not in found, found
    assert any(node.startswith("Index") for node in found), found
    conditions = index_conditions(plan)
    if bounded_by is not None:
        assert any(_compares(bounded_by, condition, _RANGE) for condition in conditions), conditions
    for scope in (scoped_by,) if isinstance(scoped_by, str) else scoped_by or ():
        scans = [condition for condition in conditions if _compares(scope, condition, "=")]
        assert scans, conditions
        if bounded_by is not None:
            assert any(_compares(bounded_by, condition, _RANGE) for condition in scans), conditions


def scans(plan: dict[str, Any]) -> list[str]:
    """Every scan of ``plan`` as ``"<node type> <index or table>"`` (the index where it reads one),
    whatever the plan's shape."""
    found, stack = [], [plan]
    while stack:
        node = stack.pop()
        if "Node Type" in node and "Scan" in node["Node Type"]:
            found.append(f'{node["Node Type"]} {node.get("Index Name", node.get("Relation Name", ""))}')
        stack.extend(node.get("Plans", []))
    return found
