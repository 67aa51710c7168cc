"""S3 objects of the storage area's buckets.

Bucket names, encryption, storage class and the signed-URL lifetime come from the named
django-storages storages (``STORAGES`` in settings: SigV4, 300 s, no custom domain, no ACLs).
Writes go through the shared boto3 client because they need the S3 version id back: every file
of one guideline or prescription is a new version under one key, never an overwrite.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.storage import storages
from django.utils import timezone

from phb.aws.clients import aws_client

GUIDELINES = "clinical_guidelines"
PRESCRIPTIONS = "prescriptions"
IMAGING = "medical_imaging"
STREAM_CHUNK = 64 * 1024


class ObjectMissing(Exception):
    """The key (or that version of it) is not in the bucket."""


class ObjectArchived(Exception):
    """The object is in an archive storage class (GLACIER, DEEP_ARCHIVE) and not restored: S3
    refuses to read it (``InvalidObjectState``)."""


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_in: int
    expires_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "expires_in": self.expires_in, "expires_at": self.expires_at}


def _storage(name: str):
    return storages[name]


def bucket_of(storage_name: str) -> str:
    return _storage(storage_name).bucket_name


def new_key(prefix: str, owner: Any, extension: str = "") -> str:
    """``<prefix>/<owner id>/<uuid4><extension>``: nothing the user typed becomes part of a key."""
    return f"{prefix.strip('/')}/{owner}/{uuid.uuid4()}{extension}"


def _is_missing(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    return code in ("404", "NoSuchKey", "NoSuchVersion", "NotFound")


def put_version(
    *,
    storage_name: str,
    key: str,
    body: IO[bytes] | bytes,
    content_type: str,
    metadata: dict[str, str] | None = None,
) -> str:
    """Write ``body`` as a new version of ``key`` with the storage's object parameters
    (encryption, KMS key, storage class); returns the S3 version id."""
    storage = _storage(storage_name)
    params = storage.get_object_parameters(key)
    found = aws_client("s3").put_object(
        Bucket=storage.bucket_name,
        Key=key,
        Body=body,
        ContentType=content_type,
        Metadata=metadata or {},
        **params,
    )
    return found.get("VersionId", "") or ""


def head(*, storage_name: str, key: str, version_id: str = "", checksum: bool = False) -> dict[str, Any]:
    """The object's metadata (with its stored checksum when ``checksum``); :class:`ObjectMissing`."""
    kwargs: dict[str, Any] = {"Bucket": bucket_of(storage_name), "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    if checksum:
        kwargs["ChecksumMode"] = "ENABLED"
    try:
        return aws_client("s3").head_object(**kwargs)
    except ClientError as exc:
        if _is_missing(exc):
            raise ObjectMissing(key) from exc
        raise


def read_range(*, storage_name: str, key: str, start: int, end: int, version_id: str = "") -> bytes:
    kwargs: dict[str, Any] = {"Bucket": bucket_of(storage_name), "Key": key, "Range": f"bytes={start}-{end}"}
    if version_id:
        kwargs["VersionId"] = version_id
    try:
        body = aws_client("s3").get_object(**kwargs)["Body"]
    except ClientError as exc:
        if _is_missing(exc):
            raise ObjectMissing(key) from exc
        raise
    try:
        return body.read()
    finally:
        body.close()


def open_stream(*, storage_name: str, key: str, version_id: str = "") -> tuple[Iterator[bytes], int]:
    """An iterator over the object's bytes in 64 KiB chunks (never the whole file in memory)
    and its length."""
    kwargs: dict[str, Any] = {"Bucket": bucket_of(storage_name), "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    try:
        found = aws_client("s3").get_object(**kwargs)
    except ClientError as exc:
        if _is_missing(exc):
            raise ObjectMissing(key) from exc
        if exc.response.get("Error", {}).get("Code", "") == "InvalidObjectState":
            raise ObjectArchived(key) from exc
        raise
    body = found["Body"]

    def chunks() -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(STREAM_CHUNK)
        finally:
            body.close()

    return chunks(), int(found.get("ContentLength", 0))


def delete_version(*, storage_name: str, key: str, version_id: str) -> None:
    """Remove one version for good. Object lock (GOVERNANCE) protects it, so this needs
    ``s3:BypassGovernanceRetention``: used only for uploads refused before they were ever listed."""
    aws_client("s3").delete_object(
        Bucket=bucket_of(storage_name), Key=key, VersionId=version_id, BypassGovernanceRetention=True
    )


def delete_all_versions(*, storage_name: str, key: str) -> int:
    """Remove every version of ``key`` (a refused upload); returns how many went."""
    s3 = aws_client("s3")
    bucket = bucket_of(storage_name)
    removed = 0
    found = s3.list_object_versions(Bucket=bucket, Prefix=key)
    for entry in [*found.get("Versions", []), *found.get("DeleteMarkers", [])]:
        if entry.get("Key") != key:
            continue
        s3.delete_object(Bucket=bucket, Key=key, VersionId=entry["VersionId"], BypassGovernanceRetention=True)
        removed += 1
    return removed


def mark_deleted(*, storage_name: str, key: str) -> None:
    """A delete marker: the object disappears from plain reads, its versions stay (lifecycle)."""
    aws_client("s3").delete_object(Bucket=bucket_of(storage_name), Key=key)


def signed_get_url(
    *,
    storage_name: str,
    key: str,
    version_id: str = "",
    file_name: str = "",
    content_type: str = "",
    inline: bool = False,
) -> SignedUrl:
    """A SigV4 presigned GET, valid ``S3_SIGNED_URL_TTL`` (300 s), signed locally by the storage."""
    storage = _storage(storage_name)
    expires_in = int(storage.querystring_expire)
    params: dict[str, str] = {}
    if version_id:
        params["VersionId"] = version_id
    if file_name:
        disposition = "inline" if inline else "attachment"
        params["ResponseContentDisposition"] = f'{disposition}; filename="{file_name}"'
    if content_type:
        params["ResponseContentType"] = content_type
    url = storage.url(key, parameters=params, expire=expires_in)
    return SignedUrl(url=url, expires_in=expires_in, expires_at=timezone.now() + timedelta(seconds=expires_in))


def presigned_post(
    *,
    storage_name: str,
    key: str,
    content_type: str,
    size: int,
    sha256_b64: str,
) -> dict[str, Any]:
    """A browser upload form for exactly ``size`` bytes of ``content_type`` with the storage's
    encryption and storage class pinned, plus the SHA-256 S3 checks the body against (object-lock
    buckets refuse uploads without a checksum). Valid ``S3_SIGNED_URL_TTL`` seconds."""
    storage = _storage(storage_name)
    params = storage.get_object_parameters(key)
    fields: dict[str, str] = {"Content-Type": content_type}
    if "ServerSideEncryption" in params:
        fields["x-amz-server-side-encryption"] = params["ServerSideEncryption"]
    if "SSEKMSKeyId" in params:
        fields["x-amz-server-side-encryption-aws-kms-key-id"] = params["SSEKMSKeyId"]
    if "StorageClass" in params:
        fields["x-amz-storage-class"] = params["StorageClass"]
    fields["x-amz-checksum-algorithm"] = "SHA256"
    fields["x-amz-checksum-sha256"] = sha256_b64
    conditions: list[Any] = [{name: value} for name, value in fields.items()]
    conditions.append(["content-length-range", size, size])
    expires_in = settings.S3_SIGNED_URL_TTL
    form = aws_client("s3").generate_presigned_post(
        Bucket=storage.bucket_name, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in
    )
    return {
        "method": "POST",
        "url": form["url"],
        "fields": form["fields"],
        "expires_in": expires_in,
        "expires_at": timezone.now() + timedelta(seconds=expires_in),
    }
