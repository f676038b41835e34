"""This machine's NVIDIA GPU as the CUDA driver reports it, through ctypes (standard library only).

``libcuda`` ships with every NVIDIA driver (JetPack included), so this works wherever a GPU
provider or TensorRT can. It is the one source of the GPU's identity for the runtime (profile
names, ONNX Runtime's TensorRT cache folder, the native TensorRT engines' keys in
``backends/tensorrt``), which ``ese.engines`` imports from here: the runtime never imports
``ese.engines``.

Name and compute capability alone cannot tell Jetson Orin modules apart (AGX, NX and Nano all
report ``Orin``, sm 8.7); the number of multiprocessors and the memory size can.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ese.format.errors import InternalError
from ese.runtime.errors import ProviderError

# CUdevice_attribute values (cuda.h).
MULTIPROCESSOR_COUNT = 16
COMPUTE_CAPABILITY_MAJOR = 75
COMPUTE_CAPABILITY_MINOR = 76
_NAME_BYTES = 256


@dataclass(frozen=True)
class GpuInfo:
    """What identifies a GPU for engines and caches built on it."""

    name: str
    compute_capability: str  # "8.7"
    total_memory_bytes: int
    multiprocessors: int
    index: int = 0

    @property
    def memory_gib(self) -> int:
        """Total memory rounded to whole GiB (a Jetson's is the shared system memory)."""
        return round(self.total_memory_bytes / (1 << 30))

    @property
    def hardware(self) -> str:
        """Name, multiprocessors and memory: what profile ids and ONNX Runtime's TensorRT
        caches are keyed by, as engine sidecars are (``Orin 16sm 61gib`` is an AGX Orin 64GB,
        ``Orin 8sm 15gib`` an Orin NX 16GB)."""
        return f"{self.name} {self.multiprocessors}sm {self.memory_gib}gib"


@lru_cache(maxsize=1)
def cuda_driver() -> ctypes.CDLL:
    """The loaded ``libcuda``; ``ProviderError`` where there is no NVIDIA driver."""
    names = [n for n in ("libcuda.so.1", "libcuda.so", ctypes.util.find_library("cuda")) if n]
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise ProviderError(
        "the NVIDIA driver library libcuda.so was not found: GPU providers and TensorRT "
        "engines need an NVIDIA GPU with its driver (on Jetson: JetPack)"
    )


def cuda_error_text(lib: Any, status: int) -> str:
    """The driver's own words for ``status`` (``cuGetErrorString``)."""
    message = ctypes.c_char_p()
    lib.cuGetErrorString(status, ctypes.byref(message))
    return message.value.decode() if message.value else "unknown error"


def check_cuda(lib: Any, status: int, call: str) -> None:
    """Raise ``InternalError`` naming ``call`` when a driver call did not return CUDA_SUCCESS."""
    if status != 0:
        raise InternalError(
            f"CUDA {call} failed with error {status}: {cuda_error_text(lib, status)}"
        )


def gpu_info_from_driver(
    name: bytes, major: int, minor: int, total_memory_bytes: int, multiprocessors: int, index: int
) -> GpuInfo:
    """A ``GpuInfo`` from the raw values the driver calls return."""
    text = name.split(b"\0", 1)[0].decode(errors="replace").strip()
    return GpuInfo(
        name=text or f"gpu{index}",
        compute_capability=f"{major}.{minor}",
        total_memory_bytes=int(total_memory_bytes),
        multiprocessors=int(multiprocessors),
        index=index,
    )


def query_gpu(index: int = 0, lib: Any = None) -> GpuInfo:
    """Name, compute capability, memory and multiprocessor count of CUDA device ``index``."""
    lib = lib if lib is not None else cuda_driver()
    check_cuda(lib, lib.cuInit(0), "cuInit")
    device = ctypes.c_int()
    check_cuda(lib, lib.cuDeviceGet(ctypes.byref(device), index), "cuDeviceGet")
    name = ctypes.create_string_buffer(_NAME_BYTES)
    check_cuda(lib, lib.cuDeviceGetName(name, _NAME_BYTES, device), "cuDeviceGetName")
    values = {}
    for attribute in (COMPUTE_CAPABILITY_MAJOR, COMPUTE_CAPABILITY_MINOR, MULTIPROCESSOR_COUNT):
        value = ctypes.c_int()
        check_cuda(
            lib,
            lib.cuDeviceGetAttribute(ctypes.byref(value), attribute, device),
            f"cuDeviceGetAttribute({attribute})",
        )
        values[attribute] = value.value
    memory = ctypes.c_size_t()
    check_cuda(lib, lib.cuDeviceTotalMem_v2(ctypes.byref(memory), device), "cuDeviceTotalMem")
    return gpu_info_from_driver(
        name.raw,
        values[COMPUTE_CAPABILITY_MAJOR],
        values[COMPUTE_CAPABILITY_MINOR],
        memory.value,
        values[MULTIPROCESSOR_COUNT],
        index,
    )
