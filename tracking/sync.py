"""Offline sync (``POST /api/womens-health/sync/``): up to ``TRACKING_SYNC_MAX_ITEMS`` entries
written in order, each answered on its own.

An entry kept per date or week (cycle day, daily log, fertility entry, weekly pregnancy entry)
carries ``base_version``: the ``version`` of that entry when the client read it, 0 when it had
none. It is written only if the entry is still at that version (a conditional write in
DynamoDB); otherwise it is answered ``conflict`` with the entry as it stands now, and the rest of
the batch is applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache, partial
from typing import Any

from accounts.models import User
from phb.api import serializers
from phb.api.errors import ApiError
from tracking import outbox, selectors
from tracking.fields import now_ms
from tracking.kinds import KINDS, PREGNANCY_WEEKS, SEARCHES, VERSIONED
from tracking.services import client_id_clean
from tracking.writes import (
    CONFLICT,
    CREATED,
    DUPLICATE,
    FAILED,
    INVALID,
    QUEUED,
    OpResult,
    WriteOp,
    make_op,
    version_of,
)

logger = logging.getLogger("tracking.sync")

SYNC_STATUSES = (CREATED, DUPLICATE, CONFLICT, INVALID, QUEUED, FAILED)
# No entry reaches it (versions are milliseconds since 1970 at most a little ahead: 2^53 ms is
# the year 287,396), and a queued item keeps its base_version in a 64-bit column; it is also the
# largest whole number a browser holds exactly.
MAX_BASE_VERSION = 2**53 - 1


def _base_version(raw: dict[str, Any]) -> int:
    value = raw.get("base_version")
    if value is None:
        raise serializers.ValidationError({"base_version": [
            "base_version is required: the version of the entry when you read it (0 if there was none)."]})
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BASE_VERSION:
        raise serializers.ValidationError({"base_version": ["Use the entry's version: a whole number, 0 or more."]})
    return value


def _op_of(*, user: User, raw: Any, current_week: Callable[[], int | None]) -> WriteOp:
    """The write one sync item asks for; ``ValidationError`` or ``ApiError`` when it is not one.
    ``current_week``: the pregnancy week a weekly entry without one is filed under."""
    if not isinstance(raw, dict):
        raise serializers.ValidationError("Each item is an object with client_id, type and data.")
    client_id = client_id_clean(raw.get("client_id"))
    if client_id is None:
        raise serializers.ValidationError({"client_id": ["client_id is required."]})
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in KINDS:
        raise serializers.ValidationError({"type": [f"Use one of: {', '.join(KINDS)}."]})
    base_version = _base_version(raw) if kind in VERSIONED else None
    body = raw.get("data")
    if kind == PREGNANCY_WEEKS.name:
        body = selectors.weekly_entry_body(fetched_by=user, body=body, current_week=current_week)
    data = KINDS[kind].validate(body)
    if kind == SEARCHES.name and not data["term"]:
        raise serializers.ValidationError({"term": ["A blank search term is not recorded."]})
    if kind == SEARCHES.name:
        data.setdefault("timestamp", now_ms())
    return make_op(kind=kind, data=data, user_id=user.pk, client_id=client_id, base_version=base_version)


def _answer(op: WriteOp, result: OpResult) -> dict[str, Any]:
    out = result.public()
    if op.kind in VERSIONED and result.status in (CREATED, DUPLICATE, CONFLICT) and (
            result.item is not None or result.status == CONFLICT):
        out["version"] = version_of(result.item)  # the base_version of the client's next change
    if result.status == CONFLICT:
        out["current"] = KINDS[op.kind].payload(result.item) if result.item is not None else None
    return out


def sync_apply(*, user: User, items: Any, max_items: int) -> list[dict[str, Any]]:
    """Apply up to ``max_items`` offline entries; one result per item, in order."""
    if not isinstance(items, list):
        raise ApiError("items must be a list.", code="invalid", items=["Expected a list."])
    if len(items) > max_items:
        raise ApiError(f"At most {max_items} items per sync.", code="too_many_items", max_items=max_items)
    slots: list[dict[str, Any] | None] = []
    ops: list[WriteOp] = []
    # The profile is read once per batch, and only when an item needs the current week.
    current_week = cache(partial(selectors.current_pregnancy_week, fetched_by=user))
    for raw in items:
        try:
            ops.append(_op_of(user=user, raw=raw, current_week=current_week))
        except (serializers.ValidationError, ApiError) as exc:
            client_id = raw.get("client_id") if isinstance(raw, dict) else None
            slots.append(OpResult(str(client_id or "")[:64], INVALID, message=_message(exc.detail)).public())
            continue
        slots.append(None)
    delivered = iter(zip(ops, outbox.deliver(user_id=user.pk, ops=ops), strict=True) if ops else [])
    results = [slot if slot is not None else _answer(*next(delivered)) for slot in slots]
    counts = {status: sum(1 for r in results if r["status"] == status) for status in SYNC_STATUSES}
    logger.info("tracking sync", extra={"event": "tracking_sync", **{f"items_{k}": v for k, v in counts.items()}})
    return results


def _message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            text = _message(value)
            if text:
                return text if key in ("non_field_errors",) else f"{key}: {text}"
        return "Invalid item."
    if isinstance(detail, list):
        return _message(detail[0]) if detail else "Invalid item."
    return str(detail)
