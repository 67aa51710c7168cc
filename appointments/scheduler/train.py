"""Train the scheduler with ``MaskablePPO`` on the simulator, export it to ONNX, evaluate it held out.

``make train-scheduler`` runs ``python -m appointments.scheduler.train``. Reproducible from the
seed in ``hyperparams.json``; writes into ``<out>/<version>/``: ``policy.onnx``, ``manifest.json``,
``learning_curve.csv`` and ``learning_curve.png``. Needs requirements-train.txt (torch); uses a
GPU where there is one (``device: auto``).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from sb3_contrib import MaskablePPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

from appointments.scheduler.baselines import first_available
from appointments.scheduler.env import SchedulingEnv
from appointments.scheduler.evaluate import compare, run_policy
from appointments.scheduler.features import DecisionView, action_mask, observe
from appointments.scheduler.onnx_export import export
from appointments.scheduler.params import MAX_DOCTORS, SimulatorParams
from appointments.scheduler.policy import OnnxPolicy

HERE = Path(__file__).resolve().parent
HYPERPARAMS = HERE / "hyperparams.json"
CURVE_SEED_BASE = 2_000_000  # validation episodes of the learning curve: neither training nor held out


def torch_policy(model: MaskablePPO):
    def act(view: DecisionView, mask: np.ndarray, sim=None) -> int:
        action, _ = model.predict(observe(view), action_masks=mask, deterministic=True)
        return int(action)
    return act


class CurveCallback(BaseCallback):
    """Every ``every`` steps: mean episode reward of the greedy policy on fixed validation episodes."""

    def __init__(self, *, every: int, episodes: int, params: SimulatorParams, rows: list) -> None:
        super().__init__()
        self.every, self.params, self.rows = every, params, rows
        self.seeds = [CURVE_SEED_BASE + i for i in range(episodes)]
        self.next_at = 0

    def _record(self) -> None:
        result = run_policy(torch_policy(self.model), self.seeds, self.params)
        self.rows.append({"timesteps": self.num_timesteps, "mean_reward": round(result["mean_reward"], 2),
                          "mean_wait_h": round(result["mean_wait_h"], 3),
                          "mean_wait_urgent_h": round(result["mean_wait_urgent_h"], 3)})

    def _on_training_start(self) -> None:
        self._record()
        self.next_at = self.every

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.next_at:
            self._record()
            self.next_at += self.every
        return True


class StopAfter(BaseCallback):
    """Ends training once ``seconds`` of wall-clock time have passed (the steps reached go in the manifest)."""

    def __init__(self, *, seconds: float) -> None:
        super().__init__()
        self.deadline = time.monotonic() + seconds

    def _on_step(self) -> bool:
        return time.monotonic() < self.deadline


def teacher(view: DecisionView, mask: np.ndarray, sim=None) -> int:
    """The earliest open time with the least-loaded doctor: first-available's waits, balanced doctors."""
    from appointments.scheduler.baselines import _least_loaded

    return _least_loaded(view, mask, first_available(view, mask) // MAX_DOCTORS)


def warm_start(model: MaskablePPO, *, params: SimulatorParams, episodes: int, epochs: int, seed: int) -> None:
    """Behaviour cloning of :func:`teacher` on training episodes before PPO: PPO then starts from a
    sensible policy and spends its budget on what first-available gets wrong."""
    from appointments.scheduler.simulator import BookingSimulator

    sim = BookingSimulator(params)
    obs, masks, actions = [], [], []
    rng = np.random.default_rng(seed)
    for _ in range(episodes):
        sim.reset(int(rng.integers(0, 1_000_000)))
        for _ in range(10_000):
            if sim.done:
                break
            view = sim.view()
            mask = action_mask(view)
            action = teacher(view, mask)
            obs.append(observe(view))
            masks.append(mask)
            actions.append(action)
            sim.step(action)
    policy = model.policy
    x = torch.as_tensor(np.asarray(obs), device=policy.device)
    m = torch.as_tensor(np.asarray(masks), device=policy.device)
    y = torch.as_tensor(np.asarray(actions), device=policy.device)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), 256):
            idx = order[i:i + 256].to(policy.device)
            latent_pi, _ = policy.mlp_extractor(policy.extract_features(x[idx]))
            logits = policy.action_net(latent_pi).masked_fill(~m[idx], -1e8)
            loss = torch.nn.functional.cross_entropy(logits, y[idx])
            policy.optimizer.zero_grad()
            loss.backward()
            policy.optimizer.step()


def load_hyperparams(path: str | Path | None = None) -> dict:
    return json.loads(Path(path or HYPERPARAMS).read_text())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train(*, out: str | Path, version: str | None = None, hyperparams: dict | None = None,
          params: SimulatorParams | None = None, total_timesteps: int | None = None,
          heldout_episodes: int | None = None, with_hindsight: bool = True, plot: bool = True,
          max_seconds: float | None = None) -> dict:
    hp = dict(hyperparams or load_hyperparams())
    params = params or SimulatorParams()
    torch.set_num_threads(int(hp.get("torch_threads", 1)))
    steps = int(total_timesteps or hp["total_timesteps"])
    version = version or datetime.now(UTC).strftime("v%Y%m%d-%H%M%S")
    folder = Path(out) / version
    folder.mkdir(parents=True, exist_ok=True)
    seed = int(hp["seed"])
    vec_env = SubprocVecEnv if hp.get("vec_env", "dummy") == "subproc" else DummyVecEnv
    env = vec_env([
        (lambda i=i: SchedulingEnv(params, reward_scale=hp["reward_scale"], seed_offset=seed * 1000 + i))
        for i in range(int(hp["n_envs"]))
    ])
    model = MaskablePPO(
        "MlpPolicy", env, seed=seed, device=hp.get("device", "auto"), verbose=0,
        n_steps=hp["n_steps"], batch_size=hp["batch_size"], n_epochs=hp["n_epochs"],
        learning_rate=hp["learning_rate"], gamma=hp["gamma"], gae_lambda=hp["gae_lambda"],
        clip_range=hp["clip_range"], ent_coef=hp["ent_coef"], vf_coef=hp["vf_coef"],
        policy_kwargs={"net_arch": list(hp["net_arch"])},
    )
    rows: list[dict] = []
    started = time.monotonic()
    if int(hp.get("bc_episodes", 0)):
        warm_start(model, params=params, episodes=int(hp["bc_episodes"]), epochs=int(hp.get("bc_epochs", 5)),
                   seed=seed)
    callbacks: list[BaseCallback] = [CurveCallback(
        every=int(hp["eval_every_steps"]), episodes=int(hp["curve_episodes"]), params=params, rows=rows)]
    if max_seconds:
        callbacks.append(StopAfter(seconds=max_seconds - (time.monotonic() - started)))
    model.learn(total_timesteps=steps, callback=CallbackList(callbacks))
    train_seconds = time.monotonic() - started
    env.close()
    onnx_path = export(model, folder / "policy.onnx")
    policy = OnnxPolicy(onnx_path)
    evaluation = compare(policy, episodes=int(heldout_episodes or hp["heldout_episodes"]), params=params,
                         with_hindsight=with_hindsight)
    _write_curve(folder, rows, baseline=run_policy(first_available, [CURVE_SEED_BASE + i for i in
                                                                       range(int(hp["curve_episodes"]))],
                                                    params)["mean_reward"], plot=plot)
    manifest = {
        "name": "appointment-scheduler",
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "algorithm": "MaskablePPO (sb3-contrib)",
        "onnx_sha256": _sha256(onnx_path),
        "hyperparameters": hp,
        "total_timesteps": steps,
        "trained_timesteps": int(model.num_timesteps),
        "train_seconds": round(train_seconds, 1),
        "device": str(model.device),
        "simulator_params_sha256": hashlib.sha256(params.to_json().encode()).hexdigest(),
        "training_data": params.fitted_from or {"source": "simulator defaults"},
        "evaluation": evaluation,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    (folder / "simulator_params.json").write_text(params.to_json())
    manifest["model"] = model
    return manifest


def _write_curve(folder: Path, rows: list[dict], *, baseline: float, plot: bool) -> None:
    with (folder / "learning_curve.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["timesteps", "mean_reward", "mean_wait_h", "mean_wait_urgent_h"])
        writer.writeheader()
        writer.writerows(rows)
    if not plot or not rows:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([r["timesteps"] for r in rows], [r["mean_reward"] for r in rows], label="PPO (greedy)")
    ax.axhline(baseline, color="grey", linestyle="--", label="first available")
    ax.set_xlabel("training steps (booking decisions)")
    ax.set_ylabel("mean episode reward")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "learning_curve.png", dpi=80)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="var/scheduler-models")
    parser.add_argument("--version")
    parser.add_argument("--hyperparams", default=str(HYPERPARAMS))
    parser.add_argument("--sim-params", default=None, help="JSON from manage.py fit_scheduling_simulator")
    parser.add_argument("--timesteps", type=int)
    parser.add_argument("--max-seconds", type=float, help="stop training after this much wall-clock time")
    parser.add_argument("--no-hindsight", action="store_true",
                        help="leave the hindsight bound and the urgent-wait floor out of the held-out evaluation")
    args = parser.parse_args()
    result = train(out=args.out, version=args.version, hyperparams=load_hyperparams(args.hyperparams),
                   params=SimulatorParams.load(args.sim_params), total_timesteps=args.timesteps,
                   with_hindsight=not args.no_hindsight, max_seconds=args.max_seconds)
    result.pop("model")
    print(json.dumps({"version": result["version"], "train_seconds": result["train_seconds"],
                      "trained_timesteps": result["trained_timesteps"], "device": result["device"],
                      "headline": result["evaluation"]["headline"]}, indent=2))


if __name__ == "__main__":
    main()
