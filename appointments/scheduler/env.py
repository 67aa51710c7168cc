"""The simulator as a ``gymnasium`` environment, with the action mask ``MaskablePPO`` asks for.

Rewards are the simulator's (the seed's terms) times ``reward_scale``; training uses 0.01 so
that a day's wait (-240) is a reward of -2.4.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from appointments.scheduler.features import N_ACTIONS, OBS_SIZE
from appointments.scheduler.params import SimulatorParams
from appointments.scheduler.simulator import BookingSimulator


class SchedulingEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self, params: SimulatorParams | None = None, *, reward_scale: float = 1.0,
                 seed_offset: int = 0) -> None:
        super().__init__()
        self.sim = BookingSimulator(params)
        self.reward_scale = reward_scale
        self.observation_space = gym.spaces.Box(low=-2.0, high=3.0, shape=(OBS_SIZE,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(N_ACTIONS)
        self._episode = 0
        self._seed_offset = seed_offset
        self._rng = np.random.default_rng(seed_offset)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        episode_seed = int(self._rng.integers(0, 2**31 - 1)) % 1_000_000  # below the held-out seeds
        for _ in range(100):
            self.sim.reset(episode_seed)
            if not self.sim.done:
                break
            episode_seed = (episode_seed + 1) % 1_000_000
        return self.sim.observation(), {}

    def step(self, action):
        reward = self.sim.step(int(action)) * self.reward_scale
        done = self.sim.done
        obs = np.zeros(OBS_SIZE, dtype=np.float32) if done else self.sim.observation()
        return obs, float(reward), done, False, {}

    def action_masks(self) -> np.ndarray:
        if self.sim.done:
            return np.ones(N_ACTIONS, dtype=bool)
        return self.sim.action_mask()
