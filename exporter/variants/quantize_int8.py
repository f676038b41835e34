"""int8 graph from an fp32 graph: ONNX Runtime dynamic quantisation, weights per channel.

Per-channel int8 weights with uint8 activations quantised at run time, one scale per tensor
(no calibration of activation scales; calibration sentences only set the smoothing below).
Per-tensor weights were measured poor on very short inputs (minimum cosine 0.78), so they
are not offered. The MatMuls of the encoder are quantised by ONNX Runtime; the vocabulary
table, most of a small encoder's disk, is stored int8 with one scale per row
(``int8_embedding_rows``), not by ONNX Runtime's Gather quantisation, which uses one scale for
the whole table. The fused projection after pooling stays fp32 (``keep_projection_fp32``): it
is one small MatMul per sentence, and quantising its pooled input per batch would tie a
sentence's vector to its batch-mates.

Per-tensor activation scales are the main loss (int8_smoothing); given calibration sentences,
the MatMul inputs are smoothed (``ALPHA``) before quantisation.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic
from tokenizers import Tokenizer

from ese.exporter.source.tokenizer_files import tokenize
from ese.exporter.variants.graph_load import graph_with_weights
from ese.exporter.variants.int8_embedding_rows import int8_rows_from_vocabulary
from ese.exporter.variants.int8_smoothing import Feed, input_peaks, matmul_groups, smoothed
from ese.format.errors import InternalError

QUANTISED_OPS = ("MatMul",)
# Smoothing strength. On all-MiniLM-L6-v2, int8 vs fp32 mean cosine on held-out calibration
# sentences (none / 0.6 / 0.7 / 0.8 tried): 0.7 best at depth 2, tied with 0.8 at depth 6,
# 0.8 best at depth 4; 0.5 and 0.9 lost to no smoothing on the probe set (studies/results/
# edge_variants.md). Searches per graph and per layer were tried and dropped: per graph gives
# each depth different layer weights (no sharing on disk: 0.36x fp32), per layer (least
# simulated MatMul error) agreed worse with fp32 than one fixed strength.
ALPHA = 0.7
CALIBRATION_SENTENCES = 256
CALIBRATION_BATCH = 32
# LayerNorm as exported (opset 17), decomposed, or fused by ONNX Runtime's transformer optimiser.
NORM_OPS = ("LayerNormalization", "ReduceMean", "SkipLayerNormalization", "EmbedLayerNormalization")


@dataclass(frozen=True)
class Int8Calibration:
    """Tokenised calibration batches, from which the activation ranges are measured."""

    batches: tuple[Feed, ...]

    @classmethod
    def from_texts(
        cls, tokenizer: Tokenizer, texts: Sequence[str], sentences: int = CALIBRATION_SENTENCES
    ) -> Int8Calibration:
        """Every n-th of ``texts``, ``sentences`` of them, in batches of ``CALIBRATION_BATCH``."""
        step = max(1, len(texts) // sentences)
        chosen = list(texts[::step][:sentences])
        if not chosen:
            raise InternalError("int8 calibration needs at least one sentence")
        return cls(
            tuple(
                tokenize(tokenizer, chosen[i : i + CALIBRATION_BATCH])
                for i in range(0, len(chosen), CALIBRATION_BATCH)
            )
        )


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


def name_nodes(model: onnx.ModelProto) -> None:
    """The quantizer addresses nodes by name; give every unnamed node one."""
    for index, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{index}"


def _quantised(model: onnx.ModelProto, excluded: Sequence[str], name: str) -> onnx.ModelProto:
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
                weight_type=QuantType.QInt8,
                nodes_to_exclude=list(excluded),
                # fused graphs (com.microsoft ops) defeat ONNX shape inference; weights are fp32
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        result = onnx.load(str(quantised))
    if not any(n.op_type in ("MatMulInteger", "DynamicQuantizeMatMul") for n in result.graph.node):
        raise InternalError(
            f"quantising {name} left no integer MatMul: the graph's MatMuls do not "
            "have constant weights, which the exporter always produces"
        )
    return result


def int8_from_fp32(
    graph_path: Path,
    calibration: Int8Calibration | None = None,
    *,
    alpha: float = ALPHA,
    keep_projection_fp32: bool = True,
) -> onnx.ModelProto:
    """Quantise the fp32 graph at ``graph_path`` (external data beside it) in memory.

    With ``calibration`` the MatMul inputs are smoothed first (``alpha``). The activation
    ranges of a layer do not depend on the graph's depth, so the depths of one export get
    identical layer weights and the export stores them once. The result has its weights
    inline; the caller externalises them.
    """
    model = graph_with_weights(graph_path)
    name_nodes(model)
    excluded = projection_nodes(model) if keep_projection_fp32 else []
    int8_rows_from_vocabulary(model)
    if calibration is not None:
        groups = matmul_groups(model, excluded)
        peaks = input_peaks(model, list(groups), calibration.batches)
        model = smoothed(model, groups, peaks, alpha)
    return _quantised(model, excluded, graph_path.name)
