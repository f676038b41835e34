"""Device memory, a stream and the primary context for an engine, through the CUDA driver.

ctypes only (no pycuda, cuda-python or torch); the driver library and the GPU's identity come
from ``ese.runtime.backends.cuda_device``. The primary context is the one the CUDA runtime (and so
TensorRT) uses. CUDA's current context is per thread, so every call here makes it current for
its own duration (``current()``), and callers wrap TensorRT calls in ``current()`` too: a
runner entered on one thread can ``run`` on another.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from ese.format.errors import InternalError
from ese.runtime.backends.cuda_device import cuda_driver, cuda_error_text


def _check(lib: Any, status: int, call: str) -> None:
    if status != 0:
        raise InternalError(
            f"CUDA {call} failed with error {status}: {cuda_error_text(lib, status)}"
        )


class DeviceContext:
    """Device ``index``'s primary context, retained, with a stream; freed by ``close``.

    ``lib`` is the driver (``libcuda``); anything with the same functions will do.
    A failure after the context is retained releases it again before the error leaves.
    """

    def __init__(self, index: int = 0, lib: Any = None) -> None:
        self._lib = lib if lib is not None else cuda_driver()
        self._device = ctypes.c_int()
        self._context = ctypes.c_void_p()
        self.stream = ctypes.c_void_p()
        self._buffers: list[ctypes.c_uint64] = []
        _check(self._lib, self._lib.cuInit(0), "cuInit")
        _check(self._lib, self._lib.cuDeviceGet(ctypes.byref(self._device), index), "cuDeviceGet")
        with ExitStack() as undo:
            _check(
                self._lib,
                self._lib.cuDevicePrimaryCtxRetain(ctypes.byref(self._context), self._device),
                "cuDevicePrimaryCtxRetain",
            )
            undo.callback(self._release_context)
            with self.current():
                _check(
                    self._lib,
                    self._lib.cuStreamCreate(ctypes.byref(self.stream), 0),
                    "cuStreamCreate",
                )
            undo.pop_all()  # everything acquired: keep it

    @contextmanager
    def current(self) -> Iterator[None]:
        """The context current on the calling thread for the block, the previous one after."""
        if not self._context.value:
            raise InternalError("the CUDA context was used after DeviceContext.close")
        _check(self._lib, self._lib.cuCtxPushCurrent_v2(self._context), "cuCtxPushCurrent")
        try:
            yield
        finally:
            self._lib.cuCtxPopCurrent_v2(ctypes.byref(ctypes.c_void_p()))

    @property
    def stream_handle(self) -> int:
        return int(self.stream.value or 0)

    def alloc(self, nbytes: int) -> int:
        pointer = ctypes.c_uint64()
        with self.current():
            _check(
                self._lib,
                self._lib.cuMemAlloc_v2(ctypes.byref(pointer), ctypes.c_size_t(max(nbytes, 1))),
                "cuMemAlloc",
            )
        self._buffers.append(pointer)
        return int(pointer.value)

    def free(self, address: int) -> None:
        for pointer in self._buffers:
            if pointer.value == address:
                with self.current():
                    _check(self._lib, self._lib.cuMemFree_v2(pointer), "cuMemFree")
                self._buffers.remove(pointer)
                return

    def to_device(self, address: int, host: int, nbytes: int) -> None:
        dst, src = ctypes.c_uint64(address), ctypes.c_void_p(host)
        self._copy(self._lib.cuMemcpyHtoDAsync_v2, "cuMemcpyHtoDAsync", dst, src, nbytes)

    def to_host(self, host: int, address: int, nbytes: int) -> None:
        dst, src = ctypes.c_void_p(host), ctypes.c_uint64(address)
        self._copy(self._lib.cuMemcpyDtoHAsync_v2, "cuMemcpyDtoHAsync", dst, src, nbytes)

    def _copy(self, memcpy: Any, name: str, dst: Any, src: Any, nbytes: int) -> None:
        """``nbytes`` from ``src`` to ``dst`` on this stream, by the driver's ``memcpy``."""
        with self.current():
            _check(self._lib, memcpy(dst, src, ctypes.c_size_t(nbytes), self.stream), name)

    def synchronize(self) -> None:
        with self.current():
            _check(self._lib, self._lib.cuStreamSynchronize(self.stream), "cuStreamSynchronize")

    def _release_context(self) -> None:
        if self._context.value:
            self._lib.cuDevicePrimaryCtxRelease_v2(self._device)
            self._context = ctypes.c_void_p()

    def close(self) -> None:
        """Free the buffers and the stream, then release the context (idempotent)."""
        if not self._context.value:
            return
        with self.current():
            for pointer in self._buffers:
                self._lib.cuMemFree_v2(pointer)
            self._buffers.clear()
            if self.stream.value:
                self._lib.cuStreamDestroy_v2(self.stream)
                self.stream = ctypes.c_void_p()
        self._release_context()
