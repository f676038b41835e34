"""One measured (backend, precision, depth, batch, sequence length), and its profile entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ese.benchmarks.latency.stats import Percentiles
from ese.format import Precision, ProfileEntry
from ese.format.errors import InternalError

# Torch computes in bf16 too, which no exported graph (and so no runtime profile) has.
TORCH_PRECISIONS = ("fp32", "fp16", "bf16")


@dataclass(frozen=True)
class Measurement:
    """Latency percentiles of the timed runs (warm-up excluded), throughput and peak memory."""

    backend: str
    precision: str
    depth: int
    batch_size: int
    seq_len: int
    latency: Percentiles
    peak_memory_mb: float
    warmup_runs: int
    cuda_graph: bool = False  # ONNX Runtime on CUDA: served by a captured CUDA graph

    @property
    def sentences_per_s(self) -> float:
        return self.batch_size * 1000.0 / self.latency.p50

    @property
    def tokens_per_s(self) -> float:
        return self.batch_size * self.seq_len * 1000.0 / self.latency.p50

    def to_profile_entry(self) -> ProfileEntry:
        """The runtime's schema (ONNX Runtime graphs only: their precision is a graph's):
        :meth:`to_dict`'s figures, read as the runtime reads a profile file."""
        if self.precision not in {p.value for p in Precision}:
            raise InternalError(f"{self.precision} has no runtime profile entry")
        return ProfileEntry.from_dict(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """The profile entry's fields (precision as a plain string) plus the backend."""
        return {
            "depth": self.depth,
            "precision": self.precision,
            "batch_size": self.batch_size,
            "seq_len": self.seq_len,
            "latency_ms_p50": round(self.latency.p50, 4),
            "latency_ms_p90": round(self.latency.p90, 4),
            "latency_ms_p99": round(self.latency.p99, 4),
            "sentences_per_s": round(self.sentences_per_s, 2),
            "tokens_per_s": round(self.tokens_per_s, 1),
            "peak_memory_mb": round(self.peak_memory_mb, 2),
            "runs": self.latency.runs,
            "warmup_runs": self.warmup_runs,
            "backend": self.backend,
            "cuda_graph": self.cuda_graph,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], backend: str = "onnxruntime") -> Measurement:
        """Read an entry of either profile file (a runtime profile or a torch profile)."""
        return cls(
            backend=str(data.get("backend", backend)),
            precision=str(data["precision"]),
            depth=int(data["depth"]),
            batch_size=int(data["batch_size"]),
            seq_len=int(data["seq_len"]),
            latency=Percentiles(
                p50=float(data["latency_ms_p50"]),
                p90=float(data["latency_ms_p90"]),
                p99=float(data["latency_ms_p99"]),
                runs=int(data["runs"]),
            ),
            peak_memory_mb=float(data["peak_memory_mb"]),
            warmup_runs=int(data.get("warmup_runs", 0)),
            cuda_graph=bool(data.get("cuda_graph", False)),
        )
