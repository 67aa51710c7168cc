"""Scheduler model versions: S3 round trip, promotion only when better, rollback."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from appointments.models import SchedulerModelState
from appointments.scheduler import registry
from appointments.scheduler.features import N_ACTIONS, OBS_SIZE

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_dir(settings, tmp_path):
    settings.SCHEDULER_MODEL_CACHE_DIR = str(tmp_path / "models")
    registry.forget_cached_state()
    yield tmp_path / "models"
    registry.forget_cached_state()


def _copy_shipped(cache_dir, version: str):
    shutil.copytree(registry.SHIPPED_DIR / "v1", cache_dir / version)
    return cache_dir / version


def _latest_slot_policy(folder) -> None:
    """Overwrite a copy with a policy that always prefers the latest candidate time: a bad scheduler."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    bias = np.zeros(N_ACTIONS, dtype=np.float32)
    bias[-4:] = 10.0
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["obs", "W", "b"], ["logits"], transB=1)], "bad",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", OBS_SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", N_ACTIONS])],
        initializer=[numpy_helper.from_array(np.zeros((N_ACTIONS, OBS_SIZE), dtype=np.float32), "W"),
                     numpy_helper.from_array(bias, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(folder / "policy.onnx"))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["onnx_sha256"] = hashlib.sha256((folder / "policy.onnx").read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_the_shipped_policy_serves_by_default(cache_dir):
    assert registry.active_version() == "v1"
    assert registry.load_policy("v1") is not None
    assert registry.manifest("v1")["onnx_sha256"]


def test_a_tampered_model_is_not_served(cache_dir):
    folder = _copy_shipped(cache_dir, "vtampered")
    (folder / "policy.onnx").write_bytes(b"not a model")
    assert registry.load_policy("vtampered") is None


def test_upload_list_and_download_round_trip(cache_dir):
    _copy_shipped(cache_dir, "v-roundtrip")
    registry.upload("v-roundtrip")
    assert "v-roundtrip" in registry.s3_versions()
    shutil.rmtree(cache_dir / "v-roundtrip")
    folder = registry.download("v-roundtrip")
    assert (folder / "policy.onnx").read_bytes() == (registry.SHIPPED_DIR / "v1" / "policy.onnx").read_bytes()
    with pytest.raises(registry.ModelError):
        registry.download("v-never-uploaded")


def test_promote_refuses_a_candidate_no_better_than_the_active_one(cache_dir):
    _copy_shipped(cache_dir, "v-same")
    with pytest.raises(CommandError):
        call_command("scheduler_models", "promote", "v-same", "--episodes", "20", stdout=open("/dev/null", "w"))
    assert SchedulerModelState.objects.get().active_version == "v1"


def test_promote_a_better_candidate_then_roll_back(cache_dir):
    _latest_slot_policy(_copy_shipped(cache_dir, "v-bad"))
    SchedulerModelState.objects.update(active_version="v-bad", previous_version="")
    registry.forget_cached_state()
    _copy_shipped(cache_dir, "v-good")
    result = registry.promote("v-good", episodes=20)
    assert result["promoted"] and result["beats_active"] and result["beats_heuristic"]
    state = SchedulerModelState.objects.get()
    assert (state.active_version, state.previous_version) == ("v-good", "v-bad")
    assert registry.active_version() == "v-good"
    call_command("scheduler_models", "rollback", stdout=open("/dev/null", "w"))
    assert registry.active_version() == "v-bad"


def test_rollback_without_history_is_an_error(cache_dir):
    with pytest.raises(CommandError):
        call_command("scheduler_models", "rollback", stdout=open("/dev/null", "w"))


def test_list_marks_the_active_version(cache_dir, capsys):
    call_command("scheduler_models", "list", "--local-only")
    assert "* v1" in capsys.readouterr().out


def test_a_version_only_in_s3_is_fetched_in_the_background(cache_dir):
    import time

    _copy_shipped(cache_dir, "v-remote")
    registry.upload("v-remote")
    shutil.rmtree(cache_dir / "v-remote")
    assert registry.load_policy("v-remote") is None  # not here yet: the caller falls back
    for _ in range(100):
        if registry.local_dir("v-remote") is not None:
            break
        time.sleep(0.1)
    assert registry.load_policy("v-remote") is not None


def test_a_failed_download_is_tried_again_only_after_a_pause(cache_dir, monkeypatch, caplog):
    """S3 not answering: the first request starts one download and the heuristic answers; the
    requests after it start none until FETCH_RETRY_SECONDS have passed, then one more."""
    import threading
    import time

    from tests.aws_faults import unreachable

    def settle() -> None:
        for thread in threading.enumerate():
            if thread.name == "scheduler-model-fetch":
                thread.join(timeout=30)

    def attempts() -> int:
        return sum(getattr(r, "event", "") == "scheduler_model_download_failed" for r in caplog.records)

    clock = {"now": time.monotonic()}
    monkeypatch.setattr(registry.time, "monotonic", lambda: clock["now"])
    with unreachable(registry._s3(), "GetObject"):
        for _ in range(5):
            assert registry.load_policy("v-elsewhere") is None
            settle()
        assert attempts() == 1
        clock["now"] += registry.FETCH_RETRY_SECONDS + 1
        assert registry.load_policy("v-elsewhere") is None
        settle()
        assert attempts() == 2
