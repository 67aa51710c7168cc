"""A guideline page is read in the list's order from an index, so its cost does not grow with the
number of guidelines: no sort of every visible guideline before the page is cut."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from phb.api import pagination
from storage import rows, selectors
from tests.plans import assert_read_in_index_order, explain

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]


@pytest.mark.parametrize("filters", [{}, {"category": "prevention"}, {"is_published": "true"}])
@pytest.mark.parametrize("next_page", [False, True])
def test_the_page_is_read_in_index_order(doctor, filters, next_page):
    after = [timezone.now(), 10**9] if next_page else None
    queryset = selectors.guideline_list(fetched_by=doctor, filters=filters)
    spec = pagination.GUIDELINES
    plan = explain(pagination.page_query(queryset, spec=spec, limit=spec.default, columns=rows.COLUMNS, after=after))
    assert_read_in_index_order(plan, bounded_by="updated_at" if next_page else None)
