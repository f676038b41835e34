"""Make one variant graph (int8, int8-openvino or fp16) from the fp32 graph of the same depth."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import onnx
from tokenizers import Tokenizer

from ese.exporter.projection.calibration import read_corpus
from ese.exporter.variants.graph_load import graph_with_weights
from ese.format import Precision
from ese.format.errors import UserError

if TYPE_CHECKING:
    from ese.exporter.variants.quantize_int8 import Int8Calibration


@dataclass(frozen=True)
class BuiltVariant:
    """A variant graph (weights inline) and how it was made, for the report and the manifest."""

    model: onnx.ModelProto
    note: str = ""


def int8_calibration(
    tokenizer: Tokenizer, precision: Precision = Precision.INT8
) -> Int8Calibration:
    """Calibration batches for int8, from the exporter's bundled corpus (int8 smoothing, or
    NNCF's static ranges for int8-openvino, which also sees very short texts)."""
    from ese.exporter.variants.quantize_int8 import Int8Calibration

    calibration = Int8Calibration.from_texts(tokenizer, read_corpus(None).texts)
    if precision is Precision.INT8_OPENVINO:
        from ese.exporter.variants.int8_openvino import with_short_texts

        return with_short_texts(calibration, tokenizer)
    return calibration


def variant_from_fp32(
    graph_path: Path, precision: Precision, calibration: Int8Calibration | None = None
) -> BuiltVariant:
    """The ``precision`` variant of the fp32 graph at ``graph_path``.

    int8 graphs are smoothed per MatMul input when ``calibration`` is given. The converters
    are imported here: ONNX Runtime's quantisation and float16 tools are slow to import, and a
    plain fp32 export never needs them.
    """
    if precision is Precision.INT8:
        from ese.exporter.variants.quantize_int8 import ALPHA, int8_from_fp32

        note = f"MatMul inputs smoothed, alpha {ALPHA:g}" if calibration else "not smoothed"
        return BuiltVariant(int8_from_fp32(graph_path, calibration), note)
    if precision is Precision.FP16:
        from ese.exporter.variants.fp16_convert import fp16_from_fp32

        return BuiltVariant(fp16_from_fp32(graph_with_weights(graph_path)))
    if precision is Precision.INT8_OPENVINO:
        from ese.exporter.variants.int8_openvino import int8_openvino_from_fp32

        if calibration is None:
            raise UserError("the int8-openvino variant needs calibration sentences")
        return BuiltVariant(
            int8_openvino_from_fp32(graph_path, calibration),
            "NNCF static quantisation (QuantizeLinear/DequantizeLinear), for OpenVINO",
        )
    raise UserError(
        f"{precision.value} is not a variant precision; choose int8, int8-openvino or fp16"
    )
