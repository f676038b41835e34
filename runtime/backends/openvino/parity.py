"""The bf16 parity gate: OpenVINO with bf16 inference precision against ONNX Runtime fp32.

bf16 runs the fp32 graph with bfloat16 matmuls, so it has no quality figures of its own in
the manifest; it may stand in for the fp32 graph's quality only when its vectors agree with
ONNX Runtime fp32 on the probe texts: min cosine >= ``BF16_MIN_COSINE``. The figure depends on
the CPU and OpenVINO's release, so it is measured on the device and recorded in that device's
profile (``gates`` of ``profiles/<cpu>-<threads>t-openvino-bf16.json``), once per graph content
and OpenVINO release, by the device parity gate every precision of this kind shares
(:mod:`ese.runtime.choice.parity_gate`). A recorded gate below the threshold is never measured
again: the runtime refuses bf16 for that graph until the graph or OpenVINO changes (or the
profile is deleted).
"""

from __future__ import annotations

from ese.format.export_dir import ExportDir
from ese.format.manifest import GraphEntry
from ese.runtime.backends.onnxruntime.providers import CPU
from ese.runtime.backends.onnxruntime.session import GraphRunner, Threads
from ese.runtime.backends.openvino.backend import BF16_BACKEND, OPENVINO_BF16
from ese.runtime.backends.openvino.runner import OpenVINORunner
from ese.runtime.choice.parity_gate import (
    MIN_COSINE,
    PROBE_TEXTS,
    Parity,
    consecutive_min_cosine,
    recorded_or_measured,
)
from ese.runtime.device import this_device
from ese.runtime.tokens import TextTokenizer

__all__ = ["BF16_MIN_COSINE", "PROBE_TEXTS", "Parity", "bf16_parity"]

BF16_MIN_COSINE = MIN_COSINE
BF16 = "bf16"


def bf16_parity(
    export: ExportDir, graph: GraphEntry, tokenizer: TextTokenizer, threads: Threads
) -> Parity:
    """The gate of ``graph`` in bf16 on this CPU: as its profile records it, else measured
    now and recorded there (for this process only, with a warning, when DIR is read-only)."""

    def measure() -> float:
        path = export.path(graph.file)
        bf16 = OpenVINORunner(
            path,
            inference_precision=BF16,
            threads=threads.intra_op,
            digests=[f.sha256 for f in graph.files()],
        )
        reference = GraphRunner(path, [CPU], threads)
        return consecutive_min_cosine(bf16, reference, tokenizer, int(graph.dims))

    return recorded_or_measured(
        export,
        graph,
        this_device(OPENVINO_BF16, threads.intra_op),
        inference_precision=BF16,
        backend=BF16_BACKEND.release(),
        label=BF16,
        measure=measure,
    )
