"""The pharmacy's triage queue reads a page in its order from an index, and its counters read only
the open queue and today's reviews: neither sorts nor scans every request the pharmacy was ever
sent, with the frontend's filters (status tab, reviewed or not) and without."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from prescriptions import triage
from prescriptions.models import PharmacistAction, PrescriptionRequest, RequestStatus
from tests.factories import make_patient
from tests.plans import analyze, assert_read_in_index_order, explain, spread
from tests.prescriptions.conftest import REPEAT

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]

HISTORY = 3000
OPEN, ISSUED = 40, 20  # waiting for the pharmacist's first look, and issued ones waiting for the second


def _status(i: int) -> str:
    if i < OPEN:
        return RequestStatus.REQUESTED
    if i < OPEN + ISSUED:
        return RequestStatus.APPROVED
    return RequestStatus.DISPENSED if i % 3 else RequestStatus.REJECTED


@pytest.fixture
def history(hospital, pharmacy, other_pharmacy):
    """Years of requests routed to the pharmacy, nearly all long dealt with, beside another pharmacy's."""
    patients = [make_patient(hospital=hospital) for _ in range(10)]
    long_ago = timezone.now() - timedelta(days=400)
    rows = []
    for place in (pharmacy, other_pharmacy):
        for i in range(HISTORY):
            done = i >= OPEN + ISSUED
            rows.append(PrescriptionRequest(
                patient=patients[i % 10], hospital=hospital, pharmacy=place, request_type="repeat",
                medications=[REPEAT], status=_status(i), triage_score=i % 97, urgency="urgent" if i % 4 == 0 else "routine",
                pharmacist_action=PharmacistAction.APPROVED if done else "",
                pharmacist_reviewed_at=long_ago if done else None))
    PrescriptionRequest.objects.bulk_create(rows, batch_size=1000)
    spread(PrescriptionRequest, "created_at")
    analyze(PrescriptionRequest)


@pytest.mark.parametrize(("status", "reviewed"), [
    (RequestStatus.REQUESTED, False),  # the page's first tab, as it opens
    (RequestStatus.APPROVED, False),
    ("", None),  # every request
    ("", True),
])
def test_a_triage_page_is_read_in_the_queues_order(history, pharmacist, status, reviewed):
    queue = triage.triage_queue(pharmacist=pharmacist, status=status, reviewed=reviewed)
    assert queue.count() > 0
    assert_read_in_index_order(explain(queue[20:40]), scoped_by="pharmacy_id")


def test_the_queues_counters_read_only_open_and_todays_requests(history, pharmacy, pharmacist):
    PrescriptionRequest.objects.filter(pk=PrescriptionRequest.objects.filter(
        pharmacy=pharmacy, status=RequestStatus.DISPENSED).values("pk")[:1]).update(pharmacist_reviewed_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        stats = triage.queue_stats(pharmacist=pharmacist)
    assert stats == {"awaiting_review": OPEN + ISSUED, "reviewed_today": 1,
                     "urgent_pending": len([i for i in range(OPEN + ISSUED) if i % 4 == 0])}
    counting = queries.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {counting}")
        plan = cursor.fetchone()[0][0]["Plan"]
    read = {f"{node['Node Type']} {node.get('Index Name', node.get('Relation Name', ''))}":
            node["Actual Rows"] * node["Actual Loops"] for node in _walk(plan) if node["Node Type"].endswith("Scan")}
    assert read and max(read.values()) < HISTORY // 10, read  # the open queue and today's, not the history


def _walk(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _walk(child))]
