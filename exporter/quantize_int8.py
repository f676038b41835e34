"""int8 graph from an fp32 graph: ONNX Runtime dynamic quantisation, weights per channel.

Per-channel int8 weights with uint8 activations quantised at run time (no calibration set).
Per-tensor weights were measured poor on very short inputs (minimum cosine 0.78), so they
are not offered. The MatMuls of the encoder are quantised, and so is the embedding table
(its Gather), which is most of a small encoder's disk. The fused projection after pooling
stays fp32 (``keep_projection_fp32``): it is one small MatMul per sentence, and quantising its
pooled input per batch would tie a sentence's vector to its batch-mates.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic

from .errors import ExportBug

QUANTISED_OPS = ("MatMul", "Gather")
# LayerNorm as exported (opset 17), decomposed, or fused by ONNX Runtime's transformer optimiser.
NORM_OPS = ("LayerNormalization", "ReduceMean", "SkipLayerNormalization", "EmbedLayerNormalization")


@contextmanager
def _quiet_quantizer() -> Iterator[None]:
    """The quantizer logs a pre-processing hint on the root logger at every call."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def _initializer_names(model: onnx.ModelProto) -> set[str]:
    return {t.name for t in model.graph.initializer}


def projection_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the MatMuls that run after pooling (the fused projection).

    Pooling ends the token axis; what follows works on [batch, hidden]. The nodes after the
    graph's last LayerNormalization (or its decomposed ReduceMean form) are the pooling,
    projection and normalisation, so every MatMul among them is the projection.
    """
    nodes = list(model.graph.node)
    last_norm = max(
        (i for i, n in enumerate(nodes) if n.op_type in NORM_OPS),
        default=-1,
    )
    constants = _initializer_names(model)
    return [
        n.name
        for n in nodes[last_norm + 1 :]
        if n.op_type == "MatMul" and any(i in constants for i in n.input)
    ]


def _named(model: onnx.ModelProto) -> None:
    """The quantizer addresses nodes by name; give every unnamed node one."""
    for index, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{index}"


def int8_from_fp32(
    graph_path: Path,
    *,
    keep_projection_fp32: bool = True,
    reduce_range: bool = False,
) -> onnx.ModelProto:
    """Quantise the fp32 graph at ``graph_path`` (external data beside it) in memory.

    The result has its weights inline; the caller externalises them.
    """
    model = onnx.load(str(graph_path))
    _named(model)
    excluded = projection_nodes(model) if keep_projection_fp32 else []
    with tempfile.TemporaryDirectory(prefix="ese-int8-") as tmp:
        staged = Path(tmp) / "fp32.onnx"
        onnx.save(model, str(staged))
        quantised = Path(tmp) / "int8.onnx"
        with _quiet_quantizer():
            quantize_dynamic(
                staged,
                quantised,
                op_types_to_quantize=list(QUANTISED_OPS),
                per_channel=True,
                reduce_range=reduce_range,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=excluded,
                # fused graphs (com.microsoft ops) defeat ONNX shape inference; weights are fp32
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        result = onnx.load(str(quantised))
    if not any(n.op_type in ("MatMulInteger", "DynamicQuantizeMatMul") for n in result.graph.node):
        raise ExportBug(
            f"quantising {graph_path.name} left no integer MatMul: the graph's MatMuls do not "
            "have constant weights, which the exporter always produces"
        )
    return result
