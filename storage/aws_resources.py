"""AWS resources of the storage area, with the seed's settings (section 4 and 7).

- clinical guidelines: versioned, SSE-S3, written as STANDARD_IA, to Glacier Instant Retrieval
  after 90 days (still read by a plain GET: a guideline stays downloadable), noncurrent versions
  kept seven years;
- prescriptions: versioned, SSE-KMS with its own key, public access blocked, CORS for the
  frontend, object lock GOVERNANCE 2555 days, noncurrent versions kept seven years;
- medical imaging: SSE-KMS with its own key, object lock (which keeps versioning on), objects
  written as INTELLIGENT_TIERING, expiry after 2555 days, CORS for direct browser uploads, and
  cross-region replication to a backup bucket when ``MEDICAL_IMAGING_REPLICATION_ENABLED``;
- static assets (the frontend build): versioned, SSE-S3, private: served by CloudFront;
- with ``CLOUDFRONT_ENABLED``: two CloudFront distributions reaching their buckets through one
  origin access control (the buckets stay private and grant reads to that distribution only):
  static assets (index.html as root and for the single-page app's routes) and medical imaging,
  which serves only URLs signed by a key group whose private key lives in Secrets Manager.

Conditional bucket policies (deny plain HTTP, deny uploads without the right encryption) are
attached only when ``AWS_ATTACH_BUCKET_POLICIES`` (real AWS): the emulator mis-applies conditions.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from phb.aws.clients import account_id
from phb.aws.cloudfront import Distribution, OriginAccessControl, SigningKey
from phb.aws.policies import deny_insecure_and_unencrypted
from phb.aws.provisioning import Bucket, IamRole, KmsKey, Resource

GLACIER_AFTER_DAYS = 90
# The seed's "GLACIER after 90 days", as the instant-retrieval class: an object in GLACIER (Flexible
# Retrieval) answers GetObject with InvalidObjectState until restored, so every guideline file would
# stop downloading 90 days after its upload. GLACIER_IR is as cheap to keep and read in milliseconds.
GUIDELINES_ARCHIVE_CLASS = "GLACIER_IR"
CORS_MAX_AGE_SECONDS = 3000
# Prefix under which every imaging object is written; replication filters on it (seed, section 7).
IMAGING_PREFIX = "medical-imaging/"


def _tags(**extra: str) -> dict[str, str]:
    return {**settings.AWS_RESOURCE_TAGS, **extra}


def _phi_tags(data_type: str, **extra: str) -> dict[str, str]:
    """Bucket tags plus the seed's cost-allocation tag set for PHI."""
    return _tags(
        DataType=data_type,
        Compliance="HIPAA",
        CostCenter="HealthRecords",
        DataClassification="PHI",
        BackupRequired="Yes",
        **extra,
    )


def guidelines_tags() -> dict[str, str]:
    return _tags(DataType="ClinicalGuidelines", Compliance="HIPAA")


def prescriptions_tags() -> dict[str, str]:
    return _phi_tags("Prescriptions")


def imaging_tags() -> dict[str, str]:
    return _phi_tags("MedicalImaging", Retention="7years")


def static_assets_tags() -> dict[str, str]:
    return _tags(DataType="PublicAssets")


def object_lock() -> dict[str, Any]:
    return {"Mode": "GOVERNANCE", "Days": settings.STORAGE_RETENTION_DAYS}


def _cors(methods: list[str], *, expose: list[str] | None = None) -> list[dict[str, Any]]:
    rule: dict[str, Any] = {
        "AllowedOrigins": list(settings.STORAGE_CORS_ORIGINS),
        "AllowedMethods": methods,
        "AllowedHeaders": ["*"],
        "MaxAgeSeconds": CORS_MAX_AGE_SECONDS,
    }
    if expose:
        rule["ExposeHeaders"] = expose
    return [rule]


# --- Buckets ---------------------------------------------------------------------------------
def guidelines_bucket() -> Bucket:
    name = settings.CLINICAL_GUIDELINES_BUCKET
    return Bucket(
        name=name,
        versioning=True,
        encryption="AES256",
        block_public_access=True,
        tags=guidelines_tags(),
        lifecycle_rules=[
            {
                "ID": "ArchiveOldGuidelines",
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "Transitions": [{"Days": GLACIER_AFTER_DAYS, "StorageClass": GUIDELINES_ARCHIVE_CLASS}],
            },
            {
                "ID": "RetainGuidelineVersions",
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "NoncurrentVersionExpiration": {"NoncurrentDays": settings.STORAGE_RETENTION_DAYS},
            },
        ],
        policy=deny_insecure_and_unencrypted(name, encryption="AES256"),
    )


def prescriptions_bucket() -> Bucket:
    name = settings.PRESCRIPTIONS_BUCKET
    return Bucket(
        name=name,
        versioning=True,
        encryption="aws:kms",
        kms_alias=settings.PRESCRIPTIONS_KMS_ALIAS,
        block_public_access=True,
        tags=prescriptions_tags(),
        lifecycle_rules=[
            {
                "ID": "RetainPrescriptionVersions",
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "NoncurrentVersionExpiration": {"NoncurrentDays": settings.STORAGE_RETENTION_DAYS},
            }
        ],
        cors_rules=_cors(["GET", "PUT"]),
        object_lock=object_lock(),
        policy=deny_insecure_and_unencrypted(name, encryption="aws:kms"),
    )


def _imaging_lifecycle() -> list[dict[str, Any]]:
    # Object lock keeps versioning on; once a scan expires (a delete marker) its locked version
    # has also reached the end of its retention and goes the next day.
    return [
        {
            "ID": "DeleteOldScans",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "Expiration": {"Days": settings.STORAGE_RETENTION_DAYS},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        }
    ]


def imaging_bucket() -> Bucket:
    name = settings.MEDICAL_IMAGING_BUCKET
    tiering = None
    if settings.MEDICAL_IMAGING_ARCHIVE_AFTER_DAYS:
        tiering = {
            "Id": "ArchiveIdleScans",
            "Status": "Enabled",
            "Tierings": [{"Days": settings.MEDICAL_IMAGING_ARCHIVE_AFTER_DAYS, "AccessTier": "ARCHIVE_ACCESS"}],
        }
    return Bucket(
        name=name,
        versioning=True,
        encryption="aws:kms",
        kms_alias=settings.MEDICAL_IMAGING_KMS_ALIAS,
        block_public_access=True,
        tags=imaging_tags(),
        lifecycle_rules=_imaging_lifecycle(),
        cors_rules=_cors(["GET", "POST"], expose=["ETag"]),
        object_lock=object_lock(),
        intelligent_tiering=tiering,
        replication=replication_configuration if settings.MEDICAL_IMAGING_REPLICATION_ENABLED else None,
        policy=deny_insecure_and_unencrypted(name, encryption="aws:kms"),
    )


def imaging_backup_bucket() -> Bucket:
    name = settings.MEDICAL_IMAGING_BACKUP_BUCKET
    return Bucket(
        name=name,
        region=settings.MEDICAL_IMAGING_BACKUP_REGION,
        versioning=True,
        encryption="aws:kms",
        kms_alias=settings.MEDICAL_IMAGING_BACKUP_KMS_ALIAS,
        block_public_access=True,
        tags=imaging_tags(),
        lifecycle_rules=_imaging_lifecycle(),
        object_lock=object_lock(),
        policy=deny_insecure_and_unencrypted(name, encryption="aws:kms"),
    )


def static_assets_bucket() -> Bucket:
    """Private: the frontend build is read by CloudFront through the origin access control."""
    name = settings.STATIC_ASSETS_BUCKET
    return Bucket(
        name=name,
        versioning=True,
        encryption="AES256",
        block_public_access=True,
        tags=static_assets_tags(),
    )


# --- CloudFront ------------------------------------------------------------------------------
def origin_access_control() -> OriginAccessControl:
    return OriginAccessControl(name=f"{settings.CLOUDFRONT_NAME_PREFIX}-s3",
                               description="CloudFront reads the private PHB buckets (SigV4)")


def imaging_signing_key() -> SigningKey:
    return SigningKey(name=f"{settings.CLOUDFRONT_NAME_PREFIX}-imaging",
                      secret_name=settings.CLOUDFRONT_SIGNING_KEY_SECRET, tags=imaging_tags())


def static_assets_distribution() -> Distribution:
    return Distribution(
        name=f"{settings.CLOUDFRONT_NAME_PREFIX}-static-assets",
        bucket=settings.STATIC_ASSETS_BUCKET,
        oac=origin_access_control(),
        default_root_object="index.html",
        spa_fallback="/index.html",
        tags=static_assets_tags(),
    )


def imaging_distribution() -> Distribution:
    """Signed URLs only; ``versionId`` reaches S3 so a URL reads the version that was checked."""
    return Distribution(
        name=f"{settings.CLOUDFRONT_NAME_PREFIX}-medical-imaging",
        bucket=settings.MEDICAL_IMAGING_BUCKET,
        oac=origin_access_control(),
        signing_key=imaging_signing_key(),
        forward_query=["versionId"],
        tags=imaging_tags(),
    )


def cloudfront_resources() -> list[Resource]:
    return [origin_access_control(), imaging_signing_key(), static_assets_distribution(), imaging_distribution()]


# --- Keys ------------------------------------------------------------------------------------
def prescriptions_key() -> KmsKey:
    return KmsKey(name=settings.PRESCRIPTIONS_KMS_ALIAS, description="PHB prescription documents (SSE-KMS)",
                  tags=prescriptions_tags())


def imaging_key() -> KmsKey:
    return KmsKey(name=settings.MEDICAL_IMAGING_KMS_ALIAS, description="PHB medical imaging (SSE-KMS)",
                  tags=imaging_tags())


def imaging_backup_key() -> KmsKey:
    return KmsKey(name=settings.MEDICAL_IMAGING_BACKUP_KMS_ALIAS, description="PHB medical imaging replica (SSE-KMS)",
                  tags=imaging_tags(), region=settings.MEDICAL_IMAGING_BACKUP_REGION)


# --- Replication -----------------------------------------------------------------------------
def _role_arn() -> str:
    return f"arn:aws:iam::{account_id()}:role/{settings.MEDICAL_IMAGING_REPLICATION_ROLE}"


def _key_arn(key: KmsKey) -> str:
    arn = key.key_arn()
    if arn is None:
        raise RuntimeError(f"KMS key {key.name} does not exist yet")
    return arn


def replication_configuration() -> dict[str, Any]:
    """The seed's rule (section 7), completed with what SSE-KMS objects need to replicate."""
    return {
        "Role": _role_arn(),
        "Rules": [
            {
                "ID": "ReplicateMedicalImaging",
                "Status": "Enabled",
                "Priority": 1,
                "Filter": {"Prefix": IMAGING_PREFIX},
                "DeleteMarkerReplication": {"Status": "Disabled"},
                "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
                "Destination": {
                    "Bucket": f"arn:aws:s3:::{settings.MEDICAL_IMAGING_BACKUP_BUCKET}",
                    "EncryptionConfiguration": {"ReplicaKmsKeyID": _key_arn(imaging_backup_key())},
                    "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}},
                    "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}},
                },
            }
        ],
    }


def replication_role_policy() -> dict[str, Any]:
    source = settings.MEDICAL_IMAGING_BUCKET
    target = settings.MEDICAL_IMAGING_BACKUP_BUCKET
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": f"arn:aws:s3:::{source}",
            },
            {
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                    "s3:GetObjectRetention",
                    "s3:GetObjectLegalHold",
                ],
                "Resource": f"arn:aws:s3:::{source}/*",
            },
            {
                "Effect": "Allow",
                "Action": ["s3:ReplicateObject", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"],
                "Resource": f"arn:aws:s3:::{target}/*",
            },
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": _key_arn(imaging_key())},
            {"Effect": "Allow", "Action": ["kms:Encrypt"], "Resource": _key_arn(imaging_backup_key())},
        ],
    }


def replication_role() -> IamRole:
    return IamRole(
        name=settings.MEDICAL_IMAGING_REPLICATION_ROLE,
        description="S3 replication of medical imaging to the backup region",
        assume_role_policy={
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        },
        inline_policies={"replicate-medical-imaging": replication_role_policy},
        tags=imaging_tags(),
    )


def resources() -> list[Resource]:
    out: list[Resource] = [prescriptions_key(), imaging_key()]
    if settings.MEDICAL_IMAGING_REPLICATION_ENABLED:
        out += [imaging_backup_key(), replication_role(), imaging_backup_bucket()]
    out += [guidelines_bucket(), prescriptions_bucket(), imaging_bucket(), static_assets_bucket()]
    if settings.CLOUDFRONT_ENABLED:
        out += cloudfront_resources()
    return out
