"""The doctor dashboard's two lists (D1: the department's pending queue and the doctor's own
appointments), paged outward from today.

The pages that read D1 show today's and the coming appointments: the pending queue to accept, the
confirmed and in-progress consultations, the calendar and the "upcoming" tab. So each list is
walked from the start of today (the hospital's local day) forward, earliest first, and then from
the start of today backward, most recent first. A page holds the next ``limit`` rows of that walk
and lists them earliest first, so a list that fits one page is the whole list in ``start`` order.

Both directions are read through the indexes that hold the list in ``start`` order (the
department's pending appointments, the doctor's own appointments), at most ``limit`` + 1 rows each,
in one query: a page's cost does not grow with the doctor's history.

One cursor carries the position of both lists and the day the walk started from (pages continue
from the same day across midnight). A list that has no more rows answers ``[]`` on later pages.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.utils import timezone

from appointments import rows
from phb.api import pagination
from phb.zones import day_bounds, today_in

UPCOMING = pagination.DOCTOR_APPOINTMENTS
EARLIER = pagination.PageSpec(ordering=("-start", "-id"), default=UPCOMING.default, maximum=UPCOMING.maximum)
FORWARD, BACKWARD, DONE = "a", "b", "done"


@dataclass(frozen=True)
class Position:
    """The last row a page gave of one list: ``part`` is FORWARD (from today on) or BACKWARD."""

    part: str
    start: datetime
    id: uuid.UUID


@dataclass(frozen=True)
class QueueCursor:
    today: datetime
    pending: Position | None  # None: the list has no more rows
    mine: Position | None


@dataclass(frozen=True)
class QueuePage:
    pending: list[dict[str, Any]]
    mine: list[dict[str, Any]]
    next_cursor: str | None


def start_of_today(zone, now: datetime | None = None) -> datetime:
    """Midnight starting the hospital's local day."""
    return day_bounds(today_in(zone, now=now), zone)[0]


def _position_values(position: Position | None) -> list[Any]:
    if position is None:
        return [DONE, None, None]
    return [position.part, position.start, position.id]


def encode(cursor: QueueCursor) -> str:
    return pagination.encode_cursor([cursor.today, *_position_values(cursor.pending),
                                     *_position_values(cursor.mine)])


def _aware(value: Any) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None


def _position(part: Any, start: Any, key: Any) -> Position | None:
    if part == DONE and start is None and key is None:
        return None
    if part in (FORWARD, BACKWARD) and _aware(start) and isinstance(key, uuid.UUID):
        return Position(part=part, start=start, id=key)
    raise pagination.invalid_cursor()


def decode(text: str) -> QueueCursor:
    """The cursor of a previous D1 page; a 400 for anything else."""
    today, *values = pagination.decode_cursor(text, length=7)
    if not _aware(today):
        raise pagination.invalid_cursor()
    return QueueCursor(today=today, pending=_position(*values[:3]), mine=_position(*values[3:]))


def _read(queryset: QuerySet, *, today: datetime, after: Position | None, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` + 1 rows of each direction still to walk after ``after``, in one query where
    the database can order and limit each part of a union."""
    backward_after = [after.start, after.id] if after is not None and after.part == BACKWARD else None
    earlier = pagination.page_query(queryset.filter(start__lt=today), spec=EARLIER, limit=limit,
                                    columns=rows.DOCTOR_COLUMNS, after=backward_after)
    if after is not None and after.part == BACKWARD:
        return list(earlier)
    forward_after = [after.start, after.id] if after is not None else None
    upcoming = pagination.page_query(queryset.filter(start__gte=today), spec=UPCOMING, limit=limit,
                                     columns=rows.DOCTOR_COLUMNS, after=forward_after)
    if connections[queryset.db].features.supports_slicing_ordering_in_compound:
        return list(upcoming.union(earlier, all=True))
    return [*upcoming, *earlier]


def walk_page(queryset: QuerySet, *, today: datetime, after: Position | None, limit: int,
              overdue_at: datetime | None = None) -> tuple[list[dict[str, Any]], Position | None]:
    """The next ``limit`` rows of ``queryset`` walked from ``today`` forward then backward, after
    ``after`` (None: from the beginning), listed earliest first; and the position of the last one
    when more rows follow."""
    found = _read(queryset, today=today, after=after, limit=limit)
    forward = sorted((r for r in found if r["start"] >= today), key=lambda r: (r["start"], r["id"]))
    backward = sorted((r for r in found if r["start"] < today), key=lambda r: (r["start"], r["id"]), reverse=True)
    walked = [(FORWARD, r) for r in forward] + [(BACKWARD, r) for r in backward]
    taken = walked[:limit]
    position = None
    if len(walked) > limit:
        part, last = taken[-1]
        position = Position(part=part, start=last["start"], id=last["id"])
    page = sorted((r for _, r in taken), key=lambda r: (r["start"], r["id"]))
    if overdue_at is not None:
        return [rows.overdue_flags(rows.doctor_item(r), start=r["start"], now=overdue_at) for r in page], position
    return [rows.doctor_item(r) for r in page], position


def queue_page(*, pending: QuerySet | None, mine: QuerySet, cursor: str | None, zone, limit: int) -> QueuePage:
    """One page of both lists (``pending`` None: the doctor has no department queue)."""
    if cursor:
        state = decode(cursor)
        today, pending_after, mine_after, first = state.today, state.pending, state.mine, False
    else:
        today, pending_after, mine_after, first = start_of_today(zone), None, None, True
    pending_items: list[dict[str, Any]] = []
    pending_next = mine_next = None
    if pending is not None and (first or pending_after is not None):
        pending_items, pending_next = walk_page(pending, today=today, after=pending_after, limit=limit,
                                                overdue_at=timezone.now())
    mine_items: list[dict[str, Any]] = []
    if first or mine_after is not None:
        mine_items, mine_next = walk_page(mine, today=today, after=mine_after, limit=limit)
    next_cursor = None
    if pending_next is not None or mine_next is not None:
        next_cursor = encode(QueueCursor(today=today, pending=pending_next, mine=mine_next))
    return QueuePage(pending=pending_items, mine=mine_items, next_cursor=next_cursor)
