"""``provision_aws`` is idempotent and reports drift, for every declared resource of every area.

Drift is introduced by hand through the AWS API (as an operator's console change would be), then
``ensure(check=True)`` / ``provision_aws --check`` must report it, ``provision_aws`` must converge
it, and a second check must be clean. Every test converges what it touched before it ends.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from phb.aws.clients import aws_client
from phb.aws.provisioning import Bucket, Resource
from phb.aws.registry import declared_resources
from storage import aws_resources as storage_resources


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("provision_aws", *args, stdout=out)
    return out.getvalue()


@contextmanager
def converged_afterwards():
    try:
        yield
    finally:
        run()


# --- One way to drift each kind of resource --------------------------------------------------
def _drift_bucket(resource: Bucket) -> None:
    s3 = aws_client("s3", region=resource.region)
    other = "AES256" if resource.encryption == "aws:kms" else "aws:kms"
    s3.put_bucket_encryption(Bucket=resource.name, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": other}}]})


def _drift_kms_key(resource) -> None:
    kms = aws_client("kms", region=resource.region)
    if resource.rotates:
        kms.disable_key_rotation(KeyId=resource.key_id())
    else:  # an asymmetric key has no rotation to switch off
        kms.disable_key(KeyId=resource.key_id())


def _drift_log_group(resource) -> None:
    aws_client("logs").put_retention_policy(logGroupName=resource.name, retentionInDays=1)


def _drift_table(resource) -> None:
    ddb = aws_client("dynamodb")
    if resource.point_in_time_recovery:
        ddb.update_continuous_backups(TableName=resource.name,
                                      PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
    else:
        ddb.update_time_to_live(TableName=resource.name,
                                TimeToLiveSpecification={"Enabled": False, "AttributeName": resource.ttl_attribute})


def _drift_role(resource) -> None:
    name = next(iter(resource.inline_policies))
    aws_client("iam").put_role_policy(RoleName=resource.name, PolicyName=name, PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}))


def _drift_topic(resource) -> None:
    from phb.observability.resources import topic_arn

    aws_client("sns").delete_topic(TopicArn=topic_arn(resource.name))


def _drift_alarm(resource) -> None:
    aws_client("cloudwatch").put_metric_alarm(**{**resource.spec, "Threshold": float(resource.spec["Threshold"]) + 1})


def _drift_dashboard(resource) -> None:
    aws_client("cloudwatch").put_dashboard(DashboardName=resource.name, DashboardBody=json.dumps({"widgets": []}))


DRIFT: dict[str, Callable[[Resource], None]] = {
    "s3-bucket": _drift_bucket,
    "kms-key": _drift_kms_key,
    "log-group": _drift_log_group,
    "dynamodb-table": _drift_table,
    "iam-role": _drift_role,
    "sns-topic": _drift_topic,
    "cloudwatch-alarm": _drift_alarm,
    "cloudwatch-dashboard": _drift_dashboard,
}


def _actions(changes) -> set[str]:
    return {c.action for c in changes}


def _assert_drift_cycle(resource: Resource) -> None:
    DRIFT[resource.kind](resource)
    found = resource.ensure(check=True)
    assert _actions(found) & {"drift", "missing"}, (resource.kind, resource.name, found)
    fixed = resource.ensure(check=False)
    assert _actions(fixed) & {"changed", "created"}, (resource.kind, resource.name, fixed)
    again = resource.ensure(check=True)
    assert _actions(again) == {"unchanged"}, (resource.kind, resource.name, again)


# --- Tests -------------------------------------------------------------------------------------
def test_second_run_changes_nothing_and_check_is_clean():
    run()  # whatever the session started with is converged now
    lines = run().splitlines()
    resources = declared_resources()
    assert len(lines) == len(resources) + 1
    assert all(line.startswith("unchanged") for line in lines[:-1]), [ln for ln in lines if not ln.startswith("unch")]
    assert lines[-1] == f"provision_aws: {len(resources)} unchanged"
    checked = run("--check").splitlines()
    assert checked[-1] == f"provision_aws --check: {len(resources)} unchanged"


def test_every_declared_resource_kind_can_drift_here():
    kinds = {r.kind for r in declared_resources()}
    assert {"s3-bucket", "kms-key", "log-group", "dynamodb-table"} <= kinds
    missing = kinds - set(DRIFT)
    assert not missing, f"add a drift inducer for {missing} to tests/storage/test_provisioning.py"


def test_drift_of_every_declared_resource_is_reported_then_converged():
    with converged_afterwards():
        for resource in declared_resources():
            _assert_drift_cycle(resource)


def test_check_command_exits_non_zero_on_drift():
    s3 = aws_client("s3")
    bucket = storage_resources.guidelines_bucket().name
    with converged_afterwards():
        s3.delete_bucket_tagging(Bucket=bucket)
        out = io.StringIO()
        with pytest.raises(CommandError, match="differ from their declaration"):
            call_command("provision_aws", "--check", stdout=out)
        assert f"drift     s3-bucket {bucket} (tags)" in out.getvalue()
        assert "changed   s3-bucket" in run()
        assert run("--check").splitlines()[-1].endswith("unchanged")


def _empty_imaging_bucket() -> Bucket:
    """The imaging bucket's declaration under a name of its own: moto refuses to change the object
    lock rule of a bucket that holds objects (AWS allows it), and the imaging tests add some."""
    with override_settings(MEDICAL_IMAGING_BUCKET="phb-test-imaging-lock-rule"):
        return storage_resources.imaging_bucket()


BUCKET_ASPECTS: list[tuple[str, Callable[[], Bucket], str, Callable]] = [
    ("versioning", storage_resources.guidelines_bucket, "versioning",
     lambda s3, b: s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})),
    ("pab", storage_resources.prescriptions_bucket, "public access block",
     lambda s3, b: s3.delete_public_access_block(Bucket=b)),
    ("tags", storage_resources.imaging_bucket, "tags", lambda s3, b: s3.delete_bucket_tagging(Bucket=b)),
    ("lifecycle", storage_resources.prescriptions_bucket, "lifecycle",
     lambda s3, b: s3.delete_bucket_lifecycle(Bucket=b)),
    ("lifecycle-days", storage_resources.guidelines_bucket, "lifecycle",
     lambda s3, b: s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
         {"ID": "ArchiveOldGuidelines", "Status": "Enabled", "Filter": {"Prefix": ""},
          "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}]})),
    ("cors", storage_resources.prescriptions_bucket, "cors", lambda s3, b: s3.delete_bucket_cors(Bucket=b)),
    ("object-lock", _empty_imaging_bucket, "object lock",
     lambda s3, b: s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration={
         "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})),
    ("encryption-key", storage_resources.prescriptions_bucket, "encryption",
     lambda s3, b: s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={"Rules": [
         {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/aws/s3"},
          "BucketKeyEnabled": True}]})),
    ("static-pab", storage_resources.static_assets_bucket, "public access block",
     lambda s3, b: s3.delete_public_access_block(Bucket=b)),
]


@pytest.mark.parametrize(("label", "make", "aspect", "drift"), BUCKET_ASPECTS, ids=[a[0] for a in BUCKET_ASPECTS])
def test_each_bucket_aspect_is_checked(label, make, aspect, drift):
    bucket = make()
    bucket.ensure(check=False)
    with converged_afterwards():
        drift(aws_client("s3"), bucket.name)
        found = bucket.ensure(check=True)
        assert any(c.action == "drift" and c.detail == aspect for c in found), found
        assert any(c.action == "changed" and c.detail == aspect for c in bucket.ensure(check=False))
        assert _actions(bucket.ensure(check=True)) == {"unchanged"}


def test_intelligent_tiering_archive_tier_when_configured():
    """Declared and applied when MEDICAL_IMAGING_ARCHIVE_AFTER_DAYS is set. moto 5.2 accepts the
    configuration but answers an empty document for any id, so only presence is compared there."""
    assert storage_resources.imaging_bucket().intelligent_tiering is None
    with override_settings(MEDICAL_IMAGING_ARCHIVE_AFTER_DAYS=365, MEDICAL_IMAGING_BUCKET="phb-test-imaging-tiering"):
        bucket = storage_resources.imaging_bucket()
        assert bucket.intelligent_tiering == {
            "Id": "ArchiveIdleScans", "Status": "Enabled",
            "Tierings": [{"Days": 365, "AccessTier": "ARCHIVE_ACCESS"}]}
        assert _actions(bucket.ensure(check=False)) == {"created"}
        assert _actions(bucket.ensure(check=True)) == {"unchanged"}


REPLICATION = {
    "MEDICAL_IMAGING_REPLICATION_ENABLED": True,
    "MEDICAL_IMAGING_BUCKET": "phb-test-imaging-replicated",
    "MEDICAL_IMAGING_BACKUP_BUCKET": "phb-test-imaging-replica",
    "MEDICAL_IMAGING_BACKUP_KMS_ALIAS": "alias/phb-test-imaging-replica",
    "MEDICAL_IMAGING_REPLICATION_ROLE": "phb-test-imaging-replication",
}


def test_cross_region_replication_behind_its_setting():
    with override_settings(**REPLICATION):
        resources = storage_resources.resources()
        names = {(r.kind, r.name) for r in resources}
        assert ("s3-bucket", "phb-test-imaging-replica") in names
        assert ("iam-role", "phb-test-imaging-replication") in names
        assert ("kms-key", "alias/phb-test-imaging-replica") in names
        out = run()
        assert "created   s3-bucket phb-test-imaging-replica" in out
        assert "created   iam-role phb-test-imaging-replication" in out
        assert run().splitlines()[-1].endswith("unchanged")

        backup_region = "us-west-2"
        s3_backup = aws_client("s3", region=backup_region)
        location = s3_backup.get_bucket_location(Bucket="phb-test-imaging-replica")["LocationConstraint"]
        assert location == backup_region
        assert s3_backup.get_object_lock_configuration(Bucket="phb-test-imaging-replica")[
            "ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE"
        replica_key = aws_client("kms", region=backup_region).describe_key(KeyId="alias/phb-test-imaging-replica")
        conf = aws_client("s3").get_bucket_replication(Bucket="phb-test-imaging-replicated")["ReplicationConfiguration"]
        assert conf["Role"].endswith(":role/phb-test-imaging-replication")
        (rule,) = conf["Rules"]
        assert rule["ID"] == "ReplicateMedicalImaging" and rule["Status"] == "Enabled" and rule["Priority"] == 1
        assert rule["Destination"]["Bucket"] == "arn:aws:s3:::phb-test-imaging-replica"
        assert rule["Destination"]["ReplicationTime"] == {"Status": "Enabled", "Time": {"Minutes": 15}}
        assert rule["Destination"]["EncryptionConfiguration"]["ReplicaKmsKeyID"] == replica_key["KeyMetadata"]["Arn"]
        policy = aws_client("iam").get_role_policy(RoleName="phb-test-imaging-replication",
                                                   PolicyName="replicate-medical-imaging")["PolicyDocument"]
        actions = {a for s in policy["Statement"] for a in s["Action"]}
        assert {"s3:ReplicateObject", "s3:GetObjectVersionForReplication", "kms:Decrypt", "kms:Encrypt"} <= actions

        source = next(r for r in resources if r.kind == "s3-bucket" and r.name == "phb-test-imaging-replicated")
        aws_client("s3").delete_bucket_replication(Bucket=source.name)
        assert any(c.detail == "replication" and c.action == "drift" for c in source.ensure(check=True))
        for resource in resources:
            if resource.kind in ("iam-role", "kms-key"):
                _assert_drift_cycle(resource)
        run()
        assert run("--check").splitlines()[-1].endswith("unchanged")
