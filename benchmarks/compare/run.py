"""``ese-bench compare``: the runtime against its peers, same sentences, same run, per depth.

For each depth, every system is built, warmed up on a few sentences, then timed in rounds:
each round encodes the same sentences once per system, in a rotated order, so a slow moment
of a shared machine hits every system alike. Ratios are taken per round (paired) and quoted
as the median with the 10th-90th percentile spread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ese.benchmarks.compare.peers import (
    BACKENDS,
    ORT_BARE,
    RUNTIME,
    ST_ONNX,
    ST_OPENVINO,
    ST_TORCH,
    BackendSystem,
    BareOrtSystem,
    RuntimeSystem,
    StBackendSystem,
    StTorchSystem,
    backend_missing,
    st_openvino_missing,
)
from ese.benchmarks.latency.stats import Spread, paired_ratios
from ese.format import ExportDir
from ese.format.errors import BadInputError

WARMUP_SENTENCES = 16


class System(Protocol):
    name: str

    def encode(self, texts: Sequence[str], batch_size: int) -> None: ...


@dataclass(frozen=True)
class ComparePlan:
    depths: tuple[int, ...]
    batch_sizes: tuple[int, ...]
    systems: tuple[str, ...]
    rounds: int = 5
    threads: int = 2

    def __post_init__(self) -> None:
        if self.rounds < 1:
            raise BadInputError(f"--rounds {self.rounds} must be at least 1")
        if RUNTIME not in self.systems:
            raise BadInputError("--systems must include 'runtime': every ratio is against it")


@dataclass(frozen=True)
class Cell:
    """One (depth, batch size): seconds per round for each system, over the same sentences."""

    depth: int
    batch_size: int
    sentences: int
    seconds: Mapping[str, tuple[float, ...]]

    def median_s(self, system: str) -> float:
        return float(np.median(self.seconds[system]))

    def sentences_per_s(self, system: str) -> float:
        return self.sentences / self.median_s(system)

    def speedup_over(self, system: str) -> Spread:
        """How many times faster the runtime is than ``system`` (paired per round)."""
        return paired_ratios(self.seconds[system], self.seconds[RUNTIME])

    def speedup_of(self, system: str, over: str) -> Spread:
        """How many times faster ``system`` is than ``over`` (paired per round)."""
        return paired_ratios(self.seconds[over], self.seconds[system])

    def overhead(self) -> Spread:
        """runtime / bare InferenceSession.run - 1 (as a ratio spread; subtract 1 to read)."""
        return paired_ratios(self.seconds[RUNTIME], self.seconds[ORT_BARE])

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "depth": self.depth,
            "batch_size": self.batch_size,
            "sentences": self.sentences,
            "seconds": {k: [round(s, 5) for s in v] for k, v in self.seconds.items()},
            "sentences_per_s": {k: round(self.sentences_per_s(k), 2) for k in self.seconds},
            "runtime_speedup": {
                k: self.speedup_over(k).to_dict() for k in self.seconds if k != RUNTIME
            },
        }
        if ORT_BARE in self.seconds:
            out["runtime_over_bare"] = self.overhead().to_dict()
        if ST_TORCH in self.seconds:
            out["speedup_over_st_torch"] = {
                k: self.speedup_of(k, ST_TORCH).to_dict() for k in self.seconds if k != ST_TORCH
            }
        return out


@dataclass(frozen=True)
class CompareResult:
    cells: tuple[Cell, ...]
    full_depth: int
    threads: int
    interrupted: bool

    def cell(self, depth: int, batch_size: int) -> Cell | None:
        for c in self.cells:
            if (c.depth, c.batch_size) == (depth, batch_size):
                return c
        return None

    def depth_scaling(self, system: str) -> dict[tuple[int, int], float]:
        """latency(depth d) / latency(full depth) per (d, batch), from median round times."""
        out = {}
        for c in self.cells:
            full = self.cell(self.full_depth, c.batch_size)
            if full is not None and system in c.seconds and system in full.seconds:
                out[(c.depth, c.batch_size)] = c.median_s(system) / full.median_s(system)
        return out


OnCell = Callable[[Cell], None]
Say = Callable[[str], None]


def build_systems(
    export: ExportDir, model_path: Path, depth: int, plan: ComparePlan, say: Say
) -> list[System]:
    systems: list[System] = []
    st_torch = None
    if {ST_TORCH, ST_ONNX, ST_OPENVINO} & set(plan.systems):
        say(f"depth {depth}: loading sentence-transformers (PyTorch)")
        st_torch = StTorchSystem(model_path, depth, plan.threads)
        if ST_TORCH in plan.systems:
            systems.append(st_torch)
    if ST_ONNX in plan.systems and st_torch is not None:
        say(f"depth {depth}: sentence-transformers backend='onnx' (optimum export)")
        systems.append(StBackendSystem(ST_ONNX, st_torch, plan.threads))
    if ST_OPENVINO in plan.systems and st_torch is not None:
        missing = st_openvino_missing()
        if missing is not None:
            say(f"depth {depth}: {ST_OPENVINO} skipped: {missing}")
        else:
            say(f"depth {depth}: sentence-transformers backend='openvino' (optimum-intel export)")
            systems.append(StBackendSystem(ST_OPENVINO, st_torch, plan.threads))
    if ORT_BARE in plan.systems:
        systems.append(BareOrtSystem(export, depth, plan.threads))
    systems.append(RuntimeSystem(export, depth, plan.threads))
    for name in (s for s in plan.systems if s in BACKENDS):
        missing = backend_missing(name, export, depth)
        if missing is not None:
            say(f"depth {depth}: {name} skipped: {missing}")
            continue
        say(f"depth {depth}: {name}")
        systems.append(BackendSystem(name, export, depth, plan.threads))
    return systems


def time_cell(
    systems: Sequence[System], texts: Sequence[str], depth: int, batch_size: int, rounds: int
) -> Cell:
    """Warm every system up, then time ``rounds`` rounds in rotated order."""
    for system in systems:
        if isinstance(system, BareOrtSystem):
            system.prepare(texts, batch_size)  # tokenising is not what the bare run times
        system.encode(texts[:WARMUP_SENTENCES], batch_size)
    seconds: dict[str, list[float]] = {s.name: [] for s in systems}
    for r in range(rounds):
        for i in range(len(systems)):
            system = systems[(i + r) % len(systems)]
            start = time.perf_counter()
            system.encode(texts, batch_size)
            seconds[system.name].append(time.perf_counter() - start)
    return Cell(depth, batch_size, len(texts), {k: tuple(v) for k, v in seconds.items()})


def compare(
    export: ExportDir,
    model_path: Path,
    texts: Sequence[str],
    plan: ComparePlan,
    *,
    say: Say = lambda _m: None,
    on_cell: OnCell | None = None,
) -> CompareResult:
    """Time every system of ``plan`` per depth and batch size; Ctrl-C keeps finished cells."""
    cells: list[Cell] = []
    interrupted = False
    try:
        for depth in plan.depths:
            systems = build_systems(export, model_path, depth, plan, say)
            try:
                for batch_size in plan.batch_sizes:
                    cell = time_cell(systems, texts, depth, batch_size, plan.rounds)
                    cells.append(cell)
                    if on_cell is not None:
                        on_cell(cell)
            finally:
                for system in systems:
                    if isinstance(system, StBackendSystem):
                        system.close()
    except KeyboardInterrupt:
        interrupted = True
    return CompareResult(
        cells=tuple(cells),
        full_depth=export.manifest.source.num_layers,
        threads=plan.threads,
        interrupted=interrupted,
    )
