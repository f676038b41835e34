"""EngineRunner.run serialises its calls: one execution context and one set of device buffers.

CPU-only: TensorRT and CUDA are replaced by stand-ins that only observe whether two calls are
ever inside the engine at once (the real engine runs in test_trt.py, marked ``trt``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ese.runtime.backends.tensorrt.runner import EngineRunner
from ese.runtime.backends.tensorrt.shapes import ProfileShapes, ShapeRange


class CudaStandIn:
    """Only what ``run`` uses of the CUDA context: making it current."""

    @contextlib.contextmanager
    def current(self) -> Iterator[None]:
        yield


class OpenedStandIn:
    """Only what ``run`` reads of an opened engine: its CUDA context."""

    cuda = CudaStandIn()


def test_concurrent_runs_never_share_the_execution_context(tmp_path: Path) -> None:
    runner = EngineRunner(tmp_path, 2, "fp32")
    runner.shapes = ProfileShapes(ShapeRange(1, 2, 4), ShapeRange(1, 8, 16))
    runner._opened = OpenedStandIn()  # type: ignore[assignment]
    together = threading.Barrier(2)
    overlapped: list[bool] = []

    def inside(
        opened: OpenedStandIn, batch: int, seq: int, feeds: dict[str, np.ndarray]
    ) -> np.ndarray:
        # Two calls inside at once meet at the barrier; a serialised call waits alone.
        try:
            together.wait(timeout=0.5)
            overlapped.append(True)
        except threading.BrokenBarrierError:
            overlapped.append(False)
        return np.zeros((batch, 4), dtype=np.float32)

    runner._run_current = inside  # type: ignore[method-assign]
    ids = np.ones((1, 4), dtype=np.int64)
    threads = [threading.Thread(target=runner.run, args=(ids, ids, ids)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlapped == [False, False], "two runs were inside the engine at once"
    assert len(runner.inference_times) == 2
