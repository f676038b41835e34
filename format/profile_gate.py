"""A quality gate measured on one device and recorded in its profile (``gates`` of a profile).

Some precisions are a property of the device, not of a graph file: OpenVINO's bf16 inference
precision runs the fp32 graph with bfloat16 matmuls, so its agreement with ONNX Runtime fp32
depends on the CPU's kernels and OpenVINO's release; an fp16 graph's on a GPU depends on that
GPU's half-precision kernels (``fp16`` gates, in ``profiles/<gpu>-<provider>-fp16.json``). A
gate therefore lives beside the latencies it competes with (bf16's in
``profiles/<cpu>-<threads>t-openvino-bf16.json``), never in the manifest (an export copied
to another device carries no claim about that device). The int8 graphs' gates stay in the
manifest, where the graph files are.

A gate applies only to the graph content it was measured on (``files_sha256``, the manifest's
digests of the graph and its external data) and the backend release (``backend``); anything
else is measured again. Whether it passes is judged against the runtime's own threshold, never
the recorded one (a file cannot lower the bar).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ese.format.contract import Precision
from ese.format.json_fields import Field
from ese.format.manifest import MAX_LAYERS

INFERENCE_PRECISIONS = ("bf16", "fp16")
MAX_PROBES = 1 << 20
MAX_FILES = 64
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ParityGate:
    """min cosine of one graph run at ``inference_precision`` against ``reference`` on probes."""

    depth: int
    precision: Precision  # the graph's own precision (bf16 runs the fp32 graph)
    inference_precision: str
    files_sha256: tuple[str, ...]
    backend: str  # e.g. "openvino 2026.4.1": another release is measured again
    min_cosine: float
    threshold: float
    probes: int
    reference: str

    @property
    def key(self) -> tuple[int, Precision, str]:
        return (self.depth, self.precision, self.inference_precision)

    def passes(self, threshold: float) -> bool:
        return self.min_cosine >= threshold

    @classmethod
    def from_dict(cls, f: Field) -> ParityGate:
        inference = f["inference_precision"].as_str()
        if inference not in INFERENCE_PRECISIONS:
            raise f["inference_precision"].fail(
                f"is {inference!r}; a recorded gate is one of {', '.join(INFERENCE_PRECISIONS)}"
            )
        files = f["files_sha256"].elements()
        if not 1 <= len(files) <= MAX_FILES:
            raise f["files_sha256"].fail(f"must list 1 to {MAX_FILES} digests")
        digests = []
        for item in files:
            digest = item.as_str()
            if not _SHA256.fullmatch(digest):
                raise item.fail("is not a sha256 (64 lower-case hex digits)")
            digests.append(digest)
        return cls(
            depth=f["depth"].as_int(1, MAX_LAYERS),
            precision=f["precision"].as_enum(Precision),
            inference_precision=inference,
            files_sha256=tuple(digests),
            backend=f["backend"].as_str(nonempty=True),
            min_cosine=f["min_cosine"].as_float(-1.0, 1.0),
            threshold=f["threshold"].as_float(0.0, 1.0),
            probes=f["probes"].as_int(1, MAX_PROBES),
            reference=f["reference"].as_str(nonempty=True),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "depth": self.depth,
            "precision": self.precision.value,
            "inference_precision": self.inference_precision,
            "files_sha256": list(self.files_sha256),
            "backend": self.backend,
            "min_cosine": self.min_cosine,
            "threshold": self.threshold,
            "probes": self.probes,
            "reference": self.reference,
        }


def gates_from(field: Field | None) -> tuple[ParityGate, ...]:
    """The ``gates`` list of a profile (absent: none); one gate per key."""
    if field is None:
        return ()
    gates = tuple(ParityGate.from_dict(item) for item in field.elements())
    seen: dict[tuple[int, Precision, str], int] = {}
    for index, gate in enumerate(gates):
        if gate.key in seen:
            raise field.elements()[index].fail(
                f"records depth {gate.depth} {gate.precision.value} at "
                f"{gate.inference_precision} again (first at gates[{seen[gate.key]}])"
            )
        seen[gate.key] = index
    return gates


def with_gate(gates: tuple[ParityGate, ...], gate: ParityGate) -> tuple[ParityGate, ...]:
    """``gates`` with ``gate`` added, replacing the one of the same key."""
    return (*(g for g in gates if g.key != gate.key), gate)
