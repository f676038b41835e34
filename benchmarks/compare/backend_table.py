"""``ese-bench compare``'s backend table: every system's time per batch, and its speed-up over
ONNX Runtime fp32 (the runtime) and over sentence-transformers, paired per round."""

from __future__ import annotations

import numpy as np

from ese.benchmarks.compare.peers import BACKENDS, RUNTIME, ST_OPENVINO, ST_TORCH
from ese.benchmarks.compare.run import CompareResult
from ese.benchmarks.report.tables import markdown


def backend_table(result: CompareResult) -> str:
    """One row per (depth, batch, system): the runtime, its backends, sentence-transformers'
    OpenVINO backend."""
    rows = []
    for c in result.cells:
        batches = -(-c.sentences // c.batch_size)
        for name in (RUNTIME, *BACKENDS, ST_OPENVINO):
            if name not in c.seconds:
                continue
            times = np.asarray(c.seconds[name]) * 1000.0 / batches
            rows.append(
                [
                    c.depth,
                    c.batch_size,
                    name,
                    f"{np.median(times):.2f}",
                    f"{np.percentile(times, 90):.2f}",
                    c.speedup_of(name, RUNTIME).text() if name != RUNTIME else "1.00x",
                    c.speedup_of(name, ST_TORCH).text() if ST_TORCH in c.seconds else "-",
                ]
            )
    if not rows:
        return ""
    header = [
        "depth",
        "batch",
        "system",
        "ms / batch (median of rounds)",
        "p90",
        "vs ONNX Runtime fp32",
        "vs sentence-transformers",
    ]
    return "\n".join(
        [
            "Backends (speed-up = time of the other / time of this system, per round: "
            "median (p10-p90)):",
            "",
            markdown(header, rows),
        ]
    )
