"""The appointment state machine: the only place that says which status may follow which.

    pending ──accept──▶ confirmed ──start──▶ in_progress ──complete──▶ completed
       │                   │  │  └────────────complete (once its time has come)─────────┘
       │                   │  │
       │                   │  └──no-show──▶ no_show
       ├──cancel──▶ cancelled ◀──cancel──┘
       └──reschedule (hospital asks for a new time)──▶ rescheduled ──patient picks a time──▶ pending/confirmed

An illegal transition raises :class:`phb.api.errors.Conflict` (HTTP 409) with a message.
"""

from __future__ import annotations

from appointments.models import AppointmentStatus as S
from phb.api.errors import ApiError, Conflict

TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.CONFIRMED, S.CANCELLED, S.RESCHEDULED}),
    # confirmed → completed: the consultation took place without being started in the app (the
    # appointment page offers only "Mark as Completed"); allowed once its time has come.
    S.CONFIRMED: frozenset({S.IN_PROGRESS, S.COMPLETED, S.CANCELLED, S.NO_SHOW, S.RESCHEDULED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED}),
    S.RESCHEDULED: frozenset({S.PENDING, S.CONFIRMED, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.NO_SHOW: frozenset(),
}

# Statuses after which the appointment no longer holds a place in its slot.
RELEASES_PLACE = frozenset({S.CANCELLED, S.RESCHEDULED})

TERMINAL = frozenset(status for status, nexts in TRANSITIONS.items() if not nexts)


def _label(status: str) -> str:
    return str(status).replace("_", " ")


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def ensure_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS:
        raise ApiError(f"Unknown appointment status '{target}'.", code="invalid_status")
    if not can_transition(current, target):
        raise Conflict(
            f"An appointment that is {_label(current)} cannot become {_label(target)}.",
            code="invalid_transition",
            current_status=str(current),
            requested_status=str(target),
        )
