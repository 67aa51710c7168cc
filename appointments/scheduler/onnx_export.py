"""Export a trained ``MaskablePPO`` policy's action network to ONNX (training side: needs torch and onnx).

The graph is written directly from the weights (Gemm and the activation, layer by layer), which
keeps it small and independent of the torch exporter. Input ``obs`` ``[batch, OBS_SIZE]``, output
``logits`` ``[batch, N_ACTIONS]``; the mask is applied by the runtime (:mod:`.policy`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from appointments.scheduler.features import N_ACTIONS, OBS_SIZE

_ACTIVATIONS = {torch.nn.Tanh: "Tanh", torch.nn.ReLU: "Relu"}


def _layers(model) -> list[tuple[str, object]]:
    out = []
    for module in model.policy.mlp_extractor.policy_net:
        if isinstance(module, torch.nn.Linear):
            out.append(("linear", module))
        elif type(module) in _ACTIVATIONS:
            out.append((_ACTIVATIONS[type(module)], module))
        else:
            raise ValueError(f"cannot export layer {module!r}")
    out.append(("linear", model.policy.action_net))
    return out


def export(model, path: str | Path) -> Path:
    nodes, inits = [], []
    current = "obs"
    for i, (kind, module) in enumerate(_layers(model)):
        name = f"h{i}"
        if kind == "linear":
            weight = module.weight.detach().cpu().numpy().astype(np.float32)
            bias = module.bias.detach().cpu().numpy().astype(np.float32)
            inits += [numpy_helper.from_array(weight, f"W{i}"), numpy_helper.from_array(bias, f"b{i}")]
            nodes.append(helper.make_node("Gemm", [current, f"W{i}", f"b{i}"], [name], transB=1))
        else:
            nodes.append(helper.make_node(kind, [current], [name]))
        current = name
    nodes.append(helper.make_node("Identity", [current], ["logits"]))
    graph = helper.make_graph(
        nodes, "appointment_scheduler",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", OBS_SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", N_ACTIONS])],
        initializer=inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="phb")
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
    return path
