"""Policies to beat, and the bound no online policy can beat.

- :func:`first_available`: the earliest open time, the first doctor with a place there (what
  patients do by hand today);
- :func:`heuristic`: the seed's hand-weighted rule: urgent patients (urgency >= 8) take the
  earliest time; others leave the last place of the next 24 hours to urgent patients when there
  are later places; among doctors, the least loaded;
- :func:`hindsight`: every request of the episode known in advance (times, urgencies and the
  patients' own no-show and cancellation draws), solved exactly as an assignment problem
  (``scipy.optimize.linear_sum_assignment``). Relaxations only add reward (a patient who would
  cancel may take no place at all; any open time may be chosen, not only the first eight), so
  its mean reward is an upper bound;
- :func:`urgent_wait_floor`: the least total wait of the urgent patients (urgency >= 8) that any
  policy could give them, with every request of the episode known in advance and nobody else
  taking a place they need: the lower end of ``urgent_wait_ratio_vs_first_available``.

All take ``(view, mask, sim)`` and return an action index, except :func:`hindsight` and
:func:`urgent_wait_floor`.
"""

from __future__ import annotations

import numpy as np

from appointments.scheduler.features import DecisionView
from appointments.scheduler.params import (
    CANDIDATES,
    MAX_DOCTORS,
    REWARD_TURNED_AWAY,
    URGENT,
    booking_reward,
    cancel_probability,
    no_show_probability,
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


def hindsight(sim, seed: int) -> dict:
    """The exact best assignment of the episode ``seed`` with all its requests known in advance."""
    from scipy.optimize import linear_sum_assignment

    from appointments.scheduler.simulator import SLOT_HOURS

    sim.reset(seed)
    patients = sim.patients
    params = sim.params
    places, place_slots = _free_places(sim)
    n, m = len(patients), len(places)
    big = 1e9
    cost = np.full((n, m + 2 * n), big)
    outcomes: dict[tuple[int, int], tuple[float, float, bool, bool]] = {}
    for i, patient in enumerate(patients):
        best_cancel = None
        for k in np.flatnonzero(SLOT_HOURS[place_slots] >= patient.earliest) if m else []:
            slot = place_slots[k]
            wait = float(SLOT_HOURS[slot] - patient.earliest)
            lead = float(SLOT_HOURS[slot] - patient.arrival)
            cancelled = patient.u_cancel < cancel_probability(params, lead_hours=lead)
            no_show = (not cancelled) and patient.u_no_show < no_show_probability(
                params, lead_hours=lead, urgency=patient.urgency)
            reward = booking_reward(wait_hours=wait, urgency=patient.urgency, no_show=no_show)
            if cancelled:
                if best_cancel is None or reward > best_cancel[0]:
                    best_cancel = (reward, wait, slot)
                continue
            cost[i, k] = -reward
            outcomes[(i, int(k))] = (reward, wait, no_show, False)
        cost[i, m + i] = -REWARD_TURNED_AWAY
        if best_cancel is not None:
            cost[i, m + n + i] = -best_cancel[0]
            outcomes[(i, m + n + i)] = (best_cancel[0], best_cancel[1], False, True)
    rows, cols = linear_sum_assignment(cost)
    result = {"reward": 0.0, "bookings": [], "turned_away": 0}
    for i, k in zip(rows, cols, strict=True):
        if (i, int(k)) in outcomes:
            reward, wait, no_show, cancelled = outcomes[(i, int(k))]
            doctor = int(places[k][0]) if k < m else -1
            slot = int(places[k][1]) if k < m else -1
            result["bookings"].append({"urgency": patients[i].urgency, "wait": wait, "no_show": no_show,
                                       "cancelled": cancelled, "doctor": doctor, "slot": slot})
            result["reward"] += reward
        else:
            result["turned_away"] += 1
            result["reward"] += REWARD_TURNED_AWAY
    return result


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
