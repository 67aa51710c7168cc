"""A page of women's-health goals is read in the list's order from an index, so its cost does not
grow with the number of goals: no sort of every goal of the user before the page is cut, whole or
filtered by status."""

from __future__ import annotations

import pytest
from django.db import connection

from phb.api import pagination
from tests.plans import analyze, assert_read_in_index_order, page_plan, spread
from tracking import selectors
from tracking.models import GoalStatus, HealthGoal

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]

SPEC = pagination.RECENT_FIRST  # the spec GoalListView pages with
HISTORY = 3000


@pytest.fixture
def goals(patient, other_patient):
    """A long history of the caller's goals, of every status, beside another user's."""
    statuses = GoalStatus.values
    HealthGoal.objects.bulk_create(
        [HealthGoal(user=patient, title="Walk", status=statuses[i % len(statuses)]) for i in range(HISTORY)]
        + [HealthGoal(user=other_patient, title="Walk") for _ in range(HISTORY)]
    )
    spread(HealthGoal, "created_at")
    analyze(HealthGoal)


@pytest.mark.parametrize("status", [None, "active", "cancelled"])
@pytest.mark.parametrize("next_page", [False, True])
def test_the_page_is_read_in_index_order(goals, patient, status, next_page):
    queryset = selectors.goal_list(fetched_by=patient, status=status)
    plan = page_plan(queryset, spec=SPEC, next_page=next_page)
    # Filtered, the page is read from the goals of that status alone, however few of them there are.
    assert_read_in_index_order(plan, bounded_by="created_at" if next_page else None,
                               scoped_by=("user_id", "status") if status else "user_id")
