"""Make one variant graph (int8 or fp16) from the fp32 graph of the same depth."""

from __future__ import annotations

from pathlib import Path

import onnx

from ese.runtime.contract import Precision

from .variants_errors import PrecisionError


def variant_from_fp32(graph_path: Path, precision: Precision) -> onnx.ModelProto:
    """The ``precision`` variant of the fp32 graph at ``graph_path``, weights inline.

    The converters are imported here: ONNX Runtime's quantisation and float16 tools are slow
    to import, and a plain fp32 export never needs them.
    """
    if precision is Precision.INT8:
        from .quantize_int8 import int8_from_fp32

        return int8_from_fp32(graph_path)
    if precision is Precision.FP16:
        from .fp16_convert import fp16_from_fp32

        return fp16_from_fp32(onnx.load(str(graph_path)))
    raise PrecisionError(f"{precision.value} is not a variant precision; choose int8 or fp16")
