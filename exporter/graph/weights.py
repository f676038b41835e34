"""A weightless traced graph's parameter inputs made initializers, from the module's own tensors.

The graph is traced with ``export_params=False`` and no constant folding, so PyTorch's exporter
never holds a serialised copy of the weights nor a folded (transposed) copy of every Linear
weight at once: each parameter is a graph input named as in the module's state dict. Here each
becomes an initializer, one tensor at a time: a ``Transpose`` of a parameter (how a Linear
layer is traced) is folded into a transposed initializer, as PyTorch's constant folding did,
and the bytes go straight to the shared weights file (or inline when no file is given).

PyTorch's own ``export_params=True, do_constant_folding=True`` held the serialised and the
folded copies at once: a BERT-base export peaked at 5.3x its weights, against the 2.5x goal
(studies/results/export_memory.md). This relies on how one PyTorch release traces (parameter
inputs named as in the state dict, a Linear as ``Transpose(weight)``), checked by
``validated_torch``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np
import onnx
import torch
from onnx import helper

from ese.exporter.graph.shared_weights import INLINE_LIMIT_BYTES, SharedWeightsFile
from ese.exporter.graph.validated_torch import require_validated_torch
from ese.format.errors import InternalError

_GRAPH_ATTRIBUTES = (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)


def _array(tensor: torch.Tensor) -> np.ndarray:
    """A numpy view of ``tensor`` (no copy for a contiguous CPU tensor)."""
    try:
        return tensor.detach().cpu().numpy()
    except TypeError as exc:  # e.g. bfloat16, which numpy has no type for
        raise InternalError(f"a {tensor.dtype} weight cannot be written to ONNX: {exc}") from None


def _initializer(
    name: str, array: np.ndarray, weights: SharedWeightsFile | None
) -> onnx.TensorProto:
    array = np.ascontiguousarray(array)
    tensor = onnx.TensorProto(
        name=name,
        dims=array.shape,
        data_type=helper.np_dtype_to_tensor_dtype(array.dtype),
    )
    if weights is not None and array.nbytes >= INLINE_LIMIT_BYTES:
        weights.store(tensor, array.reshape(-1).view(np.uint8).data)
    else:
        tensor.raw_data = array.tobytes()
    return tensor


def _perm(node: onnx.NodeProto, rank: int) -> list[int]:
    for attribute in node.attribute:
        if attribute.name == "perm":
            return list(attribute.ints)
    return list(reversed(range(rank)))


def bind_parameters(
    model: onnx.ModelProto,
    graph_inputs: int,
    state: Mapping[str, torch.Tensor],
    weights: SharedWeightsFile | None = None,
) -> None:
    """Turn every graph input after the first ``graph_inputs`` into an initializer, in place."""
    require_validated_torch(
        "binding a weightless TorchScript trace's parameter inputs (exporter/graph/weights.py)",
        "that the traced graph's inputs are named as in the state dict and that "
        "tests/studies/test_export_memory.py passes (weights stored once, Linear weights "
        "transposed, outputs equal to PyTorch's)",
    )
    graph = model.graph
    params = [i.name for i in graph.input[graph_inputs:]]
    missing = [name for name in params if name not in state]
    if missing:
        raise InternalError(f"traced graph inputs {missing[:3]} are not tensors of the module")
    names = set(params)
    uses = Counter(name for node in graph.node for name in node.input if name in names)
    # A subgraph (If, Loop) may read a parameter by name: then keep every parameter.
    nested = any(a.type in _GRAPH_ATTRIBUTES for node in graph.node for a in node.attribute)
    folded: list[onnx.NodeProto] = []
    for node in graph.node:
        if node.op_type == "Transpose" and node.input[0] in names:
            source = _array(state[node.input[0]])
            array = source.transpose(_perm(node, source.ndim))
            graph.initializer.append(_initializer(node.output[0], array, weights))
            uses[node.input[0]] -= 1
            folded.append(node)
    for node in folded:
        graph.node.remove(node)
    for name in params:
        if nested or uses[name] > 0 or any(o.name == name for o in graph.output):
            graph.initializer.append(_initializer(name, _array(state[name]), weights))
    del graph.input[graph_inputs:]
