"""The report's figures, each drawn to PNG bytes (matplotlib, Agg: no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ese.benchmarks.latency.measurement import Measurement
from ese.benchmarks.quality.grids import QualityGrid
from ese.format.errors import UserError


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise UserError("reports need matplotlib: pip install 'ese-toolchain[bench]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return buffer.getvalue()


def latency_vs_depth(measured: Sequence[Measurement], title: str) -> bytes:
    """p50 latency (p10-p90 band: p50 to p90) against depth, one line per batch size,
    one panel per sequence length."""
    plt = _pyplot()
    seqs = sorted({m.seq_len for m in measured})
    batches = sorted({m.batch_size for m in measured})
    fig, axes = plt.subplots(1, len(seqs), figsize=(3.6 * len(seqs), 3.4), squeeze=False)
    for ax, seq in zip(axes[0], seqs, strict=True):
        for batch in batches:
            pts = sorted(
                (m for m in measured if m.seq_len == seq and m.batch_size == batch),
                key=lambda m: m.depth,
            )
            if not pts:
                continue
            depths = [m.depth for m in pts]
            ax.plot(depths, [m.latency.p50 for m in pts], marker="o", label=f"batch {batch}")
            ax.fill_between(
                depths, [m.latency.p50 for m in pts], [m.latency.p90 for m in pts], alpha=0.2
            )
        ax.set_title(f"seq {seq}")
        ax.set_xlabel("depth (layers)")
        ax.set_xticks(sorted({m.depth for m in measured}))
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("latency p50 (ms), band to p90")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(title)
    return _png(fig)


def _heatmap(
    ax: Any,
    values: Sequence[Sequence[float]],
    rows: Sequence[str],
    cols: Sequence[str],
    fmt: str,
    cmap: str,
) -> Any:
    image = ax.imshow(values, aspect="auto", cmap=cmap)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
    finite = [v for row in values for v in row if v == v]
    middle = (max(finite) + min(finite)) / 2 if finite else 0.0
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            if v == v:
                ax.text(
                    j,
                    i,
                    format(v, fmt),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if v < middle else "black",
                )
    return image


def throughput_heatmap(measured: Sequence[Measurement], title: str) -> bytes:
    """Sentences/s per depth (rows) and batch x seq (columns)."""
    plt = _pyplot()
    depths = sorted({m.depth for m in measured})
    shapes = sorted({(m.batch_size, m.seq_len) for m in measured})
    table = {(m.depth, m.batch_size, m.seq_len): m.sentences_per_s for m in measured}
    values = [[table.get((d, b, s), float("nan")) for b, s in shapes] for d in depths]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.7 * len(shapes) + 2), 0.6 * len(depths) + 1.8))
    image = _heatmap(
        ax,
        values,
        [f"depth {d}" for d in depths],
        [f"{b}x{s}" for b, s in shapes],
        ",.0f",
        "viridis",
    )
    fig.colorbar(image, ax=ax, label="sentences/s")
    ax.set_xlabel("batch x sequence length")
    ax.set_title(title)
    return _png(fig)


def quality_heatmap(grid: QualityGrid, title: str) -> bytes:
    plt = _pyplot()
    depths = sorted(grid.scores)
    dims = sorted({k for row in grid.scores.values() for k in row})
    values = [[grid.scores[d].get(k, float("nan")) for k in dims] for d in depths]
    fig, ax = plt.subplots(figsize=(0.8 * len(dims) + 2.5, 0.6 * len(depths) + 1.8))
    image = _heatmap(
        ax, values, [f"depth {d}" for d in depths], [str(k) for k in dims], ".2f", "magma"
    )
    fig.colorbar(image, ax=ax, label=grid.task)
    ax.set_xlabel("dimensions kept")
    ax.set_title(title)
    return _png(fig)


@dataclass(frozen=True)
class ParetoPoint:
    depth: int
    dims: int
    latency_ms: float
    quality: float


@dataclass(frozen=True)
class MarkedChoice:
    label: str
    point: ParetoPoint | None


def pareto_front(points: Sequence[ParetoPoint]) -> list[ParetoPoint]:
    """Points no other point beats on both latency (lower) and quality (higher)."""
    front: list[ParetoPoint] = []
    for p in sorted(points, key=lambda p: (p.latency_ms, -p.quality)):
        if not front or p.quality > front[-1].quality:
            front.append(p)
    return front


def pareto_plot(
    points: Sequence[ParetoPoint],
    choices: Sequence[MarkedChoice],
    title: str,
    xlabel: str,
    ylabel: str,
) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.0, 4.6))
    by_depth: dict[int, list[ParetoPoint]] = {}
    for p in points:
        by_depth.setdefault(p.depth, []).append(p)
    for depth, pts in sorted(by_depth.items()):
        ax.scatter(
            [p.latency_ms for p in pts],
            [p.quality for p in pts],
            s=28,
            label=f"depth {depth}",
            alpha=0.8,
        )
        for p in pts:
            ax.annotate(
                str(p.dims),
                (p.latency_ms, p.quality),
                fontsize=6,
                xytext=(3, -3),
                textcoords="offset points",
            )
    front = pareto_front(points)
    ax.step(
        [p.latency_ms for p in front],
        [p.quality for p in front],
        where="post",
        color="black",
        linewidth=1,
        label="Pareto front",
    )
    markers = "*PXD^v"
    for i, choice in enumerate(choices):
        if choice.point is None:
            continue
        ax.scatter(
            [choice.point.latency_ms],
            [choice.point.quality],
            s=180,
            marker=markers[i % len(markers)],
            edgecolor="black",
            zorder=5,
            label=choice.label,
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title)
    return _png(fig)
