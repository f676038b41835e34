"""The CUDA context of a native engine, run here without a GPU or TensorRT.

libcuda is stood in by a small class that follows its documented contract (a primary context
is retained and released; a context is current per thread, and a call without one fails with
CUDA_ERROR_INVALID_CONTEXT). The code under test, DeviceContext and the runner's release of an
opened engine, is the real code.
"""

from __future__ import annotations

import ctypes
import gc
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ese.format.errors import InternalError
from ese.runtime.backends.tensorrt.cuda_driver import DeviceContext
from ese.runtime.backends.tensorrt.runner import EngineRunner, OpenedEngine


class Driver:
    """libcuda's context rules: retained primary contexts, a current-context stack per thread."""

    INVALID_CONTEXT = 201
    OUT_OF_MEMORY = 2

    def __init__(self, fail: str | None = None) -> None:
        self.fail = fail
        self.retained = 0
        self.local = threading.local()

    def stack(self) -> list[int]:
        return self.local.__dict__.setdefault("stack", [])

    def _needs_context(self, call: str) -> int:
        if call == self.fail:
            return self.OUT_OF_MEMORY
        return 0 if self.stack() else self.INVALID_CONTEXT

    @staticmethod
    def _set(ref: Any, value: Any) -> None:
        ref._obj.value = value

    def _create(self, call: str, ref: Any, handle: int) -> int:
        """A call that makes ``handle`` in the current context and hands it back in ``ref``."""
        status = self._needs_context(call)
        if status == 0:
            self._set(ref, handle)
        return status

    def cuInit(self, flags: int) -> int:
        return 0

    def cuDeviceGet(self, ref: Any, index: int) -> int:
        self._set(ref, index)
        return 0

    def cuDevicePrimaryCtxRetain(self, ref: Any, device: Any) -> int:
        self.retained += 1
        self._set(ref, 0x1000)
        return 0

    def cuDevicePrimaryCtxRelease_v2(self, device: Any) -> int:
        self.retained -= 1
        return 0

    def cuCtxPushCurrent_v2(self, context: ctypes.c_void_p) -> int:
        self.stack().append(int(context.value or 0))
        return 0

    def cuCtxPopCurrent_v2(self, ref: Any) -> int:
        if not self.stack():
            return self.INVALID_CONTEXT
        self._set(ref, self.stack().pop())
        return 0

    def cuStreamCreate(self, ref: Any, flags: int) -> int:
        return self._create("cuStreamCreate", ref, 0x2000)

    def cuStreamDestroy_v2(self, stream: Any) -> int:
        return self._needs_context("cuStreamDestroy")

    def cuMemAlloc_v2(self, ref: Any, size: Any) -> int:
        return self._create("cuMemAlloc", ref, 0x3000)

    def cuMemFree_v2(self, pointer: Any) -> int:
        return self._needs_context("cuMemFree")

    def cuMemcpyHtoDAsync_v2(self, *args: Any) -> int:
        return self._needs_context("cuMemcpyHtoDAsync")

    def cuStreamSynchronize(self, stream: Any) -> int:
        return self._needs_context("cuStreamSynchronize")

    def cuGetErrorString(self, status: int, ref: Any) -> int:
        self._set(ref, {2: b"out of memory", 201: b"invalid device context"}.get(status))
        return 0


def test_a_failure_after_the_context_is_retained_releases_it() -> None:
    driver = Driver(fail="cuStreamCreate")
    with pytest.raises(InternalError, match="cuStreamCreate failed with error 2: out of memory"):
        DeviceContext(0, lib=driver)
    assert driver.retained == 0
    assert driver.stack() == []  # nothing left current on this thread


def test_calls_from_another_thread_make_the_context_current_themselves() -> None:
    driver = Driver()
    cuda = DeviceContext(0, lib=driver)
    assert driver.stack() == []  # entering leaves nothing pushed on the entering thread
    errors: list[BaseException] = []

    def work() -> None:
        try:
            address = cuda.alloc(64)
            cuda.to_device(address, 0, 64)
            cuda.synchronize()
            assert driver.stack() == []
        except BaseException as exc:  # handed to the main thread
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert errors == []
    cuda.close()
    assert driver.retained == 0
    cuda.close()  # idempotent
    assert driver.retained == 0


class TensorRTObject:
    """Stands for TensorRT's runtime, engine or execution context: records, when it is freed,
    whether a CUDA context was current (TensorRT frees device memory in it)."""

    def __init__(self, driver: Driver, freed: list[bool]) -> None:
        self.driver, self.freed = driver, freed

    def __del__(self) -> None:
        self.freed.append(bool(self.driver.stack()))


def opened_engine(driver: Driver, freed: list[bool]) -> OpenedEngine:
    opened = OpenedEngine(DeviceContext(0, lib=driver))
    opened.runtime = TensorRTObject(driver, freed)
    opened.engine = TensorRTObject(driver, freed)
    opened.context = TensorRTObject(driver, freed)
    return opened


def test_an_unclosed_runner_frees_its_engine_when_collected(tmp_path: Path) -> None:
    driver, freed = Driver(), []
    runner = EngineRunner(tmp_path, 2, "fp32")
    runner._hold(opened_engine(driver, freed))
    assert driver.retained == 1 and freed == []
    del runner
    gc.collect()
    assert freed == [True, True, True], "TensorRT's objects were freed outside the context"
    assert driver.retained == 0 and driver.stack() == []


def test_close_frees_the_engine_once_and_runs_are_refused_after(tmp_path: Path) -> None:
    driver, freed = Driver(), []
    runner = EngineRunner(tmp_path, 2, "fp32")
    runner._hold(opened_engine(driver, freed))
    runner.close()
    assert freed == [True, True, True] and driver.retained == 0
    ids = np.ones((1, 4), dtype=np.int64)
    with pytest.raises(InternalError, match="after close"):
        runner.run(ids, ids, ids)
    runner.close()
    del runner
    gc.collect()
    assert driver.retained == 0 and len(freed) == 3
