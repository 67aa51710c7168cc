"""Scheduler policy versions: the one shipped in the repository, those in the models bucket, and
which one serves (``SchedulerModelState``).

A version is a folder ``<version>/`` holding ``policy.onnx`` and ``manifest.json`` (version,
training data range and hash, evaluation figures, created). In S3 it lives under
``appointment-scheduler/<version>/`` in the models bucket; the API process reads only the local
copy (shipped folder or ``SCHEDULER_MODEL_CACHE_DIR``), so serving never waits on S3.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction

from appointments.models import SchedulerModelState
from appointments.scheduler.params import SimulatorParams

logger = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).resolve().parent / "trained"
FILES = ("policy.onnx", "manifest.json", "simulator_params.json")
STATE_TTL_SECONDS = 30.0

_lock = threading.Lock()
_policies: dict[str, object] = {}
_state: dict[str, object] = {"version": None, "at": 0.0}


class ModelError(Exception):
    pass


def _prefix(version: str) -> str:
    return f"{settings.SCHEDULER_MODEL_NAME}/{version}/"


def _valid_version(version: str) -> str:
    if not version or not all(c.isalnum() or c in "-_." for c in version) or len(version) > 64:
        raise ModelError("A version is letters, digits, '-', '_' and '.' only.")
    return version


def local_dir(version: str) -> Path | None:
    for root in (SHIPPED_DIR, Path(settings.SCHEDULER_MODEL_CACHE_DIR)):
        folder = root / version
        if (folder / "policy.onnx").is_file() and (folder / "manifest.json").is_file():
            return folder
    return None


def local_versions() -> list[str]:
    out = set()
    for root in (SHIPPED_DIR, Path(settings.SCHEDULER_MODEL_CACHE_DIR)):
        if root.is_dir():
            out |= {p.name for p in root.iterdir() if (p / "policy.onnx").is_file()}
    return sorted(out)


def manifest(version: str) -> dict | None:
    folder = local_dir(version)
    return json.loads((folder / "manifest.json").read_text()) if folder else None


def simulator_params(version: str) -> SimulatorParams:
    folder = local_dir(version)
    return SimulatorParams.load(folder / "simulator_params.json" if folder else None)


def active_version() -> str:
    """The serving version (read from the database at most every 30 s per process)."""
    now = time.monotonic()
    if _state["version"] is None or now - float(_state["at"]) > STATE_TTL_SECONDS:
        row = SchedulerModelState.objects.filter(name=settings.SCHEDULER_MODEL_NAME).only("active_version").first()
        _state["version"] = row.active_version if row else settings.SCHEDULER_DEFAULT_VERSION
        _state["at"] = now
    return str(_state["version"])


def forget_cached_state() -> None:
    _state["version"] = None
    with _lock:
        _policies.clear()
        _failed_at.clear()


def load_policy(version: str):
    """The ONNX policy of ``version``, loaded once per process; None when it is not on this machine
    or its file does not match the manifest's hash."""
    with _lock:
        if version in _policies:
            return _policies[version]
    folder = local_dir(version)
    if folder is None:
        fetch_in_background(version)
        return None
    policy = None
    if folder is not None:
        from appointments.scheduler.policy import OnnxPolicy

        data = json.loads((folder / "manifest.json").read_text())
        digest = hashlib.sha256((folder / "policy.onnx").read_bytes()).hexdigest()
        if digest != data.get("onnx_sha256"):
            logger.error("scheduler model hash mismatch", extra={"event": "scheduler_model_invalid", "version": version})
        else:
            policy = OnnxPolicy(folder / "policy.onnx")
    with _lock:
        _policies[version] = policy
    return policy


_fetching: set[str] = set()
# A download that failed (S3 down, the version missing, no permission) is tried again only this long
# after: meanwhile the heuristic answers, and requests do not start one download after another.
FETCH_RETRY_SECONDS = 60.0
_failed_at: dict[str, float] = {}


def fetch_in_background(version: str) -> None:
    """Download a version this machine lacks, off the request path (the heuristic answers meanwhile)."""
    with _lock:
        failed = _failed_at.get(version)
        if version in _fetching or (failed is not None and time.monotonic() - failed < FETCH_RETRY_SECONDS):
            return
        _fetching.add(version)

    def run() -> None:
        failed_at = None
        try:
            download(version)
            logger.info("scheduler model downloaded", extra={"event": "scheduler_model_downloaded",
                                                             "version": version})
        except Exception:
            failed_at = time.monotonic()
            logger.warning("scheduler model download failed", extra={"event": "scheduler_model_download_failed",
                                                                     "version": version})
        finally:
            with _lock:
                _fetching.discard(version)
                if failed_at is None:
                    _failed_at.pop(version, None)
                else:
                    _failed_at[version] = failed_at

    threading.Thread(target=run, name="scheduler-model-fetch", daemon=True).start()


# --- S3 ------------------------------------------------------------------------------------------
def _s3():
    from phb.aws.clients import aws_client

    return aws_client("s3")


def s3_versions() -> list[str]:
    found = _s3().list_objects_v2(Bucket=settings.ML_MODELS_BUCKET, Prefix=f"{settings.SCHEDULER_MODEL_NAME}/",
                                  Delimiter="/")
    return sorted(p["Prefix"].rstrip("/").rsplit("/", 1)[-1] for p in found.get("CommonPrefixes", []))


def upload(version: str) -> None:
    folder = local_dir(_valid_version(version))
    if folder is None:
        raise ModelError(f"Version {version} is not on this machine.")
    for name in FILES:
        if (folder / name).is_file():
            _s3().put_object(Bucket=settings.ML_MODELS_BUCKET, Key=_prefix(version) + name,
                             Body=(folder / name).read_bytes(), ServerSideEncryption="aws:kms",
                             SSEKMSKeyId=settings.ML_KMS_ALIAS)


def download(version: str) -> Path:
    """Copy ``version`` from the models bucket into the cache folder (checks the manifest's hash)."""
    version = _valid_version(version)
    if local_dir(version):
        return local_dir(version)
    folder = Path(settings.SCHEDULER_MODEL_CACHE_DIR) / version
    tmp = folder.with_name(folder.name + ".partial")
    tmp.mkdir(parents=True, exist_ok=True)
    client = _s3()
    for name in FILES:
        try:
            body = client.get_object(Bucket=settings.ML_MODELS_BUCKET, Key=_prefix(version) + name)["Body"].read()
        except client.exceptions.NoSuchKey as exc:
            if name == "simulator_params.json":
                continue
            raise ModelError(f"Version {version} is not in the models bucket.") from exc
        (tmp / name).write_bytes(body)
    data = json.loads((tmp / "manifest.json").read_text())
    if hashlib.sha256((tmp / "policy.onnx").read_bytes()).hexdigest() != data.get("onnx_sha256"):
        raise ModelError(f"Version {version}: policy.onnx does not match its manifest.")
    tmp.rename(folder)
    return folder


# --- Promotion -------------------------------------------------------------------------------------
def evaluate_candidate(version: str, *, episodes: int = 200) -> dict:
    """Mean held-out reward of ``version``, the active version and the heuristic on the same episodes."""
    from appointments.scheduler.baselines import heuristic
    from appointments.scheduler.evaluate import held_out_seeds, paired_interval, run_policy
    from appointments.scheduler.policy import OnnxPolicy

    params = simulator_params(version)
    seeds = held_out_seeds(episodes)
    candidate = run_policy(OnnxPolicy(local_dir(version) / "policy.onnx"), seeds, params)
    baseline = run_policy(heuristic, seeds, params)
    current = active_version()
    active_folder = local_dir(current)
    active = run_policy(OnnxPolicy(active_folder / "policy.onnx"), seeds, params) if active_folder else None
    vs_heuristic = paired_interval(candidate["rewards"], baseline["rewards"])
    vs_active = paired_interval(candidate["rewards"], active["rewards"]) if active else (float("inf"),) * 3
    return {
        "episodes": episodes, "candidate": version, "active": current,
        "candidate_mean_reward": candidate["mean_reward"], "heuristic_mean_reward": baseline["mean_reward"],
        "active_mean_reward": active["mean_reward"] if active else None,
        "diff_vs_heuristic_ci": list(vs_heuristic), "diff_vs_active_ci": list(vs_active),
        "beats_heuristic": vs_heuristic[1] > 0, "beats_active": version != current and vs_active[0] > 0,
    }


def promote(version: str, *, episodes: int = 200) -> dict:
    """Make ``version`` serve if it beats the active version and the heuristic held out."""
    version = _valid_version(version)
    if local_dir(version) is None:
        download(version)
    result = evaluate_candidate(version, episodes=episodes)
    if not (result["beats_heuristic"] and result["beats_active"]):
        result["promoted"] = False
        return result
    with transaction.atomic():
        row = SchedulerModelState.objects.select_for_update().filter(name=settings.SCHEDULER_MODEL_NAME).first()
        previous = row.active_version if row else settings.SCHEDULER_DEFAULT_VERSION
        SchedulerModelState.objects.update_or_create(
            name=settings.SCHEDULER_MODEL_NAME,
            defaults={"active_version": version, "previous_version": previous, "evaluation": result},
        )
    forget_cached_state()
    result["promoted"] = True
    return result


def rollback() -> str:
    with transaction.atomic():
        row = SchedulerModelState.objects.select_for_update().filter(name=settings.SCHEDULER_MODEL_NAME).first()
        if row is None or not row.previous_version:
            raise ModelError("There is no previous version to roll back to.")
        row.active_version, row.previous_version = row.previous_version, row.active_version
        row.evaluation = {"rolled_back_from": row.previous_version}
        row.save()
    forget_cached_state()
    return row.active_version
