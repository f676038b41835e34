"""The budget flags of ``ese-embed``, ``ese-triton`` and ``ese-serve``, and the Budget they make.

One definition, so the three commands take the same names, types and checks.
"""

from __future__ import annotations

import argparse

from ese.console.values import comma_list, positive_float, positive_int
from ese.format.contract import Precision
from ese.runtime.choice.budget import Budget

BATCH_SIZE_HELP = "batch size of the latency/memory bound"


def add_budget_flags(
    parser: argparse.ArgumentParser, *, title: str, batch_size_help: str = BATCH_SIZE_HELP
) -> argparse._ArgumentGroup:
    """The group ``title`` with every budget flag (all optional); returned to add more to."""
    group = parser.add_argument_group(title)
    group.add_argument("--latency-ms", type=positive_float, help="latency bound for one batch")
    group.add_argument("--batch-size", type=positive_int, help=batch_size_help)
    group.add_argument(
        "--seq-len", type=positive_int, help="sequence length of the bound (default 128)"
    )
    group.add_argument("--memory-mb", type=positive_float, help="memory bound in MB")
    group.add_argument(
        "--max-dims", type=positive_int, help="at most this many dimensions per vector"
    )
    group.add_argument(
        "--max-vector-bytes", type=positive_int, help="at most this many bytes per vector"
    )
    group.add_argument("--min-quality", type=float, help="measured quality floor (STS-B x 100)")
    group.add_argument("--percentile", choices=["p50", "p90", "p99"], help="default p90")
    return group


def add_precision_flag(group: argparse._ArgumentGroup) -> None:
    """``--precision fp32,int8``: restrict the choice to these precisions."""
    group.add_argument(
        "--precision",
        type=comma_list(Precision, "precisions (fp32, fp16, int8)"),
        help="restrict to fp32, fp16 or int8 (comma-separated)",
    )


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
