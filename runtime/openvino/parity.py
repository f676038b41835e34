"""The bf16 parity gate: OpenVINO with bf16 inference precision against ONNX Runtime fp32.

bf16 runs the fp32 graph with bfloat16 matmuls, so it has no quality figures of its own in
the manifest; it may stand in for the fp32 graph's quality only when its vectors agree with
ONNX Runtime fp32 on probe texts of varied length: min cosine >= ``BF16_MIN_COSINE``. The
figure depends on the CPU and OpenVINO's release, so it is measured on the device and
recorded in that device's profile (``gates`` of ``profiles/<cpu>-<threads>t-openvino-bf16.json``,
:mod:`ese.runtime.format.profile_gate`), once per graph content and OpenVINO release, under
the profiles lock. A recorded gate below the threshold is never measured again: the runtime
refuses bf16 for that graph until the graph or OpenVINO changes (or the profile is deleted).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from ese.runtime.backends import providers as prov
from ese.runtime.backends.session import GraphRunner, Threads
from ese.runtime.choice.profile_cache import load_profile, merge_entries
from ese.runtime.device import Device, this_device
from ese.runtime.encode import encode_texts
from ese.runtime.errors import TruncationWarning
from ese.runtime.format.export_dir import ExportDir
from ese.runtime.format.manifest import GraphEntry
from ese.runtime.format.profile import write_profile
from ese.runtime.format.profile_gate import ParityGate, with_gate
from ese.runtime.format.profile_lock import profiles_locked
from ese.runtime.openvino.imports import openvino_version
from ese.runtime.openvino.runner import OpenVINORunner
from ese.runtime.tokens import TextTokenizer

BF16_MIN_COSINE = 0.999
PROBE_TEXTS = (
    "",
    "Hi.",
    "A man is playing a guitar.",
    "The cat sleeps on the warm windowsill for most of the afternoon.",
    "Two dogs run across a snowy field while their owner throws a red ball.",
    "Stocks fell sharply after the government announced new tariffs on imported steel, "
    "aluminium and several kinds of machinery, a move analysts had not expected this year.",
    "Mitochondrial DNA is inherited from the mother; sequencing it lets researchers trace "
    "maternal lineages over thousands of years, and recent studies combine it with nuclear "
    "genomes to date migrations more precisely than archaeology alone could. " * 3,
    "¿Dónde está la biblioteca? 图书馆在哪里？ 12345 #tags @user https://example.org/a?b=c",
)


REFERENCE = "onnxruntime CPUExecutionProvider fp32"
BF16 = "bf16"


@dataclass(frozen=True)
class Parity:
    """min cosine of bf16 against ONNX Runtime fp32 over the probe texts, and the gate."""

    min_cosine: float
    probes: int
    where: str  # the profile that records it, or why it is not recorded
    threshold: float = BF16_MIN_COSINE

    @property
    def passed(self) -> bool:
        return self.min_cosine >= self.threshold

    def describe(self) -> str:
        verdict = "passes" if self.passed else "fails"
        return (
            f"bf16 parity min cosine {self.min_cosine:.5f} vs ONNX Runtime fp32 on "
            f"{self.probes} probe texts ({verdict} >= {self.threshold}; {self.where})"
        )


def bf16_parity(
    export: ExportDir, graph: GraphEntry, tokenizer: TextTokenizer, threads: Threads
) -> Parity:
    """The gate of ``graph`` in bf16 on this CPU: as its profile records it, else measured
    now and recorded there (for this process only, with a warning, when DIR is read-only)."""
    device = this_device(prov.OPENVINO_BF16, threads.intra_op)
    did = device.device_id(graph.precision)
    record = f"profiles/{did}.json"
    digests = tuple(f.sha256 for f in graph.files())
    backend = f"openvino {openvino_version()}"
    profile = load_profile(export, did)
    gate = profile.gate((graph.depth, graph.precision, BF16)) if profile else None
    if gate is not None and gate.files_sha256 == digests and gate.backend == backend:
        return Parity(gate.min_cosine, gate.probes, f"as recorded in {record}")
    min_cosine = _measure(export, graph, tokenizer, threads)
    gate = ParityGate(
        depth=graph.depth,
        precision=graph.precision,
        inference_precision=BF16,
        files_sha256=digests,
        backend=backend,
        min_cosine=min_cosine,
        threshold=BF16_MIN_COSINE,
        probes=len(PROBE_TEXTS),
        reference=REFERENCE,
    )
    written = _record(export, device, did, gate)
    where = f"measured now, {'recorded in' if written else 'not recorded: cannot write'} {record}"
    return Parity(min_cosine, len(PROBE_TEXTS), where)


def _measure(
    export: ExportDir, graph: GraphEntry, tokenizer: TextTokenizer, threads: Threads
) -> float:
    """min cosine of bf16 to ONNX Runtime fp32 over the probe texts, at the graph's width."""
    path = export.path(graph.file)
    bf16 = OpenVINORunner(
        path,
        prov.OPENVINO_BF16,
        inference_precision=BF16,
        threads=threads.intra_op,
        digests=[f.sha256 for f in graph.files()],
    )
    reference = GraphRunner(path, [prov.CPU], threads)
    texts = list(PROBE_TEXTS)
    width = int(graph.dims)
    with warnings.catch_warnings():  # a long probe text is cut on purpose: not the user's input
        warnings.simplefilter("ignore", TruncationWarning)
        want = encode_texts(texts, tokenizer, reference, dims=width, batch_size=4, normalize=True)
        got = encode_texts(texts, tokenizer, bf16, dims=width, batch_size=4, normalize=True)
    return float(np.min(np.sum(want * got, axis=1)))


def _record(export: ExportDir, device: Device, did: str, gate: ParityGate) -> bool:
    """Merge ``gate`` into the device's profile (read again under the lock); False when the
    export directory cannot be written."""
    try:
        with profiles_locked(export.root):
            profile = merge_entries(load_profile(export, did), (), did, device)
            write_profile(export.root, replace(profile, gates=with_gate(profile.gates, gate)))
    except OSError as exc:
        warnings.warn(
            f"could not record the bf16 parity gate in {export.root / 'profiles'} ({exc}); "
            "it is used for this process only",
            stacklevel=3,
        )
        return False
    return True
