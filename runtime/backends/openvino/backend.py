"""OpenVINO's registry entries: fp32 arithmetic, and bf16 arithmetic on the fp32 graph.

Both run on the CPU, each graph alone (OpenVINO is not an ONNX Runtime provider to fall back
from). ``openvino`` brings in both (bf16 only on a CPU with AMX or AVX-512 BF16), ``auto`` on a
CPU lets them compete on their cached profiles, and bf16 stands in for the fp32 graph's
quality only past its parity gate (:mod:`.parity`). The runner and the gate, and with them
openvino itself, are imported only when an entry is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ese.format.contract import Precision
from ese.format.export_dir import ExportDir
from ese.format.manifest import GraphEntry
from ese.runtime.backends.backend import Backend, Opener
from ese.runtime.backends.onnxruntime.providers import CPU
from ese.runtime.backends.openvino.imports import (
    INSTALL_LINE,
    openvino_available,
    openvino_version,
)
from ese.runtime.machine import has_bf16

if TYPE_CHECKING:
    from ese.runtime.backends.onnxruntime.session import Threads
    from ese.runtime.backends.runner import Runner
    from ese.runtime.choice.parity_gate import Parity
    from ese.runtime.tokens import TextTokenizer

OPENVINO = "OpenVINO"
OPENVINO_BF16 = "OpenVINO-bf16"


def _opener(inference_precision: str) -> Opener:
    """OpenVINO at ``inference_precision`` ("f32", or "bf16" on the fp32 graph)."""

    def opener(
        export: ExportDir, graph: GraphEntry, providers: Sequence[str], threads: Threads
    ) -> Runner:
        from ese.runtime.backends.openvino.runner import OpenVINORunner

        return OpenVINORunner(
            export.path(graph.file),
            inference_precision=inference_precision,
            threads=threads.intra_op,
            digests=[f.sha256 for f in graph.files()],
        )

    return opener


def _release() -> str:
    return f"openvino {openvino_version()}"


def _bf16_gate(
    export: ExportDir, graph: GraphEntry, tokenizer: TextTokenizer, threads: Threads
) -> Parity:
    from ese.runtime.backends.openvino.parity import bf16_parity

    return bf16_parity(export, graph, tokenizer, threads)


F32_BACKEND = Backend(
    OPENVINO,
    _opener("f32"),
    names=("openvino", "ov"),
    family=OPENVINO,
    joins_auto_with=(CPU,),
    installed=openvino_available,
    install_line=f"`{INSTALL_LINE}`",
    on_cpu=True,
    precisions=(Precision.FP32, Precision.INT8_OPENVINO, Precision.INT8),
    release=_release,
)
BF16_BACKEND = Backend(
    OPENVINO_BF16,
    _opener("bf16"),
    names=("openvino-bf16",),
    family=OPENVINO,
    joins_auto_with=(CPU,),
    installed=openvino_available,
    install_line=f"`{INSTALL_LINE}`",
    machine_can=has_bf16,
    needs_cpu_feature=True,
    on_cpu=True,
    graph_precisions=(Precision.FP32,),
    precisions=(Precision.FP32,),  # bf16 arithmetic on the fp32 graph
    release=_release,
    stand_in_gate=_bf16_gate,
    gate_refusal="OpenVINO bf16 was asked for, but {graph} {parity}: pass providers='openvino' "
    "(fp32 arithmetic)",
)
