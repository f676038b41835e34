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

from ese.console.environment_errors import writing
from ese.console.output_kinds import add_export_dir_argument
from ese.console.runner import ArgumentParser, run_console
from ese.console.values import positive_float, positive_int, providers_arg
from ese.format.errors import BadInputError, UserError
from ese.runtime.backends import registry
from ese.runtime.cli.budget_flags import add_budget_flags, add_precision_flag, budget_from
from ese.runtime.cli.thread_flag import thread_count
from ese.runtime.embedder import Embedder


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="ese-embed",
        description="Embed texts (one per line on stdin) with the graph and width of an ese "
        "export that fit a device budget; vectors go to stdout.",
    )
    add_export_dir_argument(parser)
    add_budget_flags(
        parser,
        title="budget (all optional)",
        batch_size_help="batch size of the latency/memory bound, also used to encode (default 32)",
    )
    run = parser.add_argument_group("running")
    add_precision_flag(run)
    run.add_argument(
        "--providers",
        type=providers_arg,
        default="auto",
        help=f"auto, one of {', '.join(b.short_name for b in registry.BACKENDS)}, or ONNX "
        "Runtime providers in order, e.g. cuda,cpu (default auto)",
    )
    run.add_argument(
        "--threads",
        type=thread_count,
        help="intra-op CPU threads, at most 4 per CPU (default: all allowed)",
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
        raise BadInputError(
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
    with writing("standard output"):
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
