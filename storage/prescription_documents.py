"""Prescription PDFs in the prescriptions bucket (SSE-KMS, object lock GOVERNANCE 2555 days).

``prescription_issued`` (appointments) triggers :func:`prescription_document_ensure`, which
renders the PDF and stores it under a random key. It is idempotent: the digest of what the PDF
shows is kept, and only a changed prescription (a correction, a cancellation) is rendered again,
as a new S3 version of the same key: never an overwrite; object lock keeps every version.
The patient and the prescriber fetch it through a 5-minute SigV4 signed URL of that exact version.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.db import IntegrityError, transaction
from django.utils.crypto import salted_hmac

from phb import metrics
from phb.api.errors import ServiceUnavailable
from phb.zones import zone_of
from storage import objects
from storage.models import PrescriptionDocument, PrescriptionDocumentVersion
from storage.prescription_pdf import PrescriptionSheet, render_prescription_pdf

logger = logging.getLogger(__name__)

PDF_CONTENT_TYPE = "application/pdf"


def verification_code_for(prescription_id: Any) -> str:
    """A short code printed on the PDF that only this server can derive from the prescription."""
    digest = salted_hmac("phb.storage.prescription-verification", str(prescription_id)).digest()
    text = base64.b32encode(digest).decode().rstrip("=")[:10]
    return f"RX-{text[:5]}-{text[5:]}"


def content_digest(prescription: Any) -> str:
    """What the document shows of the prescription itself; a change means a new version."""
    payload = {
        "id": str(prescription.pk),
        "patient": str(prescription.patient_id),
        "prescriber": str(prescription.prescriber_id or ""),
        "medications": prescription.medications,
        "status": prescription.status,
        "issued_at": prescription.issued_at.isoformat(),
        "expires_at": prescription.expires_at.isoformat(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _sheet(prescription: Any, *, code: str, revision: int) -> PrescriptionSheet:
    appointment = prescription.appointment
    # A prescription issued on a repeat request has no appointment: the request names the hospital.
    hospital = getattr(appointment, "hospital", None) or getattr(getattr(prescription, "request", None),
                                                                 "hospital", None)
    department = getattr(appointment, "department", None)
    zone = zone_of(hospital)  # an unknown zone name must not stop the document
    prescriber = prescription.prescriber
    return PrescriptionSheet(
        prescription_id=str(prescription.pk),
        verification_code=code,
        patient_name=prescription.patient.full_name,
        patient_hpn=prescription.patient.hpn,
        prescriber_name=(prescriber.full_name if prescriber else ""),
        hospital_name=getattr(hospital, "name", ""),
        department_name=getattr(department, "name", ""),
        issued_at=prescription.issued_at.astimezone(zone),
        expires_at=prescription.expires_at.astimezone(zone),
        medications=list(prescription.medications or []),
        cancelled=prescription.status == "cancelled",
        revision=revision,
    )


def prescription_document_ensure(*, prescription: Any) -> PrescriptionDocument:
    """The document of ``prescription``, rendered and stored now if missing or out of date."""
    try:
        return _ensure(prescription)
    except IntegrityError:  # two first renders raced: the other one created the row
        return _ensure(prescription)


def _ensure(prescription: Any) -> PrescriptionDocument:
    """Render and upload with no transaction or lock held; record the version in a short one.

    Two first renders racing both upload (two S3 versions of one key); the first to record wins
    and the other finds the document already current."""
    digest = content_digest(prescription)
    found = PrescriptionDocument.objects.filter(prescription=prescription).first()
    if found is not None and found.content_digest == digest and found.current_version_id:
        return found
    document, _ = PrescriptionDocument.objects.get_or_create(
        prescription=prescription,
        defaults={
            "key": objects.new_key("prescriptions", prescription.patient_id, ".pdf"),
            "verification_code": verification_code_for(prescription.pk),
        },
    )
    revision = document.versions.count() + 1
    pdf = render_prescription_pdf(_sheet(prescription, code=document.verification_code, revision=revision))
    version_id = objects.put_version(
        storage_name=objects.PRESCRIPTIONS,
        key=document.key,
        body=pdf,
        content_type=PDF_CONTENT_TYPE,
        metadata={"prescription-id": str(prescription.pk), "revision": str(revision)},
    )
    with transaction.atomic():
        document = PrescriptionDocument.objects.select_for_update().get(pk=document.pk)
        if document.content_digest == digest and document.current_version_id:
            return document
        document.current_version_id = version_id
        document.content_digest = digest
        document.size = len(pdf)
        document.save(update_fields=["current_version_id", "content_digest", "size", "updated_at"])
        PrescriptionDocumentVersion.objects.create(
            document=document, version_id=version_id, content_digest=digest, size=len(pdf)
        )
    metrics.record("PrescriptionDocumentStored", area="Storage")
    logger.info("prescription document stored", extra={
        "event": "prescription_document_stored", "prescription_id": str(prescription.pk),
        "document_id": str(document.pk), "revision": revision,
    })
    return document


def prescription_document_url(*, prescription: Any, fetched_by: Any, request: Any = None) -> dict[str, Any]:
    """A 5-minute signed URL of the current version, for the patient or the prescriber (the
    caller is checked by the view's scope); the read is audited."""
    from records.audit import audit_record

    try:
        document = prescription_document_ensure(prescription=prescription)
    except (ClientError, BotoCoreError) as exc:
        # Never the version stored before: it may not show a correction or a cancellation.
        logger.warning("prescription document not stored", extra={
            "event": "prescription_document_unavailable", "prescription_id": str(prescription.pk)})
        raise ServiceUnavailable("The prescription document cannot be prepared just now. Try again shortly.",
                                 code="storage_unavailable") from exc
    signed = objects.signed_get_url(
        storage_name=objects.PRESCRIPTIONS,
        key=document.key,
        version_id=document.current_version_id,
        file_name=f"prescription-{str(prescription.pk)[:8]}.pdf",
        content_type=PDF_CONTENT_TYPE,
        inline=True,
    )
    audit_record(actor=fetched_by, patient=prescription.patient_id, action="read",
                 object_type="prescription_document", object_id=str(document.pk), request=request)
    return {
        "prescription_id": str(prescription.pk),
        "document_id": str(document.pk),
        "version_id": document.current_version_id,
        "revision": document.versions.count(),
        "verification_code": document.verification_code,
        "content_type": PDF_CONTENT_TYPE,
        **signed.as_dict(),
    }


def on_prescription_issued(sender: Any = None, *, prescription: Any, **kwargs: Any) -> None:
    """Receiver of ``appointments.signals.prescription_issued`` (sent after commit). A failure
    here leaves the prescription valid: the document is rendered on its first request instead."""
    try:
        prescription_document_ensure(prescription=prescription)
    except Exception:
        metrics.record("PrescriptionDocumentFailed", area="Storage")
        logger.exception("prescription document not stored", extra={
            "event": "prescription_document_failed", "prescription_id": str(prescription.pk)})
