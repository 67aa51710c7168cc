"""provision_aws creates the area's bucket, key and sessions table as declared."""

from __future__ import annotations

from django.conf import settings

from phb.aws.clients import aws_client


def test_bucket_settings():
    s3 = aws_client("s3")
    bucket = settings.MEDICAL_RECORDS_BUCKET
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == settings.MEDICAL_RECORDS_KMS_ALIAS
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags["DataClassification"] == "PHI"
    assert {"Environment", "DataType", "Compliance"} <= set(tags)


def test_kms_key_exists_with_rotation():
    kms = aws_client("kms")
    key_id = kms.describe_key(KeyId=settings.MEDICAL_RECORDS_KMS_ALIAS)["KeyMetadata"]["KeyId"]
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True


def test_sessions_table_with_ttl():
    ddb = aws_client("dynamodb")
    table = ddb.describe_table(TableName=settings.USER_SESSIONS_TABLE)["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"userId": "HASH", "sessionId": "RANGE"}
    ttl = ddb.describe_time_to_live(TableName=settings.USER_SESSIONS_TABLE)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == "expiresAt"
