"""fp16 graph from an fp32 graph, for GPU providers: LayerNorm, softmax and the head kept fp32.

BERT's fp16 accuracy loss comes mostly from LayerNorm (its variance overflows fp16) and from
softmax over masked scores; those nodes, and everything after the last LayerNorm (pooling,
projection, normalisation: cheap, and sums over many tokens), stay fp32 behind Cast nodes.
Inputs and output keep their contract types (int64 ids in, float32 ``sentence_embedding`` out).
"""

from __future__ import annotations

import warnings

import onnx
from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

from ese.format.errors import InternalError

KEPT_FP32_OPS = ("LayerNormalization", "Softmax", "ReduceMean", "Pow", "Sqrt", "Erf")


def head_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes after the last LayerNormalization: pooling, projection, norm."""
    nodes = list(model.graph.node)
    last_norm = max(
        (i for i, n in enumerate(nodes) if n.op_type == "LayerNormalization"), default=None
    )
    if last_norm is None:
        raise InternalError(
            "the fp32 graph has no LayerNormalization node: it was not exported at opset >= 17"
        )
    return [n.name for n in nodes[last_norm + 1 :]]


def fp16_from_fp32(model: onnx.ModelProto) -> onnx.ModelProto:
    """Convert ``model`` (weights loaded) to fp16 with the fp32 islands described above."""
    for index, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{index}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns for every constant clamped to fp16 range
        converted = convert_float_to_float16(
            model,
            keep_io_types=True,
            op_block_list=sorted({*DEFAULT_OP_BLOCK_LIST, *KEPT_FP32_OPS}),
            node_block_list=head_nodes(model),
        )
    if not any(t.data_type == onnx.TensorProto.FLOAT16 for t in converted.graph.initializer):
        raise InternalError("fp16 conversion left no fp16 weight in the graph")
    return converted
