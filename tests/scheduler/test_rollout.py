"""The rollout (one-step lookahead) policy over first-available: its fast rollout is the simulator's
first-available, it only takes allowed actions, it is reproducible and it reads nothing a live
booking system could not know (no database, no torch)."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from appointments.scheduler.baselines import first_available
from appointments.scheduler.params import MAX_DOCTORS, URGENT, SimulatorParams
from appointments.scheduler.rollout import (
    first_available_return,
    known_state,
    rollout_policy,
    sample_arrivals,
)
from appointments.scheduler.simulator import SLOT_HOURS, BookingSimulator, Patient, open_slots

SEEDS = (1_000_000, 1_000_001, 41, 77)


def _advance_with_first_available(sim: BookingSimulator, decisions: int) -> None:
    for _ in range(decisions):
        sim.step(first_available(sim.view(), sim.action_mask()))


def _known_future(sim: BookingSimulator) -> dict:
    """The real future of the current decision, as only a test may read it."""
    return {"free": sim.free.sum(axis=0), "patients": list(sim.patients[sim.index:]), "now": sim.now,
            "cancellations": [(at, slot) for at, _, slot in sim.cancellations]}


CANCELLING = SimulatorParams(cancel_base=0.3, cancel_per_day=0.05)  # many give-backs, to exercise them


@pytest.mark.parametrize("params", [SimulatorParams(), CANCELLING], ids=["default", "cancelling"])
@pytest.mark.parametrize("seed", SEEDS)
def test_fast_rollout_is_the_simulators_first_available_from_the_start(params, seed):
    sim = BookingSimulator(params)
    sim.reset(seed)
    assert sim.log.reward == 0.0
    future = _known_future(sim)
    log = sim.run(first_available, seed)
    assert first_available_return(params=params, **future) == log.reward  # same additions, same order
    if params is CANCELLING:
        assert any(b.cancelled for b in log.bookings)


@pytest.mark.parametrize("params", [SimulatorParams(), CANCELLING], ids=["default", "cancelling"])
def test_fast_rollout_is_the_simulator_booking_a_later_time_then_first_available(params):
    """From decisions in mid-episode, with the bookings made so far still to be cancelled: booking
    candidate ``j`` now and first-available after earns what the simulator gives."""
    sim = BookingSimulator(params)
    pending = 0
    for seed in SEEDS:
        for decision in (3, 11, 20):
            for j in (0, 1, 3):
                sim.reset(seed)
                _advance_with_first_available(sim, decision)
                slots = sim.candidates()
                j = min(j, len(slots) - 1)
                future = _known_future(sim)
                pending += len(future["cancellations"])
                before = sim.log.reward
                mask = sim.action_mask()
                sim.step(j * MAX_DOCTORS + int(np.flatnonzero(mask[j * MAX_DOCTORS:(j + 1) * MAX_DOCTORS])[0]))
                while not sim.done:
                    sim.step(first_available(sim.view(), sim.action_mask()))
                fast = first_available_return(params=params, first_slot=int(slots[j]), **future)
                assert fast == pytest.approx(sim.log.reward - before, abs=1e-6)
    if params is CANCELLING:
        assert pending > 0  # the given-back places of earlier bookings are part of what is checked


def test_fast_rollout_refuses_a_full_or_too_early_slot():
    sim = BookingSimulator()
    sim.reset(SEEDS[0])
    future = _known_future(sim)
    full = int(np.flatnonzero(future["free"] == 0)[-1])
    with pytest.raises(ValueError):
        first_available_return(params=sim.params, first_slot=full, **future)


def test_only_unmasked_actions_over_whole_episodes_and_it_leaves_first_available():
    policy = rollout_policy(samples=8, candidates=4)
    sim = BookingSimulator()
    later = 0
    for seed in SEEDS[:2]:
        sim.reset(seed)
        while not sim.done:
            view, mask = sim.view(), sim.action_mask()
            action = policy(view, mask, sim)
            assert mask[action]
            later += action // MAX_DOCTORS > 0
            sim.step(action)
        assert not sim.log.turned_away
    assert later > 0  # the lookahead does choose later times; otherwise the checks here check nothing


def test_deterministic_for_a_seed():
    runs = [BookingSimulator().run(rollout_policy(samples=8, candidates=4), SEEDS[0]) for _ in range(2)]
    a, b = ([(x.slot, x.doctor, x.reward) for x in log.bookings] for log in runs)
    assert a == b


def test_one_candidate_is_first_available():
    ours = BookingSimulator().run(rollout_policy(samples=4, candidates=1), SEEDS[1])
    theirs = BookingSimulator().run(first_available, SEEDS[1])
    assert [(x.slot, x.doctor) for x in ours.bookings] == [(x.slot, x.doctor) for x in theirs.bookings]


def _hide_differently(sim: BookingSimulator) -> BookingSimulator:
    """The same decision, with everything a live system does not know changed: the current
    patient's own draws, every later request, the pending cancellations and the outcomes logged."""
    other = copy.deepcopy(sim)
    current = other.patients[other.index]
    other.patients[other.index] = dataclasses.replace(current, u_no_show=1.0 - current.u_no_show,
                                                      u_cancel=1.0 - current.u_cancel,
                                                      u_cancel_time=1.0 - current.u_cancel_time)
    urgent_crowd = [Patient(arrival=min(23.99, current.arrival + 0.05 * (k + 1)), urgency=10,
                            earliest=min(23.99, current.arrival + 0.05 * (k + 1)), asap=True,
                            u_no_show=0.0, u_cancel=0.99, u_cancel_time=0.5) for k in range(40)]
    other.patients[other.index + 1:] = urgent_crowd
    other.cancellations = [(at + 100.0, doctor, slot) for at, doctor, slot in other.cancellations]
    for booking in other.log.bookings:
        booking.no_show, booking.cancelled = not booking.no_show, not booking.cancelled
    return other


def _oracle_time(sim: BookingSimulator) -> int:
    """What a policy reading the hidden values would choose: the best of four times on the real future."""
    future = _known_future(sim)
    slots = sim.candidates()[:4]
    values = [first_available_return(params=sim.params, first_slot=int(slot), **future) for slot in slots]
    return int(np.argmax(values))


def test_never_reads_the_current_patients_draws_later_requests_or_pending_cancellations():
    policy = rollout_policy(samples=8, candidates=4)
    sim = BookingSimulator()
    sim.reset(SEEDS[0])
    oracle_differs = 0
    for _ in range(30):
        if sim.done:
            break
        other = _hide_differently(sim)
        assert known_state(other).free.tolist() == known_state(sim).free.tolist()
        view, mask = sim.view(), sim.action_mask()
        action = policy(view, mask, sim)
        assert policy(other.view(), other.action_mask(), other) == action
        oracle_differs += _oracle_time(sim) != _oracle_time(other)
        sim.step(action)
    assert oracle_differs > 0  # the hidden values changed matter to a policy that reads them


class _Refused(AssertionError):
    pass


class _SealedPatient:
    """The current request as a live system knows it: its own draws cannot be read."""

    def __init__(self, patient: Patient) -> None:
        self.arrival, self.urgency, self.earliest, self.asap = (patient.arrival, patient.urgency, patient.earliest,
                                                                patient.asap)

    def __getattr__(self, name):
        raise _Refused(f"read the current patient's {name}")


class _SealedRequests(list):
    """The day's requests where only the current one can be read (not later ones, not how many)."""

    def __init__(self, patients: list, index: int) -> None:
        super().__init__(patients)
        self.index = index

    def __getitem__(self, key):
        if key != self.index:
            raise _Refused(f"read requests[{key}]")
        return super().__getitem__(key)

    def __len__(self):
        raise _Refused("read the number of requests")

    def __iter__(self):
        raise _Refused("iterated over the requests")


class _Sealed:
    """Anything else that is hidden: reading it at all fails."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __getattr__(self, name):
        raise _Refused(f"read {self.what}.{name}")

    def __iter__(self):
        raise _Refused(f"iterated over {self.what}")

    def __len__(self):
        raise _Refused(f"read len({self.what})")

    def __bool__(self):
        raise _Refused(f"tested {self.what}")


def test_reading_a_hidden_value_fails():
    """The policy runs on a simulator whose hidden values raise when read."""
    policy = rollout_policy(samples=4, candidates=4)
    sim = BookingSimulator()
    sim.reset(SEEDS[3])
    for _ in range(25):
        if sim.done:
            break
        view, mask = sim.view(), sim.action_mask()
        sealed = copy.deepcopy(sim)
        sealed.patients = _SealedRequests([*sim.patients[:sim.index], _SealedPatient(sim.patient),
                                           *sim.patients[sim.index + 1:]], sim.index)
        sealed.cancellations = _Sealed("cancellations")
        sealed.log = _Sealed("log")
        sealed.prefilled = _Sealed("prefilled")
        assert policy(view, mask, sealed) == policy(view, mask, sim)
        sim.step(first_available(view, mask))
    with pytest.raises(_Refused):
        sealed.patient.u_no_show  # noqa: B018  (the seal works)


def test_sampled_arrivals_follow_the_simulators_process():
    params = SimulatorParams()
    rng = np.random.default_rng(0)
    weekday = 0
    rates = np.asarray(params.hourly_arrivals) * params.weekday_factor[weekday]
    for after, expected in ((0.0, rates.sum()), (10.5, 0.5 * rates[10] + rates[11:].sum())):
        days = [sample_arrivals(params=params, weekday=weekday, after=after, rng=rng) for _ in range(1000)]
        counts = np.asarray([len(day) for day in days])
        assert abs(counts.mean() - expected) < 4 * np.sqrt(expected / len(days))
        patients = [p for day in days for p in day]
        assert all(after <= p.arrival < 24.0 for p in patients)
        assert all(day == sorted(day, key=lambda p: p.arrival) for day in days)
        urgent = np.asarray([p.urgency >= URGENT for p in patients])
        share = float(np.sum(params.urgency_weights[URGENT - 1:]) / np.sum(params.urgency_weights))
        assert abs(urgent.mean() - share) < 0.01
        assert all(p.earliest == p.arrival for p in patients if p.urgency >= URGENT)
        later = [p for p in patients if not p.asap]
        assert later and all(p.earliest in (24.0, 48.0, 72.0) for p in later)
        assert abs(len(later) / len(patients) - (1 - share) * (1 - params.asap_share)) < 0.015


def test_candidates_are_the_simulators():
    sim = BookingSimulator()
    sim.reset(SEEDS[2])
    for _ in range(10):
        known = known_state(sim)
        assert open_slots(free=known.free, earliest=known.earliest).tolist() == sim.candidates().tolist()
        assert SLOT_HOURS[sim.candidates()[0]] >= known.earliest
        sim.step(first_available(sim.view(), sim.action_mask()))
