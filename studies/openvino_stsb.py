"""STS-B test quality of each OpenVINO precision against ONNX Runtime fp32 (the AMX targets).

Scored as ``ese-bench quality --task stsb`` scores (Spearman x 100 of the pairs' cosine
against the gold score, leading k dimensions), but through ``Embedder.encode`` on each
backend, so the figure is of what the runtime really runs. Quality figures do not depend on
timing. Not a test: a report, printed as markdown.

    python -m ese.studies.openvino_stsb DIR --depths 6
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from ese.benchmarks.quality.datasets import read_stsb
from ese.benchmarks.quality.metrics import sts_spearman
from ese.format import Precision, open_export
from ese.runtime import Embedder

# (label, providers, graph precision), ONNX Runtime fp32 first: the reference.
SYSTEMS = (
    ("ONNX Runtime fp32", "cpu", Precision.FP32),
    ("OpenVINO fp32", "openvino", Precision.FP32),
    ("OpenVINO bf16", "openvino-bf16", Precision.FP32),
    ("ONNX Runtime int8 (dynamic)", "cpu", Precision.INT8),
    ("OpenVINO int8-openvino (NNCF)", "openvino", Precision.INT8_OPENVINO),
)
WIDTHS = (64, 128, 256)


def stsb_rows(export_dir: Path, depth: int, threads: int) -> list[list[str]]:
    """One row per system present: Spearman x 100 at each width, and the change vs fp32."""
    export = open_export(export_dir)
    have = {g.key for g in export.manifest.graphs}
    pairs = read_stsb()
    sentences = pairs.sentences()
    index = {s: i for i, s in enumerate(sentences)}
    first = [index[s] for s in pairs.first]
    second = [index[s] for s in pairs.second]
    rows: list[list[str]] = []
    reference: dict[int, float] = {}
    for label, providers, precision in SYSTEMS:
        if (depth, precision) not in have:
            continue
        embedder = Embedder(
            export_dir,
            depth=depth,
            providers=providers,
            precision=precision,
            intra_op_threads=threads,
        )
        full = embedder.choice.graph_dims
        started = time.perf_counter()
        vectors = embedder.encode(sentences, dims=full, batch_size=64)
        seconds = time.perf_counter() - started
        widths = (*(w for w in WIDTHS if w < full), full)
        scores = {k: sts_spearman(vectors[first], vectors[second], pairs.scores, k) for k in widths}
        reference = reference or scores
        cells = [f"{scores[k]:.2f}" for k in widths]
        delta = scores[full] - reference[full]
        rows.append([label, *cells, f"{delta:+.2f}", f"{seconds:.0f} s"])
    return rows


def _markdown(depth: int, rows: Sequence[list[str]], full: int) -> str:
    widths = [*(str(w) for w in WIDTHS if w < full), str(full)]
    head = ["system", *widths, f"vs ONNX Runtime fp32 at {full}", "encode time"]
    lines = [f"depth {depth}, STS-B test (1,379 pairs), Spearman x 100 at k dims:", ""]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    lines.extend("| " + " | ".join(r) + " |" for r in rows)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ese.studies.openvino_stsb")
    parser.add_argument("export_dir", type=Path)
    parser.add_argument("--depths", default="6", help="comma-separated depths (default 6)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    export = open_export(args.export_dir)
    for depth in (int(d) for d in args.depths.split(",")):
        rows = stsb_rows(args.export_dir, depth, args.threads)
        full = int(export.manifest.graph(depth).dims)
        print(_markdown(depth, rows, full), end="\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
