"""PyTorch's ONNX shape inference over a traced graph, run without the parameters' values.

The TorchScript exporter runs ONNX shape inference over the whole graph with every parameter's
value at hand, and its constant propagation then computes each ``Transpose(weight)`` (how a
Linear layer is traced) into a new tensor, all kept until the pass ends: a transposed copy of
every Linear weight at once, 250 to 390 MB above the model on a BERT-base at depth 12, the
export's peak while tracing. The parameters' shapes and types are on the graph's inputs, so
shape inference needs no values: given none, the graph it leaves is byte-identical
(tests/studies/test_export_memory.py checks it) and the copies are never made. The weights are
bound afterwards, one tensor at a time (``weights.bind_parameters``).

Without it, a BERT-base export (``python -m ese.studies.export_memory --shapes base``) peaked
above the 2.5x-weights goal (studies/results/export_memory.md). The pass is private: it is
replaced only on the PyTorch release it was validated on (``validated_torch``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from ese.exporter.graph.validated_torch import require_validated_torch
from ese.format.errors import InternalError

# The pass torch.onnx's TorchScript exporter calls as _C.<name>(graph, params_dict, opset).
_PASS = "_jit_pass_onnx_graph_shape_type_inference"


@contextmanager
def weightless_shape_inference() -> Iterator[None]:
    """Within the block, the exporter's graph-level shape inference sees no parameter values."""
    require_validated_torch(
        f"replacing torch._C.{_PASS} (exporter/graph/weightless_shape_inference.py)",
        "that the exporter still calls it as (graph, params_dict, opset, ...) and that "
        "tests/studies/test_export_memory.py passes (byte-identical graph, no transposed copies)",
    )
    original: Callable[..., Any] | None = getattr(torch._C, _PASS, None)
    if original is None:
        raise InternalError(f"torch {torch.__version__} has no torch._C.{_PASS}")

    def without_values(graph: Any, _params: Any, *rest: Any) -> Any:
        return original(graph, {}, *rest)

    setattr(torch._C, _PASS, without_values)
    try:
        yield
    finally:
        setattr(torch._C, _PASS, original)
