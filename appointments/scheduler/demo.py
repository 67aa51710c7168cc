"""Demo rosters: every demo doctor gets weekly sessions in her department (the first doctor full
weekdays, the next mornings plus two afternoons, the next afternoons plus two full days, as in the
simulator's default roster). Idempotent: a doctor who has sessions keeps them."""

from __future__ import annotations

from datetime import time

from accounts.models import Role
from appointments.models import RosterSession
from appointments.scheduler.params import OPENING_HOUR, SLOT_MINUTES, _default_roster
from hospitals.models import Hospital, StaffMember


def _clock(slot: int) -> time:
    minutes = int(OPENING_HOUR * 60) + slot * SLOT_MINUTES
    return time(minutes // 60, minutes % 60)


def seed_rosters(*, hospital: Hospital) -> int:
    """Give every doctor of ``hospital`` (with a department) a roster; returns the sessions created."""
    created = 0
    patterns = _default_roster()
    doctors = (StaffMember.objects.filter(hospital=hospital, user__role=Role.DOCTOR, department__isnull=False)
               .select_related("user").order_by("user__email"))
    for index, member in enumerate(doctors):
        if RosterSession.objects.filter(doctor=member.user).exists():
            continue
        for weekday, (first, last) in enumerate(patterns[index % len(patterns)]):
            if last > first:
                RosterSession.objects.create(doctor=member.user, department=member.department, weekday=weekday,
                                             start_time=_clock(first), end_time=_clock(last))
                created += 1
    return created
