"""OpenVINO's registry entries: fp32 arithmetic, and bf16 arithmetic on the fp32 graph.

``openvino`` brings in both (bf16 only on a CPU with AMX or AVX-512 BF16), ``auto`` on a CPU
lets them compete on their cached profiles, and bf16 stands in for the fp32 graph's quality
only past its parity gate (:mod:`.parity`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ese.format.contract import Precision
from ese.runtime.backends import providers as prov
from ese.runtime.backends.backend import Backend, Opener, ProviderOptions
from ese.runtime.backends.onnxruntime.session import Threads
from ese.runtime.backends.openvino.imports import openvino_available
from ese.runtime.backends.openvino.parity import bf16_parity
from ese.runtime.backends.openvino.runner import OpenVINORunner
from ese.runtime.backends.runner import Runner
from ese.runtime.device import has_bf16


def _opener(inference_precision: str) -> Opener:
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


OPENVINO_FP32 = Backend(
    prov.OPENVINO,
    _opener("f32"),
    family=prov.OPENVINO,
    joins_auto_with=prov.CPU,
    installed=openvino_available,
)
OPENVINO_BF16 = Backend(
    prov.OPENVINO_BF16,
    _opener("bf16"),
    family=prov.OPENVINO,
    joins_auto_with=prov.CPU,
    installed=openvino_available,
    machine_can=has_bf16,
    needs_cpu_feature=True,
    graph_precisions=(Precision.FP32,),
    stand_in_gate=bf16_parity,
    gate_refusal="OpenVINO bf16 was asked for, but {graph} {parity}: pass providers='openvino' "
    "(fp32 arithmetic)",
)
