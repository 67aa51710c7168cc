"""The staff admissions list reads a page, and counts its total, from the open and recently closed
admissions only: years of closed admissions of the hospital are never walked, whether PostgreSQL
plans the query for its values or keeps a generic plan of a prepared statement."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from psycopg import ClientCursor
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from admissions import selectors
from admissions.models import Admission, AdmissionStatus
from phb.api import pagination
from tests.factories import DepartmentFactory, HospitalFactory, make_hospital_admin
from tests.plans import _numbered, analyze

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]

HISTORY = 3000
OPEN = 60
CLOSED_TODAY = 6
_NUMBERS = itertools.count()
PAGE = pagination.PageSpec(ordering=selectors.STAFF_PAGE.ordering, default=10, maximum=10, count=False)


def _admission(department, *, status: str, created_at, closed_at=None) -> Admission:
    times: dict[str, Any] = {"admission_id": f"ADM-PLAN-{next(_NUMBERS)}"}
    if status in (AdmissionStatus.ADMITTED, AdmissionStatus.DISCHARGED, AdmissionStatus.TRANSFERRED):
        times["admitted_at"] = created_at
    if status in (AdmissionStatus.DISCHARGED, AdmissionStatus.TRANSFERRED):
        times["discharged_at"] = closed_at
    if status == AdmissionStatus.CANCELLED:
        times["cancelled_at"] = closed_at
    return Admission(hospital=department.hospital, department=department, status=status, created_at=created_at,
                     temp_patient_details={"first_name": "Door"}, reason_for_admission="Observation", **times)


@pytest.fixture
def history(department):
    """Years of closed admissions of the hospital (and of another one), its open ones (some
    admitted weeks ago), and a few closed today."""
    now = timezone.now()
    closed = [AdmissionStatus.DISCHARGED, AdmissionStatus.DISCHARGED, AdmissionStatus.TRANSFERRED,
              AdmissionStatus.CANCELLED]
    elsewhere = DepartmentFactory(hospital=HospitalFactory())
    rows = []
    for i in range(HISTORY):
        created = now - timedelta(days=3 + i % 1000, hours=i % 24)
        rows.append(_admission(department, status=closed[i % 4], created_at=created,
                               closed_at=created + timedelta(days=2)))
        if i % 3 == 0:
            rows.append(_admission(elsewhere, status=closed[i % 4], created_at=created, closed_at=now))
    rows += [_admission(department, status=AdmissionStatus.PENDING if i % 3 == 0 else AdmissionStatus.ADMITTED,
                        created_at=now - timedelta(days=i, minutes=7)) for i in range(OPEN)]
    rows += [_admission(department, status=closed[i % 4], created_at=now - timedelta(days=i, minutes=3),
                        closed_at=now) for i in range(CLOSED_TODAY)]
    Admission.objects.bulk_create(rows, batch_size=1000)
    analyze(Admission)


def _plans(query: QuerySet) -> list[dict[str, Any]]:
    """The executed plan of ``query`` planned for its values, and as a prepared statement's generic plan."""
    sql, params = query.query.sql_with_params()
    plans = []
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plans.append(cursor.fetchone()[0][0]["Plan"])
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE phb_plan AS {_numbered(sql)}")
        arguments = ClientCursor(connection.connection).mogrify(", ".join(["%s"] * len(params)), params)
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE phb_plan ({arguments})")
        plans.append(cursor.fetchone()[0][0]["Plan"])
        cursor.execute("DEALLOCATE phb_plan")
        cursor.execute("SET LOCAL plan_cache_mode = auto")
    return plans


def _admission_indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [Admission._meta.db_table])
        return {name for (name,) in cursor.fetchall()}


def rows_read(plan: dict[str, Any], indexes: set[str]) -> int:
    """Admission rows (and index entries) the executed plan went through, those it filtered out included."""
    found = 0
    if plan.get("Relation Name") == Admission._meta.db_table or plan.get("Index Name") in indexes:
        loops = plan.get("Actual Loops", 1)
        found += loops * (plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)
                          + plan.get("Rows Removed by Index Recheck", 0))
    return found + sum(rows_read(child, indexes) for child in plan.get("Plans", []))


def _shown(plan: dict[str, Any], depth: int = 0) -> str:
    keys = ("Index Name", "Index Cond", "Recheck Cond", "Filter", "Actual Rows", "Rows Removed by Filter", "Actual Loops")
    line = "  " * depth + plan["Node Type"] + " " + " ".join(f"{k}={plan[k]}" for k in keys if k in plan)
    return "\n".join([line, *(_shown(child, depth + 1) for child in plan.get("Plans", []))])


def _request(query: str = "") -> Request:
    return Request(APIRequestFactory().get(f"/api/admissions/{query}"))


@pytest.mark.parametrize("status, next_page", [
    ("", False), ("", True), (AdmissionStatus.ADMITTED, False), (AdmissionStatus.ADMITTED, True),
    (AdmissionStatus.PENDING, False), (AdmissionStatus.PENDING, True), (AdmissionStatus.DISCHARGED, False),
    (AdmissionStatus.TRANSFERRED, False), (AdmissionStatus.CANCELLED, False),
])
def test_a_page_and_its_total_never_walk_the_hospitals_past(history, hospital, status, next_page):
    """The first page, or the second, of the list and of each status filter (the closed ones
    today fit one page), planned for its values and as a generic plan."""
    listed = selectors.admission_list(fetched_by=make_hospital_admin(hospital=hospital), status=status)
    after = None
    if next_page:
        first = pagination.paginate(_request(), listed.rows, spec=PAGE, columns=listed.columns,
                                    partition=listed.parts)
        after = pagination.decode_cursor(first.next_cursor, length=len(PAGE.ordering))
    page = pagination.page_query(listed.rows, spec=PAGE, limit=PAGE.default, columns=listed.columns,
                                 after=after, partition=listed.parts)
    counts = [listed.rows.filter(part).values("pk").order_by()[: pagination.COUNT_CAP] for part in listed.parts]
    indexes = _admission_indexes()
    for query in (page, *counts):
        for plan in _plans(query):
            # The list holds at most OPEN + CLOSED_TODAY rows; the hospital's past is HISTORY rows.
            assert rows_read(plan, indexes) <= 2 * (OPEN + CLOSED_TODAY), (status, next_page, _shown(plan))


def test_the_list_and_its_total_are_right(history, hospital):
    listed = selectors.admission_list(fetched_by=make_hospital_admin(hospital=hospital))
    assert listed.total() == OPEN + CLOSED_TODAY
    first = pagination.paginate(_request(), listed.rows, spec=PAGE, columns=listed.columns,
                                partition=listed.parts)
    seen = [row["id"] for row in first.items]
    while first.next_cursor is not None:
        first = pagination.paginate(_request(f"?cursor={first.next_cursor}"), listed.rows, spec=PAGE,
                                    columns=listed.columns, partition=listed.parts)
        seen += [row["id"] for row in first.items]
    _, day_start = selectors.local_today(hospital)
    shown = Q(status__in=[AdmissionStatus.PENDING, AdmissionStatus.ADMITTED]) | Q(discharged_at__gte=day_start) \
        | Q(cancelled_at__gte=day_start)
    expected = list(Admission.objects.filter(shown, hospital=hospital).order_by("-created_at", "-id")
                    .values_list("id", flat=True))
    assert seen == expected and len(seen) == OPEN + CLOSED_TODAY
