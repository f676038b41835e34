"""The registry of backends (:class:`.backend.Backend`), and the one place that opens a runner.

ONNX Runtime (``onnxruntime/``: its CPU, CUDA and TensorRT execution providers) runs every
graph on a provider no other backend claims; each other backend is one folder with a loader,
a runner and its ``Backend`` entries, and one line in ``BACKENDS``. The provider request
(``providers.py``) and selection (``runtime/choice/backend.py``) read ``BACKENDS``; the
Embedder, the brief self-measurement, the parity gates and the benchmarks open runners only
here.
"""

from __future__ import annotations

from collections.abc import Sequence

from ese.format.export_dir import ExportDir
from ese.format.manifest import GraphEntry
from ese.runtime.backends.backend import Backend
from ese.runtime.backends.onnxruntime.backend import onnxruntime_backend
from ese.runtime.backends.onnxruntime.providers import CPU
from ese.runtime.backends.onnxruntime.session import Threads
from ese.runtime.backends.openvino import backend as openvino
from ese.runtime.backends.runner import Runner
from ese.runtime.backends.tensorrt import backend as native_tensorrt

__all__ = ["BACKENDS", "Backend", "Runner", "backend_for", "named", "open_runner", "registered"]

# Every backend but ONNX Runtime, in preference order.
BACKENDS: list[Backend] = [openvino.F32_BACKEND, openvino.BF16_BACKEND, native_tensorrt.BACKEND]


def named(name: str) -> Backend | None:
    """The entry a user's ``name`` selects (one of its names, or its provider name)."""
    wanted = name.lower()
    for backend in BACKENDS:
        if wanted == backend.provider.lower() or wanted in backend.names:
            return backend
    return None


def registered(provider: str) -> Backend | None:
    """The registry entry of ``provider`` (None: an ONNX Runtime provider)."""
    return next((b for b in BACKENDS if b.provider == provider), None)


def backend_for(provider: str) -> Backend:
    """The registry entry selected by ``provider``; ONNX Runtime for any other provider."""
    return registered(provider) or onnxruntime_backend(provider)


def open_runner(
    export: ExportDir, graph: GraphEntry, providers: Sequence[str], threads: Threads
) -> Runner:
    """A runner of ``graph`` on the backend of the first of ``providers``."""
    first = providers[0] if providers else CPU
    return backend_for(first).open(export, graph, providers, threads)
