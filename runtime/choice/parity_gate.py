"""A device's parity gate: a runner's vectors against ONNX Runtime fp32 on the CPU, recorded.

Some precisions are a property of the device, not of a graph file: OpenVINO bf16 on this CPU,
an fp16 graph on this GPU (the CPU provider computes fp16 graphs in fp32, so a figure measured
there says nothing about a GPU's half-precision kernels). Such a precision stands in for the
fp32 graph's quality only when its vectors agree with the CPU provider's fp32 ones: min
cosine >= ``MIN_COSINE``. The figure is measured on the device and recorded in that device's
profile (``gates``, :mod:`ese.format.profile_gate`) once per graph content and backend
release, under the profiles lock; a recorded gate below the threshold is never measured again.

The measurement (:func:`consecutive_min_cosine`) calls the runner under test the way a
service does: the probe texts one at a time (batch 1, consecutive calls with different texts
of similar length, so a CUDA graph bucket is replayed with new inputs), then two batches of 8
different texts padded to one shape (one bucket, two contents). A runner that replays a stale
graph, returning the previous call's vectors for a new input, fails the gate.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ese.format.export_dir import ExportDir
from ese.format.manifest import GraphEntry
from ese.format.profile import write_profile
from ese.format.profile_gate import ParityGate, with_gate
from ese.format.profile_lock import profiles_locked
from ese.runtime.backends.runner import Runner
from ese.runtime.choice.profile_cache import load_profile, merge_entries
from ese.runtime.device import Device
from ese.runtime.encode import sliced_unit
from ese.runtime.tokens import TextTokenizer

MIN_COSINE = 0.999
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]  # input_ids, attention_mask, token_type_ids
REFERENCE = "onnxruntime CPUExecutionProvider fp32"
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
# Two batches of 8: the same shape (each text is cut to BATCH_CHARS characters, and both
# batches are padded to the longer), different texts in every row.
BATCH_ROWS = 8
BATCH_CHARS = 120
SECOND_BATCH = (
    "Rain is expected in the north by evening.",
    "She plays the violin in a small orchestra.",
    "The museum opens at nine on weekdays.",
    "A child builds a sandcastle near the waves.",
    "Engineers tested the bridge under heavy load before it opened to traffic last spring.",
    "Bread rises faster in a warm kitchen.",
    "The committee postponed its vote until the budget figures were checked again.",
    "Fresh snow covered the mountain pass overnight.",
)


@dataclass(frozen=True)
class Parity:
    """A gate's min cosine over the probes (None: not measured), and where it comes from."""

    min_cosine: float | None
    probes: int
    where: str  # the profile that records it, or why it is not recorded / measured
    label: str  # what was measured: "bf16", "fp16 on CUDAExecutionProvider"
    threshold: float = MIN_COSINE

    @property
    def passed(self) -> bool:
        return self.min_cosine is not None and self.min_cosine >= self.threshold

    def describe(self) -> str:
        if self.min_cosine is None:
            return f"{self.label} parity unmeasured ({self.where})"
        verdict = "passes" if self.passed else "fails"
        return (
            f"{self.label} parity min cosine {self.min_cosine:.5f} vs ONNX Runtime fp32 on "
            f"{self.probes} probe texts ({verdict} >= {self.threshold}; {self.where})"
        )


def probe_calls() -> list[tuple[str, ...]]:
    """The texts of each consecutive call of the runner under test."""
    first = tuple(t[:BATCH_CHARS] for t in PROBE_TEXTS[:BATCH_ROWS])
    return [(t,) for t in PROBE_TEXTS] + [first, SECOND_BATCH]


def consecutive_min_cosine(
    runner: Runner, reference: Runner, tokenizer: TextTokenizer, width: int
) -> float:
    """min cosine of ``runner`` to ``reference`` over :func:`probe_calls`, in that order.

    Every call of ``runner`` follows the previous one directly; the reference (plain fp32 on
    the CPU, no buckets) runs the same batches first. The two batches of 8 are padded to one
    shape, so on CUDA they share one captured bucket.
    """
    calls = probe_calls()
    with warnings.catch_warnings():  # a long probe text is cut on purpose: not the user's input
        warnings.simplefilter("ignore")
        encoded = [tokenizer.encode(list(texts))[0] for texts in calls]
    longest = max(len(e.ids) for e in encoded[-1] + encoded[-2])
    batches: list[Arrays] = []
    for encodings in encoded:
        batch = tokenizer.pad(encodings)
        arrays = (batch.input_ids, batch.attention_mask, batch.token_type_ids)
        # both batches of 8 padded to the same length (mask 0: the graph ignores the padding)
        batches.append(_pad_to(arrays, longest) if len(encodings) > 1 else arrays)
    want = [_unit(reference, b, width) for b in batches]
    got = [_unit(runner, b, width) for b in batches]  # consecutive calls of the runner
    return float(min(np.min(np.sum(w * g, axis=1)) for w, g in zip(want, got, strict=True)))


def _pad_to(arrays: Arrays, length: int) -> Arrays:
    widths = ((0, 0), (0, length - arrays[0].shape[1]))
    ids, mask, types = (np.pad(a, widths) for a in arrays)
    return ids, mask, types


def _unit(runner: Runner, arrays: Arrays, width: int) -> np.ndarray:
    return sliced_unit(runner.run(*arrays), width)


def recorded_or_measured(
    export: ExportDir,
    graph: GraphEntry,
    device: Device,
    *,
    inference_precision: str,
    backend: str,
    label: str,
    measure: Callable[[], float] | None,
) -> Parity:
    """The gate of ``graph`` on ``device``: as its profile records it, else ``measure()`` now
    and recorded there (for this process only, with a warning, when DIR is read-only); with
    ``measure`` None and nothing recorded, unmeasured."""
    did = device.device_id(graph.precision)
    record = f"profiles/{did}.json"
    digests = tuple(f.sha256 for f in graph.files())
    probes = len(PROBE_TEXTS)
    profile = load_profile(export, did)
    gate = profile.gate((graph.depth, graph.precision, inference_precision)) if profile else None
    if gate is not None and gate.files_sha256 == digests and gate.backend == backend:
        return Parity(gate.min_cosine, gate.probes, f"as recorded in {record}", label)
    if measure is None:
        return Parity(None, probes, f"measuring was turned off and {record} records none", label)
    min_cosine = measure()
    gate = ParityGate(
        depth=graph.depth,
        precision=graph.precision,
        inference_precision=inference_precision,
        files_sha256=digests,
        backend=backend,
        min_cosine=min_cosine,
        threshold=MIN_COSINE,
        probes=probes,
        reference=REFERENCE,
    )
    written = _record(export, device, did, gate)
    where = f"measured now, {'recorded in' if written else 'not recorded: cannot write'} {record}"
    return Parity(min_cosine, probes, where, label)


def _record(export: ExportDir, device: Device, did: str, gate: ParityGate) -> bool:
    """Merge ``gate`` into the device's profile (read again under the lock); False when the
    export directory cannot be written."""
    try:
        with profiles_locked(export.root):
            profile = merge_entries(load_profile(export, did), (), did, device)
            write_profile(export.root, replace(profile, gates=with_gate(profile.gates, gate)))
    except OSError as exc:
        warnings.warn(
            f"could not record the parity gate in {export.root / 'profiles'} ({exc}); "
            "it is used for this process only",
            stacklevel=3,
        )
        return False
    return True
