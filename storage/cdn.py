"""CloudFront signed URLs for medical imaging (``CLOUDFRONT_ENABLED``).

A canned-policy URL on the imaging distribution, valid ``CLOUDFRONT_SIGNED_URL_TTL`` seconds,
signed with the private key kept in Secrets Manager. The key, its CloudFront public key id and
the distribution's domain are looked up once per process (and again after a failure); nothing
is asked of AWS at import time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any
from urllib.parse import quote, urlencode

from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.conf import settings
from django.utils import timezone

from phb.api.errors import ServiceUnavailable
from storage.aws_resources import imaging_distribution, imaging_signing_key


@dataclass(frozen=True)
class _Signer:
    domain: str
    key_pair_id: str
    private_pem: str

    @cached_property
    def _key(self) -> Any:
        return serialization.load_pem_private_key(self.private_pem.encode(), password=None)

    def rsa_sign(self, message: bytes) -> bytes:
        # CloudFront verifies canned-policy signatures as RSA-SHA1 (PKCS#1 v1.5).
        return self._key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303


_lock = threading.Lock()
_signer: _Signer | None = None


def _load_signer() -> _Signer:
    key = imaging_signing_key()
    private_pem = key.private_pem()
    key_pair_id = key.public_key_id() if private_pem else None
    domain = settings.CLOUDFRONT_IMAGING_DOMAIN or imaging_distribution().domain_name()
    if not (private_pem and key_pair_id and domain):
        raise ServiceUnavailable("Imaging downloads are not available right now.", code="cdn_unavailable")
    return _Signer(domain=domain, key_pair_id=key_pair_id, private_pem=private_pem)


def signer() -> _Signer:
    global _signer
    with _lock:
        if _signer is None:
            _signer = _load_signer()
        return _signer


def forget_signer() -> None:
    """Drop the cached key and domain (after a key rotation, or in tests)."""
    global _signer
    with _lock:
        _signer = None


def signed_url(*, key: str, version_id: str = "") -> tuple[str, int]:
    """A CloudFront signed GET of ``key`` (that version) and its lifetime in seconds."""
    current = signer()
    ttl = settings.CLOUDFRONT_SIGNED_URL_TTL
    url = f"https://{current.domain}/{quote(key)}"
    if version_id:
        url += "?" + urlencode({"versionId": version_id})
    expires = timezone.now() + timedelta(seconds=ttl)
    signed = CloudFrontSigner(current.key_pair_id, current.rsa_sign).generate_presigned_url(
        url, date_less_than=expires
    )
    return signed, ttl
