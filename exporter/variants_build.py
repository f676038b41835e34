"""Make one variant graph (int8 or fp16) from the fp32 graph of the same depth."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import onnx
from tokenizers import Tokenizer

from ese.runtime.contract import Precision

from .calibration import read_corpus
from .variants_errors import PrecisionError


@dataclass(frozen=True)
class BuiltVariant:
    """A variant graph (weights inline) and how it was made, for the report and the manifest."""

    model: onnx.ModelProto
    note: str = ""


def variants_from_fp32(
    graph_paths: Mapping[int, Path], precision: Precision, tokenizer: Tokenizer
) -> dict[int, BuiltVariant]:
    """The ``precision`` variant of each fp32 graph (depth -> path).

    int8 graphs are smoothed per MatMul input, calibrated on the exporter's bundled corpus.
    The converters are imported here: ONNX Runtime's quantisation and float16 tools are slow
    to import, and a plain fp32 export never needs them.
    """
    if precision is Precision.INT8:
        from .quantize_int8 import ALPHA, Int8Calibration, int8_from_fp32

        calibration = Int8Calibration.from_texts(tokenizer, read_corpus(None).texts)
        note = f"MatMul inputs smoothed, alpha {ALPHA:g}"
        return {
            d: BuiltVariant(int8_from_fp32(p, calibration), note) for d, p in graph_paths.items()
        }
    if precision is Precision.FP16:
        from .fp16_convert import fp16_from_fp32

        return {d: BuiltVariant(fp16_from_fp32(onnx.load(str(p)))) for d, p in graph_paths.items()}
    raise PrecisionError(f"{precision.value} is not a variant precision; choose int8 or fp16")
