"""int8 at full depth, end to end, vs sentence-transformers ``encode`` at batch 32 (same run).

    python -m ese.studies.edge_int8 EXPORT_DIR --stsb ../shared/data/stsb/sts-test.csv \
        [--batches 24] [--out studies/results/edge_int8.md]

EXPORT_DIR must hold the int8 graph of the model's full depth (``ese-export --precision
fp32,int8`` or ``ese-variants DIR --precision int8``). Both sides go from text to unit vectors:
the ese runtime (tokenise, run the int8 graph on ONNX Runtime's CPU provider, slice, normalise)
and ``SentenceTransformer.encode`` of the source model (PyTorch, CPU, all threads). Batches
are timed alternately, so both see the same machine load; after a warm-up, the median and
90th percentile per-batch latency, and the throughput ratio, are reported. STS-B test
(Spearman x 100) is measured for the fp32 and int8 graphs and for sentence-transformers.
Not a test: a report, printed as markdown.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ese.studies.report_output import print_and_write

BATCH = 32
WARMUP = 2


def _timed(fn: Callable[[list[str]], object], batch: list[str]) -> float:
    started = time.perf_counter()
    fn(batch)
    return time.perf_counter() - started


def _stsb(encode: Callable[[list[str]], np.ndarray], pairs: object) -> float:
    from ese.exporter.variants.stsb import stsb_scores

    sentences = pairs.sentences  # type: ignore[attr-defined]
    vectors = encode(sentences)
    table = dict(zip(sentences, vectors, strict=True))
    width = int(vectors.shape[1])
    return stsb_scores(pairs, table, (width,))[width]  # type: ignore[arg-type]


def _row(name: str, times: Sequence[float]) -> str:
    ms = np.asarray(times) * 1000
    median, p90 = float(np.median(ms)), float(np.percentile(ms, 90))
    return f"| {name} | {median:.1f} | {p90:.1f} | {BATCH / (median / 1000):.0f} |"


def run(export_dir: Path, stsb: Path, batches: int) -> str:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

    from ese.exporter.variants.gate import open_session, stsb_quality
    from ese.exporter.variants.stsb import read_stsb
    from ese.format import TOKENIZER_FILE, Precision, open_export
    from ese.runtime import Embedder

    manifest = open_export(export_dir).manifest
    depth, hidden = manifest.source.num_layers, manifest.source.hidden_size
    int8 = manifest.graph(depth, Precision.INT8)
    pairs = read_stsb(stsb)
    texts = pairs.sentences[: BATCH * (batches + WARMUP)]
    chunks = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]

    ours = Embedder(export_dir, precision="int8", providers="cpu", depth=depth, measure=False)
    model = SentenceTransformer(manifest.source.path, device="cpu")

    def ese_int8(batch: list[str]) -> np.ndarray:
        return ours.encode(batch, batch_size=BATCH)

    def st(batch: list[str]) -> np.ndarray:
        return model.encode(batch, batch_size=BATCH, normalize_embeddings=True)

    for chunk in chunks[:WARMUP]:
        ese_int8(chunk)
        st(chunk)
    t_ours, t_st = [], []
    for chunk in chunks[WARMUP:]:  # alternate, so both see the same load
        t_st.append(_timed(st, chunk))
        t_ours.append(_timed(ese_int8, chunk))
    ratio = float(np.median(t_st) / np.median(t_ours))
    # STS-B of both graphs at full width, measured as the export gate measures it.
    tokenizer = Tokenizer.from_file(str(export_dir / TOKENIZER_FILE))
    graph_scores = {
        precision: stsb_quality(
            open_session(export_dir / manifest.graph(depth, precision).file.path),
            tokenizer,
            pairs,
            (hidden,),
        )[hidden]
        for precision in (Precision.INT8, Precision.FP32)
    }
    stsb_int8, stsb_fp32 = graph_scores[Precision.INT8], graph_scores[Precision.FP32]
    stsb_st = _stsb(lambda s: st(s), pairs)
    threads = os.cpu_count()
    lines = [
        "# int8, full depth, end to end vs sentence-transformers encode (batch 32)",
        "",
        f"- export: `{export_dir}` (depth {depth}, {hidden} dims); int8 graph "
        f"`{int8.file.path}`, {int8.weight_bytes / 1e6:.1f} MB of weights",
        f"- machine: {platform.processor() or platform.machine()}, {threads} CPU threads "
        f"visible, {platform.system()}; ONNX Runtime CPU provider vs PyTorch CPU",
        f"- {batches} batches of {BATCH} STS-B test sentences, alternating, after "
        f"{WARMUP} warm-up batches each; the runtime's chosen width: {ours.choice.dims} "
        "dims (slice + normalise included)",
        "",
        "| encoder | median ms / batch | p90 ms / batch | sentences / s |",
        "|---|---|---|---|",
        _row("ese runtime, int8 graph", t_ours),
        _row("sentence-transformers encode (fp32)", t_st),
        "",
        f"**Throughput ratio (median): {ratio:.2f}x** (target >= 2.5x)",
        "",
        "| STS-B test, Spearman x 100 | score |",
        "|---|---|",
        f"| ese int8, depth {depth}, {hidden} dims | {stsb_int8:.2f} |",
        f"| ese fp32, depth {depth}, {hidden} dims | {stsb_fp32:.2f} |",
        f"| sentence-transformers | {stsb_st:.2f} |",
        "",
        f"**STS-B int8 - fp32: {stsb_int8 - stsb_fp32:+.2f} points** (target within 1.0)",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ese.studies.edge_int8")
    parser.add_argument("export_dir", type=Path)
    parser.add_argument("--stsb", type=Path, required=True, help="STS-B sts-test.csv")
    parser.add_argument("--batches", type=int, default=24, help="timed batches per encoder")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    args = parser.parse_args(argv)
    report = run(args.export_dir, args.stsb, args.batches)
    print_and_write(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
