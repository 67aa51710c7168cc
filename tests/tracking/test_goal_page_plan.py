"""A page of women's-health goals is read in the list's order from an index, so its cost does not
grow with the number of goals: no sort of every goal of the user before the page is cut."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.utils import timezone

from phb.api import pagination
from tests.plans import assert_read_in_index_order, explain
from tracking import selectors

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]

SPEC = pagination.RECENT_FIRST  # the spec GoalListView pages with


@pytest.mark.parametrize("status", [None, "active"])
@pytest.mark.parametrize("next_page", [False, True])
def test_the_page_is_read_in_index_order(patient, status, next_page):
    after = [timezone.now(), uuid.uuid4()] if next_page else None
    queryset = selectors.goal_list(fetched_by=patient, status=status)
    plan = explain(pagination.page_query(queryset, spec=SPEC, limit=SPEC.default, after=after))
    assert_read_in_index_order(plan, bounded_by="created_at" if next_page else None)
