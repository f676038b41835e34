"""int8 graph for OpenVINO from an fp32 graph: NNCF post-training quantisation.

ONNX Runtime's dynamic int8 graph (``quantize_int8``) runs slower in OpenVINO than its fp32
graph: OpenVINO has no fused kernel for ``DynamicQuantizeLinear`` + ``MatMulInteger``. NNCF's
static quantisation instead inserts QuantizeLinear / DequantizeLinear pairs with activation
scales measured on calibration sentences (SmoothQuant and bias correction included, as NNCF
does for transformers); OpenVINO folds them into int8 (VNNI / AMX) kernels. The result is
still an ONNX graph (no second file format), listed in the manifest like every graph, and
ONNX Runtime runs it too (slower than its own int8 graph, so it is not a default there).

Static scales are fixed at calibration, so what calibration never saw is clipped: on
all-MiniLM-L6-v2 at depth 6 NNCF's defaults on the corpus sentences alone agreed with fp32 at a
mean cosine of 0.975 on the parity probes (0.93 on "Hi", "", "   "), short of the int8 gate's
0.99. One calibration batch of very short texts (``SHORT_TEXTS``) and the ``MIXED`` preset
(asymmetric activation ranges, for the one-sided GELU and softmax outputs) brought it to
0.991 (min 0.982); STS-B was within 0.2 points of fp32 either way.

The fused projection after pooling stays fp32, as in the ONNX Runtime int8 graph. NNCF is an
optional extra (``[openvino-int8]``), imported only here and only when this variant is asked
for.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from types import ModuleType

import onnx
from tokenizers import Tokenizer

from ese.exporter.source.tokenizer_files import tokenize
from ese.exporter.variants.graph_load import graph_with_weights
from ese.exporter.variants.quantize_int8 import Int8Calibration, name_nodes, projection_nodes
from ese.format.errors import InternalError, UserError

INSTALL_LINE = "pip install 'ese-toolchain[openvino-int8]'"
# Empty, blank and one-word inputs: their activations lie outside the corpus sentences' ranges.
SHORT_TEXTS = ("", " ", "Hi", "ok", "Yes.", "No", "A dog.", "Thanks!") * 4


def with_short_texts(calibration: Int8Calibration, tokenizer: Tokenizer) -> Int8Calibration:
    """``calibration`` and one more batch: ``SHORT_TEXTS``."""
    return Int8Calibration((*calibration.batches, tokenize(tokenizer, list(SHORT_TEXTS))))


def load_nncf() -> ModuleType:
    """The ``nncf`` module, quiet, or a ``UserError`` naming the extra to install."""
    try:
        import nncf
    except ImportError as exc:
        raise UserError(
            f"the int8-openvino variant is made with NNCF, which cannot be imported ({exc}); "
            f"install it with `{INSTALL_LINE}`, or ask for --precision int8 (ONNX Runtime's)"
        ) from exc
    nncf.set_log_level(logging.ERROR)
    return nncf


def int8_openvino_from_fp32(graph_path: Path, calibration: Int8Calibration) -> onnx.ModelProto:
    """Quantise the fp32 graph at ``graph_path`` with NNCF on ``calibration``'s batches
    (made by :func:`with_short_texts`).

    The result has its weights inline; the caller externalises them.
    """
    nncf = load_nncf()
    model = graph_with_weights(graph_path)
    name_nodes(model)
    inputs = [i.name for i in model.graph.input]
    batches = [{n: batch[n] for n in inputs} for batch in calibration.batches]
    # NNCF draws progress bars on stdout (rich), where ese-variants writes its summary.
    with contextlib.redirect_stdout(io.StringIO()):
        quantised = nncf.quantize(
            model,
            nncf.Dataset(batches),
            model_type=nncf.ModelType.TRANSFORMER,
            preset=nncf.QuantizationPreset.MIXED,
            subset_size=len(batches),
            ignored_scope=nncf.IgnoredScope(names=projection_nodes(model)),
        )
    if not any(n.op_type == "QuantizeLinear" for n in quantised.graph.node):
        raise InternalError(f"NNCF quantised no activation of {graph_path.name}")
    return quantised
