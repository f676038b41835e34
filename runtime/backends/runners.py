"""The registry of backends (:class:`.backend.Backend`), and the one place that opens a runner.

ONNX Runtime (``onnxruntime/``: its CPU, CUDA and TensorRT execution providers) runs every
graph that no other backend claims; each other backend is one folder with a loader, a runner
and its ``Backend`` entries, and one line in ``BACKENDS``. Selection iterates ``BACKENDS``
and asks each entry; the Embedder, the brief self-measurement and the benchmarks create
runners only here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ese.runtime.backends import providers as prov
from ese.runtime.backends.backend import Backend, ProviderOptions
from ese.runtime.backends.onnxruntime.session import GraphRunner, Threads
from ese.runtime.backends.openvino.backend import OPENVINO_BF16, OPENVINO_FP32
from ese.runtime.backends.runner import Runner

__all__ = ["BACKENDS", "Backend", "Runner", "backend_for", "open_runner"]


def _onnxruntime(
    path: Path,
    providers: Sequence[str],
    threads: Threads,
    options: ProviderOptions,
    digests: Sequence[str] | None,
) -> Runner:
    return GraphRunner(path, providers, threads, provider_options=options)


# Every backend but ONNX Runtime, in preference order.
BACKENDS: list[Backend] = [OPENVINO_FP32, OPENVINO_BF16]


def backend_for(provider: str) -> Backend:
    """The registry entry selected by ``provider``; ONNX Runtime for any other provider (its
    fp16 gated on the GPU providers, :data:`.providers.FP16_GATED`)."""
    for backend in BACKENDS:
        if backend.provider == provider:
            return backend
    return Backend(provider, _onnxruntime, fp16_gated=provider in prov.FP16_GATED)


def open_runner(
    path: Path,
    providers: Sequence[str],
    threads: Threads,
    *,
    provider_options: ProviderOptions = None,
    digests: Sequence[str] | None = None,
) -> Runner:
    """A runner for ``path`` on the first of ``providers``.

    ``digests`` (the manifest's sha256 of the graph, then of its external data) key
    OpenVINO's compiled-model cache without hashing the files again.
    """
    first = providers[0] if providers else prov.CPU
    return backend_for(first).open(path, providers, threads, provider_options, digests)
