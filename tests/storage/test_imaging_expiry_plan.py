"""``expire_imaging_uploads`` runs every hour: it reads the studies still waiting for their upload
and the removals under way from their partial indexes, not every study ever stored."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from storage import imaging
from storage.models import ImagingStudy, StudyStatus
from tests.plans import analyze, explain

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]


def _plan_scans(plan: dict) -> list[str]:
    """Every scan of the plan, with the index it reads where it reads one. (Not of the generic plan:
    a partial index serves only a plan that knows the status, and the job runs the query once.)"""
    found, stack = [], [plan]
    while stack:
        node = stack.pop()
        if "Node Type" in node and "Scan" in node["Node Type"]:
            found.append(f'{node["Node Type"]} {node.get("Index Name", node.get("Relation Name", ""))}')
        stack.extend(node.get("Plans", []))
    return found


def test_the_clean_up_reads_only_pending_studies_and_removals_under_way(patient, doctor):
    now = timezone.now()
    listed = [ImagingStudy(patient=patient, uploaded_by=doctor, key=f"imaging/{uuid.uuid4()}.dcm", expected_size=1024,
                           status=StudyStatus.AVAILABLE, upload_expires_at=now - timedelta(days=i % 300),
                           completed_at=now - timedelta(days=i % 300)) for i in range(3000)]
    waiting = [ImagingStudy(patient=patient, uploaded_by=doctor, key=f"imaging/{uuid.uuid4()}.dcm", expected_size=1024,
                            upload_expires_at=now - timedelta(days=2, minutes=i)) for i in range(3)]
    ImagingStudy.objects.bulk_create(listed + waiting)
    analyze(ImagingStudy)

    plan = explain(imaging.abandoned_studies(now=now, limit=200))
    scans = _plan_scans(plan)
    assert not [scan for scan in scans if scan.startswith("Seq Scan")], scans
    assert any("imaging_pending_expiry" in scan for scan in scans), scans
    assert any("imaging_removing_claimed" in scan for scan in scans), scans
    assert [study.pk for study in imaging.abandoned_studies(now=now, limit=200)] == [
        study.pk for study in sorted(waiting, key=lambda study: study.upload_expires_at)]
