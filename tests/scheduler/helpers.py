"""Rostered departments for roster, booking and scheduler tests."""

from __future__ import annotations

from datetime import time

from appointments.models import RosterSession
from tests.factories import make_doctor


def roster(department, *, doctors: int = 2, per_slot: int = 1, start: str = "09:00", end: str = "17:00"):
    """``doctors`` doctors in ``department``, each working every day from ``start`` to ``end``."""
    out = []
    for _ in range(doctors):
        doctor = make_doctor(department=department)
        for weekday in range(7):
            RosterSession.objects.create(doctor=doctor, department=department, weekday=weekday,
                                         start_time=time.fromisoformat(start), end_time=time.fromisoformat(end),
                                         patients_per_slot=per_slot)
        out.append(doctor)
    return out
