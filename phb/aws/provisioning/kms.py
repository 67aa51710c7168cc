"""KMS: a customer managed key behind its alias, with rotation where AWS supports it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from botocore.exceptions import ClientError

from phb.aws.clients import aws_client
from phb.aws.provisioning.base import Change, Resource, _error_code


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
