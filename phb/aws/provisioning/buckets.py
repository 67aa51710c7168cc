"""S3: a bucket and each aspect of its configuration, compared and converged one at a time."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from botocore.exceptions import ClientError
from django.conf import settings

from phb.aws.clients import aws_client
from phb.aws.provisioning.base import Change, Resource, _error_code


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
