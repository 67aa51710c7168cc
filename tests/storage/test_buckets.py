"""Every storage bucket's configuration, read back from the moto server, against the seed
(aws-integration-analysis.md, sections 4 and 7)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.storage import storages

from phb.aws.clients import aws_client

ALL_BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
               "RestrictPublicBuckets": True}
SEVEN_YEARS = 2555


def _tags(s3, bucket: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}


def _encryption(s3, bucket: str) -> dict:
    return s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]


def _rules(s3, bucket: str) -> dict[str, dict]:
    return {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}


def _lock(s3, bucket: str) -> dict:
    return s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]


def _cors(s3, bucket: str) -> list[dict]:
    return s3.get_bucket_cors(Bucket=bucket)["CORSRules"]


@pytest.fixture
def s3():
    return aws_client("s3")


def test_clinical_guidelines_bucket(s3):
    bucket = settings.CLINICAL_GUIDELINES_BUCKET
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert _encryption(s3, bucket)["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    rules = _rules(s3, bucket)
    assert rules["ArchiveOldGuidelines"]["Status"] == "Enabled"
    assert rules["ArchiveOldGuidelines"]["Transitions"] == [{"Days": 90, "StorageClass": "GLACIER_IR"}]
    assert rules["RetainGuidelineVersions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": SEVEN_YEARS}
    tags = _tags(s3, bucket)
    assert tags["DataType"] == "ClinicalGuidelines" and tags["Compliance"] == "HIPAA"
    assert tags["Environment"] == settings.PHB_ENVIRONMENT.capitalize()
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == ALL_BLOCKED
    assert bucket == f"{settings.AWS_BUCKET_PREFIX}-clinical-guidelines"


def test_prescriptions_bucket(s3):
    bucket = settings.PRESCRIPTIONS_BUCKET
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = _encryption(s3, bucket)
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": settings.PRESCRIPTIONS_KMS_ALIAS}
    assert rule["BucketKeyEnabled"] is True
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == ALL_BLOCKED
    lock = _lock(s3, bucket)
    assert lock["ObjectLockEnabled"] == "Enabled"
    assert lock["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE"
    assert lock["Rule"]["DefaultRetention"]["Days"] == SEVEN_YEARS
    assert _rules(s3, bucket)["RetainPrescriptionVersions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": SEVEN_YEARS}
    (cors,) = _cors(s3, bucket)
    assert cors["AllowedOrigins"] == list(settings.STORAGE_CORS_ORIGINS)
    assert sorted(cors["AllowedMethods"]) == ["GET", "PUT"]
    assert cors["AllowedHeaders"] == ["*"] and cors["MaxAgeSeconds"] == 3000
    tags = _tags(s3, bucket)
    assert {k: tags[k] for k in ("DataType", "Compliance", "DataClassification", "CostCenter", "BackupRequired")} == {
        "DataType": "Prescriptions", "Compliance": "HIPAA", "DataClassification": "PHI",
        "CostCenter": "HealthRecords", "BackupRequired": "Yes"}


def test_medical_imaging_bucket(s3):
    bucket = settings.MEDICAL_IMAGING_BUCKET
    rule = _encryption(s3, bucket)
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": settings.MEDICAL_IMAGING_KMS_ALIAS}
    lock = _lock(s3, bucket)
    assert lock["ObjectLockEnabled"] == "Enabled"
    assert lock["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE"
    # Object lock keeps versioning on (the seed's "Disabled" is not possible with WORM).
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    scans = _rules(s3, bucket)["DeleteOldScans"]
    assert scans["Status"] == "Enabled" and scans["Expiration"] == {"Days": SEVEN_YEARS}
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == ALL_BLOCKED
    (cors,) = _cors(s3, bucket)
    assert "POST" in cors["AllowedMethods"] and cors["AllowedOrigins"] == list(settings.STORAGE_CORS_ORIGINS)
    tags = _tags(s3, bucket)
    assert tags["DataType"] == "MedicalImaging" and tags["Retention"] == "7years" and tags["Compliance"] == "HIPAA"
    # Replication is off unless MEDICAL_IMAGING_REPLICATION_ENABLED (see test_provisioning).
    assert settings.MEDICAL_IMAGING_REPLICATION_ENABLED is False
    with pytest.raises(ClientError):
        s3.get_bucket_replication(Bucket=bucket)


def test_static_assets_bucket(s3):
    """Private: CloudFront reads it through its origin access control (test_cloudfront)."""
    bucket = settings.STATIC_ASSETS_BUCKET
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert _encryption(s3, bucket)["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                     "RestrictPublicBuckets": True}
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_website(Bucket=bucket)
    assert _tags(s3, bucket)["DataType"] == "PublicAssets"


def test_kms_keys_exist_with_rotation():
    kms = aws_client("kms")
    for alias in (settings.PRESCRIPTIONS_KMS_ALIAS, settings.MEDICAL_IMAGING_KMS_ALIAS):
        key = kms.describe_key(KeyId=alias)["KeyMetadata"]
        assert key["KeyState"] == "Enabled"
        assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True


def test_conditional_policies_stay_off_the_emulator(s3):
    assert settings.AWS_ATTACH_BUCKET_POLICIES is False
    for bucket in (settings.PRESCRIPTIONS_BUCKET, settings.MEDICAL_IMAGING_BUCKET, settings.CLINICAL_GUIDELINES_BUCKET):
        with pytest.raises(ClientError):
            s3.get_bucket_policy(Bucket=bucket)


@pytest.mark.parametrize("name", ["clinical_guidelines", "prescriptions", "medical_imaging"])
def test_storages_sign_with_sigv4_for_300_seconds_without_acls(name):
    storage = storages[name]
    assert storage.signature_version == "s3v4"
    assert storage.querystring_auth is True and storage.querystring_expire == 300
    assert storage.custom_domain is None and storage.default_acl is None and storage.file_overwrite is False
    from tests.storage.conftest import assert_sigv4_300

    assert_sigv4_300(storage.url("any/key"))


def test_object_parameters_follow_the_seed():
    assert storages["clinical_guidelines"].object_parameters == {"ServerSideEncryption": "AES256",
                                                                 "StorageClass": "STANDARD_IA"}
    assert storages["prescriptions"].object_parameters == {"ServerSideEncryption": "aws:kms",
                                                           "SSEKMSKeyId": settings.PRESCRIPTIONS_KMS_ALIAS}
    assert storages["medical_imaging"].object_parameters == {
        "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": settings.MEDICAL_IMAGING_KMS_ALIAS,
        "StorageClass": "INTELLIGENT_TIERING"}
