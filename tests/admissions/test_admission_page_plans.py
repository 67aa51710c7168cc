"""The staff admissions list reads a page, and counts its total, from the open and recently closed
admissions only, and the dashboard its figures: years of closed admissions of the hospital are
never walked, whether PostgreSQL plans the query for its values or keeps a generic plan of a
prepared statement."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from admissions import selectors
from admissions.models import Admission, AdmissionStatus
from phb.api import pagination
from tests.factories import DepartmentFactory, HospitalFactory, make_hospital_admin
from tests.helpers import client_for
from tests.plans import _numbered, analyze, execute_arguments

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
    return _sql_plans(*query.query.sql_with_params())


def _analyzed(sql: str, params: Any) -> dict[str, Any]:
    """The executed plan of ``sql`` planned for its values."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        return cursor.fetchone()[0][0]["Plan"]


def _sql_plans(sql: str, params: Any) -> list[dict[str, Any]]:
    plans = [_analyzed(sql, params)]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE phb_plan AS {_numbered(sql)}")
        arguments = execute_arguments(params)
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE phb_plan ({arguments})")
        plans.append(cursor.fetchone()[0][0]["Plan"])
        cursor.execute("DEALLOCATE phb_plan")
        cursor.execute("SET LOCAL plan_cache_mode = auto")
    return plans


def _served_plan(sql: str, params: Any) -> dict[str, Any]:
    """The executed plan PostgreSQL chooses for ``sql`` as the service runs it: a prepared statement
    (``DB_PREPARED_STATEMENTS``) executed often enough for the server to weigh its generic plan
    against the custom plans it made so far."""
    arguments = execute_arguments(params)
    with connection.cursor() as cursor:
        cursor.execute(f"PREPARE phb_plan AS {_numbered(sql)}")
        for _ in range(8):
            cursor.execute(f"EXECUTE phb_plan ({arguments})")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE phb_plan ({arguments})")
        plan = cursor.fetchone()[0][0]["Plan"]
        cursor.execute("DEALLOCATE phb_plan")
    return plan


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


def _current(hospital) -> QuerySet:
    """The admissions the dashboard's figures can count: open, or created or closed in its window."""
    _, day_start = selectors.local_today(hospital)
    return Admission.objects.filter(
        Q(status__in=[AdmissionStatus.PENDING, AdmissionStatus.ADMITTED])
        | Q(created_at__gte=day_start - selectors.DASHBOARD_WINDOW) | Q(discharged_at__gte=day_start)
        | Q(cancelled_at__gte=day_start), hospital=hospital)


def test_the_dashboard_never_walks_the_hospitals_past(history, hospital):
    """Every query of the dashboard that reads admissions, as the endpoint sends it, planned for its
    values and as the prepared statement the service makes of it, reads about as many rows as the
    hospital's current work holds.

    Not under a forced generic plan, as the pages above: a count has no ``LIMIT`` that could make a
    walk of the hospital look cheap, so the generic plan is estimated at the whole walk's cost and
    the server keeps planning for the values (``_served_plan`` shows the plan it settles on)."""
    sent: list[tuple[str, Any]] = []

    def record(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    client = client_for(make_hospital_admin(hospital=hospital))
    with connection.execute_wrapper(record):
        assert client.get("/api/admissions/dashboard/").status_code == 200
    reads = [(sql, params) for sql, params in sent if f'"{Admission._meta.db_table}"' in sql]
    assert reads, "the dashboard reads admissions"
    current = _current(hospital).count()
    assert current * 10 < HISTORY
    indexes = _admission_indexes()
    for sql, params in reads:
        for plan in (_analyzed(sql, params), _served_plan(sql, params)):
            # An index entry per part of the condition a row meets, and the row itself.
            assert rows_read(plan, indexes) <= 3 * current, (sql, _shown(plan))


def test_the_dashboard_counts_every_admission_of_its_figures(history, hospital):
    """The figures, counted over every admission of the hospital in Python, are the dashboard's."""
    today, day_start = selectors.local_today(hospital)
    window = day_start - selectors.DASHBOARD_WINDOW
    department = Admission.objects.filter(hospital=hospital).first().department
    Admission.objects.bulk_create([  # two admissions of this moment, whenever the test runs
        _admission(department, status=AdmissionStatus.PENDING, created_at=timezone.now()),
        _admission(department, status=AdmissionStatus.DISCHARGED, created_at=timezone.now(),
                   closed_at=timezone.now())])
    every = list(Admission.objects.filter(hospital=hospital).order_by("-created_at", "pk"))
    Admission.objects.filter(pk__in=[a.pk for a in every[::7]]).update(is_readmission=True, is_emergency=True)
    every = list(Admission.objects.filter(hospital=hospital).order_by("pk"))
    admitted = [a for a in every if a.status == AdmissionStatus.ADMITTED]
    Admission.objects.filter(pk__in=[a.pk for a in admitted[::2]]).update(expected_discharge_date=today)
    every = list(Admission.objects.filter(hospital=hospital))
    figures = selectors.dashboard(fetched_by=make_hospital_admin(hospital=hospital))
    expected = {
        "admissions_today": sum(a.created_at >= day_start and a.status != AdmissionStatus.CANCELLED for a in every),
        "emergency_today": sum(a.created_at >= day_start and a.is_emergency and a.status != AdmissionStatus.CANCELLED
                               for a in every),
        "currently_admitted": sum(a.status == AdmissionStatus.ADMITTED for a in every),
        "pending_admissions": sum(a.status == AdmissionStatus.PENDING for a in every),
        "pending_discharges": sum(a.status == AdmissionStatus.ADMITTED and a.expected_discharge_date is not None
                                  and a.expected_discharge_date <= today for a in every),
        "discharged_today": sum(a.discharged_at is not None and a.discharged_at >= day_start for a in every),
        "readmissions_30_days": sum(a.is_readmission and a.created_at >= window and a.status != AdmissionStatus.CANCELLED
                                    for a in every),
    }
    assert figures.counts == expected
    assert min(expected.values()) > 0
    stays = [(a.discharged_at - a.admitted_at).total_seconds() for a in every
             if a.discharged_at is not None and a.discharged_at >= window]
    assert stays and figures.average_length_of_stay_days == round(sum(stays) / len(stays) / 86400, 1)
