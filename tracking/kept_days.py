"""Cycle-tracker days kept by each process between a user's requests.

The cycle tracker reads the user's days (``CYCLE_DAY#<date>`` items) each time its pages open,
and the days change a few times a day at most. Each process keeps the spans of days it has read
(a bounded table of ``TRACKING_DAY_CACHE_SIZE`` spans, each kept as JSON of at most
``TRACKING_DAY_CACHE_MAX_BYTES``; 0 keeps none) and answers from a kept span only while:

- the user's ``tracking_days_version`` is the one loaded with the request that read the span.
  Every write that touches a cycle day (recorded, deleted, synced or delivered from the outbox:
  all go through :func:`tracking.writes.apply_ops`) raises that version once DynamoDB has
  answered, and every request loads the caller's account row afresh (authentication), so every
  process reads the days again on its next request after a write;
- the request delivered none of the caller's queued writes first (:func:`tracking.outbox.catch_up`),
  since those raise the version after the account row was loaded;
- the span is younger than ``TRACKING_DAY_CACHE_SECONDS``: the bound on what a process shows
  should another die between writing to DynamoDB and raising the version.

A span is read with ``ConsistentRead``, so one read after the version was raised holds the write.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from django.conf import settings
from django.db.models import F

from phb.lru import BoundedLRU
from tracking.dynamo import keys, store
from tracking.kinds import CYCLE_DAYS


@dataclass(frozen=True)
class _Span:
    version: int
    read_at: float  # time.monotonic()
    body: bytes  # the day payloads as JSON: compact, and no caller can change what is kept


# (user id, first date, last date) -> the span as read.
_kept: BoundedLRU[tuple[str, str, str], _Span] = BoundedLRU(size=lambda: settings.TRACKING_DAY_CACHE_SIZE)


def forget_kept_days() -> None:
    _kept.clear()


def cycle_days_between(*, user: Any, low: date, high: date, reuse: bool = True) -> list[dict[str, Any]]:
    """The payloads of ``user``'s cycle-tracker days from ``low`` to ``high``, in date order.

    ``reuse=False`` reads DynamoDB whatever is kept (the request delivered queued writes)."""
    version = getattr(user, "tracking_days_version", None)
    key = (str(user.pk), low.isoformat(), high.isoformat())
    if reuse and version is not None:
        span = _kept.get(key)
        if (span is not None and span.version == version
                and time.monotonic() - span.read_at < settings.TRACKING_DAY_CACHE_SECONDS):
            return orjson.loads(span.body)
    read_at = time.monotonic()
    items = store.query_all(store.tracking_table(), pk=keys.user_pk(user.pk),
                            between=(f"{keys.CYCLE_DAY}{key[1]}", f"{keys.CYCLE_DAY}{key[2]}"),
                            projection=list(CYCLE_DAYS.payload_attributes), consistent=True)
    days = [CYCLE_DAYS.payload(i) for i in items]
    if version is not None and _kept.enabled:
        body = orjson.dumps(days)
        if len(body) <= settings.TRACKING_DAY_CACHE_MAX_BYTES:
            _kept.put(key, _Span(version=version, read_at=read_at, body=body))
    return days


def cycle_days_written(*, user_id: object) -> None:
    """After a write touching the user's cycle days: every process reads them again (see above)."""
    from accounts.models import User

    User.objects.filter(pk=user_id).update(tracking_days_version=F("tracking_days_version") + 1)
