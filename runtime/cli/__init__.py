"""The runtime's own command line: ``ese-embed`` (:mod:`.embed`) and the flags that build a
``Budget`` and a thread count, which ``ese-serve`` and ``ese-triton`` share with it."""

from __future__ import annotations

from ese.runtime.cli.budget_flags import add_budget_flags, add_precision_flag, budget_from
from ese.runtime.cli.thread_flag import thread_count

__all__ = ["add_budget_flags", "add_precision_flag", "budget_from", "thread_count"]
