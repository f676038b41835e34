"""The budget flags of ``ese-triton`` and ``ese-serve``: the same names as ``ese-embed``'s."""

from __future__ import annotations

import argparse

from ese.runtime import Precision
from ese.runtime.cli.embed import budget_from
from ese.runtime.cli.values import comma_list, positive_float, positive_int

__all__ = ["add_budget_arguments", "budget_from", "precisions_from"]


def add_budget_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("budget (all optional; the same flags as ese-embed)")
    group.add_argument("--latency-ms", type=positive_float, help="latency bound for one batch")
    group.add_argument(
        "--batch-size", type=positive_int, help="batch size of the latency/memory bound"
    )
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
    group.add_argument(
        "--precision",
        type=comma_list(Precision, "precisions (fp32, fp16, int8)"),
        help="restrict to fp32, fp16 or int8 (comma-separated)",
    )


def precisions_from(args: argparse.Namespace) -> tuple[Precision, ...] | None:
    """``--precision fp32,int8`` as Precisions; None when not given."""
    if not args.precision:
        return None
    return tuple(dict.fromkeys(args.precision))
