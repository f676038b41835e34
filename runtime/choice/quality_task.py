"""Which measured quality grid a choice ranks by: the budget's task, else the export's probe grid.

Every export carries a grid measured by ``ese-export`` on its labelled probe (the shipped SNLI
probe, task ``snli-probe``, or the user's ``--quality-set``, task ``quality-set``). STS-B
measured by ``ese-bench quality`` (task ``stsb``, the budget's default) stays the reference:
when any graph has the budget's task, that task ranks. Only when none has it, the budget asks
for the default task (another task named on purpose is not swapped) and sets no quality floor
(a floor is in the units of its own task), does the probe grid rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ese.format.manifest import GraphEntry
from ese.runtime.choice.budget import Budget

SNLI_PROBE = "snli-probe"
QUALITY_SET = "quality-set"
PROBE_TASKS = (QUALITY_SET, SNLI_PROBE)
DEFAULT_TASK = Budget().quality_task  # stsb


def ranking_budget(graphs: Sequence[GraphEntry], budget: Budget) -> Budget:
    """``budget``, or a copy ranking by the export's probe grid when its own task is unmeasured."""
    if (
        budget.quality_task != DEFAULT_TASK
        or budget.min_quality is not None
        or any(budget.quality_task in g.quality for g in graphs)
    ):
        return budget
    for task in PROBE_TASKS:
        if any(task in g.quality for g in graphs):
            return replace(budget, quality_task=task)
    return budget


def fallback_note(asked: Budget, used: Budget) -> str:
    """What the reason adds when the probe grid stood in for the budget's task."""
    if asked.quality_task == used.quality_task:
        return ""
    return (
        f"; the export's own {used.quality_task} grid (measured by ese-export) ranks, as no "
        f"graph has {asked.quality_task} quality (`ese-bench quality` adds it)"
    )
