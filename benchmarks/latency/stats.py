"""Small statistics for timings: percentiles, throughput, and ratios with their spread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ese.format.errors import InternalError


def _percentiles(values: Sequence[float], qs: Sequence[int], empty: str) -> list[float]:
    """The ``qs`` percentiles of ``values`` (float64); no values is our bug, named by ``empty``."""
    if not values:
        raise InternalError(empty)
    return [float(v) for v in np.percentile(np.asarray(values, dtype=np.float64), qs)]


@dataclass(frozen=True)
class Percentiles:
    """Latency percentiles in milliseconds over ``runs`` timed runs."""

    p50: float
    p90: float
    p99: float
    runs: int

    @classmethod
    def of(cls, times_ms: Sequence[float]) -> Percentiles:
        p50, p90, p99 = _percentiles(times_ms, (50, 90, 99), "percentiles of no timed runs")
        return cls(p50=p50, p90=p90, p99=p99, runs=len(times_ms))


@dataclass(frozen=True)
class Spread:
    """The median of paired samples with their 10th and 90th percentiles."""

    median: float
    low: float
    high: float
    samples: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        low, median, high = _percentiles(values, (10, 50, 90), "spread of no samples")
        return cls(median=median, low=low, high=high, samples=len(values))

    def text(self, digits: int = 2) -> str:
        """``1.42x (1.31-1.55)``: the median and the 10th-90th percentile range."""
        return f"{self.median:.{digits}f}x ({self.low:.{digits}f}-{self.high:.{digits}f})"

    def to_dict(self) -> dict[str, float | int]:
        return {"median": self.median, "p10": self.low, "p90": self.high, "samples": self.samples}


def paired_ratios(numerator: Sequence[float], denominator: Sequence[float]) -> Spread:
    """Per-round ratios ``numerator[i] / denominator[i]`` (rounds timed back to back)."""
    if len(numerator) != len(denominator):
        raise InternalError(f"unpaired timings: {len(numerator)} vs {len(denominator)} rounds")
    return Spread.of([n / d for n, d in zip(numerator, denominator, strict=True) if d > 0])
