"""The training path: a short MaskablePPO run that must beat a random policy held out, its ONNX
export choosing the same actions as torch, and the learning curve files."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sb3_contrib")

from appointments.scheduler.baselines import random_policy  # noqa: E402
from appointments.scheduler.evaluate import held_out_seeds, paired_interval, run_policy  # noqa: E402
from appointments.scheduler.features import action_mask, observe  # noqa: E402
from appointments.scheduler.policy import OnnxPolicy  # noqa: E402
from appointments.scheduler.simulator import BookingSimulator  # noqa: E402
from appointments.scheduler.train import load_hyperparams, train  # noqa: E402

SHORT = {"n_envs": 2, "n_steps": 256, "batch_size": 128, "n_epochs": 3, "bc_episodes": 30, "bc_epochs": 2,
         "eval_every_steps": 1024, "curve_episodes": 3, "device": "cpu"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    hp = {**load_hyperparams(), **SHORT}
    result = train(out=out, version="vtest", hyperparams=hp, total_timesteps=2048, heldout_episodes=20,
                   with_hindsight=False)
    return out / "vtest", result


def test_short_training_beats_a_random_policy_held_out(trained):
    folder, _ = trained
    seeds = held_out_seeds(40)
    learned = run_policy(OnnxPolicy(folder / "policy.onnx"), seeds)
    rand = run_policy(random_policy(np.random.default_rng(0)), seeds)
    _, low, _ = paired_interval(learned["rewards"], rand["rewards"])
    assert low > 0, (learned["mean_reward"], rand["mean_reward"])


def test_onnx_and_torch_choose_the_same_actions_on_1000_states(trained):
    folder, result = trained
    model = result["model"]
    onnx_policy = OnnxPolicy(folder / "policy.onnx")
    sim = BookingSimulator()
    rng = np.random.default_rng(1)
    act = random_policy(rng)
    states = 0
    for seed in range(500, 600):
        sim.reset(seed)
        while not sim.done and states < 1000:
            view = sim.view()
            mask = action_mask(view)
            torch_action, _ = model.predict(observe(view), action_masks=mask, deterministic=True)
            assert onnx_policy.act(view, mask) == int(torch_action)
            states += 1
            sim.step(act(view, mask))
        if states >= 1000:
            break
    assert states == 1000


def test_training_writes_manifest_and_learning_curve(trained):
    folder, _ = trained
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["version"] == "vtest" and manifest["algorithm"].startswith("MaskablePPO")
    assert set(manifest["evaluation"]["headline"]) >= {"mean_wait_ratio_vs_first_available", "beats_heuristic"}
    lines = (folder / "learning_curve.csv").read_text().splitlines()
    assert lines[0].startswith("timesteps,mean_reward") and len(lines) >= 3
    assert (folder / "learning_curve.png").stat().st_size > 1000


def test_training_in_subprocess_envs_stops_at_its_wall_clock_budget(tmp_path):
    from stable_baselines3.common.vec_env import SubprocVecEnv

    steps = 10_000_000
    hp = {**load_hyperparams(), **SHORT, "vec_env": "subproc", "bc_episodes": 0, "eval_every_steps": 10**9}
    result = train(out=tmp_path, version="vbudget", hyperparams=hp, total_timesteps=steps, heldout_episodes=2,
                   with_hindsight=False, plot=False, max_seconds=8)
    assert isinstance(result["model"].get_env(), SubprocVecEnv)
    assert 0 < result["trained_timesteps"] < steps
    manifest = json.loads((tmp_path / "vbudget" / "manifest.json").read_text())
    assert manifest["trained_timesteps"] == result["trained_timesteps"]
    assert manifest["device"] == "cpu" and manifest["train_seconds"] < 60
    assert {"reward_diff_vs_first_available", "reward_diff_vs_first_available_ci"} <= set(
        manifest["evaluation"]["headline"])
