"""Quality against latency at one shape, and what the runtime's selection picks for budgets.

The points are every (depth, dims) with a measured STS-B score and a measured latency (p90,
the percentile budgets hold against by default) at the chosen batch x sequence length. The
marked choices come from ``ese.runtime.choice.select`` itself, over the same manifest and profile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ese.benchmarks.latency.measurement import Measurement
from ese.benchmarks.quality.grids import STSB
from ese.benchmarks.report.plots import MarkedChoice, ParetoPoint
from ese.format import Manifest, Precision
from ese.runtime import Budget
from ese.runtime.choice.select import select
from ese.runtime.errors import BudgetError


@dataclass(frozen=True)
class ParetoData:
    batch_size: int
    seq_len: int
    points: tuple[ParetoPoint, ...]
    choices: tuple[tuple[MarkedChoice, str], ...]  # (marked point, budget in words)


def pick_shape(
    measured: Sequence[Measurement], batch: int | None, seq: int | None
) -> tuple[int, int] | None:
    """The requested shape, else the middle batch and sequence length measured at every depth."""
    depths = {m.depth for m in measured}
    full = sorted(
        {
            (m.batch_size, m.seq_len)
            for m in measured
            if {x.depth for x in measured if (x.batch_size, x.seq_len) == (m.batch_size, m.seq_len)}
            == depths
        }
    )
    if batch is not None and seq is not None:
        return (batch, seq) if (batch, seq) in full else None
    if not full:
        return None
    batches = sorted({b for b, _ in full})
    b = batch if batch in batches else batches[len(batches) // 2]
    seqs = sorted(s for bb, s in full if bb == b)
    return (b, seq if seq in seqs else seqs[len(seqs) // 2]) if seqs else None


def sample_budgets(latencies: Sequence[float], batch: int, seq: int) -> list[Budget]:
    low, high = min(latencies), max(latencies)
    # Round the bounds so the budgets read well; each still sits where it was meant to.
    high, middle, low = round(high * 1.05, 2), round((low + high) / 2, 3), round(low * 1.05, 3)
    return [
        Budget(),
        Budget(latency_ms=high, batch_size=batch, seq_len=seq, max_dims=128),
        Budget(latency_ms=middle, batch_size=batch, seq_len=seq),
        Budget(latency_ms=low, batch_size=batch, seq_len=seq, max_dims=64),
    ]


def pareto_data(
    manifest: Manifest,
    measured: Sequence[Measurement],
    batch: int | None = None,
    seq: int | None = None,
) -> ParetoData | None:
    """Points and the runtime's choices, or None when quality or latency is missing."""
    fp32 = [m for m in measured if m.precision == Precision.FP32.value]
    shape = pick_shape(fp32, batch, seq)
    if shape is None:
        return None
    b, s = shape
    at_shape = {m.depth: m for m in fp32 if (m.batch_size, m.seq_len) == shape}
    graphs = [g for g in manifest.graphs if g.precision is Precision.FP32 and g.depth in at_shape]
    points = tuple(
        ParetoPoint(g.depth, dims, at_shape[g.depth].latency.p90, score)
        for g in graphs
        for dims, score in sorted(g.quality.get(STSB, {}).items())
    )
    if not points:
        return None
    entries = {(d, Precision.FP32): m.to_profile_entry() for d, m in at_shape.items()}
    lookup = {(p.depth, p.dims): p for p in points}
    choices = []
    for budget in sample_budgets([m.latency.p90 for m in at_shape.values()], b, s):
        words = budget.describe()
        try:
            choice = select(graphs, entries, budget, precisions=[Precision.FP32])
        except BudgetError:
            choices.append((MarkedChoice(f"{words}: nothing fits", None), "nothing fits"))
            continue
        label = f"{words} -> depth {choice.depth} x {choice.dims}"
        choices.append(
            (
                MarkedChoice(label, lookup.get((choice.depth, choice.dims))),
                f"depth {choice.depth} x {choice.dims} dims",
            )
        )
    return ParetoData(b, s, points, tuple(choices))
