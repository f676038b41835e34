"""ONNX graph from a SentenceEmbeddingModule, with the contract's names and dynamic axes.

The TorchScript exporter (``dynamo=False``, opset 17) is used on purpose: its graphs match
PyTorch to ~5e-7 and keep the attention pattern ONNX Runtime fuses; the dynamo exporter's
graphs ran about 10% slower here.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import onnx
import torch

from ese.exporter.graph.module import SentenceEmbeddingModule
from ese.exporter.graph.shared_weights import SharedWeightsFile
from ese.exporter.graph.weightless_shape_inference import weightless_shape_inference
from ese.exporter.graph.weights import bind_parameters
from ese.format import BATCH_AXIS, OUTPUT, dynamic_axes, input_names
from ese.format.errors import InternalError

OPSET = 17


def _dummy_inputs(uses_token_type_ids: bool) -> tuple[torch.Tensor, ...]:
    # Token ids small enough for any vocabulary; the values do not shape the traced graph.
    input_ids = torch.tensor([[2, 10, 11, 3, 0, 0], [2, 12, 13, 14, 15, 3]])
    attention_mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]])
    if uses_token_type_ids:
        return input_ids, attention_mask, torch.zeros_like(input_ids)
    return input_ids, attention_mask


def _fix_output_dim(model: onnx.ModelProto, dims: int) -> None:
    """The TorchScript exporter leaves the hidden axis symbolic; the contract states it."""
    (output,) = model.graph.output
    if output.name != OUTPUT:
        raise InternalError(f"graph output is {output.name!r}, expected {OUTPUT!r}")
    shape = output.type.tensor_type.shape
    shape.dim[0].dim_param = BATCH_AXIS
    shape.dim[1].ClearField("dim_param")
    shape.dim[1].dim_value = dims


def onnx_from_module(
    module: SentenceEmbeddingModule,
    dims: int,
    scratch: Path | None = None,
    weights: SharedWeightsFile | None = None,
) -> onnx.ModelProto:
    """Trace ``module`` into an ONNX model whose large weights are in ``weights`` (or inline).

    PyTorch's exporter traces the graph without its weights (``graph_weights``): with them, it
    held a serialised copy and a constant-folded copy of every weight besides the module's own.
    The graph goes through a temporary file in ``scratch`` (default: the system's).
    """
    with tempfile.TemporaryDirectory(dir=scratch, prefix=".trace-") as work:
        path = Path(work) / "graph.onnx"
        _trace_into(module, path)
        model = onnx.load(str(path))
    names = input_names(module.uses_token_type_ids)
    graph_inputs = tuple(i.name for i in model.graph.input[: len(names)])
    if graph_inputs != names:
        raise InternalError(f"traced graph inputs {graph_inputs}, the contract says {names}")
    bind_parameters(model, len(names), module.state_dict(), weights)
    _fix_output_dim(model, dims)
    return model


def _trace_into(module: SentenceEmbeddingModule, path: Path) -> None:
    names = input_names(module.uses_token_type_ids)
    with (
        warnings.catch_warnings(),
        torch.inference_mode(False),
        torch.no_grad(),
        weightless_shape_inference(),
    ):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            _dummy_inputs(module.uses_token_type_ids),
            str(path),
            input_names=list(names),
            output_names=[OUTPUT],
            dynamic_axes=dynamic_axes(module.uses_token_type_ids),
            opset_version=OPSET,
            export_params=False,
            do_constant_folding=False,
            dynamo=False,
        )
