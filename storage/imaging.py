"""Medical imaging: a clinician with access to the patient uploads a DICOM file straight to S3.

1. :func:`imaging_study_start` answers a presigned POST for exactly the declared size, with the
   content type, SSE-KMS, storage class and the file's SHA-256 pinned (S3 checks the body).
2. :func:`imaging_study_complete` ``head_object``\\ s the key, checks size and type, reads the DICOM
   header (pydicom) for modality, study date and UIDs, and only then lists the study. Anything
   else is refused and every version of the object deleted.
3. The patient and clinicians with access get 5-minute signed GET URLs (CloudFront signed URLs
   with ``CLOUDFRONT_ENABLED``, S3 SigV4 presigned URLs otherwise); every read audited.
4. :func:`imaging_uploads_expire` removes the studies never completed once their upload window
   closed more than ``IMAGING_UPLOAD_ABANDON_HOURS`` ago, with every version of their object.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import re
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied

from accounts.models import Role, User
from hospitals.selectors import staff_of
from phb import metrics
from phb.api.errors import ApiError, Conflict, ServiceUnavailable
from storage import cdn, objects
from storage.aws_resources import IMAGING_PREFIX
from storage.dicom import DicomHeader, NotDicom, looks_like_dicom, read_header
from storage.models import REMOVING, ImagingStudy, StudyStatus
from storage.selectors import imaging_patient_for

logger = logging.getLogger(__name__)

DICOM_CONTENT_TYPE = "application/dicom"
HEADER_PROBE_BYTES = 1024 * 1024
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


ABANDONED = "upload abandoned"
ABANDONED_REMOVING = REMOVING + ABANDONED
# A removal claimed longer ago than this was cut short (a request lives at most gunicorn's 30 s
# timeout, the job phb-job@.service's TimeoutStartSec, 10 minutes): the next run takes it over.
ABANDON_CLAIM_LEASE = timedelta(minutes=15)


def _audit(*, actor: User | None, study: ImagingStudy, action: str, request: Any = None) -> None:
    from records.audit import audit_record

    audit_record(actor=actor, patient=study.patient_id, action=action, object_type="imaging_study",
                 object_id=str(study.pk), request=request)


def _sha256_b64(value: str) -> str:
    """The checksum as S3 wants it (base64 of the digest), from hex or base64 input."""
    value = (value or "").strip()
    if _HEX64.fullmatch(value):
        return base64.b64encode(bytes.fromhex(value)).decode()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ApiError("sha256: give the file's SHA-256 as 64 hex digits.", code="invalid")
    return value


def imaging_study_start(*, clinician: User, patient_id: Any, size: int, sha256: str, description: str = "",
                        request: Any = None) -> tuple[ImagingStudy, dict[str, Any]]:
    if clinician.role != Role.DOCTOR:
        raise PermissionDenied("Only clinicians can upload imaging studies.")
    patient = imaging_patient_for(clinician=clinician, patient_id=patient_id)
    max_bytes = settings.MEDICAL_IMAGING_MAX_BYTES
    if size <= 0:
        raise ApiError("size: the file is empty.", code="invalid")
    if size > max_bytes:
        raise ApiError(f"size: studies up to {max_bytes // (1024 * 1024)} MB can be uploaded.",
                       status_code=413, code="file_too_large")
    checksum = _sha256_b64(sha256)
    staff = staff_of(user=clinician)
    study = ImagingStudy.objects.create(
        patient=patient,
        uploaded_by=clinician,
        hospital=staff.hospital if staff else None,
        key=objects.new_key(IMAGING_PREFIX, patient.pk, ".dcm"),
        expected_size=size,
        sha256=base64.b64decode(checksum).hex(),
        description=(description or "")[:255],
        upload_expires_at=timezone.now() + timedelta(seconds=settings.S3_SIGNED_URL_TTL),
    )
    form = objects.presigned_post(
        storage_name=objects.IMAGING, key=study.key, content_type=DICOM_CONTENT_TYPE, size=size, sha256_b64=checksum
    )
    _audit(actor=clinician, study=study, action="upload_started", request=request)
    logger.info("imaging upload started", extra={"event": "imaging_upload_started", "study_id": str(study.pk)})
    return study, form


def _read_dicom_header(study: ImagingStudy, version_id: str) -> DicomHeader:
    """Parse from the first MiB (a ranged GET); only a header longer than that makes us read
    the whole object, spooled to disk."""
    probe_end = min(study.expected_size, HEADER_PROBE_BYTES) - 1
    prefix = objects.read_range(storage_name=objects.IMAGING, key=study.key, start=0, end=probe_end,
                                version_id=version_id)
    try:
        return read_header(io.BytesIO(prefix))
    except NotDicom:
        if study.expected_size <= HEADER_PROBE_BYTES or not looks_like_dicom(prefix):
            raise
    chunks, _ = objects.open_stream(storage_name=objects.IMAGING, key=study.key, version_id=version_id)
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        for chunk in chunks:
            spool.write(chunk)
        spool.seek(0)
        return read_header(spool)


class _Refusal(Exception):
    def __init__(self, *, reason: str, code: str, message: str) -> None:
        super().__init__(code)
        self.reason, self.code, self.message = reason, code, message


def _check_upload(study: ImagingStudy) -> tuple[str, DicomHeader]:
    """The version id and header of the uploaded object, or :class:`_Refusal`."""
    try:
        found = objects.head(storage_name=objects.IMAGING, key=study.key, checksum=True)
    except objects.ObjectMissing:
        raise Conflict("The file has not been uploaded yet.", code="upload_missing") from None
    size = int(found.get("ContentLength", -1))
    if size != study.expected_size:
        raise _Refusal(reason=f"size {size} != {study.expected_size}", code="size_mismatch",
                       message="The uploaded file does not have the declared size.")
    if (found.get("ContentType") or "").split(";")[0].strip().lower() != DICOM_CONTENT_TYPE:
        raise _Refusal(reason="content type", code="not_dicom",
                       message="Only DICOM files can be uploaded as imaging studies.")
    stored_checksum = found.get("ChecksumSHA256")
    if stored_checksum and base64.b64decode(stored_checksum).hex() != study.sha256:
        raise _Refusal(reason="checksum", code="checksum_mismatch",
                       message="The uploaded file does not match the declared SHA-256.")
    version_id = found.get("VersionId", "") or ""
    try:
        return version_id, _read_dicom_header(study, version_id)
    except objects.ObjectMissing:  # removed since the head (a concurrent refusal)
        raise Conflict("The file has not been uploaded yet.", code="upload_missing") from None
    except NotDicom as exc:
        raise _Refusal(reason=f"not dicom: {exc}", code="not_dicom",
                       message="The file is not a DICOM study (no readable DICOM header).") from None


def _refuse(study: ImagingStudy, refusal: _Refusal, *, by: User, request: Any) -> ApiError:
    """Mark the study rejected and delete every version of its object (unless a concurrent
    completion listed it first: then the listed version stays). Until the object is gone the
    reason says ``REMOVING``, so that a refusal cut short is finished by ``expire_imaging_uploads``."""
    claimed_at = timezone.now()
    rejected = ImagingStudy.objects.filter(pk=study.pk, status=StudyStatus.PENDING).update(
        status=StudyStatus.REJECTED, rejection_reason=(REMOVING + refusal.reason)[:255], completed_at=claimed_at
    )
    if not rejected:
        return Conflict("This study was completed by another request.", code="already_completed")
    claim = ImagingStudy.objects.filter(pk=study.pk, status=StudyStatus.REJECTED,
                                        rejection_reason__startswith=REMOVING, completed_at=claimed_at)
    try:
        removed = objects.delete_all_versions(storage_name=objects.IMAGING, key=study.key)
    except (ClientError, BotoCoreError):
        # Pending again, so that a retry checks and removes the object: a rejected study is one
        # whose object is gone.
        claim.update(status=StudyStatus.PENDING, rejection_reason="", completed_at=None)
        return _s3_down(study)
    claim.update(rejection_reason=refusal.reason[:255])
    _audit(actor=by, study=study, action="upload_rejected", request=request)
    metrics.record("ImagingStudyRejected", area="Storage", dimensions={"Reason": refusal.code})
    logger.warning("imaging upload refused", extra={"event": "imaging_upload_refused", "study_id": str(study.pk),
                                                    "reason": refusal.code, "versions_removed": removed})
    return ApiError(refusal.message, status_code=422, code=refusal.code)


def _s3_down(study: ImagingStudy) -> ServiceUnavailable:
    logger.warning("imaging upload not checked", extra={"event": "imaging_check_unavailable", "study_id": str(study.pk)})
    return ServiceUnavailable("The upload cannot be checked just now. Try again shortly.", code="storage_unavailable")


def _rejected(study: ImagingStudy) -> Conflict:
    if study.rejection_reason in (ABANDONED, ABANDONED_REMOVING):
        return Conflict("This upload was not completed in time and was removed; start a new one.",
                        code="upload_rejected")
    return Conflict("This upload was refused; start a new one.", code="upload_rejected")


def imaging_study_complete(*, clinician: User, study_id: Any, request: Any = None) -> ImagingStudy:
    """Check the uploaded object and list the study (idempotent once it is available).

    S3 is read outside any transaction (no row or database lock is held while bytes travel);
    the listing itself is a conditional update from ``pending``, so concurrent completions of
    the same study list it once."""
    study = ImagingStudy.objects.filter(pk=study_id, uploaded_by=clinician).first()
    if study is None:
        raise NotFound("Study not found.")
    imaging_patient_for(clinician=clinician, patient_id=study.patient_id)
    if study.status == StudyStatus.AVAILABLE:
        return study
    if study.status == StudyStatus.REJECTED:
        raise _rejected(study)
    try:
        version_id, header = _check_upload(study)
    except _Refusal as refusal:
        raise _refuse(study, refusal, by=clinician, request=request) from None
    except (ClientError, BotoCoreError) as exc:
        raise _s3_down(study) from exc
    except Conflict:
        study.refresh_from_db()
        if study.status == StudyStatus.REJECTED:  # refused or removed as abandoned while it was read
            raise _rejected(study) from None
        raise
    with transaction.atomic():
        listed = ImagingStudy.objects.filter(pk=study.pk, status=StudyStatus.PENDING).update(
            status=StudyStatus.AVAILABLE,
            version_id=version_id,
            modality=header.modality,
            study_date=header.study_date,
            study_instance_uid=header.study_instance_uid,
            series_instance_uid=header.series_instance_uid,
            sop_instance_uid=header.sop_instance_uid,
            sop_class_uid=header.sop_class_uid,
            body_part=header.body_part,
            completed_at=timezone.now(),
        )
        if listed:
            _audit(actor=clinician, study=study, action="write", request=request)
    study.refresh_from_db()
    if not listed and study.status == StudyStatus.REJECTED:
        raise _rejected(study)
    if listed:
        metrics.record("ImagingStudyCompleted", area="Storage")
        logger.info("imaging study listed", extra={"event": "imaging_study_listed", "study_id": str(study.pk)})
    return study


def imaging_study_url(*, study: ImagingStudy, fetched_by: User, request: Any = None) -> dict[str, Any]:
    """A short-lived signed GET of the exact version that was checked (the caller was scoped by
    ``selectors.imaging_study_get``); the read is audited."""
    if study.status != StudyStatus.AVAILABLE:
        raise Conflict("The study is not available yet.", code="study_not_available")
    if settings.CLOUDFRONT_ENABLED:
        url, ttl = cdn.signed_url(key=study.key, version_id=study.version_id)
        signed = objects.SignedUrl(url=url, expires_in=ttl, expires_at=timezone.now() + timedelta(seconds=ttl))
    else:
        signed = objects.signed_get_url(
            storage_name=objects.IMAGING,
            key=study.key,
            version_id=study.version_id,
            file_name=f"study-{str(study.pk)[:8]}.dcm",
            content_type=DICOM_CONTENT_TYPE,
        )
    _audit(actor=fetched_by, study=study, action="read", request=request)
    return {"study_id": str(study.pk), "content_type": DICOM_CONTENT_TYPE, "via": "cloudfront"
            if settings.CLOUDFRONT_ENABLED else "s3", **signed.as_dict()}


def imaging_study_audit_read(*, study: ImagingStudy, fetched_by: User, request: Any = None) -> None:
    _audit(actor=fetched_by, study=study, action="read", request=request)


def imaging_list_audit(*, studies: list[ImagingStudy], fetched_by: User, request: Any = None) -> None:
    """One audit row per patient whose studies a clinician listed (a patient's own list is not)."""
    if fetched_by.role == Role.PATIENT:
        return
    from records.audit import audit_record

    for patient_id in sorted({s.patient_id for s in studies}, key=str):
        audit_record(actor=fetched_by, patient=patient_id, action="list", object_type="imaging_studies",
                     object_id=str(patient_id), request=request)


@dataclass(frozen=True)
class ExpiryReport:
    removed: int  # studies no longer pending, their objects gone
    versions_removed: int
    retrying: int  # S3 did not answer: still pending, for the next run


def _abandoned(*, now: Any) -> Q:
    """Pending studies whose upload window closed more than the grace ago, and removals claimed
    by a run or a refusal that did not finish."""
    closed_before = now - timedelta(hours=settings.IMAGING_UPLOAD_ABANDON_HOURS)
    return (Q(status=StudyStatus.PENDING, upload_expires_at__lt=closed_before)
            | Q(status=StudyStatus.REJECTED, rejection_reason__startswith=REMOVING,
                completed_at__lt=now - ABANDON_CLAIM_LEASE))


def abandoned_studies(*, now: Any, limit: int) -> QuerySet[ImagingStudy]:
    """The oldest ``limit`` studies to remove (read from the partial indexes of pending studies
    and of removals under way, not from every study ever stored)."""
    return (ImagingStudy.objects.filter(_abandoned(now=now)).order_by("upload_expires_at")
            .only("pk", "patient_id", "key", "status", "rejection_reason", "completed_at")[:limit])


def imaging_uploads_expire(*, limit: int = 200) -> ExpiryReport:
    """Remove up to ``limit`` studies never completed, oldest first, with every version of their
    object (an upload that did arrive is a patient's scan nobody can see).

    Each is claimed by a conditional update (``pending`` -> ``rejected``, reason
    ``ABANDONED_REMOVING``) committed before S3 is called, so a concurrent ``complete`` (or
    another run) acts on it only if it got there first. S3 not answering puts it back as it was
    and ends the run (the rest wait for the next one). A removal cut short (this job's, or a
    refusal's whose request was killed) is taken over after ``ABANDON_CLAIM_LEASE``."""
    removed = versions = retrying = 0
    due = list(abandoned_studies(now=timezone.now(), limit=limit))
    for study in due:
        claimed_at = timezone.now()
        reason = ABANDONED_REMOVING if study.status == StudyStatus.PENDING else study.rejection_reason
        if not ImagingStudy.objects.filter(
                _abandoned(now=claimed_at), pk=study.pk, status=study.status, rejection_reason=study.rejection_reason,
        ).update(status=StudyStatus.REJECTED, rejection_reason=reason, completed_at=claimed_at):
            continue  # completed (or taken) since it was read
        claim = ImagingStudy.objects.filter(pk=study.pk, status=StudyStatus.REJECTED, rejection_reason=reason,
                                            completed_at=claimed_at)
        try:
            gone = objects.delete_all_versions(storage_name=objects.IMAGING, key=study.key)
        except (ClientError, BotoCoreError):
            claim.update(status=study.status, rejection_reason=study.rejection_reason, completed_at=study.completed_at)
            retrying += 1
            logger.warning("abandoned imaging upload not removed", extra={
                "event": "imaging_abandoned_unavailable", "study_id": str(study.pk)})
            break  # S3 is not answering: the rest wait for the next run, not for its timeouts
        final = reason.removeprefix(REMOVING)
        claim.update(rejection_reason=final, completed_at=timezone.now())
        if final == ABANDONED:
            _audit(actor=None, study=study, action="upload_abandoned")
            metrics.record("ImagingUploadAbandoned", area="Storage", dimensions={"Uploaded": "yes" if gone else "no"})
        else:  # the refusal's own audit row was never written
            _audit(actor=None, study=study, action="upload_rejected")
        logger.info("unfinished imaging upload removed", extra={
            "event": "imaging_upload_abandoned", "study_id": str(study.pk), "versions_removed": gone,
            "was": "abandoned" if final == ABANDONED else "refused"})
        removed += 1
        versions += gone
    return ExpiryReport(removed=removed, versions_removed=versions, retrying=retrying)
