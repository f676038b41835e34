"""Native TensorRT's registry entry: the engines ``ese-engines`` built on this GPU.

A graph runs here only where a fresh plan for its depth and precision exists (the loader's
:func:`.loader.engine_missing` says why not, naming ``ese-engines``); ``tensorrt-engine``
selects it alone, and ``auto`` on a GPU lets it compete on its cached profiles. Its fp16 runs
only past the fp16 parity gate of this GPU, as ONNX Runtime's GPU providers' does. The
runner and TensorRT itself are imported only when the entry is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ese.format.contract import Precision
from ese.format.errors import EseError
from ese.format.export_dir import ExportDir
from ese.format.manifest import GraphEntry
from ese.runtime.backends.backend import Backend
from ese.runtime.backends.cuda_device import query_gpu
from ese.runtime.backends.onnxruntime.providers import CUDA, TENSORRT
from ese.runtime.backends.tensorrt.imports import import_tensorrt, tensorrt_available
from ese.runtime.backends.tensorrt.loader import PROVIDER, engine_missing

if TYPE_CHECKING:
    from ese.runtime.backends.onnxruntime.session import Threads
    from ese.runtime.backends.runner import Runner

INSTALL_LINE = "`pip install tensorrt` (on a Jetson, JetPack's `python3-libnvinfer`)"


def _has_gpu() -> bool:
    try:
        query_gpu()
    except EseError:
        return False
    return True


def _open(
    export: ExportDir, graph: GraphEntry, providers: Sequence[str], threads: Threads
) -> Runner:
    from ese.runtime.backends.tensorrt.runner import open_engine

    return open_engine(export, graph, providers, threads)


def _release() -> str:
    return f"tensorrt {import_tensorrt().__version__}"


BACKEND = Backend(
    PROVIDER,
    _open,
    names=("tensorrt-engine", "trt-engine"),
    joins_auto_with=(TENSORRT, CUDA),
    installed=tensorrt_available,
    install_line=INSTALL_LINE,
    machine_can=_has_gpu,
    precisions=(Precision.FP32, Precision.FP16),
    serves=engine_missing,
    release=_release,
    fp16_gated=True,
)
