"""A brief, bounded measurement of one graph at one shape: latency percentiles and memory.

Used by the runtime when this device has no profile for the budget's shape.

Latency: one warm-up run, then timed runs until the time share (session creation included)
is spent: at least one, at most ``MAX_RUNS``; the entry's ``runs`` says how many.

Memory: the growth of the process's resident set from before the session is created to
after the timed runs, with memory-mapped weights counted whole (``ese.runtime.memory``):
the graph's weights plus the session's working memory (ONNX Runtime's arena keeps what the
largest run needed). Call :func:`warm_up` once before a series: ONNX Runtime's one-time
set-up (thread pools, kernel registries, about 10 MB) is then paid outside the
measurements, so each figure is that graph's own memory.

Inputs are full-length rows of ordinary token ids (no padding): the worst case of the shape.
A shape whose inputs and activations cannot fit in this machine's available memory is refused
with a ``BudgetError`` before anything is allocated (:func:`check_shape_fits`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ese.format.export_dir import ExportDir
from ese.format.graph_vocabulary import ProtobufError, vocabulary_table
from ese.format.manifest import GraphEntry
from ese.format.profile import ProfileEntry
from ese.runtime.backends.onnxruntime.session import Threads
from ese.runtime.backends.providers import on_cpu
from ese.runtime.backends.registry import open_runner
from ese.runtime.choice.shape_session import ShapeSession
from ese.runtime.errors import BudgetError
from ese.runtime.memory import available_mb, release_freed_memory, resident_mb

__all__ = ["measure_graph", "release_freed_memory", "resident_mb", "synthetic_batch", "warm_up"]

MAX_RUNS = 50
_MB = 1 << 20
# Token-id inputs: three int64 arrays [batch, seq].
INPUT_BYTES_PER_TOKEN = 3 * 8
# A lower bound on a CPU run's activations: one layer's input and output hidden states,
# float32 [batch, seq, hidden], exist at once (the feed-forward needs more).
ACTIVATION_BYTES_PER_HIDDEN = 2 * 4
# And one layer's attention scores, float32 [batch, heads, seq, seq]: quadratic in the
# sequence length, they dominate long sequences. The graph does not state its head count;
# encoders' heads are at most 128 wide, so hidden / 128 heads is a lower bound.
ATTENTION_BYTES_PER_SCORE = 4
WIDEST_HEAD = 128


def shape_needs_mb(batch_size: int, seq_len: int, hidden: int, *, on_cpu: bool) -> float:
    """A lower bound, in MB, of the host memory one run at ``batch_size`` x ``seq_len`` needs:
    the token ids, and on a CPU one layer's hidden states and attention scores."""
    needed = batch_size * seq_len * INPUT_BYTES_PER_TOKEN
    if on_cpu:
        heads = max(1, hidden // WIDEST_HEAD)
        needed += batch_size * seq_len * ACTIVATION_BYTES_PER_HIDDEN * hidden
        needed += batch_size * heads * seq_len * seq_len * ATTENTION_BYTES_PER_SCORE
    return needed / _MB


def check_shape_fits(
    path: Path, batch_size: int, seq_len: int, providers: Sequence[str], available: float | None
) -> None:
    """``BudgetError`` when a run of the graph at this shape cannot fit in ``available`` MB."""
    if available is None:
        return
    try:
        table = vocabulary_table(path)
    except (ProtobufError, OSError):
        table = None
    hidden = table.width if table is not None else 1
    cpu = not providers or on_cpu(providers[0])
    needed = shape_needs_mb(batch_size, seq_len, hidden, on_cpu=cpu)
    if needed > available:
        raise BudgetError(
            f"measuring {Path(path).name} at batch {batch_size} x seq {seq_len} needs at least "
            f"{needed / 1024:.1f} GB ("
            f"{'token ids, activations and attention scores' if cpu else 'token ids'}"
            f", hidden {hidden}), and this machine has {available / 1024:.1f} GB available; "
            "lower the budget's batch size or sequence length"
        )


def synthetic_batch(
    batch_size: int, seq_len: int, vocab_size: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deterministic full-length inputs: ids drawn from the upper part of the vocabulary."""
    rng = np.random.default_rng(seed)
    low = min(1000, max(1, vocab_size // 4))
    ids = rng.integers(low, max(low + 1, vocab_size), size=(batch_size, seq_len), dtype=np.int64)
    mask = np.ones((batch_size, seq_len), dtype=np.int64)
    return ids, mask, np.zeros_like(mask)


def warm_up(
    export: ExportDir, graph: GraphEntry, providers: Sequence[str], threads: Threads
) -> None:
    """Create, run and free one session so one-time set-up is not charged to a graph."""
    runner = open_runner(export, graph, providers, threads)
    runner.run(*synthetic_batch(1, 8, 100))
    del runner
    release_freed_memory()


def measure_graph(
    export: ExportDir,
    graph: GraphEntry,
    *,
    batch_size: int,
    seq_len: int,
    vocab_size: int,
    providers: Sequence[str],
    threads: Threads,
    seconds: float,
) -> ProfileEntry:
    """Open ``graph``'s runner, time it at ``batch_size`` x ``seq_len``, free it."""
    check_shape_fits(export.path(graph.file), batch_size, seq_len, providers, available_mb())
    deadline = time.perf_counter() + seconds
    ids, mask, types = synthetic_batch(batch_size, seq_len, vocab_size)
    session = ShapeSession(export, graph, (ids, mask, types), providers, threads)
    session.run()  # warm-up: allocates the arena, picks kernels
    times: list[float] = []
    while not times or (len(times) < MAX_RUNS and time.perf_counter() < deadline):
        start = time.perf_counter()
        session.run()
        times.append((time.perf_counter() - start) * 1000.0)
    memory = session.memory_mb()
    cuda_graph = session.cuda_graph
    session.close()
    ms = np.asarray(times)
    p50 = float(np.percentile(ms, 50))
    return ProfileEntry(
        depth=graph.depth,
        precision=graph.precision,
        batch_size=batch_size,
        seq_len=seq_len,
        latency_ms_p50=p50,
        latency_ms_p90=float(np.percentile(ms, 90)),
        latency_ms_p99=float(np.percentile(ms, 99)),
        sentences_per_s=batch_size * 1000.0 / p50,
        tokens_per_s=batch_size * seq_len * 1000.0 / p50,
        peak_memory_mb=round(memory, 2),
        runs=len(times),
        cuda_graph=cuda_graph,
    )
