"""A guideline page is read in the list's order from an index, so its cost does not grow with the
number of guidelines: no sort of every visible guideline before the page is cut."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from storage import rows, selectors

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]


def _nodes(plan: dict) -> list[str]:
    """Node types of the main query (subqueries of the select list left out)."""
    found = [plan["Node Type"]]
    for child in plan.get("Plans", []):
        if "Subplan Name" not in child:
            found += _nodes(child)
    return found


def _page_plan(queryset) -> list[str]:
    page = rows.guideline_rows(queryset)[:101]
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")  # a plan without an ordered index would still sort
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        document = cursor.fetchone()[0]
    return _nodes((json.loads(document) if isinstance(document, str) else document)[0]["Plan"])


@pytest.mark.parametrize("filters", [{}, {"category": "prevention"}, {"is_published": "true"}])
def test_the_page_is_read_in_index_order(doctor, filters):
    nodes = _page_plan(selectors.guideline_list(fetched_by=doctor, filters=filters))
    assert "Sort" not in nodes and "Incremental Sort" not in nodes, nodes
    assert any(node.startswith("Index") for node in nodes), nodes
