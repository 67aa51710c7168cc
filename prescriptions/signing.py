"""Signatures of issued prescriptions: ECDSA P-256 over SHA-256 by a KMS key.

The signed message is the payload as canonical JSON (sorted keys, no spaces, UTF-8). KMS is
asked to sign the RAW message (payloads are far below its 4 KB limit) and the signature is sent
base64-encoded. Verification needs only the public key, which is fetched from KMS once per
process and cached; anyone holding it can verify offline (``prescriptions.verification``).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

from phb.api.errors import ServiceUnavailable
from phb.aws.clients import aws_client

logger = logging.getLogger(__name__)

ALGORITHM = "ECDSA_SHA_256"
_lock = threading.Lock()
_public_keys: dict[str, tuple[str, ec.EllipticCurvePublicKey]] = {}


def canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(payload: dict[str, Any]) -> tuple[str, str]:
    """(base64 signature, key id). A network call: never inside a transaction."""
    answer = aws_client("kms").sign(KeyId=settings.PRESCRIPTION_SIGNING_KMS_ALIAS, Message=canonical(payload),
                                    MessageType="RAW", SigningAlgorithm=ALGORITHM)
    return base64.b64encode(answer["Signature"]).decode("ascii"), answer.get("KeyId", "")


def _public_key() -> tuple[str, ec.EllipticCurvePublicKey]:
    alias = settings.PRESCRIPTION_SIGNING_KMS_ALIAS
    with _lock:
        cached = _public_keys.get(alias)
    if cached is not None:
        return cached
    try:
        answer = aws_client("kms").get_public_key(KeyId=alias)
    except (BotoCoreError, ClientError) as exc:
        # Nothing is cached, so the next check asks again; the caller gets a 503 it can show.
        logger.warning("prescription signing key unavailable", extra={
            "event": "prescription_signing_key_unavailable", "error_type": type(exc).__name__})
        raise ServiceUnavailable("Prescriptions cannot be verified just now. Try again shortly.",
                                 code="signing_key_unavailable") from exc
    key = serialization.load_der_public_key(answer["PublicKey"])
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise RuntimeError("the prescription signing key is not an elliptic-curve key")
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with _lock:
        _public_keys[alias] = (pem, key)
    return pem, key


def public_key_pem() -> str:
    return _public_key()[0]


def forget_public_key() -> None:
    with _lock:
        _public_keys.clear()


def public_key() -> ec.EllipticCurvePublicKey:
    return _public_key()[1]
