"""AWS resources of the medical-records area: its KMS key, the private documents bucket and
the DynamoDB table holding medical-access sessions."""

from __future__ import annotations

from django.conf import settings

from phb.aws.policies import deny_insecure_and_unencrypted
from phb.aws.provisioning import Bucket, DynamoTable, KmsKey, Resource

# Noncurrent versions (deleted or replaced documents) are kept seven years, then expire.
RETENTION_DAYS = 2555


def records_tags() -> dict[str, str]:
    return {
        **settings.AWS_RESOURCE_TAGS,
        "DataType": "MedicalRecords",
        "Compliance": "HIPAA",
        "DataClassification": "PHI",
    }


def resources() -> list[Resource]:
    tags = records_tags()
    bucket = settings.MEDICAL_RECORDS_BUCKET
    return [
        KmsKey(
            name=settings.MEDICAL_RECORDS_KMS_ALIAS,
            description="PHB medical records: document SSE-KMS and envelope encryption of clinical notes",
            tags=tags,
        ),
        Bucket(
            name=bucket,
            versioning=True,
            encryption="aws:kms",
            kms_alias=settings.MEDICAL_RECORDS_KMS_ALIAS,
            block_public_access=True,
            tags=tags,
            lifecycle_rules=[
                {
                    "ID": "RetainDocumentVersions",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": RETENTION_DAYS},
                }
            ],
            policy=deny_insecure_and_unencrypted(bucket, encryption="aws:kms"),
        ),
        DynamoTable(
            name=settings.USER_SESSIONS_TABLE,
            partition_key=("userId", "S"),
            sort_key=("sessionId", "S"),
            ttl_attribute="expiresAt",
            tags={**settings.AWS_RESOURCE_TAGS, "DataType": "Sessions", "Compliance": "HIPAA"},
        ),
    ]
