"""The bare compiled OpenVINO model's time per batch, bf16 against fp32 (the AMX targets).

Answers "is the runtime or the kernel the limit?": the exported graph compiled as the runtime
compiles it (``PERFORMANCE_HINT=LATENCY``, the thread count), then as a model reshaped to the
batch's static shape, timed on one fixed batch of random token ids (every token attended) with
one reused infer request: no tokeniser, no slicing, no Python around it. Compare its median
with ``ese-bench compare``'s end-to-end ``openvino-bf16`` row. Not a test: a markdown report.

    python -m ese.studies.openvino_kernel_time DIR --depth 6 --batch 32 --seq 16,32
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ese.benchmarks.commands.compare import cpu_flag_line
from ese.format import Precision, open_export
from ese.runtime.machine import cpu_model

PRECISIONS = ("bf16", "f32")


def median_ms(compiled: Any, feed: dict[str, np.ndarray], warmup: int, runs: int) -> float:
    request = compiled.create_infer_request()
    for _ in range(warmup):
        request.infer(feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        request.infer(feed)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def kernel_rows(
    graph: Path, batch: int, seqs: Sequence[int], threads: int, runs: int
) -> list[list[str]]:
    """One row per (sequence length, shape kind): median ms of bf16 and fp32, and their ratio."""
    ov = importlib.import_module("openvino")  # the [openvino] extra
    core = ov.Core()
    rng = np.random.default_rng(0)
    rows = []
    for seq in seqs:
        ids = rng.integers(1000, 20000, size=(batch, seq), dtype=np.int64)
        tensors = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        tensors["token_type_ids"] = np.zeros_like(ids)
        for static in (False, True):
            model = core.read_model(str(graph))
            names = [i.get_any_name() for i in model.inputs]
            if static:
                model.reshape({name: ov.PartialShape([batch, seq]) for name in names})
            feed = {name: tensors[name] for name in names}
            ms = {}
            for precision in PRECISIONS:
                config = {
                    "INFERENCE_NUM_THREADS": threads,
                    "INFERENCE_PRECISION_HINT": precision,
                    "PERFORMANCE_HINT": "LATENCY",
                }
                compiled = core.compile_model(model, "CPU", config)
                ms[precision] = median_ms(compiled, feed, warmup=10, runs=runs)
            shape = "static" if static else "dynamic (as the runtime)"
            ratio = ms["f32"] / ms["bf16"]
            rows.append([str(seq), shape, f"{ms['bf16']:.2f}", f"{ms['f32']:.2f}", f"{ratio:.2f}x"])
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("export_dir", type=Path)
    p.add_argument("--depth", type=int, default=6)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", default="16,32", help="comma-separated sequence lengths")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=50)
    args = p.parse_args(argv)
    export = open_export(args.export_dir)
    entries = [g for g in export.manifest.graphs if g.key == (args.depth, Precision.FP32)]
    if not entries:
        p.error(f"{args.export_dir} has no fp32 graph of depth {args.depth}")
    graph = export.path(entries[0].file)
    seqs = [int(s) for s in args.seq.split(",")]
    rows = kernel_rows(graph, args.batch, seqs, args.threads, args.runs)
    machine = f"{cpu_model()} ({cpu_flag_line()}); {args.threads} threads"
    print(f"{machine}; {graph.name}, batch {args.batch}")
    print()
    print("| tokens | shape | bf16 ms (median) | fp32 ms | bf16 speed-up |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
