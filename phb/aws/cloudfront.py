"""Declarative CloudFront resources: origin access control, a signing key, distributions.

- :class:`OriginAccessControl`: CloudFront signs every origin request (SigV4) so a bucket can
  stay private and grant reads to the CloudFront service principal for one distribution only.
- :class:`SigningKey`: an RSA key pair for CloudFront signed URLs. The private key is made here,
  once, and lives only in Secrets Manager; CloudFront gets the public half (a public key named
  after its fingerprint) and a key group that trusts it.
- :class:`Distribution`: one S3 origin reached through the origin access control, HTTPS only,
  optionally restricted to URLs signed by a key group; it attaches its origin bucket's policy
  (CloudFront may read, only for this distribution) once it knows its own ARN.

Found by name (the comment of a distribution, the name of the rest), converged like the other
resources in :mod:`phb.aws.provisioning`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from phb.aws.clients import aws_client
from phb.aws.provisioning import Change, Resource, _error_code

# AWS managed policies (the same ids in every account).
CACHING_OPTIMIZED_POLICY = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CORS_S3_ORIGIN_REQUEST_POLICY = "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf"


def _cloudfront():
    return aws_client("cloudfront")


def _find(items: list[dict[str, Any]], key: str, value: str) -> dict[str, Any] | None:
    return next((item for item in items if item.get(key) == value), None)


# --- Origin access control -------------------------------------------------------------------
@dataclass
class OriginAccessControl(Resource):
    kind: ClassVar[str] = "cloudfront-oac"
    order: ClassVar[int] = 25
    name: str
    description: str = ""

    def _config(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "Description": self.description or self.name,
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }

    def current(self) -> dict[str, Any] | None:
        items = _cloudfront().list_origin_access_controls().get("OriginAccessControlList", {}).get("Items") or []
        return _find(items, "Name", self.name)

    def oac_id(self) -> str | None:
        found = self.current()
        return found["Id"] if found else None

    def ensure(self, *, check: bool) -> list[Change]:
        found = self.current()
        if found is None:
            if check:
                return [Change(self.kind, self.name, "missing")]
            _cloudfront().create_origin_access_control(OriginAccessControlConfig=self._config())
            return [Change(self.kind, self.name, "created")]
        desired = self._config()
        differs = any(found.get(k) != desired[k] for k in ("SigningProtocol", "SigningBehavior",
                                                             "OriginAccessControlOriginType"))
        if not differs:
            return [Change(self.kind, self.name, "unchanged")]
        if check:
            return [Change(self.kind, self.name, "drift", "signing")]
        cf = _cloudfront()
        etag = cf.get_origin_access_control(Id=found["Id"])["ETag"]
        cf.update_origin_access_control(Id=found["Id"], IfMatch=etag, OriginAccessControlConfig=desired)
        return [Change(self.kind, self.name, "changed", "signing")]


# --- Signing key (Secrets Manager + CloudFront public key + key group) ------------------------
def public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _new_private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@dataclass
class SigningKey(Resource):
    """``name`` names the key group; ``secret_name`` the Secrets Manager secret with the PEM."""

    kind: ClassVar[str] = "cloudfront-signing-key"
    order: ClassVar[int] = 25
    name: str
    secret_name: str
    tags: dict[str, str] = field(default_factory=dict)

    def private_pem(self) -> str | None:
        try:
            return aws_client("secretsmanager").get_secret_value(SecretId=self.secret_name)["SecretString"]
        except ClientError as exc:
            if _error_code(exc) == "ResourceNotFoundException":
                return None
            raise

    def public_key_name(self, private_pem: str) -> str:
        fingerprint = hashlib.sha256(public_pem(private_pem).encode()).hexdigest()[:16]
        return f"{self.name}-{fingerprint}"

    @staticmethod
    def _public_keys() -> list[dict[str, Any]]:
        return _cloudfront().list_public_keys().get("PublicKeyList", {}).get("Items") or []

    def _key_group(self) -> dict[str, Any] | None:
        for item in _cloudfront().list_key_groups().get("KeyGroupList", {}).get("Items") or []:
            group = item["KeyGroup"]
            if group["KeyGroupConfig"]["Name"] == self.name:
                return group
        return None

    def public_key_id(self) -> str | None:
        """The id CloudFront signed URLs carry as ``Key-Pair-Id``."""
        pem = self.private_pem()
        if pem is None:
            return None
        found = _find(self._public_keys(), "Name", self.public_key_name(pem))
        return found["Id"] if found else None

    def key_group_id(self) -> str | None:
        group = self._key_group()
        return group["Id"] if group else None

    def ensure(self, *, check: bool) -> list[Change]:
        changes: list[Change] = []
        secrets = aws_client("secretsmanager")
        pem = self.private_pem()
        if pem is None:
            if check:
                return [Change(self.kind, self.name, "missing", "private key secret")]
            pem = _new_private_pem()
            secrets.create_secret(
                Name=self.secret_name,
                Description="Private key signing CloudFront URLs for medical imaging",
                SecretString=pem,
                Tags=[{"Key": k, "Value": v} for k, v in sorted(self.tags.items())],
            )
            changes.append(Change(self.kind, self.name, "created", "private key secret"))
        cf = _cloudfront()
        key_name = self.public_key_name(pem)
        public = _find(self._public_keys(), "Name", key_name)
        if public is None:
            if check:
                return [Change(self.kind, self.name, "missing", "public key")]
            public = cf.create_public_key(PublicKeyConfig={
                "CallerReference": key_name, "Name": key_name, "EncodedKey": public_pem(pem),
                "Comment": "CloudFront signed URLs for medical imaging",
            })["PublicKey"]
            changes.append(Change(self.kind, self.name, "created", "public key"))
        group = self._key_group()
        if group is None:
            if check:
                return [Change(self.kind, self.name, "missing", "key group")]
            cf.create_key_group(KeyGroupConfig={"Name": self.name, "Items": [public["Id"]],
                                                "Comment": "Keys trusted to sign medical imaging URLs"})
            changes.append(Change(self.kind, self.name, "created", "key group"))
        elif public["Id"] not in group["KeyGroupConfig"]["Items"]:
            if check:
                return [Change(self.kind, self.name, "drift", "key group keys")]
            # A rotated key joins the group; the old one stays until URLs it signed have expired.
            etag = cf.get_key_group(Id=group["Id"])["ETag"]
            config = dict(group["KeyGroupConfig"], Items=[*group["KeyGroupConfig"]["Items"], public["Id"]])
            cf.update_key_group(Id=group["Id"], IfMatch=etag, KeyGroupConfig=config)
            changes.append(Change(self.kind, self.name, "changed", "key group keys"))
        return changes or [Change(self.kind, self.name, "unchanged")]


# --- Distributions -----------------------------------------------------------------------------
def oac_read_policy(bucket: str, distribution_arn: str) -> dict[str, Any]:
    """The origin bucket's policy: CloudFront may read objects, for this distribution only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowCloudFrontServicePrincipalReadOnly",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
            }
        ],
    }


@dataclass
class Distribution(Resource):
    """``name`` is the distribution's comment (CloudFront has no names)."""

    kind: ClassVar[str] = "cloudfront-distribution"
    order: ClassVar[int] = 30
    name: str
    bucket: str
    oac: OriginAccessControl
    signing_key: SigningKey | None = None  # set: only URLs signed by its key group are served
    default_root_object: str = ""
    # Paths a single-page app answers itself: S3's 403/404 become this object with a 200.
    spa_fallback: str = ""
    forward_query: list[str] = field(default_factory=list)  # e.g. versionId for a versioned origin
    tags: dict[str, str] = field(default_factory=dict)
    bucket_policy: Callable[[str, str], dict[str, Any]] | None = oac_read_policy

    def _origin_domain(self) -> str:
        region = settings.AWS_REGION
        return f"{self.bucket}.s3.{region}.amazonaws.com"

    def _config(self, *, caller_reference: str, oac_id: str, key_group_id: str | None) -> dict[str, Any]:
        origin_id = f"s3-{self.bucket}"
        behavior: dict[str, Any] = {
            "TargetOriginId": origin_id,
            "ViewerProtocolPolicy": "redirect-to-https" if not key_group_id else "https-only",
            "AllowedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"],
                               "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}},
            "Compress": True,
            "CachePolicyId": CACHING_OPTIMIZED_POLICY,
            "TrustedKeyGroups": {"Enabled": bool(key_group_id), "Quantity": 1 if key_group_id else 0,
                                 **({"Items": [key_group_id]} if key_group_id else {})},
        }
        if self.forward_query:
            # The managed policy forwards no query string; a versioned read needs versionId.
            behavior.pop("CachePolicyId")
            behavior["ForwardedValues"] = {
                "QueryString": True,
                "QueryStringCacheKeys": {"Quantity": len(self.forward_query), "Items": list(self.forward_query)},
                "Cookies": {"Forward": "none"},
            }
            behavior["MinTTL"] = 0
        config: dict[str, Any] = {
            "CallerReference": caller_reference,
            "Comment": self.name,
            "Enabled": True,
            "PriceClass": "PriceClass_100",
            "HttpVersion": "http2and3",
            "Origins": {"Quantity": 1, "Items": [{
                "Id": origin_id,
                "DomainName": self._origin_domain(),
                "OriginPath": "",
                "S3OriginConfig": {"OriginAccessIdentity": ""},
                "OriginAccessControlId": oac_id,
            }]},
            "DefaultCacheBehavior": behavior,
            "DefaultRootObject": self.default_root_object,
        }
        if self.spa_fallback:
            pages = [{"ErrorCode": code, "ResponsePagePath": self.spa_fallback, "ResponseCode": "200",
                      "ErrorCachingMinTTL": 10} for code in (403, 404)]
            config["CustomErrorResponses"] = {"Quantity": len(pages), "Items": pages}
        return config

    def current(self) -> dict[str, Any] | None:
        listing = _cloudfront().list_distributions().get("DistributionList", {})
        return _find(listing.get("Items") or [], "Comment", self.name)

    def domain_name(self) -> str | None:
        found = self.current()
        return found["DomainName"] if found else None

    @staticmethod
    def _view(config: dict[str, Any]) -> dict[str, Any]:
        """What provisioning owns; everything else (logging, aliases, certificates) is left alone."""
        origin = (config.get("Origins", {}).get("Items") or [{}])[0]
        behavior = config.get("DefaultCacheBehavior", {})
        groups = behavior.get("TrustedKeyGroups", {})
        return {
            "origin": origin.get("DomainName"),
            "oac": origin.get("OriginAccessControlId") or "",
            "viewer_protocol": behavior.get("ViewerProtocolPolicy"),
            "key_groups": sorted(groups.get("Items") or []) if groups.get("Enabled") else [],
            "root": config.get("DefaultRootObject") or "",
        }

    def ensure(self, *, check: bool) -> list[Change]:
        cf = _cloudfront()
        oac_id = self.oac.oac_id()
        key_group_id = self.signing_key.key_group_id() if self.signing_key else None
        if oac_id is None or (self.signing_key and key_group_id is None):
            if check:
                return [Change(self.kind, self.name, "missing", "its origin access control or key group")]
            raise RuntimeError(f"{self.name}: provision the origin access control and key group first")
        found = self.current()
        changes: list[Change] = []
        if found is None:
            if check:
                return [Change(self.kind, self.name, "missing")]
            config = self._config(caller_reference=f"{self.name}-{int(time.time())}", oac_id=oac_id,
                                  key_group_id=key_group_id)
            created = cf.create_distribution_with_tags(DistributionConfigWithTags={
                "DistributionConfig": config,
                "Tags": {"Items": [{"Key": k, "Value": v} for k, v in sorted(self.tags.items())]},
            })["Distribution"]
            arn = created["ARN"]
            changes.append(Change(self.kind, self.name, "created"))
        else:
            arn = found["ARN"]
            answer = cf.get_distribution_config(Id=found["Id"])
            current = answer["DistributionConfig"]
            desired = self._config(caller_reference=current["CallerReference"], oac_id=oac_id,
                                   key_group_id=key_group_id)
            current_view = self._view(current)
            if "OriginAccessControlId" not in (current.get("Origins", {}).get("Items") or [{}])[0]:
                # An emulator that does not echo the field: nothing to compare it with.
                current_view["oac"] = oac_id
            if current_view != self._view(desired):
                if check:
                    return [Change(self.kind, self.name, "drift", "origin or signing")]
                merged = {**current, **{k: desired[k] for k in (
                    "Origins", "DefaultCacheBehavior", "DefaultRootObject", "Comment", "Enabled")}}
                cf.update_distribution(Id=found["Id"], IfMatch=answer["ETag"], DistributionConfig=merged)
                changes.append(Change(self.kind, self.name, "changed", "origin or signing"))
        if self.bucket_policy and settings.AWS_ATTACH_BUCKET_POLICIES:
            changes += self._ensure_bucket_policy(arn, check=check)
        return changes or [Change(self.kind, self.name, "unchanged")]

    def _ensure_bucket_policy(self, arn: str, *, check: bool) -> list[Change]:
        s3 = aws_client("s3")
        desired = self.bucket_policy(self.bucket, arn)
        try:
            current = json.loads(s3.get_bucket_policy(Bucket=self.bucket)["Policy"])
        except ClientError:
            current = None
        if current == desired:
            return []
        if check:
            return [Change(self.kind, self.name, "drift", f"policy of {self.bucket}")]
        s3.put_bucket_policy(Bucket=self.bucket, Policy=json.dumps(desired))
        return [Change(self.kind, self.name, "changed", f"policy of {self.bucket}")]
