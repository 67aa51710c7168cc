"""The last recommendation given to a patient for a department, remembered for an hour (cache).

Booking reads it to give the recommended slot the recommended doctor and to count "recommendation
taken". The cache is an optimisation: without it booking goes on with load balancing. The cache is
a network call, so booking reads it before it opens a transaction and passes what it read along.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.core.cache import cache

logger = logging.getLogger(__name__)

URGENCY_OF_PRIORITY = {"normal": 4, "urgent": 7, "emergency": 9}
REMEMBER_SECONDS = 3600


def urgency_of(priority: str) -> int:
    from appointments.fees import normalize_priority

    return URGENCY_OF_PRIORITY[normalize_priority(priority)]


def _key(patient_id, department_id) -> str:
    return f"scheduler:rec:{patient_id}:{department_id}"


def remember(*, patient_id, department_id, start: datetime, doctor_id: uuid.UUID, version: str,
             fallback: bool) -> None:
    try:
        cache.set(_key(patient_id, department_id),
                  {"start": start.isoformat(), "doctor": str(doctor_id), "version": version, "fallback": fallback},
                  REMEMBER_SECONDS)
    except Exception:  # the recommendation is still answered
        logger.warning("scheduler recommendation not remembered", extra={"event": "scheduler_memory_failed"})


def remembered(*, patient_id, department_id) -> dict | None:
    try:
        return cache.get(_key(patient_id, department_id))
    except Exception:
        return None


def followed(*, hold, memory: dict | None) -> bool | None:
    """Whether the hold is for the remembered recommendation's slot (None: nothing remembered)."""
    if not memory:
        return None
    return datetime.fromisoformat(memory["start"]) == hold.start


def preferred_doctor(*, hold, memory: dict | None) -> uuid.UUID | None:
    """The recommended doctor when the patient booked the recommended slot, else None."""
    if not followed(hold=hold, memory=memory):
        return None
    return uuid.UUID(memory["doctor"])
