"""Declarative AWS resources that ``provision_aws`` creates and converges.

Each app declares what it needs in ``<app>/aws_resources.py`` (a ``resources()`` function
returning a list of the classes below). ``ensure(check=True)`` only compares and reports drift;
``ensure(check=False)`` creates what is missing and converges what differs. Both work against
the local emulator and a real account alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from botocore.exceptions import ClientError
from django.conf import settings

from phb.aws.clients import aws_client

Action = Literal["created", "changed", "unchanged", "drift", "missing"]


@dataclass
class Change:
    kind: str
    name: str
    action: Action
    detail: str = ""

    def __str__(self) -> str:
        suffix = f" ({self.detail})" if self.detail else ""
        return f"{self.action:9} {self.kind} {self.name}{suffix}"


def _error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


class Resource:
    kind: ClassVar[str] = "resource"
    order: ClassVar[int] = 50
    name: str

    def ensure(self, *, check: bool) -> list[Change]:  # pragma: no cover - interface
        raise NotImplementedError

    # Helpers for subclasses ---------------------------------------------------------------
    def _converge(self, *, check: bool, what: str, differs: bool, apply) -> Change | None:
        """Report drift in check mode, else apply the desired setting."""
        if not differs:
            return None
        if check:
            return Change(self.kind, self.name, "drift", what)
        apply()
        return Change(self.kind, self.name, "changed", what)

    @staticmethod
    def _summarise(kind: str, name: str, changes: list[Change], created: bool) -> list[Change]:
        if created:
            return [Change(kind, name, "created")]
        return changes or [Change(kind, name, "unchanged")]


# --- CloudWatch Logs -------------------------------------------------------------------------
@dataclass
class LogGroup(Resource):
    kind: ClassVar[str] = "log-group"
    order: ClassVar[int] = 10
    name: str
    retention_days: int
    tags: dict[str, str] = field(default_factory=dict)

    def ensure(self, *, check: bool) -> list[Change]:
        logs = aws_client("logs")
        found = [
            g
            for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=self.name)
            for g in page["logGroups"]
            if g["logGroupName"] == self.name
        ]
        if not found:
            if check:
                return [Change(self.kind, self.name, "missing")]
            logs.create_log_group(logGroupName=self.name, tags=self.tags or {})
            logs.put_retention_policy(logGroupName=self.name, retentionInDays=self.retention_days)
            return [Change(self.kind, self.name, "created")]
        changes = []
        change = self._converge(
            check=check,
            what=f"retention {found[0].get('retentionInDays')} -> {self.retention_days} days",
            differs=found[0].get("retentionInDays") != self.retention_days,
            apply=lambda: logs.put_retention_policy(logGroupName=self.name, retentionInDays=self.retention_days),
        )
        if change:
            changes.append(change)
        return self._summarise(self.kind, self.name, changes, False)


# --- KMS ---------------------------------------------------------------------------------------
@dataclass
class KmsKey(Resource):
    kind: ClassVar[str] = "kms-key"
    order: ClassVar[int] = 0
    name: str  # the alias, "alias/phb-..."
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    region: str | None = None  # another region than AWS_REGION (a replica's key)
    # An asymmetric signing key: key_usage "SIGN_VERIFY", key_spec e.g. "ECC_NIST_P256" (no rotation:
    # AWS rotates only symmetric keys; a new key is a new alias target).
    key_usage: str = "ENCRYPT_DECRYPT"
    key_spec: str = "SYMMETRIC_DEFAULT"

    @property
    def rotates(self) -> bool:
        return self.key_spec == "SYMMETRIC_DEFAULT"

    def key_id(self) -> str | None:
        kms = aws_client("kms", region=self.region)
        try:
            return kms.describe_key(KeyId=self.name)["KeyMetadata"]["KeyId"]
        except ClientError as exc:
            if _error_code(exc) == "NotFoundException":
                return None
            raise

    def key_arn(self) -> str | None:
        try:
            return aws_client("kms", region=self.region).describe_key(KeyId=self.name)["KeyMetadata"]["Arn"]
        except ClientError as exc:
            if _error_code(exc) == "NotFoundException":
                return None
            raise

    def ensure(self, *, check: bool) -> list[Change]:
        kms = aws_client("kms", region=self.region)
        key_id = self.key_id()
        if key_id is None:
            if check:
                return [Change(self.kind, self.name, "missing")]
            key_id = kms.create_key(
                Description=self.description or self.name,
                KeyUsage=self.key_usage,
                KeySpec=self.key_spec,
                Tags=[{"TagKey": k, "TagValue": v} for k, v in self.tags.items()],
            )["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=self.name, TargetKeyId=key_id)
            if self.rotates:
                kms.enable_key_rotation(KeyId=key_id)
            return [Change(self.kind, self.name, "created")]
        changes = []
        if not self.rotates:
            meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
            if meta.get("KeySpec") != self.key_spec:  # cannot be converged: fixed at creation
                changes.append(Change(self.kind, self.name, "drift",
                                      f"key spec {meta.get('KeySpec')}, expected {self.key_spec}"))
            change = self._converge(check=check, what="key disabled", differs=meta.get("KeyState") == "Disabled",
                                    apply=lambda: kms.enable_key(KeyId=key_id))
            if change:
                changes.append(change)
            return self._summarise(self.kind, self.name, changes, False)
        rotation = kms.get_key_rotation_status(KeyId=key_id).get("KeyRotationEnabled", False)
        change = self._converge(
            check=check, what="key rotation off", differs=not rotation,
            apply=lambda: kms.enable_key_rotation(KeyId=key_id),
        )
        if change:
            changes.append(change)
        return self._summarise(self.kind, self.name, changes, False)


# --- IAM ---------------------------------------------------------------------------------------
@dataclass
class IamRole(Resource):
    """A service role (S3 replication) with inline policies. A policy may be a callable that
    builds the document at provisioning time (it names key ARNs looked up then)."""

    kind: ClassVar[str] = "iam-role"
    order: ClassVar[int] = 5
    name: str
    assume_role_policy: dict[str, Any] = field(default_factory=dict)
    inline_policies: dict[str, dict[str, Any] | Callable[[], dict[str, Any]]] = field(default_factory=dict)
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    def arn(self) -> str | None:
        try:
            return aws_client("iam").get_role(RoleName=self.name)["Role"]["Arn"]
        except ClientError as exc:
            if _error_code(exc) == "NoSuchEntity":
                return None
            raise

    @staticmethod
    def _document(value: Any) -> Any:
        """boto3 decodes policy documents to dicts; be tolerant of a JSON string as well."""
        if isinstance(value, str):
            from urllib.parse import unquote

            return json.loads(unquote(value))
        return value

    def _current_inline(self, policy_name: str) -> Any:
        try:
            found = aws_client("iam").get_role_policy(RoleName=self.name, PolicyName=policy_name)
        except ClientError as exc:
            if _error_code(exc) == "NoSuchEntity":
                return None
            raise
        return self._document(found["PolicyDocument"])

    def ensure(self, *, check: bool) -> list[Change]:
        iam = aws_client("iam")
        created = False
        try:
            role = iam.get_role(RoleName=self.name)["Role"]
        except ClientError as exc:
            if _error_code(exc) != "NoSuchEntity":
                raise
            role = None
        changes: list[Change] = []
        if role is None:
            if check:
                return [Change(self.kind, self.name, "missing")]
            iam.create_role(
                RoleName=self.name,
                AssumeRolePolicyDocument=json.dumps(self.assume_role_policy),
                Description=self.description or self.name,
                Tags=[{"Key": k, "Value": v} for k, v in self.tags.items()],
            )
            created = True
        else:
            current_trust = self._document(role.get("AssumeRolePolicyDocument"))
            change = self._converge(
                check=check, what="trust policy",
                differs=Bucket._norm(current_trust) != Bucket._norm(self.assume_role_policy),
                apply=lambda: iam.update_assume_role_policy(
                    RoleName=self.name, PolicyDocument=json.dumps(self.assume_role_policy)),
            )
            if change:
                changes.append(change)
        for policy_name, document in self.inline_policies.items():
            desired = document() if callable(document) else document
            current = None if created else self._current_inline(policy_name)

            def put(policy_name: str = policy_name, desired: dict[str, Any] = desired) -> None:
                iam.put_role_policy(RoleName=self.name, PolicyName=policy_name, PolicyDocument=json.dumps(desired))

            if created:
                put()
                continue
            change = self._converge(
                check=check, what=f"policy {policy_name}",
                differs=Bucket._norm(current) != Bucket._norm(desired), apply=put,
            )
            if change:
                changes.append(change)
        return self._summarise(self.kind, self.name, changes, created)


# --- S3 ----------------------------------------------------------------------------------------
def _tagset(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


@dataclass
class Bucket(Resource):
    kind: ClassVar[str] = "s3-bucket"
    order: ClassVar[int] = 20
    name: str
    versioning: bool = False
    encryption: Literal["AES256", "aws:kms"] = "AES256"
    kms_alias: str | None = None
    block_public_access: bool = True
    tags: dict[str, str] = field(default_factory=dict)
    lifecycle_rules: list[dict[str, Any]] = field(default_factory=list)
    cors_rules: list[dict[str, Any]] = field(default_factory=list)
    object_lock: dict[str, Any] | None = None  # {"Mode": "GOVERNANCE", "Days": 2555}
    website: dict[str, Any] | None = None
    policy: dict[str, Any] | None = None  # attached only when AWS_ATTACH_BUCKET_POLICIES
    # A policy without conditions the emulator mis-applies (public read of a website bucket)
    # may be attached everywhere.
    policy_unconditional: bool = False
    # The configuration, or a callable building it at provisioning time (it names ARNs that
    # need the account id or a key looked up in another region).
    replication: dict[str, Any] | Callable[[], dict[str, Any]] | None = None
    intelligent_tiering: dict[str, Any] | None = None
    region: str | None = None

    @property
    def s3(self):
        return aws_client("s3", region=self.region)

    def _exists(self) -> bool:
        try:
            self.s3.head_bucket(Bucket=self.name)
            return True
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                return False
            raise

    def _create(self) -> None:
        region = self.region or settings.AWS_REGION
        kwargs: dict[str, Any] = {"Bucket": self.name}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        if self.object_lock:
            kwargs["ObjectLockEnabledForBucket"] = True
        self.s3.create_bucket(**kwargs)
        try:
            self.s3.put_bucket_ownership_controls(
                Bucket=self.name, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
            )
        except ClientError:  # older emulators; AWS applies BucketOwnerEnforced by default anyway
            pass

    # Desired vs current, one aspect at a time --------------------------------------------------
    def _desired_encryption(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": self.encryption}}
        if self.encryption == "aws:kms":
            rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] = self.kms_alias
            rule["BucketKeyEnabled"] = True
        return {"Rules": [rule]}

    def _current_encryption(self) -> dict[str, Any] | None:
        try:
            found = self.s3.get_bucket_encryption(Bucket=self.name)["ServerSideEncryptionConfiguration"]
        except ClientError:
            return None
        rules = []
        for rule in found.get("Rules", []):
            default = dict(rule.get("ApplyServerSideEncryptionByDefault", {}))
            out: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": default}
            if default.get("SSEAlgorithm") == "aws:kms":
                out["BucketKeyEnabled"] = rule.get("BucketKeyEnabled", False)
            rules.append(out)
        return {"Rules": rules}

    def _current_versioning(self) -> bool:
        return self.s3.get_bucket_versioning(Bucket=self.name).get("Status") == "Enabled"

    def _current_public_access_block(self) -> dict[str, bool] | None:
        try:
            return self.s3.get_public_access_block(Bucket=self.name)["PublicAccessBlockConfiguration"]
        except ClientError:
            return None

    def _desired_public_access_block(self) -> dict[str, bool]:
        flag = self.block_public_access
        return {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": flag,
            "RestrictPublicBuckets": flag,
        }

    def _current_tags(self) -> dict[str, str]:
        try:
            return {t["Key"]: t["Value"] for t in self.s3.get_bucket_tagging(Bucket=self.name)["TagSet"]}
        except ClientError:
            return {}

    def _current_lifecycle(self) -> list[dict[str, Any]]:
        try:
            return self.s3.get_bucket_lifecycle_configuration(Bucket=self.name)["Rules"]
        except ClientError:
            return []

    def _current_cors(self) -> list[dict[str, Any]]:
        try:
            return self.s3.get_bucket_cors(Bucket=self.name)["CORSRules"]
        except ClientError:
            return []

    def _current_object_lock(self) -> dict[str, Any] | None:
        try:
            conf = self.s3.get_object_lock_configuration(Bucket=self.name)["ObjectLockConfiguration"]
        except ClientError:
            return None
        return _retention_view(conf.get("Rule", {}).get("DefaultRetention"))

    def _current_website(self) -> dict[str, Any] | None:
        try:
            found = self.s3.get_bucket_website(Bucket=self.name)
        except ClientError:
            return None
        return {k: found[k] for k in ("IndexDocument", "ErrorDocument") if k in found}

    def _current_policy(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.s3.get_bucket_policy(Bucket=self.name)["Policy"])
        except ClientError:
            return None

    def _current_replication(self) -> dict[str, Any] | None:
        try:
            return self.s3.get_bucket_replication(Bucket=self.name)["ReplicationConfiguration"]
        except ClientError:
            return None

    @staticmethod
    def _norm(value: Any) -> str:
        return json.dumps(value, sort_keys=True, default=str)

    def ensure(self, *, check: bool) -> list[Change]:
        s3 = self.s3
        created = False
        if not self._exists():
            if check:
                return [Change(self.kind, self.name, "missing")]
            self._create()
            created = True
        changes: list[Change] = []

        def step(what: str, differs: bool, apply) -> None:
            change = self._converge(check=check, what=what, differs=differs, apply=apply)
            if change:
                changes.append(change)

        if self.versioning or self.object_lock:
            step("versioning", not self._current_versioning(),
                 lambda: s3.put_bucket_versioning(Bucket=self.name, VersioningConfiguration={"Status": "Enabled"}))
        step("encryption", self._norm(self._current_encryption()) != self._norm(self._desired_encryption()),
             lambda: s3.put_bucket_encryption(
                 Bucket=self.name, ServerSideEncryptionConfiguration=self._desired_encryption()))
        step("public access block",
             self._current_public_access_block() != self._desired_public_access_block(),
             lambda: s3.put_public_access_block(
                 Bucket=self.name, PublicAccessBlockConfiguration=self._desired_public_access_block()))
        if self.tags:
            step("tags", self._current_tags() != self.tags,
                 lambda: s3.put_bucket_tagging(Bucket=self.name, Tagging={"TagSet": _tagset(self.tags)}))
        if self.lifecycle_rules:
            current = sorted(self._current_lifecycle(), key=lambda r: r.get("ID", ""))
            desired = sorted(self.lifecycle_rules, key=lambda r: r.get("ID", ""))
            step("lifecycle", self._norm(_lifecycle_view(current)) != self._norm(_lifecycle_view(desired)),
                 lambda: s3.put_bucket_lifecycle_configuration(
                     Bucket=self.name, LifecycleConfiguration={"Rules": self.lifecycle_rules}))
        if self.cors_rules:
            step("cors", self._norm(_cors_view(self._current_cors())) != self._norm(_cors_view(self.cors_rules)),
                 lambda: s3.put_bucket_cors(Bucket=self.name, CORSConfiguration={"CORSRules": self.cors_rules}))
        if self.object_lock:
            step("object lock", self._current_object_lock() != _retention_view(self.object_lock),
                 lambda: s3.put_object_lock_configuration(
                     Bucket=self.name,
                     ObjectLockConfiguration={
                         "ObjectLockEnabled": "Enabled",
                         "Rule": {"DefaultRetention": self.object_lock},
                     }))
        if self.website:
            step("website", self._norm(self._current_website()) != self._norm(self.website),
                 lambda: s3.put_bucket_website(Bucket=self.name, WebsiteConfiguration=self.website))
        if self.intelligent_tiering:
            tier_id = self.intelligent_tiering["Id"]

            def current_tiering() -> dict[str, Any] | None:
                try:
                    return s3.get_bucket_intelligent_tiering_configuration(
                        Bucket=self.name, Id=tier_id)["IntelligentTieringConfiguration"]
                except ClientError:
                    return None

            def tiering_differs() -> bool:
                found = current_tiering()
                if found is None:
                    return True
                # An emulator may answer an empty document: then presence is all it can tell.
                return bool(found) and self._norm(_tiering_view(found)) != self._norm(
                    _tiering_view(self.intelligent_tiering))

            step("intelligent tiering", tiering_differs(),
                 lambda: s3.put_bucket_intelligent_tiering_configuration(
                     Bucket=self.name, Id=tier_id, IntelligentTieringConfiguration=self.intelligent_tiering))
        if self.replication:
            desired_replication = self.replication() if callable(self.replication) else self.replication
            current = self._current_replication()
            step("replication",
                 self._norm(_replication_view(current)) != self._norm(_replication_view(desired_replication)),
                 lambda: s3.put_bucket_replication(
                     Bucket=self.name, ReplicationConfiguration=desired_replication))
        if self.policy and (settings.AWS_ATTACH_BUCKET_POLICIES or self.policy_unconditional):
            step("policy", self._norm(self._current_policy()) != self._norm(self.policy),
                 lambda: s3.put_bucket_policy(Bucket=self.name, Policy=json.dumps(self.policy)))
        return self._summarise(self.kind, self.name, changes, created)


def _retention_view(retention: dict[str, Any] | None) -> dict[str, Any] | None:
    """``{"Mode", "Days"}`` or ``{"Mode", "Years"}``; some endpoints also answer the unused one as 0."""
    if not retention:
        return None
    return {k: v for k, v in retention.items() if k == "Mode" or (k in ("Days", "Years") and v)}


def _tiering_view(conf: dict[str, Any]) -> dict[str, Any]:
    tierings = sorted(conf.get("Tierings", []), key=lambda t: t.get("AccessTier", ""))
    return {"Id": conf.get("Id"), "Status": conf.get("Status"), "Tierings": tierings}


def _replication_view(conf: dict[str, Any] | None) -> dict[str, Any] | None:
    """What both AWS and the emulator answer back faithfully: role, and per rule its id, status,
    priority and destination (bucket, replica key, replication time)."""
    if not conf:
        return None
    rules = []
    for rule in conf.get("Rules", []):
        destination = rule.get("Destination", {})
        rules.append({
            "ID": rule.get("ID"),
            "Status": rule.get("Status"),
            "Priority": rule.get("Priority"),
            "Bucket": destination.get("Bucket"),
            "ReplicaKmsKeyID": destination.get("EncryptionConfiguration", {}).get("ReplicaKmsKeyID"),
            "ReplicationTime": destination.get("ReplicationTime"),
        })
    return {"Role": conf.get("Role"), "Rules": sorted(rules, key=lambda r: r["ID"] or "")}


def _lifecycle_view(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keep = ("ID", "Status", "Transitions", "Expiration", "NoncurrentVersionExpiration",
            "NoncurrentVersionTransitions", "AbortIncompleteMultipartUpload")
    out = []
    for rule in rules:
        view = {k: rule[k] for k in keep if k in rule}
        for tr in view.get("Transitions", []):
            tr.pop("Date", None)
        out.append(view)
    return out


def _cors_view(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keep = ("AllowedOrigins", "AllowedMethods", "AllowedHeaders", "MaxAgeSeconds", "ExposeHeaders")
    return [{k: sorted(r[k]) if isinstance(r.get(k), list) else r[k] for k in keep if r.get(k)} for r in rules]


# --- DynamoDB ----------------------------------------------------------------------------------
@dataclass
class GlobalIndex:
    name: str
    partition_key: tuple[str, str]  # (attribute, "S" | "N" | "B")
    sort_key: tuple[str, str] | None = None
    projection: str = "ALL"
    non_key_attributes: list[str] = field(default_factory=list)

    def spec(self) -> dict[str, Any]:
        schema = [{"AttributeName": self.partition_key[0], "KeyType": "HASH"}]
        if self.sort_key:
            schema.append({"AttributeName": self.sort_key[0], "KeyType": "RANGE"})
        projection: dict[str, Any] = {"ProjectionType": self.projection}
        if self.projection == "INCLUDE":
            projection["NonKeyAttributes"] = self.non_key_attributes
        return {"IndexName": self.name, "KeySchema": schema, "Projection": projection}

    def attributes(self) -> list[tuple[str, str]]:
        return [self.partition_key, *([self.sort_key] if self.sort_key else [])]


@dataclass
class DynamoTable(Resource):
    kind: ClassVar[str] = "dynamodb-table"
    order: ClassVar[int] = 30
    name: str
    partition_key: tuple[str, str]
    sort_key: tuple[str, str] | None = None
    indexes: list[GlobalIndex] = field(default_factory=list)
    ttl_attribute: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    point_in_time_recovery: bool = True

    def _attribute_definitions(self) -> list[dict[str, str]]:
        attrs: dict[str, str] = {}
        for name, typ in [self.partition_key, *([self.sort_key] if self.sort_key else [])]:
            attrs[name] = typ
        for index in self.indexes:
            for name, typ in index.attributes():
                attrs[name] = typ
        return [{"AttributeName": k, "AttributeType": v} for k, v in attrs.items()]

    def ensure(self, *, check: bool) -> list[Change]:
        ddb = aws_client("dynamodb")
        try:
            table = ddb.describe_table(TableName=self.name)["Table"]
        except ClientError as exc:
            if _error_code(exc) != "ResourceNotFoundException":
                raise
            table = None
        created = False
        changes: list[Change] = []
        if table is None:
            if check:
                return [Change(self.kind, self.name, "missing")]
            schema = [{"AttributeName": self.partition_key[0], "KeyType": "HASH"}]
            if self.sort_key:
                schema.append({"AttributeName": self.sort_key[0], "KeyType": "RANGE"})
            kwargs: dict[str, Any] = {
                "TableName": self.name,
                "KeySchema": schema,
                "AttributeDefinitions": self._attribute_definitions(),
                "BillingMode": "PAY_PER_REQUEST",
                "SSESpecification": {"Enabled": True, "SSEType": "KMS"},
            }
            if self.indexes:
                kwargs["GlobalSecondaryIndexes"] = [i.spec() for i in self.indexes]
            if self.tags:
                kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags.items()]
            ddb.create_table(**kwargs)
            ddb.get_waiter("table_exists").wait(TableName=self.name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
            created = True
        else:
            existing = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])}
            for index in self.indexes:
                if index.name not in existing:
                    def add(index: GlobalIndex = index) -> None:
                        ddb.update_table(
                            TableName=self.name,
                            AttributeDefinitions=self._attribute_definitions(),
                            GlobalSecondaryIndexUpdates=[{"Create": index.spec()}],
                        )
                    change = self._converge(check=check, what=f"index {index.name} missing", differs=True, apply=add)
                    if change:
                        changes.append(change)
        if self.ttl_attribute:
            ttl = ddb.describe_time_to_live(TableName=self.name)["TimeToLiveDescription"]
            enabled = ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName") == self.ttl_attribute
            change = self._converge(
                check=check, what=f"TTL on {self.ttl_attribute}", differs=not enabled,
                apply=lambda: ddb.update_time_to_live(
                    TableName=self.name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": self.ttl_attribute}),
            )
            if change and not created:
                changes.append(change)
        if self.point_in_time_recovery:
            backups = ddb.describe_continuous_backups(TableName=self.name)["ContinuousBackupsDescription"]
            pitr = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED"
            change = self._converge(
                check=check, what="point-in-time recovery", differs=not pitr,
                apply=lambda: ddb.update_continuous_backups(
                    TableName=self.name,
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}),
            )
            if change and not created:
                changes.append(change)
        return self._summarise(self.kind, self.name, changes, created)
