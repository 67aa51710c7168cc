"""The EC2 instance role's policy, generated from the resources ``provision_aws`` declares.

The same ``declared_resources()`` (and the compute stack's instance-side resources: the agent's
log group, the releases bucket, EFS) give the resource ARNs, so the policy and the resources
cannot drift apart. The actions per resource kind are declared here, explicitly: the running
service's calls plus the reads ``provision_aws --check`` makes on each kind. Nothing here creates,
changes or deletes a resource definition; creating them is the operator's job (``provision_aws``,
``provision_compute``) with the operator's credentials.

``tests/deploy/test_iam_policy.py`` lists every boto3 operation the code calls (static analysis of
the whole tree, shell scripts included) and checks each is allowed here, on the right ARNs, and
that nothing is granted that no code uses.

Where AWS offers no resource-level permission the resource is ``*``; each case is in
``WILDCARD_RESOURCES`` with its reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

__aws_scope__ = "operator"  # run by operators (iam_policy, provision_compute), never on the instances

# --- IAM action of each API operation ---------------------------------------------------------------
# Operations whose IAM action is not "<prefix>:<OperationName>".
_OPERATION_ACTIONS: dict[tuple[str, str], list[str]] = {
    ("s3", "HeadBucket"): ["s3:ListBucket"],
    ("s3", "HeadObject"): ["s3:GetObject"],
    ("s3", "ListObjects"): ["s3:ListBucket"],
    ("s3", "ListObjectsV2"): ["s3:ListBucket"],
    ("s3", "ListObjectVersions"): ["s3:ListBucketVersions"],
    ("s3", "CopyObject"): ["s3:GetObject", "s3:PutObject"],
    ("s3", "DeleteObjects"): ["s3:DeleteObject"],
    ("s3", "CreateMultipartUpload"): ["s3:PutObject"],
    ("s3", "UploadPart"): ["s3:PutObject"],
    ("s3", "CompleteMultipartUpload"): ["s3:PutObject"],
    ("s3", "GetBucketCors"): ["s3:GetBucketCORS"],
    ("s3", "PutBucketCors"): ["s3:PutBucketCORS"],
    ("s3", "GetBucketEncryption"): ["s3:GetEncryptionConfiguration"],
    ("s3", "PutBucketEncryption"): ["s3:PutEncryptionConfiguration"],
    ("s3", "GetBucketLifecycleConfiguration"): ["s3:GetLifecycleConfiguration"],
    ("s3", "PutBucketLifecycleConfiguration"): ["s3:PutLifecycleConfiguration"],
    ("s3", "GetBucketReplication"): ["s3:GetReplicationConfiguration"],
    ("s3", "PutBucketReplication"): ["s3:PutReplicationConfiguration"],
    ("s3", "GetObjectLockConfiguration"): ["s3:GetBucketObjectLockConfiguration"],
    ("s3", "PutObjectLockConfiguration"): ["s3:PutBucketObjectLockConfiguration"],
    ("s3", "GetPublicAccessBlock"): ["s3:GetBucketPublicAccessBlock"],
    ("s3", "PutPublicAccessBlock"): ["s3:PutBucketPublicAccessBlock"],
    ("s3", "GetBucketIntelligentTieringConfiguration"): ["s3:GetIntelligentTieringConfiguration"],
    ("s3", "PutBucketIntelligentTieringConfiguration"): ["s3:PutIntelligentTieringConfiguration"],
    ("s3", "GetBucketNotificationConfiguration"): ["s3:GetBucketNotification"],
    ("s3", "PutBucketNotificationConfiguration"): ["s3:PutBucketNotification"],
    # The service's transactions put and delete items only (``tracking.dynamo.store.transact_write``
    # refuses any other kind of action), so they need what those two need.
    ("dynamodb", "TransactWriteItems"): ["dynamodb:DeleteItem", "dynamodb:PutItem"],
    ("dynamodb", "TransactGetItems"): ["dynamodb:GetItem"],
    ("sts", "GetCallerIdentity"): [],  # always allowed; needs no permission
}
# Request parameters that need an extra (or another) action.
_PARAMETER_ACTIONS: dict[tuple[str, str, str], list[str]] = {
    ("s3", "GetObject", "VersionId"): ["s3:GetObjectVersion"],
    ("s3", "HeadObject", "VersionId"): ["s3:GetObjectVersion"],
    ("s3", "DeleteObject", "VersionId"): ["s3:DeleteObjectVersion"],
    ("s3", "DeleteObject", "BypassGovernanceRetention"): ["s3:BypassGovernanceRetention"],
    ("s3", "PutObject", "ObjectLockMode"): ["s3:PutObjectRetention"],
    ("s3", "PutObject", "ObjectLockRetainUntilDate"): ["s3:PutObjectRetention"],
    ("s3", "PutObject", "ObjectLockLegalHoldStatus"): ["s3:PutObjectLegalHold"],
    ("s3", "PutObject", "Tagging"): ["s3:PutObjectTagging"],
    ("s3", "PutObject", "ACL"): ["s3:PutObjectAcl"],
}
_PREFIX = {"elbv2": "elasticloadbalancing", "efs": "elasticfilesystem", "monitoring": "cloudwatch"}


def iam_actions(service: str, operation: str, params: Iterable[str] = ()) -> list[str]:
    """IAM actions an API call needs: ``("s3", "HeadObject", {"VersionId"})`` ->
    ``["s3:GetObject", "s3:GetObjectVersion"]``."""
    actions = list(_OPERATION_ACTIONS.get((service, operation), [f"{_PREFIX.get(service, service)}:{operation}"]))
    for param in params:
        actions.extend(_PARAMETER_ACTIONS.get((service, operation, param), []))
    return sorted(set(actions))


# --- what the instance role may do on each kind of declared resource ------------------------------
# "runtime": the service's own calls; "check": the reads provision_aws --check makes.
S3_OBJECT_ACTIONS = [
    "s3:AbortMultipartUpload",  # django-storages / s3transfer abort a failed multipart upload
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
]
# Erasing a version for good, past its object lock: only for imaging uploads refused before they
# were ever listed (storage.imaging). Every other bucket keeps its versions (prescriptions, records,
# guidelines): the role cannot remove them.
S3_ERASE_ACTIONS = [
    "s3:BypassGovernanceRetention",
    "s3:DeleteObjectVersion",
]
S3_BUCKET_ACTIONS = [
    "s3:ListBucket",  # HeadBucket, ListObjectsV2; without it a missing key answers 403 not 404
    "s3:ListBucketVersions",
    # provision_aws --check
    "s3:GetBucketCORS",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketTagging",
    "s3:GetBucketVersioning",
    "s3:GetBucketWebsite",
    "s3:GetEncryptionConfiguration",
    "s3:GetIntelligentTieringConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetReplicationConfiguration",
]
KIND_ACTIONS: dict[str, list[str]] = {
    "dynamodb-table": [
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        # provision_aws --check
        "dynamodb:DescribeContinuousBackups",
        "dynamodb:DescribeTable",
        "dynamodb:DescribeTimeToLive",
    ],
    "kms-key": [
        "kms:Decrypt",  # records' data keys; S3 SSE-KMS reads on the caller's behalf
        "kms:Encrypt",
        "kms:GenerateDataKey",  # records' data keys; S3 SSE-KMS writes on the caller's behalf
        "kms:Sign",  # prescriptions' signing key (asymmetric)
        "kms:GetPublicKey",
        # provision_aws --check
        "kms:DescribeKey",
        "kms:GetKeyRotationStatus",
    ],
    "log-group": ["logs:CreateLogStream", "logs:PutLogEvents"],  # the app's watchtower handlers
    "sns-topic": ["sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic"],  # check only
    "cloudwatch-alarm": ["cloudwatch:DescribeAlarms"],  # check only
    "cloudwatch-dashboard": ["cloudwatch:GetDashboard"],  # check only
    "iam-role": ["iam:GetRole", "iam:GetRolePolicy"],  # check only (the S3 replication role)
    # CLOUDFRONT_ENABLED: the imaging URL signer reads its private key; the rest is lookups.
    "cloudfront-signing-key": ["secretsmanager:GetSecretValue"],
    "cloudfront-oac": [],
    "cloudfront-distribution": ["cloudfront:GetDistributionConfig"],  # check only
}
CLOUDFRONT_LOOKUP_ACTIONS = [
    "cloudfront:GetKeyGroup",  # check only
    "cloudfront:GetOriginAccessControl",  # check only
    "cloudfront:ListDistributions",  # the imaging distribution's domain (unless configured)
    "cloudfront:ListKeyGroups",  # check only
    "cloudfront:ListOriginAccessControls",  # check only
    "cloudfront:ListPublicKeys",  # the signing key's id (Key-Pair-Id)
]
# The CloudWatch agent on each instance (deploy/cloudwatch-agent.json) and its own log group.
AGENT_LOG_ACTIONS = ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
# The release artifact fetched by the user-data (aws s3 cp).
RELEASE_ACTIONS = ["s3:GetObject"]
# /etc/phb/phb.env from Parameter Store (manage.py write_env_file). SecureString values under the
# AWS managed key aws/ssm need no kms:Decrypt here (that key's policy grants it through SSM).
PARAMETER_ACTIONS = ["ssm:GetParametersByPath"]
# amazon-efs-utils with the "iam" mount option.
EFS_ACTIONS = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
# deploy/bin/phb-volumes attaches the persistent data volume (one-instance phase) to itself.
ATTACH_ACTIONS = ["ec2:AttachVolume"]

WILDCARD_RESOURCES: dict[str, str] = {
    "cloudwatch:PutMetricData": (
        "PutMetricData has no resource-level permission; limited by the cloudwatch:namespace "
        "condition to the service's namespaces"
    ),
    "ec2:DescribeTags": (
        "Describe* calls have no resource-level permission; the CloudWatch agent reads its "
        "instance's Auto Scaling group name from the instance tags"
    ),
    "ec2:AttachVolume": (
        "attaching the persistent data volume names the instance too; instance ARNs are not known "
        "in advance, so arn:aws:ec2:<region>:<account>:instance/* is limited by a condition to "
        "instances tagged with the stack"
    ),
    **{action: ("CloudFront lists have no resource-level permission, and key groups and origin access "
                "controls are found by name in them, so their ids are not known in advance; reads only")
       for action in ("cloudfront:GetDistributionConfig", "cloudfront:GetKeyGroup", "cloudfront:GetOriginAccessControl", "cloudfront:ListDistributions",
                      "cloudfront:ListKeyGroups", "cloudfront:ListOriginAccessControls",
                      "cloudfront:ListPublicKeys")},
    "logs:DescribeLogGroups": (
        "DescribeLogGroups is authorised on every log group of the account and region "
        "(arn:aws:logs:<region>:<account>:log-group:*), not on a named one; names only, no log data"
    ),
}


@dataclass
class Statement:
    sid: str
    actions: list[str]
    resources: list[str]
    condition: dict[str, Any] | None = None
    reason: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": "Allow",
            "Action": sorted(set(self.actions)),
            "Resource": sorted(set(self.resources)) if len(set(self.resources)) > 1 else self.resources[0],
        }
        if self.condition:
            out["Condition"] = self.condition
        return out


@dataclass
class PolicyInputs:
    """Everything the policy is built from. ``from_settings`` fills it from the declared resources."""

    account_id: str
    region: str
    resources: list[Any]
    storages_buckets: list[str] = field(default_factory=list)
    erasable_buckets: list[str] = field(default_factory=list)  # may lose versions (S3_ERASE_ACTIONS)
    metric_namespaces: list[str] = field(default_factory=list)
    agent_log_group: str | None = None
    releases_bucket: str | None = None
    parameter_path: str | None = None
    efs_file_system_id: str | None = None
    data_volume_id: str | None = None
    stack: str = ""
    key_arns: dict[str, str] = field(default_factory=dict)  # alias -> key ARN

    @classmethod
    def from_settings(cls, *, account_id: str | None = None, key_arns: dict[str, str] | None = None,
                      efs_file_system_id: str | None = None) -> PolicyInputs:
        from phb.aws.clients import account_id as caller_account
        from phb.aws.compute import agent_log_group_name
        from phb.aws.registry import declared_resources

        resources = declared_resources()
        keys = dict(key_arns or {})
        for resource in resources:
            if resource.kind == "kms-key" and resource.name not in keys:
                keys[resource.name] = _resolve_key_arn(resource)
        return cls(
            account_id=account_id or caller_account(),
            region=settings.AWS_REGION,
            resources=resources,
            storages_buckets=storages_buckets(),
            erasable_buckets=[settings.MEDICAL_IMAGING_BUCKET],
            metric_namespaces=[f"{settings.CLOUDWATCH_METRICS_NAMESPACE}/*"],
            agent_log_group=agent_log_group_name(),
            releases_bucket=settings.DEPLOY_RELEASES_BUCKET if not settings.DEPLOY_RELEASE_SOURCE else None,
            parameter_path=settings.DEPLOY_PARAMETER_PATH,
            efs_file_system_id=efs_file_system_id,
            data_volume_id=settings.DEPLOY_DATA_VOLUME_ID or None,
            stack=settings.DEPLOY_STACK_NAME,
            key_arns=keys,
        )


class PolicyError(Exception):
    pass


def _resolve_key_arn(resource: Any) -> str:
    from botocore.exceptions import ClientError

    from phb.aws.clients import aws_client

    try:
        return aws_client("kms", region=getattr(resource, "region", None)).describe_key(
            KeyId=resource.name)["KeyMetadata"]["Arn"]
    except ClientError as exc:
        raise PolicyError(f"KMS key {resource.name} does not exist yet: run provision_aws first") from exc


def storages_buckets() -> list[str]:
    """Buckets behind django-storages S3 storages (settings.STORAGES)."""
    from django.utils.module_loading import import_string
    from storages.backends.s3 import S3Storage

    found = []
    for config in settings.STORAGES.values():
        backend = import_string(config.get("BACKEND", ""))
        if isinstance(backend, type) and issubclass(backend, S3Storage):
            found.append(config["OPTIONS"]["bucket_name"])
    return sorted(set(found))


def _arn(inputs: PolicyInputs, service: str, rest: str, *, region: str | None = None, global_: bool = False) -> str:
    region_part = "" if global_ else (region or inputs.region)
    return f"arn:aws:{service}:{region_part}:{inputs.account_id}:{rest}"


def instance_statements(inputs: PolicyInputs) -> list[Statement]:
    by_kind: dict[str, list[Any]] = {}
    for resource in inputs.resources:
        by_kind.setdefault(resource.kind, []).append(resource)
    unsupported = sorted(set(by_kind) - set(KIND_ACTIONS) - {"s3-bucket"})
    if unsupported:
        raise PolicyError(f"no instance permissions declared for resource kind(s): {', '.join(unsupported)}")

    statements: list[Statement] = []
    buckets = sorted({r.name for r in by_kind.get("s3-bucket", [])} | set(inputs.storages_buckets))
    if buckets:
        statements.append(Statement(
            "ServiceBucketObjects", S3_OBJECT_ACTIONS, [f"arn:aws:s3:::{b}/*" for b in buckets],
            reason="objects in the service's own buckets"))
        erasable = sorted(set(inputs.erasable_buckets) & set(buckets))
        if erasable:
            statements.append(Statement(
                "RefusedUploadErasure", S3_ERASE_ACTIONS, [f"arn:aws:s3:::{b}/*" for b in erasable],
                reason="removing every version of an imaging upload refused before it was listed"))
        statements.append(Statement(
            "ServiceBuckets", S3_BUCKET_ACTIONS, [f"arn:aws:s3:::{b}" for b in buckets],
            reason="listing and configuration reads on the service's own buckets"))
    tables = by_kind.get("dynamodb-table", [])
    if tables:
        arns = []
        for table in tables:
            arns.append(_arn(inputs, "dynamodb", f"table/{table.name}"))
            if table.indexes:
                arns.append(_arn(inputs, "dynamodb", f"table/{table.name}/index/*"))
        statements.append(Statement("ServiceTables", KIND_ACTIONS["dynamodb-table"], arns,
                                    reason="the service's tables and their indexes"))
    keys = by_kind.get("kms-key", [])
    if keys:
        missing = [k.name for k in keys if k.name not in inputs.key_arns]
        if missing:
            raise PolicyError(f"no ARN for KMS key(s) {', '.join(missing)}")
        statements.append(Statement("ServiceKeys", KIND_ACTIONS["kms-key"],
                                    [inputs.key_arns[k.name] for k in keys], reason="the service's KMS keys"))
    groups = [g.name for g in by_kind.get("log-group", [])]
    if groups:
        statements.append(Statement(
            "ServiceLogGroups", KIND_ACTIONS["log-group"],
            [_arn(inputs, "logs", f"log-group:{g}:*") for g in groups], reason="the app's log lines"))
        statements.append(Statement(
            "ListLogGroups", ["logs:DescribeLogGroups"], [_arn(inputs, "logs", "log-group:*")],
            reason=WILDCARD_RESOURCES["logs:DescribeLogGroups"]))
    if inputs.agent_log_group:
        statements.append(Statement(
            "AgentLogGroup", AGENT_LOG_ACTIONS, [_arn(inputs, "logs", f"log-group:{inputs.agent_log_group}:*")],
            reason="the CloudWatch agent ships the instance's log files"))
        statements.append(Statement(
            "AgentInstanceTags", ["ec2:DescribeTags"], ["*"], reason=WILDCARD_RESOURCES["ec2:DescribeTags"]))
    statements.append(Statement(
        "PutMetrics", ["cloudwatch:PutMetricData"], ["*"],
        condition={"StringLike": {"cloudwatch:namespace": sorted(set(inputs.metric_namespaces))}},
        reason=WILDCARD_RESOURCES["cloudwatch:PutMetricData"]))
    for kind, sid, arn in (
        ("sns-topic", "AlertTopicRead", lambda r: _arn(inputs, "sns", r.name)),
        ("cloudwatch-alarm", "AlarmRead", lambda r: _arn(inputs, "cloudwatch", f"alarm:{r.name}")),
        ("cloudwatch-dashboard", "DashboardRead", lambda r: _arn(inputs, "cloudwatch", f"dashboard/{r.name}",
                                                                 global_=True)),
        ("iam-role", "ServiceRoleRead", lambda r: f"arn:aws:iam::{inputs.account_id}:role/{r.name}"),
    ):
        found = by_kind.get(kind, [])
        if found:
            statements.append(Statement(sid, KIND_ACTIONS[kind], [arn(r) for r in found],
                                        reason="read by provision_aws --check"))
    signing_keys = by_kind.get("cloudfront-signing-key", [])
    if signing_keys:
        statements.append(Statement(
            "CloudFrontSigningKey", KIND_ACTIONS["cloudfront-signing-key"],
            # Secrets Manager appends six random characters to a secret's ARN.
            [_arn(inputs, "secretsmanager", f"secret:{k.secret_name}-??????") for k in signing_keys],
            reason="the private key that signs imaging URLs"))
    distributions = by_kind.get("cloudfront-distribution", [])
    if distributions:
        statements.append(Statement(
            "CloudFrontDistributionRead", KIND_ACTIONS["cloudfront-distribution"],
            [f"arn:aws:cloudfront::{inputs.account_id}:distribution/*"],
            reason="read by provision_aws --check"))
    if signing_keys or distributions:
        statements.append(Statement(
            "CloudFrontLookups", CLOUDFRONT_LOOKUP_ACTIONS, ["*"],
            reason=WILDCARD_RESOURCES["cloudfront:ListDistributions"]))
    if inputs.releases_bucket:
        statements.append(Statement(
            "ReleaseArtifacts", RELEASE_ACTIONS, [f"arn:aws:s3:::{inputs.releases_bucket}/releases/*"],
            reason="the user-data fetches the release"))
    if inputs.parameter_path:
        path = inputs.parameter_path.rstrip("/")
        statements.append(Statement(
            "ServiceParameters", PARAMETER_ACTIONS,
            [_arn(inputs, "ssm", f"parameter{path}"), _arn(inputs, "ssm", f"parameter{path}/*")],
            reason="the service's environment, written to /etc/phb/phb.env on boot"))
    if inputs.efs_file_system_id:
        statements.append(Statement(
            "SharedFileSystem", EFS_ACTIONS,
            [_arn(inputs, "elasticfilesystem", f"file-system/{inputs.efs_file_system_id}")],
            reason="mounting the shared uploads file system with IAM authorisation"))
    if inputs.data_volume_id:
        statements.append(Statement(
            "AttachDataVolume", ATTACH_ACTIONS, [_arn(inputs, "ec2", f"volume/{inputs.data_volume_id}")],
            reason="the persistent data volume, attached by the instance that replaces the previous one"))
        statements.append(Statement(
            "AttachToStackInstance", ATTACH_ACTIONS, [_arn(inputs, "ec2", "instance/*")],
            condition={"StringEquals": {"aws:ResourceTag/Stack": inputs.stack}},
            reason=WILDCARD_RESOURCES["ec2:AttachVolume"]))
    return statements


def instance_policy(inputs: PolicyInputs) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [s.as_json() for s in instance_statements(inputs)]}


INSTANCE_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }],
}
