"""PostgreSQL query plans of list pages, for the tests that check a page is read in index order."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection
from django.db.models import QuerySet


def explain(query: QuerySet) -> dict[str, Any]:
    """The plan's root node, with sorting disabled: a plan without an ordered index would still sort."""
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        document = cursor.fetchone()[0]
    return (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]


def _main(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The main query's nodes (subqueries of the select list left out)."""
    found = [plan]
    for child in plan.get("Plans", []):
        if "Subplan Name" not in child:
            found += _main(child)
    return found


def nodes(plan: dict[str, Any]) -> list[str]:
    return [node["Node Type"] for node in _main(plan)]


def index_conditions(plan: dict[str, Any]) -> list[str]:
    """The conditions the main query's index scans start and stop on."""
    return [node["Index Cond"] for node in _main(plan) if "Index Cond" in node]


def assert_read_in_index_order(plan: dict[str, Any], *, bounded_by: str | None = None) -> None:
    """No sort, an index read, and (for a later page) the cursor's first column among the index's
    conditions, so the scan starts at the page instead of at the caller's first row."""
    found = nodes(plan)
    assert "Sort" not in found and "Incremental Sort" not in found, found
    assert any(node.startswith("Index") for node in found), found
    if bounded_by is not None:
        conditions = index_conditions(plan)
        assert any(bounded_by in condition for condition in conditions), conditions
