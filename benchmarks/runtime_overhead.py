"""The runtime's overhead over a bare ``InferenceSession.run``, timed in the same run.

    python -m ese.benchmarks.runtime_overhead DIR [--depth 6] [--threads 2] [--batches 1,32]

For each batch size, STS-B test sentences are cut into batches. The baseline gets each batch
already tokenised and padded (the same arrays the runtime would build) and calls
``session.run`` on a plain session with the same thread count; the runtime gets the texts and
does everything (type checks, tokenising, padding, running, slicing, normalising). The two are
timed alternately, batch by batch, after a warm-up; the medians, p90s and the ratio of medians
are printed. Not a test: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np
import onnxruntime as ort

from ese.runtime import Embedder
from ese.runtime.contract import ATTENTION_MASK, INPUT_IDS, OUTPUT, TOKEN_TYPE_IDS

from .datasets import DEFAULT_DATA, read_stsb


def _feeds(
    embedder: Embedder, batches: Sequence[list[str]], names: set[str]
) -> list[dict[str, np.ndarray]]:
    tokenizer = embedder.tokenizer
    feeds = []
    for texts in batches:
        encodings, _ = tokenizer.encode(texts)
        batch = tokenizer.pad(encodings)
        feed = {
            INPUT_IDS: batch.input_ids,
            ATTENTION_MASK: batch.attention_mask,
            TOKEN_TYPE_IDS: batch.token_type_ids,
        }
        feeds.append({k: v for k, v in feed.items() if k in names})
    return feeds


def measure(
    embedder: Embedder, batch_size: int, sentences: list[str], rounds: int
) -> dict[str, float]:
    batches = [
        sentences[i : i + batch_size] for i in range(0, len(sentences) - batch_size + 1, batch_size)
    ]
    graph = embedder.manifest.graph(embedder.depth, embedder.choice.precision)
    options = ort.SessionOptions()
    options.intra_op_num_threads = embedder.threads.intra_op or 0
    session = ort.InferenceSession(
        str(embedder.export.path(graph.file)), options, providers=["CPUExecutionProvider"]
    )
    feeds = _feeds(embedder, batches, {i.name for i in session.get_inputs()})
    for texts, feed in list(zip(batches, feeds, strict=True))[:3]:  # warm-up
        session.run([OUTPUT], feed)
        embedder.encode(texts, batch_size=batch_size)
    bare, ours = [], []
    for _ in range(rounds):
        for texts, feed in zip(batches, feeds, strict=True):
            start = time.perf_counter()
            session.run([OUTPUT], feed)
            bare.append(time.perf_counter() - start)
            start = time.perf_counter()
            embedder.encode(texts, batch_size=batch_size)
            ours.append(time.perf_counter() - start)
    b, o = np.asarray(bare) * 1e3, np.asarray(ours) * 1e3
    return {
        "batch": batch_size,
        "batches": len(batches) * rounds,
        "bare_p50": float(np.median(b)),
        "bare_p90": float(np.percentile(b, 90)),
        "ours_p50": float(np.median(o)),
        "ours_p90": float(np.percentile(o, 90)),
        "ratio": float(np.median(o) / np.median(b)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ese.benchmarks.runtime_overhead")
    parser.add_argument("export_dir")
    parser.add_argument("--depth", type=int, help="default: the deepest graph")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", default="1,32", help="batch sizes, comma-separated")
    parser.add_argument("--sentences", type=int, default=512, help="STS-B test sentences used")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    embedder = Embedder(args.export_dir, depth=args.depth, intra_op_threads=args.threads)
    sentences = read_stsb(DEFAULT_DATA, "test").sentences()[: args.sentences]
    print(
        f"runtime vs bare InferenceSession.run: depth {embedder.depth}, {args.threads} threads, "
        f"{len(sentences)} STS-B test sentences, {args.rounds} rounds, ms per batch"
    )
    print(f"{'batch':>5} {'bare p50':>9} {'bare p90':>9} {'ours p50':>9} {'ours p90':>9} ratio")
    for size in (int(s) for s in args.batches.split(",")):
        r = measure(embedder, size, sentences, args.rounds)
        print(
            f"{r['batch']:>5} {r['bare_p50']:>9.3f} {r['bare_p90']:>9.3f} "
            f"{r['ours_p50']:>9.3f} {r['ours_p90']:>9.3f} {r['ratio']:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
