"""Small statistics for timings: percentiles, throughput, and ratios with their spread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ese.benchmarks.errors import BenchBug


@dataclass(frozen=True)
class Percentiles:
    """Latency percentiles in milliseconds over ``runs`` timed runs."""

    p50: float
    p90: float
    p99: float
    runs: int

    @classmethod
    def of(cls, times_ms: Sequence[float]) -> Percentiles:
        if not times_ms:
            raise BenchBug("percentiles of no timed runs")
        ms = np.asarray(times_ms, dtype=np.float64)
        p50, p90, p99 = (float(v) for v in np.percentile(ms, [50, 90, 99]))
        return cls(p50=p50, p90=p90, p99=p99, runs=len(ms))


@dataclass(frozen=True)
class Spread:
    """The median of paired samples with their 10th and 90th percentiles."""

    median: float
    low: float
    high: float
    samples: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise BenchBug("spread of no samples")
        v = np.asarray(values, dtype=np.float64)
        low, median, high = (float(x) for x in np.percentile(v, [10, 50, 90]))
        return cls(median=median, low=low, high=high, samples=len(v))

    def text(self, digits: int = 2) -> str:
        """``1.42x (1.31-1.55)``: the median and the 10th-90th percentile range."""
        return f"{self.median:.{digits}f}x ({self.low:.{digits}f}-{self.high:.{digits}f})"

    def to_dict(self) -> dict[str, float | int]:
        return {"median": self.median, "p10": self.low, "p90": self.high, "samples": self.samples}


def paired_ratios(numerator: Sequence[float], denominator: Sequence[float]) -> Spread:
    """Per-round ratios ``numerator[i] / denominator[i]`` (rounds timed back to back)."""
    if len(numerator) != len(denominator):
        raise BenchBug(f"unpaired timings: {len(numerator)} vs {len(denominator)} rounds")
    return Spread.of([n / d for n, d in zip(numerator, denominator, strict=True) if d > 0])
