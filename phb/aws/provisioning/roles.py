"""IAM: a service role with its trust policy and inline policies."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from phb.aws.clients import aws_client
from phb.aws.provisioning.base import Change, Resource, _error_code
from phb.aws.provisioning.buckets import Bucket


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
