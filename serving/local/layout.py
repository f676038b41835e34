"""How a local server spreads a dynamic batch over the CPUs: workers x intra-op threads.

On CPU, coarse parallelism beats fine: a batch split into parts that run at once, each
with one intra-op thread, keeps every core busy, where one run with several intra-op
threads synchronises them at every operator (and their spinning fights whatever else runs
on the box). The workers share one ONNX Runtime session; with one intra-op thread a ``run``
computes in its caller's thread. Measured on a loaded 2-core machine (MiniLM depth 6,
encode of 8 STS-B sentences): 2 intra-op threads 28 ms per sentence, 1 thread 14 ms.
(Several Triton model instances would parallelise too, but PyTriton 0.7 gives a second
instance one second to find the first one's handshake socket, which a busy machine misses.)
"""

from __future__ import annotations

from dataclasses import dataclass

from ese.format.errors import UserError

MAX_AUTO_WORKERS = 4


@dataclass(frozen=True)
class Layout:
    """Parallel encode workers per batch, and intra-op threads (None: the runtime's default)."""

    workers: int
    threads: int | None


def serving_layout(
    cpus: int, *, on_cpu: bool, workers: int | None = None, threads: int | None = None
) -> Layout:
    """Workers x threads for a server; the caller's values win.

    1. Not on CPU (CUDA, TensorRT): one worker unless asked, threads as asked (the GPU does
       the work and takes a whole batch best).
    2. On CPU, both given: as given.
    3. On CPU, workers given: the CPUs shared among them (at least 1 thread each).
    4. On CPU, threads given: as many workers as fit the CPUs (at least 1).
    5. On CPU, neither: one worker per CPU, 1 thread each, at most ``MAX_AUTO_WORKERS``
       workers (the CPUs then shared among them).
    """
    for name, value in (("workers", workers), ("threads", threads)):
        if value is not None and (isinstance(value, bool) or value < 1):
            raise UserError(f"--{name} {value} must be at least 1")
    cpus = max(1, cpus)
    if not on_cpu:
        return Layout(workers or 1, threads)
    if workers is not None and threads is not None:
        return Layout(workers, threads)
    if workers is not None:
        return Layout(workers, max(1, cpus // workers))
    if threads is not None:
        return Layout(max(1, cpus // threads), threads)
    count = min(cpus, MAX_AUTO_WORKERS)
    return Layout(count, max(1, cpus // count))
