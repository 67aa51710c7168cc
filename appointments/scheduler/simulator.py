"""A department's booking process, one request at a time (numpy only; no gymnasium, no torch).

An episode is one calendar day of booking requests. It starts from a calendar of the next
``HORIZON_DAYS`` days that is already partly booked (less so further ahead), with the doctors'
places taken from the roster. Each request (arrival time, urgency 1-10, earliest acceptable time,
and the patient's private random draws for no-show and cancellation) is known to the simulator
only; a policy sees the :class:`~appointments.scheduler.features.DecisionView` of the request
now being decided. Booking a (time, doctor) place earns the seed's reward at once:
``+5 - 10 x wait hours (+20 urgent within 24 h) (-50 no-show)``. A cancellation gives its place
back at its cancellation time, to later requests. Deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from appointments.scheduler.features import DecisionView, action_mask, observe
from appointments.scheduler.params import (
    CANDIDATES,
    HORIZON_DAYS,
    MAX_DOCTORS,
    OPENING_HOUR,
    REWARD_TURNED_AWAY,
    SLOT_MINUTES,
    SLOTS_PER_DAY,
    URGENT,
    SimulatorParams,
    booking_reward,
    cancel_probability,
    no_show_probability,
)

N_SLOTS = HORIZON_DAYS * SLOTS_PER_DAY
UTILISATION_DAYS = 3


def slot_hours() -> np.ndarray:
    """Start of every slot of the horizon, in hours from the episode's midnight."""
    days = np.repeat(np.arange(HORIZON_DAYS), SLOTS_PER_DAY)
    within = np.tile(np.arange(SLOTS_PER_DAY), HORIZON_DAYS)
    return days * 24.0 + OPENING_HOUR + within * SLOT_MINUTES / 60.0


SLOT_HOURS = slot_hours()


def open_slots(*, free: np.ndarray, earliest: float) -> np.ndarray:
    """The first ``CANDIDATES`` slots with a free place (``free``: places per slot, all doctors
    together) at or after ``earliest``: the times a request is offered."""
    return np.flatnonzero((free > 0) & (SLOT_HOURS >= earliest))[:CANDIDATES]


@dataclass
class Patient:
    arrival: float  # hours from the episode's midnight
    urgency: int
    earliest: float
    asap: bool
    u_no_show: float
    u_cancel: float
    u_cancel_time: float


def booking_outcome(params: SimulatorParams, patient: Patient, slot: int) -> tuple[float, float, bool, bool, float]:
    """How booking ``patient`` at ``slot`` turns out, from her own draws: (wait hours, lead hours,
    cancelled, no-show, the seed's reward)."""
    wait = float(SLOT_HOURS[slot] - patient.earliest)
    lead = float(SLOT_HOURS[slot] - patient.arrival)
    cancelled = patient.u_cancel < cancel_probability(params, lead_hours=lead)
    no_show = (not cancelled) and patient.u_no_show < no_show_probability(params, lead_hours=lead,
                                                                          urgency=patient.urgency)
    return wait, lead, cancelled, no_show, booking_reward(wait_hours=wait, urgency=patient.urgency, no_show=no_show)


@dataclass
class Booking:
    patient: int
    slot: int
    doctor: int
    wait_hours: float
    lead_hours: float
    urgency: int
    no_show: bool
    cancelled: bool
    reward: float


@dataclass
class EpisodeLog:
    bookings: list[Booking] = field(default_factory=list)
    turned_away: list[int] = field(default_factory=list)
    reward: float = 0.0


class BookingSimulator:
    def __init__(self, params: SimulatorParams | None = None) -> None:
        self.params = params or SimulatorParams()
        self.n_doctors = self.params.n_doctors

    # --- episode -----------------------------------------------------------------------------
    def reset(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        p = self.params
        self.seed = seed  # which episode: a policy may seed its own random stream from it
        self.weekday = int(rng.integers(0, 5))
        self.capacity = np.zeros((MAX_DOCTORS, N_SLOTS), dtype=np.int16)
        for d in range(self.n_doctors):
            for day in range(HORIZON_DAYS):
                first, last = p.roster[d][(self.weekday + day) % 7]
                self.capacity[d, day * SLOTS_PER_DAY + first: day * SLOTS_PER_DAY + last] = p.patients_per_slot
        fill = rng.uniform(p.prefill_min, p.prefill_max)
        lead_days = (SLOT_HOURS - OPENING_HOUR) / 24.0
        taken_p = fill * np.exp(-lead_days / p.prefill_decay_days)
        taken = rng.binomial(self.capacity.astype(np.int64), np.broadcast_to(taken_p, self.capacity.shape))
        self.prefilled = taken.astype(np.int16)
        self.free = (self.capacity - self.prefilled).astype(np.int16)
        self.patients = self._arrivals(rng)
        self.cancellations: list[tuple[float, int, int]] = []
        self.index = 0
        self.now = 0.0
        self.log = EpisodeLog()
        self._skip_unplaceable()

    def _arrivals(self, rng: np.random.Generator) -> list[Patient]:
        p = self.params
        rates = np.asarray(p.hourly_arrivals, dtype=float) * p.weekday_factor[self.weekday]
        weights = np.asarray(p.urgency_weights, dtype=float)
        weights = weights / weights.sum()
        later = np.asarray(p.later_day_weights, dtype=float)
        later = later / later.sum()
        out = []
        for hour in range(24):
            for _ in range(int(rng.poisson(rates[hour]))):
                arrival = hour + float(rng.uniform())
                urgency = int(rng.choice(10, p=weights)) + 1
                asap = urgency >= URGENT or bool(rng.uniform() < p.asap_share)
                earliest = arrival if asap else 24.0 * (1 + int(rng.choice(len(later), p=later)))
                out.append(Patient(arrival, urgency, earliest, asap, float(rng.uniform()), float(rng.uniform()),
                                   float(rng.uniform())))
        out.sort(key=lambda x: x.arrival)
        return out

    @property
    def done(self) -> bool:
        return self.index >= len(self.patients)

    @property
    def patient(self) -> Patient:
        return self.patients[self.index]

    # --- the decision now --------------------------------------------------------------------
    def candidates(self) -> np.ndarray:
        """Slot indexes of the first ``CANDIDATES`` open times at or after the earliest acceptable time."""
        return open_slots(free=self.free.sum(axis=0), earliest=self.patient.earliest)

    def view(self) -> DecisionView:
        patient = self.patient
        slots = self.candidates()
        n = len(slots)
        wait = np.zeros(CANDIDATES)
        lead = np.zeros(CANDIDATES)
        valid = np.zeros(CANDIDATES, dtype=bool)
        free = np.zeros((CANDIDATES, MAX_DOCTORS), dtype=np.int64)
        wait[:n] = SLOT_HOURS[slots] - patient.earliest
        lead[:n] = SLOT_HOURS[slots] - patient.arrival
        valid[:n] = True
        free[:n] = self.free[:, slots].T
        first_day = int(slots[0]) // SLOTS_PER_DAY if n else 0
        day = slice(first_day * SLOTS_PER_DAY, (first_day + 1) * SLOTS_PER_DAY)
        load = (self.capacity[:, day] - self.free[:, day]).sum(axis=1)
        ahead = SLOT_HOURS >= patient.earliest
        free_total = self.free.sum(axis=0)
        rostered = np.zeros(MAX_DOCTORS, dtype=bool)
        rostered[: self.n_doctors] = True
        return DecisionView(
            urgency=patient.urgency, asap=patient.asap, hour_of_day=patient.arrival % 24.0,
            weekday=self.weekday, wait_hours=wait, lead_hours=lead, valid=valid, free=free, rostered=rostered,
            load_today=load.astype(np.int64),
            free_next_24h=int(free_total[ahead & (SLOT_HOURS < patient.earliest + 24)].sum()),
            free_next_72h=int(free_total[ahead & (SLOT_HOURS < patient.earliest + 72)].sum()),
        )

    def observation(self) -> np.ndarray:
        return observe(self.view())

    def action_mask(self) -> np.ndarray:
        return action_mask(self.view())

    # --- acting --------------------------------------------------------------------------------
    def step(self, action: int) -> float:
        """Book the current request at ``action``; returns its reward (plus the penalty of any request
        turned away before the next decision). Refuses a masked action."""
        if self.done:
            raise RuntimeError("episode is over")
        slots = self.candidates()
        j, doctor = divmod(int(action), MAX_DOCTORS)
        if j >= len(slots) or doctor >= self.n_doctors or self.free[doctor, slots[j]] <= 0:
            raise ValueError(f"action {action} is masked")
        before = self.log.reward
        self._book(int(slots[j]), doctor)
        self.index += 1
        self._skip_unplaceable()
        return self.log.reward - before

    def _book(self, slot: int, doctor: int) -> float:
        patient = self.patient
        wait, lead, cancelled, no_show, reward = booking_outcome(self.params, patient, slot)
        self.free[doctor, slot] -= 1
        if cancelled:
            at = patient.arrival + patient.u_cancel_time * lead
            self.cancellations.append((at, doctor, slot))
        self.log.bookings.append(Booking(self.index, slot, doctor, wait, lead, patient.urgency, no_show, cancelled,
                                         reward))
        self.log.reward += reward
        return reward

    def _advance(self, to: float) -> None:
        """Move the clock forward (never back), giving back the places of cancellations due by then."""
        to = max(self.now, to)
        due = [c for c in self.cancellations if c[0] <= to]
        if due:
            self.cancellations = [c for c in self.cancellations if c[0] > to]
            for _, doctor, slot in due:
                self.free[doctor, slot] += 1
        self.now = to

    def _skip_unplaceable(self) -> None:
        """Advance to the next request; one with no open place in the horizon is turned away."""
        while not self.done:
            self._advance(self.patient.arrival)
            if len(self.candidates()):
                return
            self.log.turned_away.append(self.index)
            self.log.reward += REWARD_TURNED_AWAY
            self.index += 1

    def run(self, policy, seed: int) -> EpisodeLog:
        """One whole episode under ``policy(view, mask, sim) -> action``."""
        self.reset(seed)
        for _ in range(10_000):
            if self.done:
                break
            view = self.view()
            self.step(policy(view, action_mask(view), self))
        return self.log

    def utilisation(self) -> float:
        """Attended places over capacity in the first days of the horizon (prefilled ones attend)."""
        end = UTILISATION_DAYS * SLOTS_PER_DAY
        capacity = float(self.capacity[:, :end].sum())
        used = float(self.prefilled[:, :end].sum())
        used += sum(1 for b in self.log.bookings if b.slot < end and not b.no_show and not b.cancelled)
        return used / capacity if capacity else 0.0
