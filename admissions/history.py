"""A patient's hospital stays as her medical record shows them (the patient shape: no staff notes)."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from admissions.presenters import admission_for_patient
from admissions.selectors import admission_history


def admissions_in_record(*, patient: User) -> list[dict[str, Any]]:
    """One query whatever the number of stays; the record read itself is audited by the caller."""
    return [admission_for_patient(a) for a in admission_history(patient=patient)]
