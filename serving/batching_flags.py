"""The dynamic-batching flags of ``ese-triton`` and ``ese-serve``: the same Triton settings."""

from __future__ import annotations

import argparse

from ese.console import non_negative_int, positive_int


def add_batching_flags(group: argparse._ArgumentGroup) -> None:
    """``--max-batch-size`` and ``--max-queue-delay-us`` (Triton's dynamic batcher)."""
    group.add_argument("--max-batch-size", type=positive_int, default=32, help="default 32")
    group.add_argument(
        "--max-queue-delay-us",
        type=non_negative_int,
        default=1000,
        help="dynamic batching wait (1000)",
    )
