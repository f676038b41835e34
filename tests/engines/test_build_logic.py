"""What ese-engines does around TensorRT and the CUDA driver, run here without either.

TensorRT's builder config and libcuda are stood in by small classes that follow their
documented contracts (``IBuilderConfig.set_timing_cache`` returns False for a cache of another
TensorRT or GPU, after which ``get_timing_cache`` returns None; a CUDA context is current per
thread, and a call without one fails with CUDA_ERROR_INVALID_CONTEXT). The code under test,
ese.engines' own guard, write order and context handling, is the real code.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path
from typing import Any

import pytest

from ese.engines.build import BuiltPlan, timing_cache_into
from ese.engines.build_all import write_built
from ese.engines.errors import TimingCacheWarning
from ese.format.contract import Precision
from ese.format.errors import InternalError
from ese.runtime.backends.tensorrt.cuda_driver import DeviceContext
from ese.runtime.backends.tensorrt.engine_key import EngineKey, read_sidecar
from ese.runtime.backends.tensorrt.shapes import ProfileShapes, ShapeRange

ROOT = Path(__file__).resolve().parents[2]


class TimingCacheConfig:
    """IBuilderConfig's timing-cache contract: a cache from elsewhere is refused."""

    def __init__(self, accepted: bytes) -> None:
        self.accepted = accepted
        self.cache: bytes | None = None

    def create_timing_cache(self, data: bytes) -> bytes:
        return bytes(data)

    def set_timing_cache(self, cache: bytes, ignore_mismatch: bool) -> bool:
        if ignore_mismatch or cache in (b"", self.accepted):
            self.cache = cache
            return True
        return False


def test_a_refused_timing_cache_is_replaced_by_a_fresh_one_with_a_warning(tmp_path: Path) -> None:
    config = TimingCacheConfig(accepted=b"this gpu")
    assert timing_cache_into(config, b"this gpu", tmp_path / "timing.cache")
    assert config.cache == b"this gpu"
    config = TimingCacheConfig(accepted=b"this gpu")
    with pytest.warns(TimingCacheWarning, match="another TensorRT version or GPU"):
        assert timing_cache_into(config, b"another gpu", tmp_path / "timing.cache")
    assert config.cache == b""  # a fresh cache: get_timing_cache() will not be None


def key() -> EngineKey:
    return EngineKey(
        gpu_name="Orin",
        compute_capability="8.7",
        multiprocessors=8,
        total_memory_gib=15,
        trt_version="10.3.0",
        precision=Precision.FP16,
        depth=4,
        shapes=ProfileShapes(ShapeRange(1, 8, 32), ShapeRange(1, 128, 256)),
        graph_sha256="c" * 64,
    )


def test_the_plan_and_sidecar_are_kept_when_the_timing_cache_cannot_be_written(
    tmp_path: Path,
) -> None:
    k = key()
    (tmp_path / k.directory / "timing.cache").mkdir(parents=True)  # unwritable as a file
    with pytest.warns(TimingCacheWarning, match="could not write the timing cache"):
        plan = write_built(tmp_path, k, BuiltPlan(b"plan", b"cache"), 1.0, "graphs/depth-04.onnx")
    assert plan.read_bytes() == b"plan"
    assert read_sidecar(tmp_path / k.sidecar) == k
    plan2 = write_built(tmp_path, k, BuiltPlan(b"plan2", None), 1.0, "graphs/depth-04.onnx")
    assert plan2.read_bytes() == b"plan2"


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
