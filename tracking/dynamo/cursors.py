"""Opaque paging cursors.

A cursor is the last sort key of a page, signed (HMAC with SECRET_KEY through
``django.core.signing``) together with the caller's id and the list it belongs to. On the way
back the signature, the owner and the list are checked, the sort key must carry the list's
prefix, and the partition key is rebuilt from the caller (never taken from the cursor), so a
cursor can neither be forged nor move anyone into another partition.
"""

from __future__ import annotations

from django.core import signing

from phb.api.errors import ApiError

_SALT = "tracking.cursor.v1"


def cursor_encode(*, user_id: object, listing: str, sk: str) -> str:
    return signing.dumps({"u": str(user_id), "l": listing, "k": sk}, salt=_SALT, compress=True)


def cursor_decode(*, token: str, user_id: object, listing: str, prefix: str) -> str:
    try:
        data = signing.loads(token, salt=_SALT)
    except signing.BadSignature as exc:
        raise ApiError("Invalid cursor.", code="invalid_cursor") from exc
    if not isinstance(data, dict) or data.get("u") != str(user_id) or data.get("l") != listing:
        raise ApiError("Invalid cursor.", code="invalid_cursor")
    sk = data.get("k")
    if not isinstance(sk, str) or not sk.startswith(prefix):
        raise ApiError("Invalid cursor.", code="invalid_cursor")
    return sk
