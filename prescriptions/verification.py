"""Checks a prescription signature with the public key alone (no KMS call per check)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from prescriptions.signing import canonical, public_key


def verify(payload: Any, signature: Any) -> bool:
    """Whether ``signature`` (base64) is this service's signature of ``payload``."""
    if not isinstance(payload, dict) or not isinstance(signature, str) or not signature:
        return False
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        public_key().verify(raw, canonical(payload), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
