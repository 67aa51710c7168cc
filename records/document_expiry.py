"""Uploads of patients' documents that never finished: ``manage.py expire_document_uploads``.

An upload commits its row ``pending`` (with its key) before the file goes to S3 and marks it
``stored`` after (``records.documents``). A worker killed in between (gunicorn's timeout, a deploy,
the database failing at the last step) leaves a ``pending`` row naming an object that may be in the
bucket, which no list, preview or delete ever shows. Once such a row is older than
:data:`PENDING_GRACE` (far longer than any upload request may run), this removes its object (a
delete marker, as a patient's own delete does: the bucket's lifecycle expires the bytes with every
other noncurrent version) and then the row.

Each row is claimed by a conditional update (``pending`` -> ``removing``, ``claimed_at``) committed
before S3 is called, so of two runs at once (or a run and a very late upload marking it stored)
exactly one acts on it. S3 not answering puts the row back and ends the run; a run stopped between
claim and delete leaves a claim the next run takes over once it is :data:`CLAIM_LEASE` old.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError
from django.db.models import Q, QuerySet
from django.utils import timezone

from records.audit import audit_record
from records.documents import storage
from records.models import DocumentState, PatientDocument

logger = logging.getLogger("records.documents")

# An upload request ends within gunicorn's timeout (30 s); a row still pending an hour later is dead.
PENDING_GRACE = timedelta(hours=1)
# Longer than a job may run (``TimeoutStartSec`` of ``phb-job@.service``): a claim this old is abandoned.
CLAIM_LEASE = timedelta(minutes=15)


@dataclass
class ExpiryReport:
    removed: int = 0
    retrying: int = 0


def _due(*, now: datetime) -> Q:
    return (Q(state=DocumentState.PENDING, created_at__lt=now - PENDING_GRACE)
            | Q(state=DocumentState.REMOVING, claimed_at__lt=now - CLAIM_LEASE))


def unfinished_uploads(*, now: datetime, limit: int) -> QuerySet[PatientDocument]:
    """Uploads never finished and due for removal, oldest first (the partial index
    ``records_doc_unfinished`` holds only rows that are not ``stored``)."""
    return (PatientDocument.objects.exclude(state=DocumentState.STORED).filter(_due(now=now))
            .only("id", "patient_id", "file", "state", "claimed_at", "created_at")
            .order_by("created_at", "id")[:limit])


def document_uploads_expire(*, limit: int = 200) -> ExpiryReport:
    """Remove up to ``limit`` uploads that never finished, with their objects."""
    report = ExpiryReport()
    for doc in list(unfinished_uploads(now=timezone.now(), limit=limit)):
        claimed_at = timezone.now()
        if not PatientDocument.objects.filter(
                _due(now=claimed_at), pk=doc.pk, state=doc.state, claimed_at=doc.claimed_at,
        ).update(state=DocumentState.REMOVING, claimed_at=claimed_at):
            continue  # taken by another run (or stored) since it was read
        claim = PatientDocument.objects.filter(pk=doc.pk, state=DocumentState.REMOVING, claimed_at=claimed_at)
        try:
            storage().delete(doc.file.name)  # a delete marker; the key is this upload's alone
        except (ClientError, BotoCoreError):
            claim.update(state=doc.state, claimed_at=doc.claimed_at)
            report.retrying += 1
            logger.warning("unfinished document upload not removed", extra={
                "event": "document_upload_expiry_unavailable", "document": str(doc.pk)})
            break  # S3 is not answering: the rest wait for the next run, not for its timeouts
        if claim.delete()[0]:
            audit_record(actor=None, patient=doc.patient_id, action="upload_abandoned", object_type="document",
                         object_id=str(doc.pk))
            logger.info("unfinished document upload removed", extra={
                "event": "document_upload_abandoned", "document": str(doc.pk)})
            report.removed += 1
    return report
