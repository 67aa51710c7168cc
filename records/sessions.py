"""Medical-access sessions in DynamoDB (``USER_SESSIONS_TABLE``).

A session is what ``X-Med-Access-Token`` (and the legacy ``X-Medical-Record-Token``) names:
an opaque 32-character token (about 190 random bits) given to the holder once. Only its
SHA-256 is stored, as the sort key under the holder's partition::

    userId = <holder uuid>   sessionId = "MED#<sha256 of token>"
    kind = "patient" | "clinician", subjectId = <patient uuid>, consentId, createdAt (epoch ms), expiresAt (epoch s)

Because the key includes the holder, a token presented by anyone else is simply not found.
TTL deletion lags (and the emulator never deletes), so ``expiresAt`` is checked on every read.

Each process keeps the sessions it has read (a bounded table, ``MED_ACCESS_SESSION_CACHE_SIZE``;
0 keeps none), so a record page's later requests skip the ``GetItem``. A kept session is used
only while its holder's ``record_sessions_version`` is the one read with the request that found
it in DynamoDB. Every early end of a session (the holder ending access, a patient revoking a
clinician's consent, pruning) deletes the items first and then raises that version, and every
request reads the holder's account row afresh (authentication), so every process stops using
the session on its next request. Expiry is checked against ``expiresAt`` either way.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import string
import time
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from django.conf import settings
from django.db.models import F

from phb.aws.clients import dynamodb_table
from phb.aws.dynamodb import query_pages
from phb.lru import BoundedLRU

logger = logging.getLogger("records.sessions")

SESSION_PREFIX = "MED#"
TOKEN_LENGTH = 32
_ALPHABET = string.ascii_letters + string.digits


class MedAccessError(Exception):
    """Why a medical-access token was refused: ``code`` is one of the contract's 403 codes."""

    REQUIRED = "MED_ACCESS_REQUIRED"
    EXPIRED = "MED_ACCESS_EXPIRED"
    INVALID = "INVALID_MED_ACCESS"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class MedSession:
    holder_id: str
    subject_id: str
    kind: str
    consent_id: str | None
    expires_at: int
    token_version: int | None = None  # the holder's sign-in sessions' version when it was opened

    @property
    def expires_in(self) -> int:
        return max(0, self.expires_at - int(time.time()))


# (holder id, token hash) -> the session as read, and the holder's record_sessions_version then.
_kept: BoundedLRU[tuple[str, str], tuple[MedSession, int]] = BoundedLRU(
    size=lambda: settings.MED_ACCESS_SESSION_CACHE_SIZE
)


def forget_kept_sessions() -> None:
    _kept.clear()


def _ended_early(holder_id: str) -> None:
    """After deleting sessions: every process drops the ones it keeps for this holder (see above)."""
    from accounts.models import User

    User.objects.filter(pk=holder_id).update(record_sessions_version=F("record_sessions_version") + 1)


def _table():
    return dynamodb_table(settings.USER_SESSIONS_TABLE)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(TOKEN_LENGTH))


def session_create(
    *, holder: Any, subject: Any, kind: str, ttl_seconds: int, consent_id: Any = None
) -> tuple[str, MedSession]:
    """Store a new session and return the token (shown once) with the session."""
    token = new_token()
    now = int(time.time())
    session = MedSession(
        holder_id=str(holder.pk),
        subject_id=str(getattr(subject, "pk", subject)),
        kind=kind,
        consent_id=str(consent_id) if consent_id else None,
        expires_at=now + int(ttl_seconds),
        token_version=getattr(holder, "token_version", None),
    )
    item: dict[str, Any] = {
        "userId": session.holder_id,
        "sessionId": SESSION_PREFIX + _hash(token),
        "kind": kind,
        "subjectId": session.subject_id,
        "createdAt": time.time_ns() // 1_000_000,
        "expiresAt": session.expires_at,
    }
    if session.consent_id:
        item["consentId"] = session.consent_id
    if session.token_version is not None:
        item["tokenVersion"] = session.token_version
    _table().put_item(Item=item, ConditionExpression="attribute_not_exists(sessionId)")
    logger.info("medical access session created", extra={"event": "med_session_created", "kind": kind})
    _prune(holder_id=session.holder_id, subject_id=session.subject_id, now=now)
    return token, session


def _prune(*, holder_id: str, subject_id: str, now: int) -> int:
    """Keep at most ``MED_ACCESS_MAX_SESSIONS`` live sessions per holder and record (the newest):
    every verification opens one, so without a cap a holder's partition only grows until TTL, and
    a leaked old token would stay usable beside the new ones. Expired items go too."""
    table = _table()
    query: dict[str, Any] = {
        "KeyConditionExpression": Key("userId").eq(holder_id) & Key("sessionId").begins_with(SESSION_PREFIX),
        "FilterExpression": Attr("subjectId").eq(subject_id),
        "ProjectionExpression": "sessionId, createdAt, expiresAt",
        "ConsistentRead": True,
    }
    items = [item for page in query_pages(table.query, **query) for item in page.get("Items", [])]
    live = sorted((i for i in items if int(i.get("expiresAt", 0)) > now),
                  key=lambda i: int(i.get("createdAt", 0)), reverse=True)
    stale = [i for i in items if int(i.get("expiresAt", 0)) <= now] + live[settings.MED_ACCESS_MAX_SESSIONS:]
    if stale:
        try:
            with table.batch_writer() as batch:
                for item in stale:
                    batch.delete_item(Key={"userId": holder_id, "sessionId": item["sessionId"]})
        finally:  # even after a partial failure: some may be gone
            _ended_early(holder_id)
        logger.info("medical access sessions pruned", extra={"event": "med_sessions_pruned", "count": len(stale)})
    return len(stale)


def looks_like_token(token: str) -> bool:
    return len(token) == TOKEN_LENGTH and all(c in _ALPHABET for c in token)


def session_check(*, holder: Any, token: str | None) -> MedSession:
    """The live session ``token`` names for ``holder``, or :class:`MedAccessError`."""
    if not token:
        raise MedAccessError(MedAccessError.REQUIRED, "Medical records require additional verification.")
    if not looks_like_token(token):
        raise MedAccessError(MedAccessError.INVALID, "Invalid medical records access token. Please verify again.")
    key = (str(holder.pk), _hash(token))
    # The version as loaded with ``holder`` (by the request's authentication), before DynamoDB is read.
    version = getattr(holder, "record_sessions_version", None)
    kept = _kept.get(key) if version is not None else None
    if kept is not None and kept[1] == version:
        return _live(kept[0], holder=holder)
    found = _table().get_item(
        Key={"userId": key[0], "sessionId": SESSION_PREFIX + key[1]}, ConsistentRead=True
    ).get("Item")
    if found is None:
        raise MedAccessError(MedAccessError.INVALID, "Invalid medical records access token. Please verify again.")
    session = MedSession(
        holder_id=str(found["userId"]),
        subject_id=str(found["subjectId"]),
        kind=str(found.get("kind", "")),
        consent_id=str(found["consentId"]) if found.get("consentId") else None,
        expires_at=int(found.get("expiresAt", 0)),
        token_version=int(found["tokenVersion"]) if found.get("tokenVersion") is not None else None,
    )
    if version is not None:
        _kept.put(key, (session, version))
    return _live(session, holder=holder)


def _live(session: MedSession, *, holder: Any) -> MedSession:
    """``session`` while it lasts and the holder's sign-in that opened it has not ended (a sign-out
    or password change raises her ``token_version``: the session ends with it, even where deleting
    it from the table failed)."""
    current = getattr(holder, "token_version", None)
    if session.token_version is not None and current is not None and session.token_version != current:
        raise MedAccessError(MedAccessError.INVALID, "Invalid medical records access token. Please verify again.")
    if session.expires_at <= int(time.time()):
        raise MedAccessError(MedAccessError.EXPIRED, "Your medical records access has expired. Please verify again.")
    return session


def sessions_revoke(*, holder: Any, consent_id: Any = None, kind: str | None = None) -> int:
    """Delete the holder's sessions (all, or only those of one consent / kind). Returns how many."""
    table = _table()
    query: dict[str, Any] = {
        "KeyConditionExpression": Key("userId").eq(str(getattr(holder, "pk", holder)))
        & Key("sessionId").begins_with(SESSION_PREFIX),
        "ProjectionExpression": "userId, sessionId",
        "ConsistentRead": True,
    }
    condition = None
    if consent_id is not None:
        condition = Attr("consentId").eq(str(consent_id))
    if kind is not None:
        kind_condition = Attr("kind").eq(kind)
        condition = kind_condition if condition is None else condition & kind_condition
    if condition is not None:
        query["FilterExpression"] = condition
    removed = 0
    deleting = False
    try:
        for page in query_pages(table.query, **query):
            items = page.get("Items", [])
            if items:
                deleting = True
                with table.batch_writer() as batch:
                    for item in items:
                        batch.delete_item(Key={"userId": item["userId"], "sessionId": item["sessionId"]})
                removed += len(items)
    finally:  # even after a partial failure: some may be gone
        if deleting:
            _ended_early(str(getattr(holder, "pk", holder)))
    if removed:
        logger.info("medical access sessions revoked", extra={"event": "med_sessions_revoked", "count": removed})
    return removed
