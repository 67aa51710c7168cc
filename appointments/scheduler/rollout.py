"""One-step lookahead ("rollout") over first-available: what an online policy that knows the
simulator's model gains over first-available.

At each decision the policy takes the first ``candidates`` open times. For each it estimates the
expected reward of the rest of the episode for "book this time now, then first-available for
every later request" by averaging ``samples`` futures drawn from the simulator's own generative
model, and books the best (ties go to the earliest time, that is to first-available's choice).
This is the classic policy-improvement step; with exact expectations it would never do worse than
first-available in expectation, with sampled ones it is an estimate.

It is an *online* policy: it reads only :class:`KnownState` (:func:`known_state`): the free places
of every slot, the clock, the current request's arrival, urgency and earliest acceptable time, the
weekday, and the episode's seed and decision index, used only to seed its own random stream
(reproducible, and independent of the simulator's). It never reads later requests, the current
patient's own no-show and cancellation draws, pending cancellations of bookings already made or
the outcomes in the episode log. In a sampled future the current patient gets fresh draws, later
requests follow the simulator's arrival process after the current time within the episode's day,
and only bookings made inside the rollout may be cancelled. Every candidate is scored on the same
futures (common random numbers).

Rollouts run first-available on the free places per slot summed over doctors (a numpy vector):
which doctor takes a place changes no reward, so this is exact (``test_rollout.py`` checks it
against the simulator on real episodes).

``python -m appointments.scheduler.rollout --episodes 40 --samples 16 --candidates 4`` compares
it with first-available and the hindsight bound on held-out episodes (see docs/scheduling.md).
"""

from __future__ import annotations

import argparse
import bisect
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from appointments.scheduler.baselines import first_available
from appointments.scheduler.evaluate import held_out_seeds, paired_interval, run_hindsight, run_policy
from appointments.scheduler.params import (
    MAX_DOCTORS,
    REWARD_TURNED_AWAY,
    URGENT,
    SimulatorParams,
)
from appointments.scheduler.simulator import SLOT_HOURS, BookingSimulator, Patient, booking_outcome, open_slots

STREAM = 0x5C4ED  # keeps the policy's random stream apart from the simulator's own for the same seed
TIE = 1e-9  # a later time must beat an earlier one by more than this


@dataclass(frozen=True)
class KnownState:
    """Everything the policy reads at a decision: what a live booking system knows."""

    free: np.ndarray  # (N_SLOTS,) free places per slot, all doctors together
    now: float
    arrival: float
    urgency: int
    earliest: float
    asap: bool
    weekday: int
    episode: int  # the episode's seed: only seeds the policy's own random stream
    decision: int  # requests so far in this episode


def known_state(sim: BookingSimulator) -> KnownState:
    """The live system's knowledge at the simulator's current decision (the only place that reads ``sim``)."""
    patient = sim.patient
    return KnownState(free=sim.free.sum(axis=0).astype(np.int64), now=float(sim.now), arrival=patient.arrival,
                      urgency=patient.urgency, earliest=patient.earliest, asap=patient.asap,
                      weekday=int(sim.weekday), episode=int(sim.seed), decision=int(sim.index))


def sample_arrivals(*, params: SimulatorParams, weekday: int, after: float,
                    rng: np.random.Generator) -> list[Patient]:
    """Requests of the rest of the episode's day after hour ``after``, from the simulator's arrival
    process (``BookingSimulator._arrivals``: Poisson counts per hour, uniform within the hour),
    with their own draws."""
    hours = np.arange(24)
    past = np.clip(after - hours, 0.0, 1.0)  # share of each hour already gone
    rates = np.asarray(params.hourly_arrivals, dtype=float) * params.weekday_factor[weekday]
    hour = np.repeat(hours, rng.poisson(rates * (1.0 - past)))
    n = len(hour)
    arrival = hour + past[hour] + rng.uniform(size=n) * (1.0 - past[hour])
    weights = np.asarray(params.urgency_weights, dtype=float)
    urgency = rng.choice(10, size=n, p=weights / weights.sum()) + 1
    asap = (urgency >= URGENT) | (rng.uniform(size=n) < params.asap_share)
    later = np.asarray(params.later_day_weights, dtype=float)
    day = rng.choice(len(later), size=n, p=later / later.sum()) + 1
    earliest = np.where(asap, arrival, 24.0 * day)
    draws = rng.uniform(size=(n, 3))
    order = np.argsort(arrival, kind="stable")
    return [Patient(float(arrival[i]), int(urgency[i]), float(earliest[i]), bool(asap[i]),
                    float(draws[i, 0]), float(draws[i, 1]), float(draws[i, 2])) for i in order]


def sample_future(*, params: SimulatorParams, known: KnownState, rng: np.random.Generator) -> list[Patient]:
    """The current request with fresh no-show and cancellation draws, then a sampled rest of the day."""
    u = rng.uniform(size=3)
    current = Patient(known.arrival, known.urgency, known.earliest, known.asap, float(u[0]), float(u[1]), float(u[2]))
    return [current, *sample_arrivals(params=params, weekday=known.weekday, after=known.arrival, rng=rng)]


def first_available_return(*, params: SimulatorParams, free: np.ndarray, patients: Sequence[Patient], now: float,
                           first_slot: int | None = None,
                           cancellations: Iterable[tuple[float, int]] = ()) -> float:
    """Reward of booking ``patients[0]`` at ``first_slot`` (first-available's time when None) and
    every later request at first-available's time, on free places per slot ``free``.

    ``cancellations`` are (time, slot) places that come back; the simulator's rules otherwise: the
    clock moves to each arrival and gives back the places due by then, a request with no open time
    is turned away, a booking's outcome comes from the patient's own draws.
    """
    free = np.array(free, dtype=np.int64)
    pending = sorted(cancellations)
    total = 0.0
    for k, patient in enumerate(patients):
        now = max(now, patient.arrival)
        while pending and pending[0][0] <= now:
            free[pending.pop(0)[1]] += 1
        start = int(np.searchsorted(SLOT_HOURS, patient.earliest, side="left"))
        if k == 0 and first_slot is not None:
            slot = first_slot
        else:
            open_after = np.flatnonzero(free[start:])
            if not len(open_after):
                total += REWARD_TURNED_AWAY
                continue
            slot = start + int(open_after[0])
        if free[slot] <= 0 or SLOT_HOURS[slot] < patient.earliest:
            raise ValueError(f"slot {slot} is not open for this request")
        _, lead, cancelled, _, reward = booking_outcome(params, patient, slot)
        free[slot] -= 1
        if cancelled:
            bisect.insort(pending, (patient.arrival + patient.u_cancel_time * lead, slot))
        total += reward
    return total


def rollout_values(*, params: SimulatorParams, known: KnownState, slots: Sequence[int], samples: int,
                   stream: int = STREAM) -> np.ndarray:
    """Mean return of booking each of ``slots`` now and first-available after, over the same ``samples`` futures."""
    rng = np.random.default_rng([stream, known.episode, known.decision])
    futures = [sample_future(params=params, known=known, rng=rng) for _ in range(samples)]
    return np.asarray([np.mean([first_available_return(params=params, free=known.free, patients=future,
                                                       now=known.now, first_slot=int(slot))
                                for future in futures]) for slot in slots])


def choose(*, params: SimulatorParams, known: KnownState, mask: np.ndarray, samples: int, candidates: int) -> int:
    """The action: the best of the first ``candidates`` open times, with its first doctor that has a place."""
    slots = open_slots(free=known.free, earliest=known.earliest)[:candidates]
    best = 0
    if len(slots) > 1:
        values = rollout_values(params=params, known=known, slots=slots, samples=samples)
        for j in range(1, len(slots)):
            if values[j] > values[best] + TIE:
                best = j
    doctors = np.flatnonzero(mask[best * MAX_DOCTORS:(best + 1) * MAX_DOCTORS])
    return best * MAX_DOCTORS + int(doctors[0])


def rollout_policy(*, samples: int = 16, candidates: int = 4) -> Callable:
    """``policy(view, mask, sim) -> action`` for :meth:`BookingSimulator.run` and ``evaluate.run_policy``."""
    def act(view, mask: np.ndarray, sim: BookingSimulator) -> int:
        return choose(params=sim.params, known=known_state(sim), mask=mask, samples=samples, candidates=candidates)
    return act


def evaluate(*, episodes: int, samples: int, candidates: int, params: SimulatorParams | None = None) -> dict:
    """First-available, the rollout policy and the hindsight bound on the first ``episodes`` held-out episodes."""
    seeds = held_out_seeds(episodes)
    started = time.perf_counter()
    fa = run_policy(first_available, seeds, params)
    rollout_started = time.perf_counter()
    ro = run_policy(rollout_policy(samples=samples, candidates=candidates), seeds, params)
    hindsight_started = time.perf_counter()
    bound = run_hindsight(seeds, params)
    done = time.perf_counter()
    diff, low, high = paired_interval(ro["rewards"], fa["rewards"])
    gap = bound["mean_reward"] - fa["mean_reward"]
    per_episode = np.asarray(ro["rewards"]) - np.asarray(fa["rewards"])
    return {
        "episodes": episodes, "samples": samples, "candidates": candidates,
        "first_available_mean_reward": fa["mean_reward"],
        "rollout_mean_reward": ro["mean_reward"],
        "hindsight_mean_reward": bound["mean_reward"],
        "rollout_minus_first_available": diff,
        "rollout_minus_first_available_ci95": (low, high),
        "episodes_rollout_better": int((per_episode > 1e-6).sum()),
        "episodes_rollout_same": int((abs(per_episode) <= 1e-6).sum()),
        "episodes_rollout_worse": int((per_episode < -1e-6).sum()),
        "gap_first_available_to_hindsight": gap,
        "gap_closed": diff / gap if gap else float("nan"),
        "gap_closed_ci95": (low / gap, high / gap) if gap else (float("nan"), float("nan")),
        "first_available_mean_wait_h": fa["mean_wait_h"],
        "rollout_mean_wait_h": ro["mean_wait_h"],
        "hindsight_mean_wait_h": bound["mean_wait_h"],
        "first_available_mean_wait_urgent_h": fa["mean_wait_urgent_h"],
        "rollout_mean_wait_urgent_h": ro["mean_wait_urgent_h"],
        "hindsight_mean_wait_urgent_h": bound["mean_wait_urgent_h"],
        "seconds_first_available": rollout_started - started,
        "seconds_rollout": hindsight_started - rollout_started,
        "seconds_hindsight": done - hindsight_started,
    }


def advantage_check(*, episodes: int, samples: int, candidates: int, params: SimulatorParams | None = None) -> dict:
    """How much one-step lookahead could gain with better estimates, along first-available's own episodes.

    At each decision where a later time looks better than first-available's on ``samples``
    futures, ``estimated`` adds its advantage on those futures and ``independent`` its advantage on
    as many independent futures. ``estimated`` is biased up (the best of noisy estimates): in
    expectation it is at least what an exact lookahead would gain at these decisions.
    ``independent`` is unbiased for the times chosen. Figures are per episode, with standard errors
    over episodes.
    """
    sim = BookingSimulator(params)
    estimated, independent = [], []
    for seed in held_out_seeds(episodes):
        sim.reset(seed)
        totals = np.zeros(2)
        while not sim.done:
            known = known_state(sim)
            slots = open_slots(free=known.free, earliest=known.earliest)[:candidates]
            if len(slots) > 1:
                values = rollout_values(params=sim.params, known=known, slots=slots, samples=samples)
                advantage = values - values[0]
                best = int(np.argmax(advantage))
                if advantage[best] > TIE:
                    again = rollout_values(params=sim.params, known=known, slots=[slots[0], slots[best]],
                                           samples=samples, stream=STREAM + 1)
                    totals += (advantage[best], again[1] - again[0])
            sim.step(first_available(sim.view(), sim.action_mask()))
        estimated.append(totals[0])
        independent.append(totals[1])
    out: dict = {"episodes": episodes, "samples": samples, "candidates": candidates}
    for name, values in (("estimated", estimated), ("independent", independent)):
        out[f"{name}_advantage_per_episode"] = float(np.mean(values))
        out[f"{name}_advantage_se"] = float(np.std(values, ddof=1) / np.sqrt(episodes)) if episodes > 1 else float("nan")
    return out


def _format(value) -> str:
    if isinstance(value, tuple):
        return " .. ".join(_format(v) for v in value)
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--advantage-check", action="store_true",
                        help="estimate the lookahead's advantages along first-available's episodes instead")
    args = parser.parse_args(argv)
    run = advantage_check if args.advantage_check else evaluate
    result = run(episodes=args.episodes, samples=args.samples, candidates=args.candidates)
    for name, value in result.items():
        print(f"{name}: {_format(value)}")


if __name__ == "__main__":
    main()
