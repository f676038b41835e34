"""Import TensorRT lazily, with the install line when it is missing, and read its version.

TensorRT below 10 is refused up front: its ``create_network(0)`` makes an implicit-batch
network, which the ONNX parser refuses, after the user waited for the import and the parse.
"""

from __future__ import annotations

from types import ModuleType

from ese.format import Precision
from ese.format.errors import UserError
from ese.runtime.backends.optional_package import importable

MINIMUM_MAJOR = 10

INSTALL_HINT = (
    "TensorRT is not installed in this Python. On a Jetson it comes with JetPack "
    "(`sudo apt install python3-libnvinfer`, then use a venv created with "
    "--system-site-packages); on an x86_64 GPU machine: `pip install tensorrt` (CUDA 12/13 "
    "wheels). Then run ese-engines again"
)


def tensorrt_available() -> bool:
    """Whether ``import tensorrt`` can work here (checked without importing it)."""
    return importable("tensorrt")


def import_tensorrt() -> ModuleType:
    """The ``tensorrt`` module, refused when missing or older than TensorRT 10."""
    try:
        import tensorrt
    except ImportError as exc:
        raise UserError(f"{INSTALL_HINT} ({exc})") from exc
    version = getattr(tensorrt, "__version__", None)
    if not isinstance(version, str):
        # A folder named tensorrt on the import path is imported as a namespace package.
        where = ", ".join(getattr(tensorrt, "__path__", [])) or getattr(tensorrt, "__file__", "?")
        raise UserError(
            f"the `tensorrt` imported from {where} is not TensorRT's Python package (it has no "
            f"__version__): rename that folder or take it off the import path. {INSTALL_HINT}"
        )
    check_supported(version)
    return tensorrt


def check_supported(version: str) -> None:
    """Refuse TensorRT below 10 with what to install instead."""
    if major(version) < MINIMUM_MAJOR:
        raise UserError(
            f"TensorRT {version} is too old: ese-engines needs TensorRT >= {MINIMUM_MAJOR} (older "
            "versions build implicit-batch networks, which the ONNX parser refuses). On a Jetson, "
            "upgrade to JetPack >= 6.1 (TensorRT 10.3; JetPack 6.0 ships TensorRT 8.6); "
            "elsewhere `pip install 'tensorrt>=10'`"
        )


def major(version: str) -> int:
    """10 for ``10.3.0.30``."""
    try:
        return int(version.split(".")[0])
    except ValueError:
        raise UserError(f"cannot read the TensorRT version {version!r}") from None


def strongly_typed(version: str) -> bool:
    """TensorRT 11 removed weak typing: precision comes from the graph's own types."""
    return major(version) >= 11


def source_precision(version: str, precision: Precision) -> Precision:
    """Which ONNX graph an engine of ``precision`` is built from on this TensorRT.

    TensorRT 10 (weak typing): the fp32 graph, with builder flags enabling fp16 kernels and
    normalisation layers pinned to fp32. TensorRT 11 (strong typing): the fp16 graph, whose
    types (LayerNorm and softmax in fp32) TensorRT follows. int8 needs explicit Q/DQ nodes,
    which the export's dynamic-quantised int8 graphs do not have.
    """
    if precision is Precision.INT8:
        raise UserError(
            "TensorRT int8 needs a graph with explicit QuantizeLinear/DequantizeLinear pairs; "
            "the export's int8 graphs use ONNX Runtime dynamic quantisation (CPU kernels). "
            "Build --precision fp16 (or fp32) engines, and run int8 graphs on the CPU provider"
        )
    if precision is Precision.FP32 or not strongly_typed(version):
        return Precision.FP32
    return Precision.FP16
