"""The fp16 gate of a GPU: an fp16 graph on this GPU's provider against the fp32 graph on the CPU.

The export's own fp16 parity is measured by the CPU provider, which computes fp16 graphs in
fp32, so it says nothing about a GPU's half-precision kernels. On a GPU provider an fp16 graph
runs only after its vectors on that provider agreed with the fp32 graph of the same depth on
ONNX Runtime's CPU provider over the probe texts (min cosine >= 0.999), measured with the
calls a service makes (:func:`.parity_gate.consecutive_min_cosine`: batches of 1 and 8 with new
texts each call, so a stale CUDA graph replay fails) and recorded in the device's fp16 profile
(``profiles/<gpu>-<provider>-fp16.json``, ``gates``) by the same mechanism as OpenVINO's bf16.
A graph that passed carries its fp32 graph's quality grid (:func:`with_fp32_quality`), so
quality budgets hold on the GPU too. The gate is provider-agnostic: the tests run it with the
CPU provider as the device under test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ese.format.contract import Precision
from ese.format.export_dir import ExportDir
from ese.format.manifest import GraphEntry, Manifest
from ese.runtime.backends import providers as prov
from ese.runtime.backends.onnxruntime.session import GraphRunner, Threads
from ese.runtime.backends.registry import backend_for, open_runner
from ese.runtime.choice.parity_gate import (
    PROBE_TEXTS,
    Parity,
    consecutive_min_cosine,
    recorded_or_measured,
)
from ese.runtime.device import this_device
from ese.runtime.tokens import TextTokenizer

FP16 = "fp16"


def fp32_sibling(manifest: Manifest, graph: GraphEntry) -> GraphEntry | None:
    """The fp32 graph of ``graph``'s depth, if the export has one."""
    return next(
        (g for g in manifest.graphs if g.depth == graph.depth and g.precision is Precision.FP32),
        None,
    )


def with_fp32_quality(graphs: Sequence[GraphEntry], manifest: Manifest) -> list[GraphEntry]:
    """``graphs`` with each fp16 graph carrying its fp32 sibling's quality grid (where it has
    none of its own): valid for a graph whose fp16 gate passes on this device, and only the
    gated choice (:func:`fp16_parity`) lets an fp16 graph run."""
    out = []
    for graph in graphs:
        sibling = fp32_sibling(manifest, graph) if graph.precision is Precision.FP16 else None
        if sibling is not None and not graph.quality:
            graph = replace(graph, quality=sibling.quality)
        out.append(graph)
    return out


def fp16_parity(
    export: ExportDir,
    graph: GraphEntry,
    tokenizer: TextTokenizer,
    threads: Threads,
    providers: Sequence[str],
    *,
    measure: bool,
) -> Parity:
    """The fp16 gate of ``graph`` on ``providers[0]``: recorded, else measured now (when
    ``measure``), else unmeasured."""
    provider = providers[0]
    backend = backend_for(provider)
    label = f"fp16 on {backend.short_name}"
    reference = fp32_sibling(export.manifest, graph)
    if reference is None:
        return Parity(None, len(PROBE_TEXTS), f"no fp32 graph of depth {graph.depth}", label)

    def run() -> float:
        runner = open_runner(export, graph, providers, threads)
        cpu = GraphRunner(export.path(reference.file), [prov.CPU], Threads(threads.intra_op))
        width = min(int(graph.dims), int(reference.dims))
        return consecutive_min_cosine(runner, cpu, tokenizer, width)

    return recorded_or_measured(
        export,
        graph,
        this_device(provider, threads.intra_op),
        inference_precision=FP16,
        backend=f"{backend.release()} {backend.short_name}",
        label=label,
        measure=run if measure else None,
    )
