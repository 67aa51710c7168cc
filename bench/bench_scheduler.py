"""Appointment scheduler benchmarks: the served PPO policy against first-available, the heuristic
and the hindsight bound on held-out simulator episodes (seeds never used in training).

Per policy: ``scheduler_<policy>_<figure>`` for mean wait (all, and urgency >= 8) in hours, share
of urgency >= 8 seen within 24 h, utilisation, no-show rate, doctor load imbalance (coefficient of
variation) and mean episode reward (the seed's terms). Headline figures (targets in
docs/scheduling.md): ``scheduler_urgent_wait_ratio_vs_first_available`` (<= 0.5),
``scheduler_mean_wait_ratio_vs_first_available`` (<= 1.10), ``scheduler_reward_gap_closed_vs_hindsight``
(>= 0.5), ``scheduler_beats_heuristic`` (1: higher mean reward with a 95 % paired interval above
zero), ``scheduler_utilisation_delta_vs_first_available`` (percentage points, >= -2) and
``scheduler_inference_p99_ms`` (features + ONNX run of one decision, < 5).
``scheduler_urgent_wait_ratio_floor_vs_first_available`` is the least urgent-wait ratio any policy
could reach on the same episodes (every request known in advance, nobody else taking a place).

``SCHEDULER_BENCH_EPISODES`` (default 200) and ``SCHEDULER_BENCH_VERSION`` (default: the shipped
version) change what is measured. Measured, never asserted.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appointments.scheduler.evaluate import compare  # noqa: E402
from appointments.scheduler.params import SimulatorParams  # noqa: E402
from appointments.scheduler.policy import OnnxPolicy  # noqa: E402
from appointments.scheduler.simulator import BookingSimulator  # noqa: E402

FIGURES = ("mean_wait_h", "mean_wait_urgent_h", "urgent_within_24h", "utilisation", "no_show_rate",
           "doctor_load_cv", "mean_reward")


def inference_p99_ms(policy: OnnxPolicy, params: SimulatorParams, decisions: int = 2000) -> float:
    sim = BookingSimulator(params)
    timings = []
    seed = 3_000_000
    while len(timings) < decisions:
        sim.reset(seed)
        seed += 1
        while not sim.done and len(timings) < decisions:
            view = sim.view()
            started = time.perf_counter()
            probabilities = policy.probabilities(view)
            timings.append((time.perf_counter() - started) * 1000)
            sim.step(int(np.argmax(probabilities)))
    return float(np.percentile(timings, 99))


def main() -> None:
    version = os.environ.get("SCHEDULER_BENCH_VERSION", "v1")
    folder = ROOT / "appointments" / "scheduler" / "trained" / version
    if not (folder / "policy.onnx").is_file():
        folder = ROOT / "var" / "scheduler-models" / version
    episodes = int(os.environ.get("SCHEDULER_BENCH_EPISODES", "200"))
    params = SimulatorParams.load(folder / "simulator_params.json")
    policy = OnnxPolicy(folder / "policy.onnx")
    result = compare(policy, episodes=episodes, params=params, with_hindsight=True)
    print(f"scheduler_version: {version}")
    print(f"scheduler_heldout_episodes: {episodes}")
    for name in ("ppo", "first_available", "heuristic", "hindsight"):
        for figure in FIGURES:
            print(f"scheduler_{name}_{figure}: {result[name][figure]:.4g}")
    h = result["headline"]
    print(f"scheduler_urgent_wait_ratio_vs_first_available: {h['urgent_wait_ratio_vs_first_available']:.3f}")
    print(f"scheduler_urgent_floor_mean_wait_urgent_h: {result['urgent_floor']['mean_wait_urgent_h']:.4g}")
    print(f"scheduler_urgent_wait_ratio_floor_vs_first_available: "
          f"{h['urgent_wait_ratio_floor_vs_first_available']:.3f}")
    print(f"scheduler_mean_wait_ratio_vs_first_available: {h['mean_wait_ratio_vs_first_available']:.3f}")
    print(f"scheduler_reward_gap_closed_vs_hindsight: {h['reward_gap_closed_vs_hindsight']:.3f}")
    low, high = h["reward_diff_vs_heuristic_ci"]
    print(f"scheduler_reward_diff_vs_heuristic: {h['reward_diff_vs_heuristic']:.1f} (95% {low:.1f} .. {high:.1f})")
    print(f"scheduler_beats_heuristic: {h['beats_heuristic']}")
    print(f"scheduler_utilisation_delta_vs_first_available: {h['utilisation_delta_vs_first_available_pp']:.2f}")
    print(f"scheduler_inference_p99_ms: {inference_p99_ms(policy, params):.3f}")


if __name__ == "__main__":
    main()
