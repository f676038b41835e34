"""Markdown tables of profiles, quality grids and comparisons (printed and written alike)."""

from __future__ import annotations

from collections.abc import Sequence

from ese.benchmarks.compare.peers import ORT_BARE, RUNTIME, ST_ONNX, ST_TORCH
from ese.benchmarks.compare.run import CompareResult
from ese.benchmarks.compare.serve_rss import ServingMemory
from ese.benchmarks.latency.measurement import Measurement
from ese.benchmarks.quality.grids import QualityGrid


def markdown(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def profile_table(measurements: Sequence[Measurement]) -> str:
    header = [
        "depth",
        "batch",
        "seq",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "sent/s",
        "tok/s",
        "peak MB",
        "runs",
    ]
    rows = [
        [
            m.depth,
            m.batch_size,
            m.seq_len,
            f"{m.latency.p50:.2f}",
            f"{m.latency.p90:.2f}",
            f"{m.latency.p99:.2f}",
            f"{m.sentences_per_s:,.0f}",
            f"{m.tokens_per_s:,.0f}",
            f"{m.peak_memory_mb:.1f}",
            m.latency.runs,
        ]
        for m in sorted(measurements, key=lambda m: (m.depth, m.batch_size, m.seq_len))
    ]
    return markdown(header, rows)


def quality_table(grid: QualityGrid) -> str:
    dims = sorted({k for row in grid.scores.values() for k in row})
    header = ["depth \\ dims", *[str(d) for d in dims]]
    rows = [
        [depth, *(f"{grid.scores[depth][d]:.2f}" if d in grid.scores[depth] else "-" for d in dims)]
        for depth in sorted(grid.scores)
    ]
    return markdown(header, rows)


_NAMES = {
    ST_TORCH: "sentence-transformers (PyTorch)",
    ST_ONNX: "sentence-transformers (ONNX, CPU EP)",
    ORT_BARE: "bare InferenceSession.run",
    RUNTIME: "ese runtime",
}


def compare_tables(result: CompareResult) -> str:
    """Throughput per system, the runtime's speed-up over each peer, and its overhead."""
    systems = [
        s
        for s in (ST_TORCH, ST_ONNX, ORT_BARE, RUNTIME)
        if any(s in c.seconds for c in result.cells)
    ]
    header = ["depth", "batch", *[f"{_NAMES[s]} sent/s" for s in systems]]
    rows = [
        [
            c.depth,
            c.batch_size,
            *(f"{c.sentences_per_s(s):,.0f}" if s in c.seconds else "-" for s in systems),
        ]
        for c in result.cells
    ]
    parts = ["Throughput (sentences/s, median of rounds):", "", markdown(header, rows)]
    peers = [s for s in systems if s != RUNTIME]
    if peers:
        header = ["depth", "batch", *[f"runtime vs {_NAMES[s]}" for s in peers]]
        rows = [
            [
                c.depth,
                c.batch_size,
                *(c.speedup_over(s).text() if s in c.seconds else "-" for s in peers),
            ]
            for c in result.cells
        ]
        parts += [
            "",
            "Runtime speed-up (time of peer / time of runtime, per round: median (p10-p90)):",
            "",
            markdown(header, rows),
        ]
    if ORT_BARE in systems:
        rows = []
        for c in result.cells:
            o = c.overhead()
            rows.append(
                [
                    c.depth,
                    c.batch_size,
                    f"{100 * (o.median - 1):+.1f}%",
                    f"{100 * (o.low - 1):+.1f}% to {100 * (o.high - 1):+.1f}%",
                ]
            )
        parts += [
            "",
            "Runtime end to end (tokenise, sort, pad, run, slice, normalise) over a "
            "bare InferenceSession.run on the same pre-tokenised batches:",
            "",
            markdown(["depth", "batch", "overhead (median)", "p10 to p90"], rows),
        ]
    return "\n".join(parts)


def scaling_table(result: CompareResult) -> str:
    """latency(d)/latency(L) for the runtime and the bare run, with the issue's bound."""
    L = result.full_depth
    rows = []
    runtime = result.depth_scaling(RUNTIME)
    bare = result.depth_scaling(ORT_BARE)
    for (depth, batch), ratio in sorted(runtime.items()):
        bound = 1.15 * depth / L + 0.05
        b = bare.get((depth, batch))
        rows.append(
            [
                depth,
                batch,
                f"{ratio:.2f}",
                "-" if b is None else f"{b:.2f}",
                f"{bound:.2f}",
                "yes" if ratio <= bound else "no",
            ]
        )
    return markdown(
        [
            "depth",
            "batch",
            "runtime d/L",
            "bare run d/L",
            "bound 1.15 d/L + 0.05",
            "runtime within",
        ],
        rows,
    )


def memory_table(memory: Sequence[ServingMemory]) -> str:
    rows = [[m.depth, f"{m.baseline_mb:.0f}", f"{m.peak_mb:.0f}", m.sentences] for m in memory]
    return markdown(["depth", "RSS after imports MB", "peak RSS MB", "sentences (batch 32)"], rows)
