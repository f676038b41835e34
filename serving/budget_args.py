"""The budget flags of ``ese-triton`` and ``ese-serve``: ese-embed's own (ese.runtime.cli)."""

from __future__ import annotations

import argparse

from ese.runtime import Precision
from ese.runtime.cli import add_budget_flags, add_precision_flag, budget_from

__all__ = ["add_budget_arguments", "budget_from", "precisions_from"]


def add_budget_arguments(parser: argparse.ArgumentParser) -> None:
    group = add_budget_flags(parser, title="budget (all optional; the same flags as ese-embed)")
    add_precision_flag(group)


def precisions_from(args: argparse.Namespace) -> tuple[Precision, ...] | None:
    """``--precision fp32,int8`` as Precisions; None when not given."""
    if not args.precision:
        return None
    return tuple(dict.fromkeys(args.precision))
