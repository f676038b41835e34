"""The one place that opens a runner (:class:`.runner.Runner`) for a graph: the registry.

ONNX Runtime (``onnxruntime/``: its CPU, CUDA and TensorRT execution providers) runs every
graph that no other backend claims; each other backend is one folder with a loader and a
runner, and one line in ``BACKENDS`` under the provider names that select it. The Embedder,
the brief self-measurement and the benchmarks create runners only here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ese.runtime.backends import providers as prov
from ese.runtime.backends.onnxruntime.session import GraphRunner, Threads
from ese.runtime.backends.openvino.runner import OpenVINORunner
from ese.runtime.backends.runner import Runner

ProviderOptions = Mapping[str, Mapping[str, str]] | None
Opener = Callable[[Path, Sequence[str], Threads, ProviderOptions, Sequence[str] | None], Runner]


def _onnxruntime(
    path: Path,
    providers: Sequence[str],
    threads: Threads,
    options: ProviderOptions,
    digests: Sequence[str] | None,
) -> Runner:
    return GraphRunner(path, providers, threads, provider_options=options)


def _openvino(inference_precision: str) -> Opener:
    """OpenVINO at ``inference_precision`` ("f32", or "bf16" on the fp32 graph)."""

    def opener(
        path: Path,
        providers: Sequence[str],
        threads: Threads,
        options: ProviderOptions,
        digests: Sequence[str] | None,
    ) -> Runner:
        return OpenVINORunner(
            path,
            providers[0],
            inference_precision=inference_precision,
            threads=threads.intra_op,
            digests=digests,
        )

    return opener


# Every backend but ONNX Runtime, by the provider name that selects it.
BACKENDS: dict[str, Opener] = {
    prov.OPENVINO: _openvino("f32"),
    prov.OPENVINO_BF16: _openvino("bf16"),
}


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
    opener = BACKENDS.get(first, _onnxruntime)
    return opener(path, providers, threads, provider_options, digests)
