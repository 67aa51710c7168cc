"""Anonymised scheduling events: every booking decision and, later, its outcome.

A row is written in the booking's own transaction (so nothing is lost); an exporter
(``manage.py export_scheduling_events``, run by a timer) ships finished events to the
training-data bucket as JSON Lines partitioned by date, off the request path: claim a batch,
commit, upload, record. An event holds no identifier of a person: the patient and doctor are
keyed hashes (HMAC-SHA256 with ``SCHEDULER_EVENT_HASH_KEY``), and no name, contact, complaint
or free text is ever copied. No client endpoint writes training data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus, BookingHold, SchedulingEvent, SchedulingOutcome

logger = logging.getLogger(__name__)

PREFIX = "scheduling-events"
FINAL = {
    AppointmentStatus.COMPLETED: SchedulingOutcome.COMPLETED,
    AppointmentStatus.NO_SHOW: SchedulingOutcome.NO_SHOW,
    AppointmentStatus.CANCELLED: SchedulingOutcome.CANCELLED,
}
UNKNOWN_AFTER_DAYS = 7  # an event whose slot passed this long ago without an outcome is exported as pending
CLAIM_STALE_MINUTES = 30
OPEN_SLOTS_KEPT = 64


def _key() -> bytes:
    secret = settings.SCHEDULER_EVENT_HASH_KEY or f"scheduler-events:{settings.SECRET_KEY}"
    return secret.encode()


def pseudonym(value) -> str:
    """Keyed hash of an identifier: stable for joins, useless without the key."""
    return hmac.new(_key(), str(value).encode(), hashlib.sha256).hexdigest()[:32]


def record_booking(*, appointment: Appointment, hold: BookingHold, open_starts: list[datetime] | None = None,
                   urgency: int, policy_version: str = "", followed: bool | None = None) -> SchedulingEvent:
    """Write the decision of a confirmed booking (call inside the booking's transaction)."""
    requested = hold.created_at or timezone.now()
    minutes = sorted(int((s - requested).total_seconds() // 60) for s in (open_starts or []))
    return SchedulingEvent.objects.create(
        appointment=appointment,
        hospital_id_value=appointment.hospital_id,
        department_id_value=appointment.department_id,
        patient_key=pseudonym(appointment.patient_id),
        doctor_key=pseudonym(appointment.doctor_id) if appointment.doctor_id else "",
        urgency=urgency,
        priority=appointment.priority,
        requested_at=requested,
        slot_start=appointment.start,
        lead_minutes=int((appointment.start - requested).total_seconds() // 60),
        open_slots=[m for m in minutes if m >= 0][:OPEN_SLOTS_KEPT],
        policy_version=policy_version,
        followed_recommendation=followed,
    )


def decision_context(*, hold: BookingHold, day, now: datetime, memory: dict | None) -> dict:
    """What the event of a confirmed hold records besides the booking itself (read before any lock):
    the slots open that day, the urgency, and whether the patient took the recommendation
    (``memory``: the remembered recommendation, read by the caller before any transaction)."""
    from appointments.scheduler.memory import followed, urgency_of
    from appointments.slot_grid import slots_of_day

    open_starts = [v.start for v in slots_of_day(department=hold.department, day=day, now=now)
                   if v.remaining > 0 and not v.past]
    took = followed(hold=hold, memory=memory)
    return {"open_starts": open_starts, "urgency": urgency_of(hold.priority),
            "policy_version": memory.get("version", "") if took else "", "followed": took}


def record_outcome(*, appointment_id, status: str, at: datetime | None = None) -> None:
    outcome = FINAL.get(status)
    if outcome is None:
        return
    SchedulingEvent.objects.filter(appointment_id=appointment_id, exported_at__isnull=True).update(
        outcome=outcome, outcome_at=at or timezone.now())


def export_row(event: SchedulingEvent) -> dict:
    """The exported form: only these fields, all of them codes, numbers or hashes."""
    return {
        "event_id": str(event.pk),
        "hospital_id": event.hospital_id_value,
        "department_id": event.department_id_value,
        "patient_key": event.patient_key,
        "doctor_key": event.doctor_key,
        "urgency": event.urgency,
        "priority": event.priority,
        "requested_at": event.requested_at.isoformat(),
        "request_weekday": event.requested_at.weekday(),
        "request_hour": event.requested_at.hour,
        "slot_start": event.slot_start.isoformat(),
        "lead_minutes": event.lead_minutes,
        "open_slot_minutes": list(event.open_slots),
        "policy_version": event.policy_version,
        "followed_recommendation": event.followed_recommendation,
        "outcome": event.outcome,
    }


def _exportable(now: datetime):
    ready = ~Q(outcome=SchedulingOutcome.PENDING) | Q(slot_start__lt=now - timedelta(days=UNKNOWN_AFTER_DAYS))
    stale = now - timedelta(minutes=CLAIM_STALE_MINUTES)
    unclaimed = Q(export_batch__isnull=True) | Q(export_claimed_at__lt=stale)
    return SchedulingEvent.objects.filter(ready, unclaimed, exported_at__isnull=True)


def _claim(*, limit: int, now: datetime) -> tuple[uuid.UUID, list[SchedulingEvent]]:
    batch = uuid.uuid4()
    with transaction.atomic():
        ids = list(_exportable(now).select_for_update(skip_locked=True).order_by("requested_at")
                   .values_list("pk", flat=True)[:limit])
        SchedulingEvent.objects.filter(pk__in=ids).update(export_batch=batch, export_claimed_at=now)
    return batch, list(SchedulingEvent.objects.filter(export_batch=batch, exported_at__isnull=True))


def export_pending(*, limit: int = 5000, now: datetime | None = None) -> int:
    """Ship finished events to the training-data bucket. Returns how many were exported."""
    from phb.aws.clients import aws_client

    now = now or timezone.now()
    batch, events = _claim(limit=limit, now=now)
    if not events:
        return 0
    by_day: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        by_day[event.requested_at.date().isoformat()].append(export_row(event))
    s3 = aws_client("s3")
    for day, rows in sorted(by_day.items()):
        body = "\n".join(json.dumps(r, sort_keys=True) for r in rows) + "\n"
        s3.put_object(Bucket=settings.ML_TRAINING_DATA_BUCKET, Key=f"{PREFIX}/date={day}/batch-{batch}.jsonl",
                      Body=body.encode(), ContentType="application/x-ndjson", ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=settings.ML_KMS_ALIAS)
    done = SchedulingEvent.objects.filter(export_batch=batch, exported_at__isnull=True).update(exported_at=timezone.now())
    logger.info("scheduling events exported", extra={"event": "scheduling_events_exported", "count": done,
                                                      "batch": str(batch)})
    return done


def backfill(*, limit: int = 10000) -> int:
    """Create events for past bookings that have none (bookings made before events were kept)."""
    from appointments.scheduler.memory import URGENCY_OF_PRIORITY

    created = 0
    qs = (Appointment.objects.filter(scheduling_event__isnull=True)
          .select_related("hold").order_by("created_at")[:limit])
    for appointment in qs:
        hold = getattr(appointment, "hold", None)
        requested = hold.created_at if hold is not None else appointment.created_at
        event = SchedulingEvent(
            appointment=appointment, hospital_id_value=appointment.hospital_id,
            department_id_value=appointment.department_id, patient_key=pseudonym(appointment.patient_id),
            doctor_key=pseudonym(appointment.doctor_id) if appointment.doctor_id else "",
            urgency=URGENCY_OF_PRIORITY.get(appointment.priority, 4), priority=appointment.priority,
            requested_at=requested, slot_start=appointment.start,
            lead_minutes=int((appointment.start - requested).total_seconds() // 60),
            outcome=FINAL.get(appointment.status, SchedulingOutcome.PENDING),
        )
        event.save()
        created += 1
    return created


# Storage classes S3 serves only after a restore (an object an older lifecycle rule moved there).
_RESTORE_FIRST = frozenset({"GLACIER", "DEEP_ARCHIVE"})


def read_exported(*, days: list[str] | None = None) -> list[dict]:
    """Every exported event in the training-data bucket (optionally only some dates). Objects in a
    class S3 serves only after a restore are left out, counted in a log line, not a failure."""
    from phb.aws.clients import aws_client

    s3 = aws_client("s3")
    out = []
    archived = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=settings.ML_TRAINING_DATA_BUCKET, Prefix=f"{PREFIX}/"):
        for item in page.get("Contents", []):
            if days and not any(f"date={d}/" in item["Key"] for d in days):
                continue
            if item.get("StorageClass") in _RESTORE_FIRST:
                archived += 1
                continue
            body = s3.get_object(Bucket=settings.ML_TRAINING_DATA_BUCKET, Key=item["Key"])["Body"].read().decode()
            out.extend(json.loads(line) for line in body.splitlines() if line.strip())
    if archived:
        logger.warning("exported scheduling events left out: archived", extra={
            "event": "scheduling_events_archived", "objects": archived})
    return out
