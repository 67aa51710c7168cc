"""The policy's view of one booking decision, shared by the simulator and the API.

Both build a :class:`DecisionView` (the patient, the first ``CANDIDATES`` open slot times from
her earliest acceptable time, each doctor's free places at those times, the doctors' load) and
turn it into the same observation vector and action mask. numpy only.

Action ``a`` means: candidate time ``a // MAX_DOCTORS`` with doctor ``a % MAX_DOCTORS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from appointments.scheduler.params import CANDIDATES, MAX_DOCTORS, SLOTS_PER_DAY, URGENT

N_ACTIONS = CANDIDATES * MAX_DOCTORS
OBS_SIZE = 6 + CANDIDATES * 4 + CANDIDATES * MAX_DOCTORS + MAX_DOCTORS * 2 + 2


@dataclass
class DecisionView:
    urgency: int
    asap: bool
    hour_of_day: float  # when the request is made, hospital wall clock
    weekday: int
    wait_hours: np.ndarray  # (CANDIDATES,) hours from the earliest acceptable time to each candidate
    lead_hours: np.ndarray  # (CANDIDATES,) hours from the request to each candidate
    valid: np.ndarray  # (CANDIDATES,) bool
    free: np.ndarray  # (CANDIDATES, MAX_DOCTORS) places left per doctor
    rostered: np.ndarray  # (MAX_DOCTORS,) bool: a doctor of this department
    load_today: np.ndarray  # (MAX_DOCTORS,) bookings on the candidates' first day
    free_next_24h: int
    free_next_72h: int


def action_mask(view: DecisionView) -> np.ndarray:
    mask = (view.free > 0) & view.valid[:, None] & view.rostered[None, :]
    return mask.reshape(-1)


def observe(view: DecisionView) -> np.ndarray:
    n_doctors = max(1, int(view.rostered.sum()))
    per_day = float(SLOTS_PER_DAY * n_doctors)
    urgent = view.urgency >= URGENT
    angle = 2 * math.pi * view.hour_of_day / 24.0
    head = [view.urgency / 10.0, float(urgent), float(view.asap), math.sin(angle), math.cos(angle), view.weekday / 6.0]
    valid = view.valid.astype(np.float32)
    wait = np.where(view.valid, np.minimum(view.wait_hours, 96.0) / 48.0, 2.0)
    lead = np.where(view.valid, np.minimum(view.lead_hours, 168.0) / 72.0, 2.33)
    total = np.minimum(view.free.sum(axis=1), 8) / 4.0
    free = np.minimum(view.free, 4) / 2.0
    load = np.minimum(view.load_today, 32) / 16.0
    tail = [min(view.free_next_24h, 4 * per_day) / per_day, min(view.free_next_72h, 8 * per_day) / (3 * per_day)]
    obs = np.concatenate([
        np.asarray(head, dtype=np.float32), valid, wait, lead, total, free.reshape(-1),
        view.rostered.astype(np.float32), load, np.asarray(tail, dtype=np.float32),
    ]).astype(np.float32)
    return obs
