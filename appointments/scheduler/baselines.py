"""Policies to beat, and the bound no online policy can beat.

- :func:`first_available`: the earliest open time, the first doctor with a place there (what
  patients do by hand today);
- :func:`heuristic`: the seed's hand-weighted rule: urgent patients (urgency >= 8) take the
  earliest time; others leave the last place of the next 24 hours to urgent patients when there
  are later places; among doctors, the least loaded;
- :func:`hindsight`: every request of the episode known in advance (times, urgencies and the
  patients' own no-show and cancellation draws), solved exactly as an assignment of patients to
  open times with each time's places held until a cancellation gives them back
  (``scipy.optimize.milp``). Its only freedoms beyond a policy's (any open time, not only the
  first eight; turning away at will) add reward, so its reward is an upper bound;
- :func:`urgent_wait_floor`: the least total wait of the urgent patients (urgency >= 8) that any
  policy could give them, with every request of the episode known in advance and nobody else
  taking a place they need: the lower end of ``urgent_wait_ratio_vs_first_available``.

All take ``(view, mask, sim)`` and return an action index, except :func:`hindsight` and
:func:`urgent_wait_floor`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from appointments.scheduler.features import DecisionView
from appointments.scheduler.params import (
    CANDIDATES,
    MAX_DOCTORS,
    REWARD_TURNED_AWAY,
    URGENT,
    cancel_probability,
)

RESERVE_HOURS = 24.0


def _least_loaded(view: DecisionView, mask: np.ndarray, j: int) -> int:
    doctors = [d for d in range(MAX_DOCTORS) if mask[j * MAX_DOCTORS + d]]
    best = min(doctors, key=lambda d: (view.load_today[d], d))
    return j * MAX_DOCTORS + best


def first_available(view: DecisionView, mask: np.ndarray, sim=None) -> int:
    return int(np.flatnonzero(mask)[0])


def heuristic_time(view: DecisionView, mask: np.ndarray) -> int:
    times = [j for j in range(CANDIDATES) if mask[j * MAX_DOCTORS:(j + 1) * MAX_DOCTORS].any()]
    if view.urgency >= URGENT:
        return times[0]
    for j in times:
        last_place = view.free[j].sum() <= 1 and view.wait_hours[j] < RESERVE_HOURS
        if not last_place:
            return j
    return times[0]


def heuristic(view: DecisionView, mask: np.ndarray, sim=None) -> int:
    return _least_loaded(view, mask, heuristic_time(view, mask))


def random_policy(rng: np.random.Generator):
    def act(view: DecisionView, mask: np.ndarray, sim=None) -> int:
        return int(rng.choice(np.flatnonzero(mask)))
    return act


def _free_places(sim) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Every free place of the starting calendar as (doctor, slot), one entry per place, and their slots.

    Prefilled places never come free, and a place a cancelled booking gives back was free at the
    start: whatever a policy does, the bookings that are kept take distinct places of this list.
    """
    doctors, slots = np.nonzero(sim.free > 0)
    places = [(int(d), int(s)) for d, s in zip(doctors, slots, strict=True) for _ in range(int(sim.free[d, s]))]
    return places, np.asarray([s for _, s in places], dtype=int)


@dataclass(frozen=True)
class _Choice:
    """Booking patient ``patient`` at ``slot``, as it would turn out (the patient's own draws known)."""

    patient: int
    slot: int
    reward: float
    wait: float
    no_show: bool
    cancelled: bool
    released: float  # when a cancelled booking gives its place back (inf: never)


def _choices(sim) -> list[_Choice]:
    from appointments.scheduler.simulator import SLOT_HOURS, booking_outcome

    open_slots = np.flatnonzero(sim.free.sum(axis=0) > 0)
    out = []
    for i, patient in enumerate(sim.patients):
        for slot in open_slots[SLOT_HOURS[open_slots] >= patient.earliest]:
            wait, lead, cancelled, no_show, reward = booking_outcome(sim.params, patient, int(slot))
            out.append(_Choice(i, int(slot), reward, wait, no_show, cancelled,
                               patient.arrival + patient.u_cancel_time * lead if cancelled else math.inf))
    return out


def hindsight(sim, seed: int) -> dict:
    """The best the episode ``seed`` allows with all its requests known in advance, solved exactly.

    Every request's time, urgency and own no-show and cancellation draws are known. A mixed-integer
    program (``scipy.optimize.milp``, HiGHS) books each patient at one open time or turns her away;
    at each request's arrival, the bookings holding a time (made by then, and not yet given back
    by a cancellation) never exceed its free places. That is the simulator's rule. The only
    freedoms a policy lacks are choosing any open time, not only the first eight, and turning
    someone away who could be booked. So the optimum is an upper bound on every policy's reward,
    episode by episode.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    sim.reset(seed)
    patients = sim.patients
    capacity = sim.free.sum(axis=0)
    choices = _choices(sim)
    n, v = len(patients), len(choices)
    arrival = np.asarray([p.arrival for p in patients])
    who = np.asarray([c.patient for c in choices], dtype=int)
    released = np.asarray([c.released for c in choices])
    # Columns: one per choice, then one "turned away" per patient. Rows: each patient once, then
    # (time, arrival) rows where more bookings could hold the time than it has free places.
    rows = [*who, *range(n)]
    cols = [*range(v + n)]
    lower, upper = [1.0] * n, [1.0] * n
    by_slot: dict[int, list[int]] = {}
    for index, choice in enumerate(choices):
        by_slot.setdefault(choice.slot, []).append(index)
    for slot, indexes in by_slot.items():
        at_slot = np.asarray(indexes)
        if len(at_slot) <= capacity[slot]:
            continue
        for t in np.unique(arrival[who[at_slot]]):
            holding = at_slot[(arrival[who[at_slot]] <= t) & (released[at_slot] > t)]
            if len(holding) > capacity[slot]:
                rows += [len(lower)] * len(holding)
                cols += holding.tolist()
                lower.append(0.0)
                upper.append(float(capacity[slot]))
    matrix = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(lower), v + n)).tocsr()
    objective = -np.asarray([c.reward for c in choices] + [REWARD_TURNED_AWAY] * n)
    solution = milp(objective, constraints=LinearConstraint(matrix, lower, upper), integrality=np.ones(v + n),
                    bounds=Bounds(0, 1))
    if not solution.success:
        raise RuntimeError(f"hindsight for episode {seed}: {solution.message}")
    chosen = sorted((choices[k] for k in np.flatnonzero(solution.x[:v] > 0.5)), key=lambda c: arrival[c.patient])
    doctors = _doctors_for(sim, chosen)
    turned_away = int((solution.x[v:] > 0.5).sum())
    return {
        "reward": sum(c.reward for c in chosen) + REWARD_TURNED_AWAY * turned_away,
        "bookings": [{"patient": c.patient, "urgency": patients[c.patient].urgency, "wait": c.wait, "no_show": c.no_show,
                      "cancelled": c.cancelled, "doctor": d, "slot": c.slot} for c, d in zip(chosen, doctors, strict=True)],
        "turned_away": turned_away,
    }


def _doctors_for(sim, chosen: list[_Choice]) -> list[int]:
    """A doctor for each booking of the hindsight solution (in arrival order): the first doctor of
    that time whose place is free at the request, which always exists when no time holds more
    bookings than places."""
    held_until: dict[tuple[int, int], list[float]] = {}
    out = []
    for choice in chosen:
        at = sim.patients[choice.patient].arrival
        for doctor in np.flatnonzero(sim.free[:, choice.slot] > 0):
            places = held_until.setdefault((int(doctor), choice.slot), [-math.inf] * int(sim.free[doctor, choice.slot]))
            free = [k for k, until in enumerate(places) if until <= at]
            if free:
                places[free[0]] = choice.released
                out.append(int(doctor))
                break
        else:
            raise RuntimeError("hindsight solution overbooks a time")
    return out


def urgent_wait_floor(sim, seed: int) -> list[float]:
    """The waits (hours) of the urgent patients of episode ``seed`` that make their total the least any
    policy could reach: every request known in advance, the other patients taking no place at all,
    and a patient who would cancel at a place holding none.

    A policy's kept bookings take distinct free places of the starting calendar (see
    :func:`_free_places`), and a booking that is cancelled needs no place of its own; so on every
    episode where nobody urgent is turned away, no policy's urgent waits sum to less than these.
    """
    from scipy.optimize import linear_sum_assignment

    from appointments.scheduler.simulator import SLOT_HOURS

    sim.reset(seed)
    urgent = [p for p in sim.patients if p.urgency >= URGENT]
    places, place_slots = _free_places(sim)
    n, m = len(urgent), len(places)
    if not n:
        return []
    big = 1e9
    cost = np.full((n, m + n), big)
    for i, patient in enumerate(urgent):
        reachable = np.flatnonzero(SLOT_HOURS[place_slots] >= patient.earliest)
        waits = SLOT_HOURS[place_slots[reachable]] - patient.earliest
        cost[i, reachable] = waits
        leads = SLOT_HOURS[place_slots[reachable]] - patient.arrival
        cancels = [w for w, lead in zip(waits, leads, strict=True)
                   if patient.u_cancel < cancel_probability(sim.params, lead_hours=float(lead))]
        if cancels:
            cost[i, m + i] = min(cancels)
    rows, cols = linear_sum_assignment(cost)
    return [float(cost[i, k]) for i, k in zip(rows, cols, strict=True) if cost[i, k] < big]
