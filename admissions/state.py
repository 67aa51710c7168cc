"""The admission state machine: the only place that says which status may follow which.

    pending ──admit (takes a bed)──▶ admitted ──discharge──▶ discharged
       │                              │  ▲
       │                              │  └── bed transfer (stays admitted; the old bed is released)
       │                              └──discharge to another facility──▶ transferred
       └──cancel──▶ cancelled

An illegal transition raises :class:`phb.api.errors.Conflict` (HTTP 409) whose message names the
current status.
"""

from __future__ import annotations

from admissions.models import AdmissionStatus as S
from phb.api.errors import ApiError, Conflict

TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.ADMITTED, S.CANCELLED}),
    S.ADMITTED: frozenset({S.DISCHARGED, S.TRANSFERRED}),
    S.DISCHARGED: frozenset(),
    S.TRANSFERRED: frozenset(),
    S.CANCELLED: frozenset(),
}

TERMINAL = frozenset(status for status, nexts in TRANSITIONS.items() if not nexts)

_VERB = {S.ADMITTED: "admitted", S.DISCHARGED: "discharged", S.TRANSFERRED: "transferred out",
         S.CANCELLED: "cancelled", S.PENDING: "pending"}


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def ensure_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS:
        raise ApiError(f"Unknown admission status '{target}'.", code="invalid_status")
    if can_transition(current, target):
        return
    if current == target:
        message = f"This admission is already {_VERB[current]}."
    elif current in TERMINAL:
        message = f"This admission is {_VERB[current]}; it cannot be {_VERB[target]}."
    elif current == S.PENDING:
        message = f"This admission is pending: admit the patient before it can be {_VERB[target]}."
    else:
        message = f"An {_VERB[current]} patient cannot be {_VERB[target]}; discharge the patient instead."
    raise Conflict(message, code="invalid_transition", current_status=str(current), requested_status=str(target))


def ensure_admitted(current: str, *, action: str) -> None:
    """For actions that need a patient in a bed (a bed transfer)."""
    if current != S.ADMITTED:
        raise Conflict(f"Only an admitted patient can be {action}; this admission is {_VERB[current]}.",
                       code="invalid_transition", current_status=str(current))
