"""ese-embed: texts on stdin (one per line) to vectors on stdout. The only place that exits.

    ese-embed exports/minilm --latency-ms 5 --batch-size 8 < texts.txt > vectors.npy
    ese-embed exports/minilm --max-dims 128 --format jsonl < texts.txt > vectors.jsonl
    ese-embed exports/minilm --latency-ms 5 --explain          # print the choice only

Every input line gives one vector, in order (an empty line gives the empty-text vector).
The choice goes to stderr with ``--explain``; stdout carries only the vectors.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import BinaryIO, TextIO

import numpy as np

from ese.runtime.choice.budget import Budget
from ese.runtime.cli.console import ArgumentParser, run_console
from ese.runtime.cli.values import comma_list, positive_float, positive_int, providers_arg
from ese.runtime.embedder import Embedder
from ese.runtime.errors import UsageError, UserError
from ese.runtime.format.contract import Precision


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="ese-embed",
        description="Embed texts (one per line on stdin) with the graph and width of an ese "
        "export that fit a device budget; vectors go to stdout.",
    )
    parser.add_argument("export_dir", metavar="DIR", help="an ese-export output directory")
    budget = parser.add_argument_group("budget (all optional)")
    budget.add_argument("--latency-ms", type=positive_float, help="latency bound for one batch")
    budget.add_argument(
        "--batch-size",
        type=positive_int,
        help="batch size of the latency/memory bound, also used to encode (default 32)",
    )
    budget.add_argument(
        "--seq-len", type=positive_int, help="sequence length of the bound (default 128)"
    )
    budget.add_argument("--memory-mb", type=positive_float, help="memory bound in MB")
    budget.add_argument(
        "--max-dims", type=positive_int, help="at most this many dimensions per vector"
    )
    budget.add_argument(
        "--max-vector-bytes", type=positive_int, help="at most this many bytes per vector"
    )
    budget.add_argument("--min-quality", type=float, help="measured quality floor (STS-B x 100)")
    budget.add_argument("--percentile", choices=["p50", "p90", "p99"], help="default p90")
    run = parser.add_argument_group("running")
    run.add_argument(
        "--precision",
        type=comma_list(Precision, "precisions (fp32, fp16, int8)"),
        help="restrict to fp32, fp16 or int8 (comma-separated)",
    )
    run.add_argument(
        "--providers",
        type=providers_arg,
        default="auto",
        help="auto, openvino, openvino-bf16, or e.g. cuda,cpu (default auto)",
    )
    run.add_argument(
        "--threads", type=positive_int, help="intra-op CPU threads (default: all allowed)"
    )
    run.add_argument("--dims", type=positive_int, help="narrow the chosen width further")
    run.add_argument("--no-normalize", action="store_true", help="keep the raw sliced vectors")
    run.add_argument("--no-measure", action="store_true", help="fail instead of measuring")
    run.add_argument(
        "--measure-seconds",
        type=positive_float,
        default=3.0,
        help="time allowed for measuring this device when it has no profile (default 3)",
    )
    out = parser.add_argument_group("output")
    out.add_argument("--format", choices=["npy", "jsonl"], default="npy")
    out.add_argument("--explain", action="store_true", help="print the choice to stderr")
    out.add_argument("--progress", action="store_true", help="show progress on stderr")
    return parser


def budget_from(args: argparse.Namespace) -> Budget | None:
    """The Budget the flags describe, or None when no flag is set."""
    fields = {
        "latency_ms": args.latency_ms,
        "batch_size": args.batch_size,
        "seq_len": args.seq_len,
        "memory_mb": args.memory_mb,
        "max_dims": args.max_dims,
        "max_vector_bytes": args.max_vector_bytes,
        "min_quality": args.min_quality,
        "percentile": args.percentile,
    }
    given = {k: v for k, v in fields.items() if v is not None}
    return Budget(**given) if given else None


def read_lines(stream: BinaryIO) -> list[str]:
    """One text per line; the line ending is dropped, nothing else."""
    texts = []
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(f"input line {number} is not valid UTF-8 ({exc.reason})") from None
        texts.append(line.removesuffix("\n").removesuffix("\r"))
    return texts


def write_npy(vectors: np.ndarray, stream: BinaryIO) -> None:
    np.lib.format.write_array(stream, np.ascontiguousarray(vectors), allow_pickle=False)


def write_jsonl(vectors: np.ndarray, stream: TextIO) -> None:
    for row in vectors:
        stream.write("[" + ",".join(f"{x:.7g}" for x in row.tolist()) + "]\n")


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    sys.stderr.write(f"ese-embed: warning: {message}\n")


def run(args: argparse.Namespace) -> int:
    embedder = Embedder(
        args.export_dir,
        budget=budget_from(args),
        precision=args.precision,
        providers=args.providers,
        intra_op_threads=args.threads,
        measure=not args.no_measure,
        measure_seconds=args.measure_seconds,
    )
    if args.dims is not None and args.dims > embedder.choice.dims:
        raise UsageError(
            f"--dims {args.dims} is wider than the {embedder.choice.dims} dims chosen (depth "
            f"{embedder.choice.depth}); ask for at most {embedder.choice.dims}"
        )
    if args.explain:
        sys.stderr.write(embedder.choice.explain() + "\n")
        if sys.stdin.isatty():
            return 0
    if args.format == "npy" and sys.stdout.isatty():
        raise UserError(
            "refusing to write binary .npy to a terminal: redirect stdout to a "
            "file (> vectors.npy) or pass --format jsonl"
        )
    texts = read_lines(sys.stdin.buffer)
    vectors = embedder.encode(
        texts,
        batch_size=args.batch_size or 32,
        normalize_embeddings=not args.no_normalize,
        show_progress_bar=args.progress,
        dims=args.dims,
    )
    if args.format == "npy":
        write_npy(vectors, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        write_jsonl(vectors, sys.stdout)
        sys.stdout.flush()
    return 0


def _run_warning_lines(args: argparse.Namespace) -> int:
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        return run(args)


def main(argv: Sequence[str] | None = None) -> int:
    return run_console(_parser(), _run_warning_lines, argv)


if __name__ == "__main__":
    sys.exit(main())
