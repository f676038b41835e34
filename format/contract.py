"""The graph I/O contract, declared once and read by export, validation and the runtime.

One ONNX graph per depth: ``input_ids`` and ``attention_mask`` (int64, [batch, sequence]),
``token_type_ids`` only where the architecture uses it, and one output
``sentence_embedding`` (float32, [batch, hidden]). Slicing to the leading dimensions and
L2-normalising after the slice is the runtime's job.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

INPUT_IDS: Final = "input_ids"
ATTENTION_MASK: Final = "attention_mask"
TOKEN_TYPE_IDS: Final = "token_type_ids"
OUTPUT: Final = "sentence_embedding"

BATCH_AXIS: Final = "batch"
SEQUENCE_AXIS: Final = "sequence"

MANIFEST_FILE: Final = "manifest.json"
TOKENIZER_DIR: Final = "tokenizer"
TOKENIZER_FILE: Final = "tokenizer/tokenizer.json"
GRAPHS_DIR: Final = "graphs"
PROFILES_DIR: Final = "profiles"
REPORTS_DIR: Final = "reports"
ENGINES_DIR: Final = "engines"

# The widths every quality grid measures, trained and chosen from (below the hidden size, which
# is always added): the width ladder, defined here once.
DIMS_LADDER: Final = (32, 64, 128, 256)


class Precision(str, Enum):
    FP32 = "fp32"
    FP16 = "fp16"
    INT8 = "int8"
    # int8 made for OpenVINO: NNCF's static quantisation (QuantizeLinear/DequantizeLinear
    # pairs), which OpenVINO runs as fused int8 kernels; ONNX Runtime runs it too, slower.
    INT8_OPENVINO = "int8-openvino"


class Projection(str, Enum):
    PCA = "pca"
    NONE = "none"


class Pooling(str, Enum):
    MEAN = "mean"
    CLS = "cls"
    MAX = "max"
    MEAN_SQRT_LEN = "mean_sqrt_len"
    LAST_TOKEN = "lasttoken"
    CLS_AVG = "cls_avg"  # AnglE: (CLS + mean) / 2
    CLS_MAX = "cls_max"  # AnglE: (CLS + max) / 2
    SUM = "sum"


def input_names(uses_token_type_ids: bool) -> tuple[str, ...]:
    """The graph's input names, in feeding order."""
    names = (INPUT_IDS, ATTENTION_MASK)
    return (*names, TOKEN_TYPE_IDS) if uses_token_type_ids else names


def dynamic_axes(uses_token_type_ids: bool) -> dict[str, dict[int, str]]:
    """Named dynamic axes of every input and of the output."""
    axes: dict[str, dict[int, str]] = {
        name: {0: BATCH_AXIS, 1: SEQUENCE_AXIS} for name in input_names(uses_token_type_ids)
    }
    axes[OUTPUT] = {0: BATCH_AXIS}
    return axes


def graph_file(depth: int, precision: Precision = Precision.FP32) -> str:
    """``graphs/depth-04.onnx`` for fp32, ``graphs/depth-04.int8.onnx`` for a variant."""
    suffix = "" if precision is Precision.FP32 else f".{precision.value}"
    return f"{GRAPHS_DIR}/depth-{depth:02d}{suffix}.onnx"
