"""A patient's hospital stays as her medical record shows them (the patient shape: no staff notes)."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from admissions.presenters import admission_for_patient
from admissions.selectors import admission_history


def admissions_in_record(*, patient: User) -> dict[str, Any]:
    """The record's ``admissions`` key: her newest stays, at most
    ``admissions.selectors.RECORD_ADMISSIONS_MAX`` (200), newest first; beside it ``admissions_total``
    (every stay) when she has more than that. The same queries whatever the number of stays (and a
    count beyond the maximum); the record read itself is audited by the caller."""
    history = admission_history(patient=patient)
    part: dict[str, Any] = {"admissions": [admission_for_patient(a) for a in history.admissions]}
    if history.total > len(history.admissions):
        part["admissions_total"] = history.total
    return part
