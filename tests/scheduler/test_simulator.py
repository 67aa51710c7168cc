"""The booking simulator's invariants, the baselines and the hindsight bound (no database, no torch)."""

from __future__ import annotations

import numpy as np
import pytest

from appointments.scheduler.baselines import (
    first_available,
    heuristic,
    hindsight,
    random_policy,
    urgent_wait_floor,
)
from appointments.scheduler.features import N_ACTIONS, OBS_SIZE
from appointments.scheduler.params import (
    MAX_DOCTORS,
    QUICK_HOURS,
    REWARD_TURNED_AWAY,
    URGENT,
    SimulatorParams,
    booking_reward,
)
from appointments.scheduler.simulator import SLOT_HOURS, BookingSimulator

SEEDS = range(40, 52)


def _checked_run(sim: BookingSimulator, policy, seed: int):
    """Run an episode, checking after every step that nothing is overbooked and time never goes back."""
    sim.reset(seed)
    clocks = [sim.now]
    for _ in range(1000):
        if sim.done:
            break
        mask = sim.action_mask()
        assert mask.shape == (N_ACTIONS,) and mask.any()
        obs = sim.observation()
        assert obs.shape == (OBS_SIZE,) and np.all(np.isfinite(obs))
        sim.step(policy(sim.view(), mask, sim))
        assert (sim.free >= 0).all()
        assert (sim.free <= sim.capacity).all()
        clocks.append(sim.now)
    assert sim.done
    assert clocks == sorted(clocks)
    return sim.log


@pytest.mark.parametrize("policy_name", ["first_available", "heuristic", "random"])
def test_never_overbooks_and_time_moves_forward(policy_name):
    policy = {"first_available": first_available, "heuristic": heuristic,
              "random": random_policy(np.random.default_rng(3))}[policy_name]
    sim = BookingSimulator()
    for seed in SEEDS:
        log = _checked_run(sim, policy, seed)
        booked = np.zeros_like(sim.capacity)
        for b in log.bookings:
            booked[b.doctor, b.slot] += 1
            assert SLOT_HOURS[b.slot] >= sim.patients[b.patient].earliest  # never before the patient can come
        assert (sim.prefilled + booked <= sim.capacity + _given_back(sim, log)).all()


def _given_back(sim, log) -> np.ndarray:
    """Places freed by cancellations may be booked again."""
    out = np.zeros_like(sim.capacity)
    for b in log.bookings:
        if b.cancelled:
            out[b.doctor, b.slot] += 1
    return out


def test_reward_is_exactly_the_seed_terms():
    sim = BookingSimulator()
    for seed in SEEDS:
        log = _checked_run(sim, first_available, seed)
        total = 0.0
        for b in log.bookings:
            expected = 5.0 - 10.0 * b.wait_hours
            if b.urgency >= URGENT and b.wait_hours <= QUICK_HOURS:
                expected += 20.0
            if b.no_show:
                expected -= 50.0
            assert b.reward == pytest.approx(expected)
            total += expected
        total += REWARD_TURNED_AWAY * len(log.turned_away)
        assert log.reward == pytest.approx(total)


def test_booking_reward_terms():
    assert booking_reward(wait_hours=0.0, urgency=3, no_show=False) == 5.0
    assert booking_reward(wait_hours=2.5, urgency=3, no_show=False) == 5.0 - 25.0
    assert booking_reward(wait_hours=2.0, urgency=9, no_show=False) == 5.0 - 20.0 + 20.0
    assert booking_reward(wait_hours=30.0, urgency=9, no_show=False) == 5.0 - 300.0
    assert booking_reward(wait_hours=1.0, urgency=2, no_show=True) == 5.0 - 10.0 - 50.0


def test_deterministic_for_a_seed():
    a, b = BookingSimulator(), BookingSimulator()
    la, lb = a.run(heuristic, 7), b.run(heuristic, 7)
    assert [(x.slot, x.doctor, x.reward) for x in la.bookings] == [(x.slot, x.doctor, x.reward) for x in lb.bookings]
    other = BookingSimulator().run(heuristic, 8)
    assert [(x.slot, x.doctor) for x in other.bookings] != [(x.slot, x.doctor) for x in la.bookings]


def test_masked_action_is_refused():
    sim = BookingSimulator()
    sim.reset(11)
    mask = sim.action_mask()
    with pytest.raises(ValueError):
        sim.step(int(np.flatnonzero(~mask)[0]))
    # a doctor index beyond the roster is always masked
    assert not mask.reshape(-1, MAX_DOCTORS)[:, sim.n_doctors:].any()


def test_first_available_takes_the_earliest_open_time():
    sim = BookingSimulator()
    sim.reset(5)
    view = sim.view()
    action = first_available(view, sim.action_mask())
    assert action // MAX_DOCTORS == 0
    assert view.wait_hours[0] == min(view.wait_hours[view.valid])


def test_heuristic_gives_urgent_patients_shorter_waits_than_first_available():
    from appointments.scheduler.evaluate import held_out_seeds, run_policy

    seeds = held_out_seeds(40)
    fa, heur = run_policy(first_available, seeds), run_policy(heuristic, seeds)
    assert heur["mean_wait_urgent_h"] < fa["mean_wait_urgent_h"]


def test_hindsight_is_an_upper_bound_on_every_episode():
    sim = BookingSimulator()
    for seed in range(100, 110):
        bound = hindsight(sim, seed)["reward"]
        for policy in (first_available, heuristic):
            assert BookingSimulator().run(policy, seed).reward <= bound + 1e-6


def test_hindsight_solution_is_a_schedule_the_simulator_accepts():
    """Replaying the bound's bookings request by request, with the simulator's own clock and
    cancellations, never books a full place and earns exactly the bound's reward."""
    sim = BookingSimulator()
    for seed in range(120, 126):
        result = hindsight(sim, seed)
        plan = {b["patient"]: b for b in result["bookings"]}
        assert len(plan) + result["turned_away"] == len(sim.patients)
        sim.reset(seed)
        total = 0.0
        for index, patient in enumerate(sim.patients):
            sim._advance(patient.arrival)
            sim.index = index
            if index not in plan:
                total += REWARD_TURNED_AWAY
                continue
            booking = plan[index]
            assert sim.free[booking["doctor"], booking["slot"]] > 0
            total += sim._book(booking["slot"], booking["doctor"])
        assert total == pytest.approx(result["reward"])


def _urgent_first(view, mask, sim=None) -> int:
    """Urgent patients take the earliest place, everybody else the latest one offered."""
    allowed = np.flatnonzero(mask)
    return int(allowed[0] if view.urgency >= URGENT else allowed[-1])


def test_urgent_wait_floor_is_below_every_policy_on_every_episode():
    sim = BookingSimulator()
    compared = 0
    for seed in range(200, 215):
        floor = urgent_wait_floor(sim, seed)
        urgent_patients = [p for p in sim.patients if p.urgency >= URGENT]
        assert len(floor) == len(urgent_patients)
        for policy in (first_available, heuristic, _urgent_first, random_policy(np.random.default_rng(seed))):
            log = BookingSimulator().run(policy, seed)
            if any(sim.patients[i].urgency >= URGENT for i in log.turned_away):
                continue
            waits = [b.wait_hours for b in log.bookings if b.urgency >= URGENT]
            assert sum(waits) >= sum(floor) - 1e-6
            compared += 1
    assert compared >= 50


def test_urgent_wait_floor_accounts_for_urgent_patients_competing_for_a_place():
    """Each urgent patient's own earliest open place is a lower bound of her floor wait; on some
    episodes two of them want the same place, and the floor is above the sum of those."""
    sim = BookingSimulator()
    above = 0
    for seed in range(300, 340):
        floor = sum(urgent_wait_floor(sim, seed))
        open_slots = sim.free.sum(axis=0) > 0
        own = sum(float(SLOT_HOURS[np.flatnonzero(open_slots & (SLOT_HOURS >= p.earliest))[0]] - p.earliest)
                  for p in sim.patients if p.urgency >= URGENT)
        assert floor >= own - 1e-6
        above += floor > own + 1e-6
    assert above >= 1


def test_params_round_trip_and_defaults(tmp_path):
    params = SimulatorParams(asap_share=0.5)
    path = tmp_path / "p.json"
    path.write_text(params.to_json())
    assert SimulatorParams.load(path).asap_share == 0.5
    assert SimulatorParams.load(tmp_path / "missing.json") == SimulatorParams()
