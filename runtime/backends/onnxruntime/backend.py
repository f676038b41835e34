"""ONNX Runtime's entry: every provider no other backend claims (CPU, CUDA, TensorRT EP).

Its opener gives every session of an export's graph the same provider options (TensorRT's
engine and timing caches inside the export, its profile shapes: ``tensorrt_provider.py``),
so a profile measures the sessions the Embedder then runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import onnxruntime as ort

from ese.format.export_dir import ExportDir
from ese.format.manifest import GraphEntry
from ese.runtime.backends.backend import Backend
from ese.runtime.backends.onnxruntime import providers
from ese.runtime.backends.onnxruntime.session import GraphRunner, Threads
from ese.runtime.backends.onnxruntime.tensorrt_provider import provider_options_for
from ese.runtime.backends.runner import Runner


def open_session(
    export: ExportDir, graph: GraphEntry, requested: Sequence[str], threads: Threads
) -> Runner:
    """An ONNX Runtime session of ``graph`` on ``requested``, with the export's options."""
    uses = export.manifest.source.uses_token_type_ids
    options = provider_options_for(export.root, graph, requested, uses_token_type_ids=uses)
    return GraphRunner(export.path(graph.file), requested, threads, provider_options=options)


def _release() -> str:
    return f"onnxruntime {ort.__version__}"


def onnxruntime_backend(provider: str) -> Backend:
    """ONNX Runtime with ``provider`` first (its fp16 gated on the GPU providers)."""
    return Backend(
        provider,
        open_session,
        names=(providers.short_name(provider),),
        on_cpu=provider == providers.CPU,
        precisions=providers.PRECISIONS.get(provider, Backend.precisions),
        release=_release,
        fp16_gated=provider in providers.FP16_GATED,
        fp16_alone=provider in providers.FP16_ALONE,
    )
