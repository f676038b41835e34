"""The profile loop: depth x batch x sequence length, warm-up apart, bounded, interruptible.

Each shape is opened fresh by its backend (:mod:`.ort_backend` or :mod:`.torch_backend`), run
``warmup`` times untimed, then timed ``runs`` times (fewer, but at least ``MIN_RUNS``, once
``max_seconds`` are spent on the shape). Ctrl-C stops the loop and keeps every shape already
measured: the result says it was interrupted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ese.benchmarks.latency.measurement import Measurement
from ese.benchmarks.latency.stats import Percentiles
from ese.format.errors import BadInputError

MIN_RUNS = 3


class Shape(Protocol):
    """One opened shape; one that says ``cuda_graph = True`` ran as a captured CUDA graph."""

    def run(self) -> None: ...
    def memory_mb(self) -> float: ...
    def close(self) -> None: ...


class Backend(Protocol):
    backend: str
    precision: str

    def open(self, depth: int, batch_size: int, seq_len: int) -> Shape: ...


@dataclass(frozen=True)
class Plan:
    """What to measure and how hard."""

    depths: tuple[int, ...]
    batch_sizes: tuple[int, ...]
    seq_lens: tuple[int, ...]
    warmup: int = 3
    runs: int = 20
    max_seconds: float = 3.0

    def __post_init__(self) -> None:
        if self.warmup < 0:
            raise BadInputError(f"--warmup {self.warmup} must be 0 or more")
        if self.runs < MIN_RUNS:
            raise BadInputError(f"--runs {self.runs} must be at least {MIN_RUNS}")
        if self.max_seconds <= 0:
            raise BadInputError(f"--max-seconds {self.max_seconds} must be positive")

    def shapes(self) -> list[tuple[int, int, int]]:
        """(depth, batch, seq), cheapest first within each depth."""
        return [(d, b, s) for d in self.depths for b in self.batch_sizes for s in self.seq_lens]


@dataclass(frozen=True)
class ProfileRun:
    measurements: tuple[Measurement, ...]
    planned: int
    interrupted: bool
    seconds: float


OnResult = Callable[[int, int, Measurement], None]


def time_shape(shape: Shape, plan: Plan) -> tuple[list[float], float]:
    """Warm up, then time; return the timed runs in ms and the memory after them."""
    for _ in range(plan.warmup):
        shape.run()
    times: list[float] = []
    deadline = time.perf_counter() + plan.max_seconds
    while len(times) < plan.runs and (len(times) < MIN_RUNS or time.perf_counter() < deadline):
        start = time.perf_counter()
        shape.run()
        times.append((time.perf_counter() - start) * 1000.0)
    return times, shape.memory_mb()


def profile(backend: Backend, plan: Plan, on_result: OnResult | None = None) -> ProfileRun:
    """Measure every shape of ``plan``; on Ctrl-C, return what was measured so far."""
    started = time.perf_counter()
    shapes = plan.shapes()
    done: list[Measurement] = []
    interrupted = False
    try:
        for index, (depth, batch, seq) in enumerate(shapes, start=1):
            shape = backend.open(depth, batch, seq)
            try:
                times, memory = time_shape(shape, plan)
            finally:
                shape.close()
            result = Measurement(
                backend=backend.backend,
                precision=backend.precision,
                depth=depth,
                batch_size=batch,
                seq_len=seq,
                latency=Percentiles.of(times),
                peak_memory_mb=memory,
                warmup_runs=plan.warmup,
                cuda_graph=bool(getattr(shape, "cuda_graph", False)),
            )
            done.append(result)
            if on_result is not None:
                on_result(index, len(shapes), result)
    except KeyboardInterrupt:
        interrupted = True
    return ProfileRun(
        measurements=tuple(done),
        planned=len(shapes),
        interrupted=interrupted,
        seconds=time.perf_counter() - started,
    )
