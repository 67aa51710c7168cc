"""Held-out evaluation: the same episodes (seeds) for every policy, the figures of the results table.

Training draws episode seeds below ``HELD_OUT_SEED_BASE``; evaluation uses seeds from it up,
so no evaluated episode was seen in training.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from appointments.scheduler.baselines import first_available, heuristic, hindsight, urgent_wait_floor
from appointments.scheduler.params import QUICK_HOURS, SLOTS_PER_DAY, URGENT, SimulatorParams
from appointments.scheduler.simulator import UTILISATION_DAYS, BookingSimulator

HELD_OUT_SEED_BASE = 1_000_000


def held_out_seeds(n: int) -> list[int]:
    return [HELD_OUT_SEED_BASE + i for i in range(n)]


def _cv(counts: list[int]) -> float:
    arr = np.asarray(counts, dtype=float)
    return float(arr.std() / arr.mean()) if arr.size and arr.mean() > 0 else 0.0


def _summary(rows: list[dict]) -> dict:
    waits = [w for r in rows for w in r["waits"]]
    urgent = [w for r in rows for w in r["urgent_waits"]]
    shown = sum(r["attending"] for r in rows)
    no_shows = sum(r["no_shows"] for r in rows)
    rewards = [r["reward"] for r in rows]
    return {
        "episodes": len(rows),
        "mean_wait_h": float(np.mean(waits)) if waits else 0.0,
        "mean_wait_urgent_h": float(np.mean(urgent)) if urgent else 0.0,
        "urgent_within_24h": float(np.mean([w <= QUICK_HOURS for w in urgent])) if urgent else 0.0,
        "utilisation": float(np.mean([r["utilisation"] for r in rows])),
        "no_show_rate": no_shows / shown if shown else 0.0,
        "doctor_load_cv": float(np.mean([r["cv"] for r in rows])),
        "mean_reward": float(np.mean(rewards)),
        "rewards": rewards,
    }


def run_policy(policy: Callable, seeds: Iterable[int], params: SimulatorParams | None = None) -> dict:
    sim = BookingSimulator(params)
    rows = []
    for seed in seeds:
        log = sim.run(policy, seed)
        per_doctor = [0] * sim.n_doctors
        for b in log.bookings:
            per_doctor[b.doctor] += 1
        rows.append({
            "waits": [b.wait_hours for b in log.bookings],
            "urgent_waits": [b.wait_hours for b in log.bookings if b.urgency >= URGENT],
            "attending": sum(1 for b in log.bookings if not b.cancelled),
            "no_shows": sum(1 for b in log.bookings if b.no_show),
            "utilisation": sim.utilisation(),
            "cv": _cv(per_doctor),
            "reward": log.reward,
        })
    return _summary(rows)


def run_hindsight(seeds: Iterable[int], params: SimulatorParams | None = None) -> dict:
    sim = BookingSimulator(params)
    rows = []
    end = UTILISATION_DAYS * SLOTS_PER_DAY
    for seed in seeds:
        result = hindsight(sim, seed)
        bookings = result["bookings"]
        per_doctor = [0] * sim.n_doctors
        for b in bookings:
            if b["doctor"] >= 0:
                per_doctor[b["doctor"]] += 1
        capacity = float(sim.capacity[:, :end].sum())
        used = float(sim.prefilled[:, :end].sum()) + sum(
            1 for b in bookings if 0 <= b["slot"] < end and not b["no_show"] and not b["cancelled"])
        rows.append({
            "waits": [b["wait"] for b in bookings],
            "urgent_waits": [b["wait"] for b in bookings if b["urgency"] >= URGENT],
            "attending": sum(1 for b in bookings if not b["cancelled"]),
            "no_shows": sum(1 for b in bookings if b["no_show"]),
            "utilisation": used / capacity if capacity else 0.0,
            "cv": _cv(per_doctor),
            "reward": result["reward"],
        })
    return _summary(rows)


def run_urgent_floor(seeds: Iterable[int], params: SimulatorParams | None = None) -> dict:
    """The least mean wait of urgent patients any policy could reach on these episodes."""
    sim = BookingSimulator(params)
    waits = [w for seed in seeds for w in urgent_wait_floor(sim, seed)]
    return {"mean_wait_urgent_h": float(np.mean(waits)) if waits else 0.0, "urgent_patients": len(waits)}


def paired_interval(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired episodes with its 95 % normal interval."""
    diff = np.asarray(a) - np.asarray(b)
    mean = float(diff.mean())
    half = 1.96 * float(diff.std(ddof=1)) / math.sqrt(len(diff)) if len(diff) > 1 else float("inf")
    return mean, mean - half, mean + half


def compare(policy: Callable, *, episodes: int, params: SimulatorParams | None = None,
            with_hindsight: bool = True) -> dict:
    """Every figure of the results table for ``policy`` against the baselines on held-out seeds."""
    seeds = held_out_seeds(episodes)
    out = {
        "ppo": run_policy(policy, seeds, params),
        "first_available": run_policy(first_available, seeds, params),
        "heuristic": run_policy(heuristic, seeds, params),
    }
    if with_hindsight:
        out["hindsight"] = run_hindsight(seeds, params)
        out["urgent_floor"] = run_urgent_floor(seeds, params)
    ppo, fa, heur = out["ppo"], out["first_available"], out["heuristic"]
    diff, low, high = paired_interval(ppo["rewards"], heur["rewards"])
    fa_diff, fa_low, fa_high = paired_interval(ppo["rewards"], fa["rewards"])
    headline = {
        "urgent_wait_ratio_vs_first_available": ppo["mean_wait_urgent_h"] / fa["mean_wait_urgent_h"]
        if fa["mean_wait_urgent_h"] else float("nan"),
        "mean_wait_ratio_vs_first_available": ppo["mean_wait_h"] / fa["mean_wait_h"] if fa["mean_wait_h"] else float("nan"),
        "beats_heuristic": int(low > 0),
        "reward_diff_vs_heuristic": diff,
        "reward_diff_vs_heuristic_ci": [low, high],
        "reward_diff_vs_first_available": fa_diff,
        "reward_diff_vs_first_available_ci": [fa_low, fa_high],
        "utilisation_delta_vs_first_available_pp": 100.0 * (ppo["utilisation"] - fa["utilisation"]),
    }
    if with_hindsight:
        gap = out["hindsight"]["mean_reward"] - fa["mean_reward"]
        headline["reward_gap_closed_vs_hindsight"] = (ppo["mean_reward"] - fa["mean_reward"]) / gap if gap else float("nan")
        floor = out["urgent_floor"]["mean_wait_urgent_h"]
        headline["urgent_wait_ratio_floor_vs_first_available"] = floor / fa["mean_wait_urgent_h"] \
            if fa["mean_wait_urgent_h"] else float("nan")
    out["headline"] = headline
    for block in out.values():
        block.pop("rewards", None) if isinstance(block, dict) else None
    return out
