"""The served policy: an ONNX action network run with ``onnxruntime`` (numpy + onnxruntime only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from appointments.scheduler.features import DecisionView, action_mask, observe


class OnnxPolicy:
    def __init__(self, path: str | Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])

    def logits(self, obs: np.ndarray) -> np.ndarray:
        batch = np.atleast_2d(obs).astype(np.float32)
        return self.session.run(["logits"], {"obs": batch})[0]

    def probabilities(self, view: DecisionView) -> np.ndarray:
        """Probability of each action under the mask (0 where masked)."""
        mask = action_mask(view)
        logits = self.logits(observe(view))[0].astype(np.float64)
        logits[~mask] = -np.inf
        logits -= logits[mask].max()
        p = np.exp(logits)
        return p / p.sum()

    def act(self, view: DecisionView, mask: np.ndarray | None = None, sim=None) -> int:
        mask = action_mask(view) if mask is None else mask
        logits = self.logits(observe(view))[0]
        return int(np.argmax(np.where(mask, logits, -np.inf)))

    __call__ = act
