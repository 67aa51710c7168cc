"""Writes that DynamoDB could not take now: kept in PostgreSQL, delivered later in order, once.

- :func:`deliver` is the one entry point for tracking writes. If the user still has queued
  writes it first tries to deliver those (so nothing overtakes them); if that fails the new
  writes queue behind them. Otherwise it writes to DynamoDB and queues whatever could not be
  written (``TrackingWriteQueued`` metric, answered 202 ``queued: true``).
- :func:`drain` delivers queued rows per user in ``id`` order. One drainer per user at a time,
  and no transaction or lock is held while DynamoDB answers: a short transaction locks the
  user's oldest pending row (``FOR UPDATE SKIP LOCKED``), claims a batch (``claim_token`` and a
  lease, ``claimed_until``) and commits; the rows are delivered; a second short transaction
  records the outcome for the rows still under that claim. Another drainer finding a live
  claim on the user's rows leaves the user alone. A drainer that dies mid-delivery leaves a
  claim that lapses after ``TRACKING_OUTBOX_CLAIM_SECONDS`` (longer than any delivery can wait
  on DynamoDB). Delivery stops at a user's first row that cannot be delivered now.
- Exactly once: a row keeps the ``client_id`` and entity id fixed before its first attempt,
  so it always writes the same DynamoDB item (see ``tracking.writes``). A row is marked
  delivered after DynamoDB accepted (or already had) the write; a crash in between leaves the
  row pending under a lapsing claim, and the next delivery finds the item already there and
  reports ``duplicate``.
- Automatic retries: ``python manage.py drain_outbox`` (run by a systemd timer), a drain of the
  caller's own rows before each tracking request, and a small background drain after successful
  tracking requests (at most once per ``TRACKING_OUTBOX_BACKGROUND_SECONDS`` per process).
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from phb import metrics
from tracking.dynamo import store
from tracking.models import OutboxState, TrackingOutbox
from tracking.writes import (
    CONFLICT,
    CREATED,
    DUPLICATE,
    FAILED,
    FAILED_MESSAGE,
    QUEUED,
    UNAVAILABLE,
    OpResult,
    WriteOp,
    apply_ops,
)

logger = logging.getLogger("tracking.outbox")


@dataclass
class DrainReport:
    delivered: int = 0
    duplicates: int = 0
    failed: int = 0
    conflicts: int = 0
    users: int = 0
    remaining: int = 0
    blocked_users: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"delivered": self.delivered, "duplicates": self.duplicates, "failed": self.failed,
                "conflicts": self.conflicts, "users": self.users, "remaining": self.remaining}


def has_pending(*, user_id: object) -> bool:
    return TrackingOutbox.objects.filter(state=OutboxState.PENDING, user_id=user_id).exists()


def pending_count() -> int:
    return TrackingOutbox.objects.filter(state=OutboxState.PENDING).count()


def enqueue(*, user_id: object, ops: list[WriteOp]) -> list[OpResult]:
    """Keep ``ops`` durably, in order. A ``client_id`` already delivered or still pending is not
    added again; one whose row DynamoDB refused (``failed``) is a resend of a write that never
    happened, so its row is replaced by a new one at the back of the queue."""
    if not ops:
        return []
    known = dict(
        TrackingOutbox.objects.filter(user_id=user_id, client_id__in=[op.client_id for op in ops])
        .values_list("client_id", "state")
    )
    rows = []
    results = []
    added: set[str] = set()
    batch = uuid.uuid4().hex  # this request's writes: a synced edit among them is checked as one of them
    for op in ops:
        state = known.get(op.client_id)
        if state == OutboxState.DELIVERED:
            results.append(OpResult(op.client_id, DUPLICATE, id=op.entity_id or None))
            continue
        results.append(OpResult(op.client_id, QUEUED, id=op.entity_id or None))
        if state in (None, OutboxState.FAILED) and op.client_id not in added:
            added.add(op.client_id)
            rows.append(TrackingOutbox(user_id=user_id, client_id=op.client_id, kind=op.kind,
                                       entity_id=op.entity_id, payload=op.data, base_version=op.base_version,
                                       batch=batch))
    retried = [row.client_id for row in rows if known.get(row.client_id) == OutboxState.FAILED]
    with transaction.atomic():
        if retried:
            TrackingOutbox.objects.filter(user_id=user_id, client_id__in=retried, state=OutboxState.FAILED).delete()
        TrackingOutbox.objects.bulk_create(rows, ignore_conflicts=True)
    if rows:
        metrics.record("TrackingWriteQueued", len(rows), area="Tracking")
        logger.warning("tracking writes queued", extra={"event": "tracking_write_queued", "count": len(rows)})
    return results


def _op_of(row: TrackingOutbox) -> WriteOp:
    return WriteOp(kind=row.kind, client_id=row.client_id, data=row.payload, entity_id=row.entity_id,
                   base_version=row.base_version, batch=row.batch or f"row-{row.pk}")


def _apply_isolating(*, user_id: object, ops: list[WriteOp], respect_breaker: bool,
                     refusals: type[BaseException] | tuple[type[BaseException], ...] = Exception) -> list[OpResult]:
    """``apply_ops``; when DynamoDB refuses the batch outright, the ops one by one, so that only the
    refused one comes back ``failed`` (nothing of it was written) and the others go through. After
    one that cannot go now, the rest are ``unavailable`` too (the order is kept)."""
    try:
        return apply_ops(user_id=user_id, ops=ops, respect_breaker=respect_breaker)
    except refusals as exc:
        logger.error("tracking batch refused; writing one by one",
                     extra={"event": "tracking_outbox_refused", **_refusal_fields(exc)})
    results = []
    for op in ops:
        try:
            result = apply_ops(user_id=user_id, ops=[op], respect_breaker=respect_breaker)[0]
        except refusals:
            result = OpResult(op.client_id, FAILED, id=op.entity_id or None, message=FAILED_MESSAGE)
        results.append(result)
        if result.status == UNAVAILABLE:
            break
    return results + [OpResult(op.client_id, UNAVAILABLE, id=op.entity_id or None) for op in ops[len(results):]]


def _refusal_fields(exc: BaseException) -> dict[str, str]:
    """What a log line may say of a refusal: its type, DynamoDB's error code and where it was
    raised. Never its message or traceback text: DynamoDB's messages may quote the item's values."""
    frames = traceback.extract_tb(exc.__traceback__)
    fields = {"error_type": type(exc).__name__,
              "error_where": f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""}
    if isinstance(exc, ClientError):
        fields["error_code"] = str(exc.response.get("Error", {}).get("Code", ""))
    return fields


def _deliver_rows(*, user_id: object, rows: list[TrackingOutbox], respect_breaker: bool) -> list[OpResult]:
    return _apply_isolating(user_id=user_id, ops=[_op_of(r) for r in rows], respect_breaker=respect_breaker)


def _claim(*, user_id: object, limit: int, report: DrainReport) -> tuple[str, list[TrackingOutbox]] | None:
    """Claim the user's oldest pending rows in one short transaction; None when another drainer has them."""
    token = uuid.uuid4().hex
    now = timezone.now()
    with transaction.atomic():
        head = (
            TrackingOutbox.objects.select_for_update(skip_locked=True)
            .filter(user_id=user_id, state=OutboxState.PENDING)
            .order_by("id")
            .first()
        )
        if head is None:
            return None
        rows = list(TrackingOutbox.objects.filter(user_id=user_id, state=OutboxState.PENDING).order_by("id")[:limit])
        claimed = any(row.claimed_until is not None and row.claimed_until > now for row in rows)
        if not rows or rows[0].pk != head.pk or claimed:  # another drainer owns this user now
            report.blocked_users.append(str(user_id))
            return None
        lease = now + timedelta(seconds=settings.TRACKING_OUTBOX_CLAIM_SECONDS)
        TrackingOutbox.objects.filter(pk__in=[row.pk for row in rows]).update(claim_token=token, claimed_until=lease)
    return token, rows


def _record(*, token: str, rows: list[TrackingOutbox], results: list[OpResult], report: DrainReport) -> None:
    """Write the outcome of a claimed delivery (rows whose claim lapsed meanwhile are left alone)."""
    now = timezone.now()
    with transaction.atomic():
        held = set(
            TrackingOutbox.objects.select_for_update()
            .filter(pk__in=[row.pk for row in rows], claim_token=token, state=OutboxState.PENDING)
            .values_list("pk", flat=True)
        )
        changed = []
        for row, result in zip(rows, results, strict=True):
            if row.pk not in held:
                continue
            row.claim_token, row.claimed_until = None, None
            if result.status in (CREATED, DUPLICATE):
                row.state, row.outcome, row.delivered_at = OutboxState.DELIVERED, result.status, now
                report.delivered += result.status == CREATED
                report.duplicates += result.status == DUPLICATE
            elif result.status == UNAVAILABLE:
                row.attempts += 1
                row.last_error = "dynamodb_unavailable"
            elif result.status == CONFLICT:  # the entry changed since the client read it: not applied, by design
                row.state, row.outcome, row.last_error = OutboxState.FAILED, CONFLICT, "changed since it was read"
                report.conflicts += 1
            else:
                row.state, row.outcome, row.last_error = OutboxState.FAILED, result.status, (result.message or "")[:120]
                report.failed += 1
                logger.error("outbox row refused", extra={"event": "tracking_outbox_failed", "outbox_id": row.pk,
                                                           "kind": row.kind})
            changed.append(row)
        TrackingOutbox.objects.bulk_update(
            changed, ["state", "outcome", "delivered_at", "attempts", "last_error", "claim_token", "claimed_until"]
        )


def drain_user(*, user_id: object, limit: int | None = None, respect_breaker: bool = True) -> DrainReport:
    """Deliver one user's queued writes in order; stop at the first that cannot go now.

    Claim, commit, call, record: no transaction or row lock is held while DynamoDB answers.
    """
    report = DrainReport(users=1)
    claim = _claim(user_id=user_id, limit=limit or settings.TRACKING_OUTBOX_DRAIN_BATCH, report=report)
    if claim is None:
        return report
    token, rows = claim
    try:
        results = _deliver_rows(user_id=user_id, rows=rows, respect_breaker=respect_breaker)
    except BaseException:
        TrackingOutbox.objects.filter(pk__in=[row.pk for row in rows], claim_token=token).update(
            claim_token=None, claimed_until=None
        )
        raise
    _record(token=token, rows=rows, results=results, report=report)
    if report.delivered or report.duplicates:
        metrics.record("TrackingOutboxDelivered", report.delivered + report.duplicates, area="Tracking")
        logger.info("outbox delivered", extra={"event": "tracking_outbox_delivered", "delivered": report.delivered,
                                               "duplicates": report.duplicates})
    return report


def drain(*, max_users: int | None = None, respect_breaker: bool = False, purge_days: int | None = None) -> DrainReport:
    """Deliver queued writes of every user (oldest first) until done or DynamoDB fails again."""
    report = DrainReport()
    users = (
        TrackingOutbox.objects.filter(state=OutboxState.PENDING)
        .values("user_id").annotate(first=Min("id")).order_by("first").values_list("user_id", flat=True)
    )
    for user_id in list(users[: max_users or None]):
        while True:
            part = drain_user(user_id=user_id, respect_breaker=respect_breaker)
            report.delivered += part.delivered
            report.duplicates += part.duplicates
            report.failed += part.failed
            report.conflicts += part.conflicts
            if not (part.delivered or part.duplicates or part.failed or part.conflicts) or not has_pending(user_id=user_id):
                break
        report.users += 1
        if has_pending(user_id=user_id) and store.breaker_open():
            break
    if purge_days:
        cutoff = timezone.now() - timedelta(days=purge_days)
        TrackingOutbox.objects.filter(state=OutboxState.DELIVERED, delivered_at__lt=cutoff).delete()
    report.remaining = pending_count()
    return report


def deliver(*, user_id: object, ops: list[WriteOp]) -> list[OpResult]:
    """Write ``ops`` now if possible, else queue them; never loses one, never reorders."""
    if has_pending(user_id=user_id):
        if not store.breaker_open():
            drain_user(user_id=user_id)
        if has_pending(user_id=user_id):
            return enqueue(user_id=user_id, ops=ops)
    # A write DynamoDB refuses outright comes back ``failed`` and is recorded nowhere: sent again, it is applied.
    results = _apply_isolating(user_id=user_id, ops=ops, respect_breaker=True, refusals=ClientError)
    failed = [i for i, r in enumerate(results) if r.status == UNAVAILABLE]
    if failed:
        queued = enqueue(user_id=user_id, ops=[ops[i] for i in failed])
        for i, result in zip(failed, queued, strict=True):
            results[i] = result
    return results


def catch_up(*, user_id: object) -> bool:
    """Before reading: deliver the caller's queued writes so the read includes them. True when
    there were some to deliver (what the request loaded about the user's data may be older)."""
    if not store.breaker_open() and has_pending(user_id=user_id):
        drain_user(user_id=user_id)
        return True
    return False


_last_background = 0.0


def maybe_drain_in_background() -> None:
    """After a successful tracking request: deliver a few users' rows, at most once a minute per process."""
    global _last_background
    now = time.monotonic()
    if now - _last_background < settings.TRACKING_OUTBOX_BACKGROUND_SECONDS or store.breaker_open():
        return
    _last_background = now
    if TrackingOutbox.objects.filter(state=OutboxState.PENDING).exists():
        drain(max_users=5, respect_breaker=True)
