"""Patient documents in the private medical-records bucket (django-storages, SSE-KMS).

Keys are ``patient-documents/<patient uuid>/<uuid4>.<detected ext>``: the user's file name never
becomes a key and is kept only as a sanitised display name. Previews stream the S3 body in
chunks, so a worker never holds a whole file in memory. Deleting hides the row; the bucket's
versioning keeps the bytes for the retention period. An upload is recorded ``pending`` (with its
key) before S3 is called and ``stored`` after, so no object is ever without a row pointing to it;
``records.document_expiry`` removes uploads that never finished.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.storage import storages
from django.db import DatabaseError
from django.utils import timezone

from accounts.models import User
from phb import filetypes
from phb.api.errors import ApiError
from records.audit import audit_record
from records.gate import record_access_error
from records.models import DocumentState, PatientDocument

logger = logging.getLogger("records.documents")

STREAM_CHUNK = 256 * 1024
KEY_PREFIX = "patient-documents"
NOT_STORED = "The file could not be stored. Try again."


def storage():
    return storages["medical_records"]


def _clean(name: str) -> str:
    name = (name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    name = unicodedata.normalize("NFKC", name)
    return re.sub(r"[^\w .\-]+", "_", name, flags=re.UNICODE).strip(" ._")


def display_name_for(original: str, extension: str) -> str:
    """A safe display name: the original stem, letters/digits/space/._- only, detected extension."""
    stem = (original or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    stem = _clean(stem) or "document"
    return f"{stem[:100]}.{extension}"


def _hash_file(fh) -> str:
    digest = hashlib.sha256()
    fh.seek(0)
    for chunk in iter(lambda: fh.read(filetypes.CHUNK), b""):
        digest.update(chunk)
    fh.seek(0)
    return digest.hexdigest()


@dataclass
class UploadResult:
    documents: list[PatientDocument] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    storage_failed: bool = False  # S3 did not take a file: the ones after it were not tried


def _check(upload: Any) -> tuple[filetypes.FileType | None, str | None]:
    if upload.size > settings.PATIENT_UPLOAD_MAX_BYTES:
        limit_mb = settings.PATIENT_UPLOAD_MAX_BYTES // (1024 * 1024)
        return None, f"File is larger than {limit_mb} MB."
    if upload.size == 0:
        return None, "File is empty."
    kind = filetypes.detect(upload)
    if kind is None:
        return None, f"Unsupported file type: upload a {filetypes.ACCEPTED} file."
    return kind, None


def documents_upload(*, patient: User, files: list[Any], request: Any = None) -> UploadResult:
    """Store each acceptable file; report each refused one with its reason."""
    if not files:
        raise ApiError("Choose at least one file (form field 'files').", code="no_files")
    if len(files) > settings.PATIENT_UPLOAD_MAX_FILES:
        raise ApiError(f"Upload at most {settings.PATIENT_UPLOAD_MAX_FILES} files at a time.", code="too_many_files")
    result = UploadResult()
    target = storage()
    for upload in files:
        original = getattr(upload, "name", "") or ""
        shown = _clean(original)[:120] or "file"
        if result.storage_failed:
            result.failures.append({"name": shown, "error": NOT_STORED})
            continue
        kind, problem = _check(upload)
        if problem:
            result.failures.append({"name": shown, "error": problem})
            logger.info("document refused", extra={"event": "document_refused", "reason": problem[:40]})
            continue
        assert kind is not None
        doc = _store(target=target, patient=patient, upload=upload, kind=kind, original=original)
        if doc is None:
            result.storage_failed = True
            result.failures.append({"name": shown, "error": NOT_STORED})
            continue
        audit_record(actor=patient, patient=patient, action="upload", object_type="document",
                     object_id=str(doc.pk), request=request)
        result.documents.append(doc)
    return result


def _store(*, target: Any, patient: User, upload: Any, kind: filetypes.FileType, original: str) -> PatientDocument | None:
    """Claim, commit, call, record: the row is committed ``pending`` with its key before S3 is
    called (no transaction or row lock held across the upload), then marked ``stored``. A worker
    killed in between leaves a ``pending`` row naming the object, never shown and removed with its
    object by ``expire_document_uploads``. None: S3 did not take the file (nothing kept)."""
    doc_id = uuid.uuid4()
    key = f"{KEY_PREFIX}/{patient.pk}/{doc_id}.{kind.extension}"
    sha256 = _hash_file(upload)
    doc = PatientDocument.objects.create(
        id=doc_id, patient=patient, file=key, display_name=display_name_for(original, kind.extension),
        extension=kind.extension, content_type=kind.content_type, size=upload.size, sha256=sha256,
        state=DocumentState.PENDING,
    )
    upload.seek(0)
    # Content-Type is ours (from the bytes); the storage adds SSE-KMS from its options.
    upload.content_type = kind.content_type.split(";")[0]
    try:
        stored_key = target.save(key, upload)
    except (ClientError, BotoCoreError):
        # The files stored before this one keep their rows and are answered as uploaded;
        # this one and the rest are reported, so a retry sends only those.
        record_access_error("unavailable")
        logger.warning("document not stored", extra={"event": "document_store_failed"})
        if _forget_quietly(target, key, doc_id):
            _drop_quietly(doc_id)
        return None
    try:
        marked = PatientDocument.objects.filter(pk=doc_id, state=DocumentState.PENDING).update(
            state=DocumentState.STORED, file=stored_key)
    except Exception:
        # The caller sees this error, whatever the clean-up meets; what it cannot remove is left
        # ``pending`` for the sweep.
        if _forget_quietly(target, stored_key, doc_id):
            _drop_quietly(doc_id)
        raise
    if not marked:  # older than the sweep's grace and taken by it: not the patient's document
        _forget_quietly(target, stored_key, doc_id)
        return None
    doc.state, doc.file.name = DocumentState.STORED, stored_key
    return doc


def _forget_quietly(target: Any, key: str, doc_id: uuid.UUID) -> bool:
    """Best effort: hide an object whose upload may have reached S3 although it is not recorded as
    stored. False (logged, the key and names left out) when S3 refused: the pending row stays for
    ``expire_document_uploads``."""
    try:
        target.delete(key)
    except Exception as exc:  # noqa: BLE001 - the caller's own outcome (or error) is what counts
        logger.warning("document not stored and not removed", extra={
            "event": "document_orphan_possible", "document": str(doc_id), "error": type(exc).__name__})
        return False
    return True


def _drop_quietly(doc_id: uuid.UUID) -> None:
    """Best effort: remove the pending row of an object already hidden (else the sweep does)."""
    try:
        PatientDocument.objects.filter(pk=doc_id, state=DocumentState.PENDING).delete()
    except DatabaseError:
        logger.warning("pending document row not removed", extra={
            "event": "document_pending_left", "document": str(doc_id)})


def document_delete(*, document: PatientDocument, actor: User, request: Any = None) -> None:
    """Hide the document; the bytes stay as a noncurrent S3 version until retention ends."""
    now = timezone.now()
    hidden = PatientDocument.objects.filter(pk=document.pk, deleted_at__isnull=True).update(deleted_at=now)
    if not hidden:
        raise ApiError("Not found.", status_code=404, code="not_found")
    try:
        storage().delete(document.file.name)  # a delete marker under versioning, not an erase
    except (ClientError, BotoCoreError) as exc:
        # Shown again, so that what the patient sees is what S3 serves and she can retry.
        PatientDocument.objects.filter(pk=document.pk, deleted_at=now).update(deleted_at=None)
        logger.warning("document not deleted", extra={"event": "document_delete_failed", "document": str(document.pk)})
        raise ApiError("The document could not be deleted just now. Try again shortly.", status_code=503,
                       code="storage_unavailable", success=False) from exc
    audit_record(actor=actor, patient=document.patient_id, action="delete", object_type="document",
                 object_id=str(document.pk), request=request)


@dataclass
class OpenedDocument:
    chunks: Iterator[bytes]
    length: int | None


def document_open(*, document: PatientDocument) -> OpenedDocument:
    """Open the S3 object through the storage's boto3 connection and stream it in chunks."""
    try:
        obj = storage().bucket.Object(document.file.name).get()
    except ClientError as exc:
        if _is_missing(exc):
            # Removed outside the app (a delete marker, an erased version): the row is stale and a
            # retry cannot help, unlike S3 not answering.
            logger.warning("document object missing", extra={"event": "document_object_missing",
                                                               "document": str(document.pk)})
            raise ApiError("This document is no longer available.", status_code=404,
                           code="document_missing") from exc
        raise _unavailable(document) from exc
    except Exception as exc:
        raise _unavailable(document) from exc
    body = obj["Body"]

    def iterate() -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(STREAM_CHUNK)
        finally:
            body.close()

    return OpenedDocument(chunks=iterate(), length=obj.get("ContentLength"))


def _is_missing(exc: ClientError) -> bool:
    """S3 saying the key (or its version) is not there, as opposed to failing to answer (a missing
    bucket, also a 404, is a configuration fault: it stays a 503)."""
    return exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "NoSuchVersion", "404", "NotFound")


def _unavailable(document: PatientDocument) -> ApiError:
    logger.warning("document unavailable", extra={"event": "document_unavailable", "document": str(document.pk)})
    record_access_error("unavailable")
    return ApiError("This document is temporarily unavailable.", status_code=503, code="document_unavailable")
