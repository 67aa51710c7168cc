"""Parameters of the booking simulator, with documented defaults.

``manage.py fit_scheduling_simulator`` fits them from exported scheduling events and writes a
JSON file that ``make train-scheduler`` reads (``SCHEDULER_SIM_PARAMS``); without one the
defaults below apply. Plain Python: the serving code imports this module without numpy's help.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

SLOT_MINUTES = 30
OPENING_HOUR = 9.0
SLOTS_PER_DAY = 16  # 09:00 .. 16:30
MAX_DOCTORS = 4
CANDIDATES = 8  # the first open times a decision chooses among
HORIZON_DAYS = 14
URGENT = 8  # urgency >= 8 counts as urgent
QUICK_HOURS = 24.0  # "an urgent patient gets a quick slot": seen within 24 h of asking

# The seed's reward terms (section 8).
REWARD_WAIT_PER_HOUR = -10.0
REWARD_BOOKING = 5.0
REWARD_URGENT_QUICK = 20.0
REWARD_NO_SHOW = -50.0
REWARD_TURNED_AWAY = REWARD_WAIT_PER_HOUR * 24 * HORIZON_DAYS  # no place in the whole horizon


def _default_hourly() -> list[float]:
    """Requests per hour of the day on a weekday: online bookings peak mid-morning and evening."""
    profile = [0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 0.8, 1.6, 2.6, 3.0, 2.8, 2.4,
               2.2, 2.2, 2.1, 1.9, 1.7, 1.6, 1.8, 1.9, 1.5, 1.0, 0.6, 0.3]
    return profile


def _default_roster() -> list[list[list[int]]]:
    """Per doctor, per weekday (Mon..Sun), the [first, last) slot indexes she works."""
    full, am, pm, off = [0, 16], [0, 8], [8, 16], [0, 0]
    return [
        [full, full, full, full, full, off, off],
        [am, full, am, full, am, off, off],
        [pm, pm, full, pm, full, off, off],
    ]


@dataclass
class SimulatorParams:
    hourly_arrivals: list[float] = field(default_factory=_default_hourly)  # mean requests per hour (weekday)
    weekday_factor: list[float] = field(default_factory=lambda: [1.15, 1.0, 1.0, 0.95, 0.9, 0.35, 0.25])
    # P(urgency = 1..10): about one request in seven is urgent (>= 8).
    urgency_weights: list[float] = field(default_factory=lambda: [0.10, 0.14, 0.16, 0.15, 0.13, 0.10, 0.08,
                                                                   0.07, 0.05, 0.02])
    asap_share: float = 0.7  # asks for the earliest slot; the rest name a day 1..3 days ahead
    later_day_weights: list[float] = field(default_factory=lambda: [0.5, 0.3, 0.2])
    # No-show probability: base + per_day * lead days, scaled down for urgent patients.
    no_show_base: float = 0.04
    no_show_per_day: float = 0.035
    no_show_urgency_relief: float = 0.06  # relative drop per urgency point above 5
    no_show_max: float = 0.6
    cancel_base: float = 0.02
    cancel_per_day: float = 0.01
    roster: list[list[list[int]]] = field(default_factory=_default_roster)
    patients_per_slot: int = 1
    prefill_min: float = 0.45  # the calendar a day starts with: share of places already taken ...
    prefill_max: float = 0.95
    prefill_decay_days: float = 2.5  # ... falling with lead time
    fitted_from: dict = field(default_factory=dict)  # events range and count when fitted

    @property
    def n_doctors(self) -> int:
        return min(MAX_DOCTORS, len(self.roster))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SimulatorParams:
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @classmethod
    def load(cls, path: str | Path | None) -> SimulatorParams:
        if not path or not Path(path).exists():
            return cls()
        return cls.from_json(Path(path).read_text())


def no_show_probability(params: SimulatorParams, *, lead_hours: float, urgency: int) -> float:
    relief = max(0.1, 1.0 - params.no_show_urgency_relief * max(0, urgency - 5))
    p = (params.no_show_base + params.no_show_per_day * max(0.0, lead_hours) / 24.0) * relief
    return float(min(params.no_show_max, max(0.0, p)))


def cancel_probability(params: SimulatorParams, *, lead_hours: float) -> float:
    return float(min(0.5, params.cancel_base + params.cancel_per_day * max(0.0, lead_hours) / 24.0))


def booking_reward(*, wait_hours: float, urgency: int, no_show: bool) -> float:
    """The seed's reward for one booking, term by term."""
    reward = REWARD_BOOKING + REWARD_WAIT_PER_HOUR * wait_hours
    if urgency >= URGENT and wait_hours <= QUICK_HOURS:
        reward += REWARD_URGENT_QUICK
    if no_show:
        reward += REWARD_NO_SHOW
    return reward
