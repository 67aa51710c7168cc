"""CloudFront in front of the static assets and medical imaging buckets, against the emulator.

moto 5.2 stores distributions, origin access controls, public keys and key groups and answers
them back, so what provisioning declares and how it converges is tested here; it does not serve
content through a distribution, so a signed URL is checked by verifying its signature with the
public key CloudFront holds, not by fetching it.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.conf import settings
from django.test import override_settings

from phb.aws.clients import aws_client
from phb.aws.cloudfront import public_pem
from storage import aws_resources, cdn
from storage.models import ImagingStudy
from tests.helpers import client_for
from tests.storage.conftest import assert_sigv4_300, grant_access
from tests.storage.files import make_dicom, sha256_hex

STUDIES = "/api/imaging/studies/"


def _actions(changes) -> set[str]:
    return {c.action for c in changes}


def _distribution_config(name: str) -> dict:
    cf = aws_client("cloudfront")
    found = next(d for d in cf.list_distributions()["DistributionList"]["Items"] if d["Comment"] == name)
    return found | {"config": cf.get_distribution_config(Id=found["Id"])["DistributionConfig"]}


@pytest.fixture(scope="module")
def cloudfront():
    """Both distributions provisioned once for this module (the emulator keeps them)."""
    with override_settings(CLOUDFRONT_ENABLED=True):
        declared = aws_resources.resources()
        assert [r.kind for r in declared if r.kind.startswith("cloudfront")] == [
            "cloudfront-oac", "cloudfront-signing-key", "cloudfront-distribution", "cloudfront-distribution"]
    for resource in aws_resources.cloudfront_resources():
        resource.ensure(check=False)
    yield
    cdn.forget_signer()


def test_provisioned_without_cloudfront_by_default():
    assert settings.CLOUDFRONT_ENABLED is False
    assert not [r for r in aws_resources.resources() if r.kind.startswith("cloudfront")]


def test_origin_access_control_signs_every_origin_request(cloudfront):
    oac = aws_resources.origin_access_control().current()
    assert oac["SigningProtocol"] == "sigv4" and oac["SigningBehavior"] == "always"
    assert oac["OriginAccessControlOriginType"] == "s3"


def test_static_assets_bucket_is_private_behind_its_distribution(cloudfront):
    s3 = aws_client("s3")
    bucket = settings.STATIC_ASSETS_BUCKET
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    with pytest.raises(ClientError):  # no public-read policy any more, no website hosting
        s3.get_bucket_website(Bucket=bucket)

    static = _distribution_config(aws_resources.static_assets_distribution().name)
    (origin,) = static["config"]["Origins"]["Items"]
    assert origin["DomainName"] == f"{bucket}.s3.{settings.AWS_REGION}.amazonaws.com"
    # moto 5.2 does not echo an origin's OriginAccessControlId; what is sent is checked instead.
    oac_id = aws_resources.origin_access_control().oac_id()
    assert origin.get("OriginAccessControlId", oac_id) == oac_id
    sent = aws_resources.static_assets_distribution()._config(caller_reference="x", oac_id=oac_id, key_group_id=None)
    assert sent["Origins"]["Items"][0]["OriginAccessControlId"] == oac_id
    assert static["config"]["DefaultRootObject"] == "index.html"
    pages = static["config"]["CustomErrorResponses"]["Items"]
    assert {(int(p["ErrorCode"]), p["ResponsePagePath"], str(p["ResponseCode"])) for p in pages} == {
        (403, "/index.html", "200"), (404, "/index.html", "200")}
    behavior = static["config"]["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["TrustedKeyGroups"]["Enabled"] is False


def test_bucket_policy_grants_reads_to_that_distribution_only(cloudfront):
    """Attached where bucket policies are (real AWS); the emulator mis-applies conditions."""
    distribution = aws_resources.static_assets_distribution()
    s3 = aws_client("s3")
    with override_settings(AWS_ATTACH_BUCKET_POLICIES=True):
        try:
            assert any(c.detail == f"policy of {distribution.bucket}" for c in distribution.ensure(check=False))
            (statement,) = json.loads(s3.get_bucket_policy(Bucket=distribution.bucket)["Policy"])["Statement"]
            assert distribution.ensure(check=True) == distribution.ensure(check=False)
        finally:
            s3.delete_bucket_policy(Bucket=distribution.bucket)
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == "s3:GetObject"
    assert statement["Resource"] == f"arn:aws:s3:::{distribution.bucket}/*"
    assert statement["Condition"] == {"StringEquals": {"AWS:SourceArn": distribution.current()["ARN"]}}


def test_imaging_distribution_serves_only_signed_urls(cloudfront):
    imaging = _distribution_config(aws_resources.imaging_distribution().name)
    (origin,) = imaging["config"]["Origins"]["Items"]
    assert origin["DomainName"].startswith(f"{settings.MEDICAL_IMAGING_BUCKET}.s3.")
    assert origin.get("OriginAccessControlId", "unechoed") in ("unechoed", aws_resources.origin_access_control().oac_id())
    behavior = imaging["config"]["DefaultCacheBehavior"]
    key_group_id = aws_resources.imaging_signing_key().key_group_id()
    assert behavior["TrustedKeyGroups"] == {"Enabled": True, "Quantity": 1, "Items": [key_group_id]}
    assert behavior["ViewerProtocolPolicy"] == "https-only"
    assert behavior["ForwardedValues"]["QueryStringCacheKeys"]["Items"] == ["versionId"]


def test_signing_key_lives_in_secrets_manager_and_its_public_half_in_cloudfront(cloudfront):
    key = aws_resources.imaging_signing_key()
    private_pem = key.private_pem()
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    cf = aws_client("cloudfront")
    public = cf.get_public_key(Id=key.public_key_id())["PublicKey"]["PublicKeyConfig"]
    assert public["EncodedKey"].strip() == public_pem(private_pem).strip()
    group = cf.get_key_group(Id=key.key_group_id())["KeyGroup"]["KeyGroupConfig"]
    assert group["Items"] == [key.public_key_id()]


def test_provisioning_converges_and_reports_drift(cloudfront):
    resources = aws_resources.cloudfront_resources()
    assert all(_actions(r.ensure(check=True)) == {"unchanged"} for r in resources)
    assert all(_actions(r.ensure(check=False)) == {"unchanged"} for r in resources)

    imaging = aws_resources.imaging_distribution()
    cf = aws_client("cloudfront")
    found = imaging.current()
    answer = cf.get_distribution_config(Id=found["Id"])
    opened = answer["DistributionConfig"]
    opened["DefaultCacheBehavior"]["TrustedKeyGroups"] = {"Enabled": False, "Quantity": 0}
    cf.update_distribution(Id=found["Id"], IfMatch=answer["ETag"], DistributionConfig=opened)
    assert [(c.action, c.detail) for c in imaging.ensure(check=True)] == [("drift", "origin or signing")]
    assert _actions(imaging.ensure(check=False)) == {"changed"}
    assert _actions(imaging.ensure(check=True)) == {"unchanged"}


def _available_study(doctor, patient):
    grant_access(clinician=doctor, patient=patient)
    content, _ = make_dicom(modality="MR", study_date="20250301")
    started = client_for(doctor).post(STUDIES, {"patient_id": str(patient.pk), "size": len(content),
                                               "sha256": sha256_hex(content)}, format="json")
    assert started.status_code == 201, started.json()
    upload = started.json()["upload"]
    posted = httpx.post(upload["url"], data=upload["fields"],
                        files={"file": ("study.dcm", content, "application/dicom")})
    assert posted.status_code in (200, 201, 204)
    done = client_for(doctor).post(f"{STUDIES}{started.json()['id']}/complete/")
    assert done.status_code == 200, done.json()
    return ImagingStudy.objects.get(pk=started.json()["id"])


@pytest.mark.django_db
def test_imaging_download_is_a_cloudfront_signed_url_when_enabled(cloudfront, doctor, patient):
    study = _available_study(doctor, patient)
    cdn.forget_signer()
    with override_settings(CLOUDFRONT_ENABLED=True):
        answer = client_for(patient).get(f"{STUDIES}{study.pk}/download/")
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["via"] == "cloudfront" and body["expires_in"] == settings.CLOUDFRONT_SIGNED_URL_TTL == 300
    url = urlparse(body["url"])
    domain = aws_resources.imaging_distribution().domain_name()
    assert url.scheme == "https" and url.hostname == domain and url.path == f"/{study.key}"
    query = parse_qs(url.query)
    assert query["versionId"] == [study.version_id]
    assert query["Key-Pair-Id"] == [aws_resources.imaging_signing_key().public_key_id()]
    expires = int(query["Expires"][0])
    assert 295 <= expires - datetime.now(UTC).timestamp() <= 300

    # The canned policy CloudFront rebuilds, verified with the public key CloudFront holds.
    unsigned = f"https://{domain}{url.path}?versionId={study.version_id}"
    policy = json.dumps({"Statement": [{"Resource": unsigned, "Condition": {
        "DateLessThan": {"AWS:EpochTime": expires}}}]}, separators=(",", ":")).encode()
    signature = base64.b64decode(
        query["Signature"][0].replace("-", "+").replace("_", "=").replace("~", "/"))
    encoded = aws_client("cloudfront").get_public_key(Id=query["Key-Pair-Id"][0])["PublicKey"]["PublicKeyConfig"]
    public_key = serialization.load_pem_public_key(encoded["EncodedKey"].encode())
    public_key.verify(signature, policy, padding.PKCS1v15(), hashes.SHA1())  # raises when it does not match


@pytest.mark.django_db
def test_imaging_download_is_an_s3_presigned_url_otherwise(doctor, patient):
    study = _available_study(doctor, patient)
    answer = client_for(patient).get(f"{STUDIES}{study.pk}/download/")
    assert answer.status_code == 200 and answer.json()["via"] == "s3"
    query = assert_sigv4_300(answer.json()["url"])
    assert query["versionId"] == [study.version_id]
    assert httpx.get(answer.json()["url"]).status_code == 200


@pytest.mark.django_db
def test_missing_signing_key_is_a_503_not_an_s3_url(doctor, patient):
    study = _available_study(doctor, patient)
    cdn.forget_signer()
    with override_settings(CLOUDFRONT_ENABLED=True, CLOUDFRONT_SIGNING_KEY_SECRET="phb/test/no-such-key",
                           CLOUDFRONT_IMAGING_DOMAIN="d111111abcdef8.cloudfront.net"):
        answer = client_for(patient).get(f"{STUDIES}{study.pk}/download/")
    cdn.forget_signer()
    assert answer.status_code == 503 and answer.json()["code"] == "cdn_unavailable"


def test_instance_policy_reads_the_signing_key_and_nothing_writes(cloudfront):
    from phb.aws.iam import PolicyInputs, instance_policy

    with override_settings(CLOUDFRONT_ENABLED=True):
        policy = instance_policy(PolicyInputs.from_settings(account_id="123456789012"))
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    secret = by_sid["CloudFrontSigningKey"]
    assert secret["Action"] == ["secretsmanager:GetSecretValue"]
    assert secret["Resource"].endswith(f":secret:{settings.CLOUDFRONT_SIGNING_KEY_SECRET}-??????")
    granted = {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert not {a for a in granted if a.startswith("cloudfront:") and not a.split(":")[1].startswith(("Get", "List"))}
