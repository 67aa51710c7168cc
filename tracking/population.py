"""Reads across every user of the women's-health area: counts only, never a user, an id or a
health value. Both read DynamoDB indexes with keys-only or ``COUNT`` queries
(:func:`tracking.dynamo.store.query_responses`).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from hospitals.selectors import admin_hospital_of
from phb.api.errors import ApiError
from phb.zones import day_bounds, today_in
from tracking.dynamo import keys, store
from tracking.fields import local_zone
from tracking.kinds import CONTRACTIONS, CYCLE_DAYS, DAILY_LOGS, FERTILITY, KICK_SESSIONS
from tracking.selectors import page_limit, query_integer


def search_trending(*, fetched_by: User, days: Any = None, limit: Any = None) -> dict[str, Any]:
    """Most searched terms over the last ``days`` days, for hospital administrators.

    One ``Query`` per day on ``search-term-index`` (partition ``term_day``), keys only. A term is
    counted once per user (history keeps one item per user and term) and shown only when at least
    ``SEARCH_TRENDING_MIN_USERS`` users searched it, so no answer points at one person.
    """
    if admin_hospital_of(user=fetched_by) is None:
        raise ApiError("Only hospital administrators can see trending searches.", status_code=403,
                       code="permission_denied")
    window = query_integer(days, name="days", default=7)
    window = max(1, min(window, settings.SEARCH_TRENDING_MAX_DAYS))
    number = page_limit(limit, default=10)
    today = timezone.now().astimezone(UTC).date()
    counts: Counter[str] = Counter()
    table = store.search_table()
    for offset in range(window):
        day = (today - timedelta(days=offset)).isoformat()
        for response in store.query_responses(
            table, max_pages=50, IndexName=keys.SEARCH_TERM_INDEX, KeyConditionExpression="#d = :d",
            ExpressionAttributeNames={"#d": "term_day", "#t": "term_norm"}, ExpressionAttributeValues={":d": day},
            ProjectionExpression="#t",
        ):
            counts.update(item["term_norm"] for item in response.get("Items", []))
    minimum = settings.SEARCH_TRENDING_MIN_USERS
    ranked = sorted(((t, c) for t, c in counts.items() if c >= minimum), key=lambda tc: (-tc[1], tc[0]))
    since = datetime.combine(today - timedelta(days=window - 1), datetime.min.time(), tzinfo=UTC)
    return {
        "trending": [{"term": term, "searches": count} for term, count in ranked[:number]],
        "window_days": window,
        "since": since.isoformat(),
        "min_users": minimum,
    }


def activity_counts(*, days: int, now: datetime | None = None) -> dict[str, int]:
    """Entries per type of the last ``days`` days (today included), across all users.

    Days are the tracking area's own (``TRACKING_TIME_ZONE``), as everywhere else in it: a kick
    session or contraction counts from the local midnight that starts the first day up to now; a
    per-day entry (cycle day, daily log, fertility) counts by the date it is filed under (its
    ``ts`` is that date at 00:00 UTC, a label rather than an instant).

    A ``Query`` with ``Select=COUNT`` per type on ``data-type-time-index`` (keys only): population
    figures for operations, no user and no health value ever leaves DynamoDB.
    """
    moment = now or timezone.now()
    zone = local_zone()
    today = today_in(zone, now=moment)
    first = today - timedelta(days=days - 1)
    instants = (int(day_bounds(first, zone)[0].timestamp() * 1000), int(moment.timestamp() * 1000))
    table = store.tracking_table()
    counts = {}
    for kind in (KICK_SESSIONS, CONTRACTIONS, CYCLE_DAYS, DAILY_LOGS, FERTILITY):
        since, until = instants if kind.insert else (kind.ts_of(first.isoformat()), kind.ts_of(today.isoformat()))
        counts[kind.name] = sum(int(response.get("Count", 0)) for response in store.query_responses(
            table, max_pages=1000, respect_breaker=False, IndexName=keys.DATA_TYPE_INDEX,
            KeyConditionExpression="#t = :t AND #ts BETWEEN :a AND :b",
            ExpressionAttributeNames={"#t": "data_type", "#ts": "ts"},
            ExpressionAttributeValues={":t": kind.data_type, ":a": since, ":b": until}, Select="COUNT",
        ))
    return counts
