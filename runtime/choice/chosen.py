"""The runtime's choice of (depth, dims, precision), and why: inspectable and printable."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from ese.format.contract import Precision
from ese.format.manifest import Manifest
from ese.runtime.choice.budget import Budget


@dataclass(frozen=True)
class Candidate:
    """One (depth, dims, precision) with the figures the choice is made on.

    ``latency_ms`` and ``memory_mb`` are this device's measurements at the budget's shape
    (None when the budget does not need them); ``quality`` is the manifest's measured score
    for ``dims`` (None when never measured).
    """

    depth: int
    dims: int
    precision: Precision
    graph_dims: int
    quality: float | None = None
    latency_ms: float | None = None
    memory_mb: float | None = None

    @property
    def label(self) -> str:
        return f"depth {self.depth} x {self.dims} dims ({self.precision.value})"

    def figures(self, budget: Budget) -> str:
        """``latency p90 3.10 ms, memory 85.2 MB, stsb 79.30`` for the figures that are known."""
        parts = []
        if self.latency_ms is not None:
            parts.append(f"latency {budget.percentile} {self.latency_ms:.2f} ms")
        if self.memory_mb is not None:
            parts.append(f"memory {self.memory_mb:.1f} MB")
        quality = "unmeasured" if self.quality is None else f"{self.quality:.2f}"
        parts.append(f"{budget.quality_task} {quality}")
        return ", ".join(parts)


@dataclass(frozen=True, kw_only=True)
class Choice(Candidate):
    """What the runtime runs: the winning candidate (which graph, how many leading dimensions,
    its figures), and why.

    The figures were scored on ``budget`` (whose ``quality_task`` names the quality).
    ``profile`` names where latency and memory came from (a profile file and who measured it),
    or says that the budget did not need them. ``reason`` is one sentence on why this candidate
    won; ``considered`` and ``fitting`` count the candidates. ``vectors`` says what the chosen
    graph's vectors are against the source model's own inference and ``matches_source``
    whether they are it (None until ``with_source_vectors``): a depth that fuses a PCA
    differs, and the reason says so, as it says when the depth is a cut of the source model.
    """

    budget: Budget
    profile: str
    reason: str
    considered: int
    fitting: int
    provider: str = ""
    vectors: str = ""
    matches_source: bool | None = None

    @classmethod
    def of(cls, winner: Candidate, budget: Budget, **why: Any) -> Choice:
        """``winner``'s figures with the ``budget`` it won on and ``why`` (the other fields)."""
        figures = {f.name: getattr(winner, f.name) for f in fields(Candidate)}
        return cls(**figures, budget=budget, **why)

    @property
    def quality_task(self) -> str:
        return self.budget.quality_task

    @property
    def quality_measured(self) -> bool:
        return self.quality is not None

    def explain(self) -> str:
        """A few aligned lines for a terminal (``ese-embed --explain``, the demo)."""
        b = self.budget
        shape = f"batch {b.batch_size} x seq {b.seq_len}"
        latency = "-" if self.latency_ms is None else f"{self.latency_ms:.2f} ms ({shape})"
        memory = "-" if self.memory_mb is None else f"{self.memory_mb:.1f} MB ({shape})"
        quality = (
            "unmeasured (deeper ranks higher)"
            if self.quality is None
            else f"{self.quality:.2f} ({self.quality_task}, measured)"
        )
        rows = [
            ("graph", f"depth {self.depth}, {self.precision.value}"),
            ("dims", f"{self.dims} of {self.graph_dims}"),
            ("budget", b.describe()),
            (f"latency {b.percentile}", latency),
            ("memory", memory),
            ("quality", quality),
            ("profile", self.profile),
            ("provider", self.provider or "-"),
            ("vectors", self.vectors or "-"),
            ("why", f"{self.reason} ({self.fitting} of {self.considered} candidates fit)"),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k.rjust(width)}  {v}" for k, v in rows)

    def __str__(self) -> str:
        return self.explain()

    def to_dict(self) -> dict[str, Any]:
        return {
            "depth": self.depth,
            "dims": self.dims,
            "precision": self.precision.value,
            "graph_dims": self.graph_dims,
            "latency_ms": self.latency_ms,
            "memory_mb": self.memory_mb,
            "quality": self.quality,
            "quality_task": self.quality_task,
            "budget": self.budget.to_dict(),
            "profile": self.profile,
            "reason": self.reason,
            "considered": self.considered,
            "fitting": self.fitting,
            "provider": self.provider,
            "vectors": self.vectors,
            "matches_source": self.matches_source,
        }


def with_source_vectors(choice: Choice, manifest: Manifest) -> Choice:
    """``choice`` saying whether its graph gives the source model's own vectors (the manifest's
    per-depth record, or the fused kind for older manifests); the reason says it where they
    differ, and where the depth is a cut of the source model."""
    match = manifest.source_match(choice.depth)
    reason = choice.reason
    if not match.matches or choice.depth < manifest.source.num_layers:
        reason += f"; vectors at depth {choice.depth}: {match.note}"
    return replace(choice, vectors=match.note, matches_source=match.matches, reason=reason)
