"""The few CUDA driver calls engines need, through ctypes: no pycuda, cuda-python or torch.

``libcuda`` ships with every NVIDIA driver (JetPack included), so this works wherever
TensorRT does. The primary context is the one the CUDA runtime (and so TensorRT) uses.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from functools import lru_cache

from .errors import EngineRunError, TensorRTMissingError

_COMPUTE_MAJOR = 75  # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
_COMPUTE_MINOR = 76  # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR


@lru_cache(maxsize=1)
def _lib() -> ctypes.CDLL:
    names = [n for n in ("libcuda.so.1", "libcuda.so", ctypes.util.find_library("cuda")) if n]
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise TensorRTMissingError(
        "the NVIDIA driver library libcuda.so was not found: TensorRT engines need an NVIDIA "
        "GPU with its driver (on Jetson: JetPack)"
    )


def _check(status: int, call: str) -> None:
    if status != 0:
        message = ctypes.c_char_p()
        _lib().cuGetErrorString(status, ctypes.byref(message))
        text = message.value.decode() if message.value else "unknown error"
        raise EngineRunError(f"CUDA {call} failed with error {status}: {text}")


@dataclass(frozen=True)
class Gpu:
    """The GPU an engine is built for and checked against."""

    name: str
    compute_capability: str  # "8.7"
    index: int = 0


def gpu(index: int = 0) -> Gpu:
    """Name and compute capability of CUDA device ``index``."""
    lib = _lib()
    _check(lib.cuInit(0), "cuInit")
    device = ctypes.c_int()
    _check(lib.cuDeviceGet(ctypes.byref(device), index), "cuDeviceGet")
    buffer = ctypes.create_string_buffer(256)
    _check(lib.cuDeviceGetName(buffer, 256, device), "cuDeviceGetName")
    major, minor = ctypes.c_int(), ctypes.c_int()
    _check(lib.cuDeviceGetAttribute(ctypes.byref(major), _COMPUTE_MAJOR, device), "attribute")
    _check(lib.cuDeviceGetAttribute(ctypes.byref(minor), _COMPUTE_MINOR, device), "attribute")
    return Gpu(buffer.value.decode(), f"{major.value}.{minor.value}", index)


class DeviceContext:
    """The device's primary context made current, with a stream; freed by ``close``."""

    def __init__(self, index: int = 0) -> None:
        lib = _lib()
        _check(lib.cuInit(0), "cuInit")
        self._device = ctypes.c_int()
        _check(lib.cuDeviceGet(ctypes.byref(self._device), index), "cuDeviceGet")
        self._context = ctypes.c_void_p()
        _check(
            lib.cuDevicePrimaryCtxRetain(ctypes.byref(self._context), self._device),
            "cuDevicePrimaryCtxRetain",
        )
        _check(lib.cuCtxPushCurrent_v2(self._context), "cuCtxPushCurrent")
        stream = ctypes.c_void_p()
        _check(lib.cuStreamCreate(ctypes.byref(stream), 0), "cuStreamCreate")
        self.stream = stream
        self._buffers: list[ctypes.c_uint64] = []

    @property
    def stream_handle(self) -> int:
        return int(self.stream.value or 0)

    def alloc(self, nbytes: int) -> int:
        pointer = ctypes.c_uint64()
        _check(
            _lib().cuMemAlloc_v2(ctypes.byref(pointer), ctypes.c_size_t(max(nbytes, 1))),
            "cuMemAlloc",
        )
        self._buffers.append(pointer)
        return int(pointer.value)

    def free(self, address: int) -> None:
        for pointer in self._buffers:
            if pointer.value == address:
                _check(_lib().cuMemFree_v2(pointer), "cuMemFree")
                self._buffers.remove(pointer)
                return

    def to_device(self, address: int, host: int, nbytes: int) -> None:
        _check(
            _lib().cuMemcpyHtoDAsync_v2(
                ctypes.c_uint64(address),
                ctypes.c_void_p(host),
                ctypes.c_size_t(nbytes),
                self.stream,
            ),
            "cuMemcpyHtoDAsync",
        )

    def to_host(self, host: int, address: int, nbytes: int) -> None:
        _check(
            _lib().cuMemcpyDtoHAsync_v2(
                ctypes.c_void_p(host),
                ctypes.c_uint64(address),
                ctypes.c_size_t(nbytes),
                self.stream,
            ),
            "cuMemcpyDtoHAsync",
        )

    def synchronize(self) -> None:
        _check(_lib().cuStreamSynchronize(self.stream), "cuStreamSynchronize")

    def close(self) -> None:
        lib = _lib()
        for pointer in list(self._buffers):
            lib.cuMemFree_v2(pointer)
        self._buffers.clear()
        if self.stream.value:
            lib.cuStreamDestroy_v2(self.stream)
            self.stream = ctypes.c_void_p()
        if self._context.value:
            lib.cuCtxPopCurrent_v2(ctypes.byref(ctypes.c_void_p()))
            lib.cuDevicePrimaryCtxRelease_v2(self._device)
            self._context = ctypes.c_void_p()
