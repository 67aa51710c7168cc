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
from tests.plans import analyze, explain, scans

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]


def test_the_clean_up_reads_only_pending_studies_and_removals_under_way(patient, doctor):
    now = timezone.now()
    listed = [ImagingStudy(patient=patient, uploaded_by=doctor, key=f"imaging/{uuid.uuid4()}.dcm", expected_size=1024,
                           status=StudyStatus.AVAILABLE, upload_expires_at=now - timedelta(days=i % 300),
                           completed_at=now - timedelta(days=i % 300)) for i in range(3000)]
    waiting = [ImagingStudy(patient=patient, uploaded_by=doctor, key=f"imaging/{uuid.uuid4()}.dcm", expected_size=1024,
                            upload_expires_at=now - timedelta(days=2, minutes=i)) for i in range(3)]
    ImagingStudy.objects.bulk_create(listed + waiting)
    analyze(ImagingStudy)

    # The plan of the query as the job runs it once (not the generic plan: a partial index serves
    # only a plan that knows the status).
    plan = explain(imaging.abandoned_studies(now=now, limit=200))
    read = scans(plan)
    assert not [scan for scan in read if scan.startswith("Seq Scan")], read
    assert any("imaging_pending_expiry" in scan for scan in read), read
    assert any("imaging_removing_claimed" in scan for scan in read), read
    assert [study.pk for study in imaging.abandoned_studies(now=now, limit=200)] == [
        study.pk for study in sorted(waiting, key=lambda study: study.upload_expires_at)]
