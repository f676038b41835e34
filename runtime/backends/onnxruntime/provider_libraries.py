"""The shared libraries each GPU provider of ONNX Runtime loads, and whether they load here.

ONNX Runtime's GPU build lists ``CUDAExecutionProvider`` and ``TensorrtExecutionProvider``
whether or not their libraries are on this machine; when one is missing, the session silently
runs on the CPU provider. ONNX Runtime documents what each needs (onnxruntime.ai, "CUDA
Execution Provider" and "TensorRT Execution Provider" requirements): onnxruntime-gpu 1.19 and
later on PyPI is built for CUDA 12 with cuDNN 9, and its TensorRT provider links TensorRT 10
(``libnvinfer``). :func:`missing_libraries` tries to load each (``ctypes.CDLL``, injectable for
tests) so that a refusal names the library that is absent, and :func:`tensorrt_loads` lets
``providers='auto'`` rank TensorRT only where ``libnvinfer`` loads.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable, Sequence

CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"

# Each library as one or more sonames, newest first: one of them loading is enough.
CUDA_LIBRARIES: tuple[tuple[str, ...], ...] = (
    ("libcudart.so.12", "libcudart.so.13"),
    ("libcublas.so.12", "libcublas.so.13"),
    ("libcublasLt.so.12", "libcublasLt.so.13"),
    ("libcudnn.so.9",),
)
TENSORRT_LIBRARIES: tuple[tuple[str, ...], ...] = (
    ("libnvinfer.so.10", "libnvinfer.so.11", "libnvinfer.so"),
    *CUDA_LIBRARIES,
)
LIBRARIES = {CUDA: CUDA_LIBRARIES, TENSORRT: TENSORRT_LIBRARIES}
INSTALL = {
    CUDA: (
        "install CUDA 12 and cuDNN 9 (`pip install 'onnxruntime-gpu[cuda,cudnn]'` brings them "
        "as wheels; on a Jetson they come with JetPack) and make them findable "
        "(LD_LIBRARY_PATH)"
    ),
    TENSORRT: (
        "install TensorRT 10 with CUDA 12 and cuDNN 9 (on a Jetson: JetPack; elsewhere "
        "`pip install tensorrt-cu12` and put its libraries on LD_LIBRARY_PATH), or ask for "
        "providers='cuda'"
    ),
}

Loader = Callable[[str], object]


def loads(names: Sequence[str], loader: Loader = ctypes.CDLL) -> bool:
    """Whether any of ``names`` (sonames of one library) loads with ``loader``."""
    for name in names:
        try:
            loader(name)
        except OSError:
            continue
        return True
    return False


def missing_libraries(provider: str, loader: Loader = ctypes.CDLL) -> list[str]:
    """The libraries ``provider`` needs that do not load here (first soname of each)."""
    return [names[0] for names in LIBRARIES.get(provider, ()) if not loads(names, loader)]


def tensorrt_loads(loader: Loader = ctypes.CDLL) -> bool:
    """Whether TensorRT's ``libnvinfer`` loads here (by soname, else as ldconfig finds it)."""
    found = ctypes.util.find_library("nvinfer")
    return loads((*TENSORRT_LIBRARIES[0], *((found,) if found else ())), loader)


def what_to_install(provider: str, missing: Sequence[str]) -> str:
    """One sentence: which libraries are missing and how to get them."""
    how = INSTALL.get(provider, "install the libraries this provider needs")
    if missing:
        return f"{', '.join(missing)} did not load: {how}"
    return (
        f"its libraries load, so they are probably of another version than this onnxruntime "
        f"was built for (run with ORT's log at warning level to see why): {how}"
    )
