"""``expire_document_uploads`` runs every hour: it reads the uploads that never finished from their
partial index, not every document ever stored."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from records import document_expiry
from records.models import DocumentState, PatientDocument
from tests.plans import analyze, explain, scans

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]


def test_the_sweep_reads_only_uploads_that_never_finished(patient):
    now = timezone.now()

    def doc(i: int, state: str, age: timedelta, claimed_at=None) -> PatientDocument:
        return PatientDocument(patient=patient, file=f"patient-documents/{patient.pk}/{uuid.uuid4()}.pdf",
                               display_name="x.pdf", extension="pdf", content_type="application/pdf", size=1,
                               sha256="0" * 64, created_at=now - age, state=state, claimed_at=claimed_at)

    stored = [doc(i, DocumentState.STORED, timedelta(days=i % 300, hours=2)) for i in range(3000)]
    pending = [doc(i, DocumentState.PENDING, timedelta(hours=2, minutes=i)) for i in range(3)]
    young = doc(0, DocumentState.PENDING, timedelta(minutes=5))
    stale_claim = doc(0, DocumentState.REMOVING, timedelta(hours=3), claimed_at=now - timedelta(hours=1))
    PatientDocument.objects.bulk_create([*stored, *pending, young, stale_claim])
    analyze(PatientDocument)

    read = scans(explain(document_expiry.unfinished_uploads(now=now, limit=200)))
    assert not [scan for scan in read if scan.startswith("Seq Scan")], read
    assert any("records_doc_unfinished" in scan for scan in read), read
    due = sorted([*pending, stale_claim], key=lambda d: d.created_at)
    assert [d.pk for d in document_expiry.unfinished_uploads(now=now, limit=200)] == [d.pk for d in due]
