"""KMS envelope encryption for clinical free text.

Each ciphertext carries its own data key, wrapped by the medical-records KMS key:

    "kms1:" + base64url( len(wrapped key) as 2 bytes | wrapped key | 12-byte nonce | AES-256-GCM ciphertext+tag )

The plaintext data key never leaves process memory. One data key from ``GenerateDataKey``
encrypts for at most ``RECORDS_DATA_KEY_CACHE_SECONDS`` (and a bounded number of messages);
keys unwrapped with ``Decrypt`` are cached for the same time in a small LRU, so reading a record
with hundreds of entries costs one KMS call, not hundreds. The associated data binds each
ciphertext to its row and column, so a value copied into another row fails to decrypt. The KMS
encryption context names the purpose; KMS refuses to unwrap a key under any other context.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from phb.aws.clients import aws_client

PREFIX = "kms1:"
_URLSAFE = bytes.maketrans(b"-_", b"+/")
_ENCRYPTION_CONTEXT = {"application": "phb", "purpose": "medical-records"}
_AAD_PREFIX = b"phb-records|v1|"
_MAX_MESSAGES_PER_KEY = 100_000
_MAX_CACHED_KEYS = 512


class DecryptionError(Exception):
    """A ciphertext could not be decrypted (wrong row, tampered, or its key is unavailable)."""


class KeyServiceUnavailable(DecryptionError):
    """KMS did not answer (unreachable, throttled, failing): the ciphertext may well be intact."""


# KMS's own answers that say "not now" rather than "not this ciphertext".
_KMS_NOT_NOW = frozenset({"DependencyTimeoutException", "KMSInternalException", "ThrottlingException",
                          "KeyUnavailableException", "ServiceUnavailableException", "InternalFailure"})


def _kms_not_now(exc: Exception) -> bool:
    if isinstance(exc, BotoCoreError):
        return True
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code", "") in _KMS_NOT_NOW


class EncryptionUnavailable(Exception):
    """KMS did not give a data key: nothing can be encrypted until it answers again."""


@dataclass
class _DataKey:
    plaintext: bytes
    wrapped: bytes
    created: float
    uses: int = 0


_lock = threading.Lock()
_current: tuple[int, _DataKey] | None = None  # (pid, key): a key never crosses a fork
# Wrapped key -> (its cipher, when it was unwrapped): a record's entries mostly share a few keys,
# so each is unwrapped, and its cipher set up, once and not once per entry.
_unwrapped: OrderedDict[bytes, tuple[AESGCM, float]] = OrderedDict()


def _ttl() -> float:
    return float(settings.RECORDS_DATA_KEY_CACHE_SECONDS)


def _encryption_key() -> _DataKey:
    global _current
    now = time.monotonic()
    with _lock:
        if _current is not None:
            pid, key = _current
            if pid == os.getpid() and now - key.created < _ttl() and key.uses < _MAX_MESSAGES_PER_KEY:
                key.uses += 1
                return key
    try:
        reply = aws_client("kms").generate_data_key(
            KeyId=settings.MEDICAL_RECORDS_KMS_ALIAS, KeySpec="AES_256", EncryptionContext=_ENCRYPTION_CONTEXT
        )
    except Exception as exc:  # botocore ClientError and transport errors alike
        raise EncryptionUnavailable("No data key could be generated.") from exc
    key = _DataKey(plaintext=reply["Plaintext"], wrapped=reply["CiphertextBlob"], created=now, uses=1)
    with _lock:
        _current = (os.getpid(), key)
        _remember(key.wrapped, key.plaintext, now)
    return key


def _remember(wrapped: bytes, plaintext: bytes, now: float) -> AESGCM:
    cipher = AESGCM(plaintext)
    _unwrapped[wrapped] = (cipher, now)
    _unwrapped.move_to_end(wrapped)
    while len(_unwrapped) > _MAX_CACHED_KEYS:
        _unwrapped.popitem(last=False)
    return cipher


def _unwrap(wrapped: bytes) -> AESGCM:
    """The cipher of the data key ``wrapped``: from memory, or unwrapped by KMS."""
    now = time.monotonic()
    with _lock:
        found = _unwrapped.get(wrapped)
        if found is not None and now - found[1] < _ttl():
            _unwrapped.move_to_end(wrapped)
            return found[0]
    try:
        plaintext = aws_client("kms").decrypt(CiphertextBlob=wrapped, EncryptionContext=_ENCRYPTION_CONTEXT)[
            "Plaintext"
        ]
    except Exception as exc:  # botocore ClientError and transport errors alike
        if _kms_not_now(exc):
            raise KeyServiceUnavailable("KMS did not answer.") from exc
        raise DecryptionError("The data key could not be unwrapped.") from exc
    with _lock:
        return _remember(wrapped, plaintext, now)


def _aad(context: str) -> bytes:
    return _AAD_PREFIX + context.encode()


def encrypt_text(plaintext: str, *, context: str) -> str:
    """Encrypt ``plaintext``; ``context`` (e.g. model, column and row id) must be given again to decrypt."""
    key = _encryption_key()
    nonce = os.urandom(12)
    sealed = AESGCM(key.plaintext).encrypt(nonce, plaintext.encode("utf-8"), _aad(context))
    blob = len(key.wrapped).to_bytes(2, "big") + key.wrapped + nonce + sealed
    return PREFIX + base64.urlsafe_b64encode(blob).decode("ascii")


def _opened(token: str) -> tuple[bytes, bytes, bytes]:
    """(wrapped data key, nonce, sealed text) of a ciphertext."""
    if not token.startswith(PREFIX):
        raise DecryptionError("Unknown ciphertext format.")
    try:
        blob = binascii.a2b_base64(token[len(PREFIX):].encode("ascii").translate(_URLSAFE))  # urlsafe_b64decode
        size = int.from_bytes(blob[:2], "big")
        wrapped, nonce, sealed = blob[2 : 2 + size], blob[2 + size : 14 + size], blob[14 + size :]
    except (ValueError, IndexError) as exc:
        raise DecryptionError("Malformed ciphertext.") from exc
    if len(wrapped) != size or len(nonce) != 12 or len(sealed) < 16:
        raise DecryptionError("Malformed ciphertext.")
    return wrapped, nonce, sealed


def _decrypted(cipher: AESGCM, nonce: bytes, sealed: bytes, context: str) -> str:
    try:
        return cipher.decrypt(nonce, sealed, _aad(context)).decode("utf-8")
    except InvalidTag as exc:
        raise DecryptionError("Ciphertext does not match its row or was altered.") from exc


def decrypt_text(token: str, *, context: str) -> str:
    wrapped, nonce, sealed = _opened(token)
    return _decrypted(_unwrap(wrapped), nonce, sealed, context)


def decrypt_many(items: list[tuple[str, str]], *, complete: bool = False) -> list[str | None]:
    """Each ``(token, context)`` decrypted, in order, as :func:`decrypt_text` would; ``None`` where
    it would raise :class:`DecryptionError`. Each distinct data key is looked up (or unwrapped by
    KMS) once for the whole list: a record's entries mostly share one. With ``complete``, KMS not
    answering raises :class:`KeyServiceUnavailable` instead (a copy must not drop what a retry reads).

    A record page decrypts hundreds of notes per request, so the common case (a well-formed
    ciphertext whose key is already open) is one pass with no call per item beyond the decoding
    and the cipher; anything else goes through :func:`_opened` and :func:`_decrypted`, which say why."""
    ciphers: dict[bytes, AESGCM | None] = {}
    out: list[str | None] = []
    append = out.append
    a2b, urlsafe, skip = binascii.a2b_base64, _URLSAFE, len(PREFIX)
    for token, context in items:
        try:
            try:
                blob = a2b(token[skip:].encode("ascii").translate(urlsafe)) if token.startswith(PREFIX) else b""
            except (ValueError, UnicodeError):
                blob = b""
            size = int.from_bytes(blob[:2], "big")
            end = 14 + size
            if len(blob) < end + 16 or size == 0:  # not the common case: let _opened say what is wrong
                wrapped, nonce, sealed = _opened(token)
            else:
                wrapped, nonce, sealed = blob[2:2 + size], blob[2 + size:end], blob[end:]
            if wrapped not in ciphers:
                try:
                    ciphers[wrapped] = _unwrap(wrapped)
                except KeyServiceUnavailable:
                    if complete:
                        raise
                    ciphers[wrapped] = None
                except DecryptionError:
                    ciphers[wrapped] = None
            cipher = ciphers[wrapped]
            if cipher is None:
                append(None)
                continue
            try:
                append(cipher.decrypt(nonce, sealed, _AAD_PREFIX + context.encode()).decode("utf-8"))
            except InvalidTag:
                append(None)
        except KeyServiceUnavailable:
            if complete:
                raise
            append(None)
        except DecryptionError:
            append(None)
    return out


def clear_key_cache() -> None:
    """Forget every data key held in memory (tests; after a key compromise drill)."""
    global _current
    with _lock:
        _current = None
        _unwrapped.clear()
