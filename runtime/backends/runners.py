"""The one place that picks what runs a graph: ONNX Runtime's ``GraphRunner``, or OpenVINO.

Both have the same interface (``run``, ``width``, ``check_provider``, ``active``, ...), so
the Embedder, the brief self-measurement and the benchmarks create runners only here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ese.runtime.backends import providers as prov
from ese.runtime.backends.session import GraphRunner, Threads
from ese.runtime.openvino.runner import OpenVINORunner

Runner = GraphRunner | OpenVINORunner
# OpenVINO's inference precision for each of its provider names.
INFERENCE_PRECISION = {prov.OPENVINO: "f32", prov.OPENVINO_BF16: "bf16"}


def open_runner(
    path: Path,
    providers: Sequence[str],
    threads: Threads,
    *,
    provider_options: Mapping[str, Mapping[str, str]] | None = None,
    digests: Sequence[str] | None = None,
) -> Runner:
    """A runner for ``path`` on the first of ``providers``.

    ``digests`` (the manifest's sha256 of the graph, then of its external data) key
    OpenVINO's compiled-model cache without hashing the files again.
    """
    first = providers[0] if providers else prov.CPU
    if first in INFERENCE_PRECISION:
        return OpenVINORunner(
            path,
            first,
            inference_precision=INFERENCE_PRECISION[first],
            threads=threads.intra_op,
            digests=digests,
        )
    return GraphRunner(path, providers, threads, provider_options=provider_options)
