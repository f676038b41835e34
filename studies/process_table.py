"""The Linux process table (``/proc/<pid>/stat``): each live process's parent and CPU time, and
the descendants of a process; for watching ese-serve's process tree (tritonserver and the
Python backend run as its children)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessStat:
    parent: int
    cpu_s: float  # user + system


def process_table() -> dict[int, ProcessStat]:
    """Every live process by pid; one that ends while it is read is left out."""
    tick = os.sysconf("SC_CLK_TCK")
    table: dict[int, ProcessStat] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # After "pid (comm) ": state, ppid, ... utime and stime are the 12th and 13th fields.
        fields = text[text.rindex(")") + 2 :].split()
        cpu_s = (int(fields[11]) + int(fields[12])) / tick
        table[int(stat.parent.name)] = ProcessStat(parent=int(fields[1]), cpu_s=cpu_s)
    return table


def descendants(pid: int, table: Mapping[int, ProcessStat] | None = None) -> set[int]:
    """The live descendants of ``pid`` (children, their children, ...), not ``pid`` itself."""
    table = process_table() if table is None else table
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, s in table.items() if s.parent in frontier} - found
        found |= frontier
    return found
