"""ONNX Runtime's execution providers: their names, ``auto``'s order, and the check that a
session really runs on the one asked for.

An explicit list wins, in its order (aliases ``cpu``, ``cuda``, ``tensorrt``/``trt`` or full
ONNX Runtime names); entries this onnxruntime lacks are dropped with a warning, and a list
with none available is an error. ``auto`` prefers TensorRT, then CUDA, then CPU, as
installed; TensorRT only where its library ``libnvinfer`` loads (every PyPI onnxruntime-gpu
lists the TensorRT provider, with or without TensorRT). After a session starts,
:func:`check_active` refuses a session where ONNX Runtime silently fell back to the CPU
provider, naming the library that did not load.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import onnxruntime as ort

from ese.format.contract import Precision
from ese.runtime.backends.onnxruntime.provider_libraries import (
    Loader,
    missing_libraries,
    tensorrt_loads,
    what_to_install,
)
from ese.runtime.errors import ProviderError, ProviderFallbackWarning

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"

ALIASES = {"cpu": CPU, "cuda": CUDA, "gpu": CUDA, "tensorrt": TENSORRT, "trt": TENSORRT}
SHORT_NAMES = {CPU: "cpu", CUDA: "cuda", TENSORRT: "tensorrt"}
AUTO_ORDER = (TENSORRT, CUDA, CPU)
# Providers whose fp16 runs only past its measured parity gate (runtime/choice/fp16_gate.py).
FP16_GATED = (CUDA, TENSORRT)
FP16_ALONE = (CUDA,)

# Precisions worth considering on each provider when the caller does not restrict them:
# dynamic int8 runs on CPU kernels, fp16 graphs are for GPUs; on CUDA the fp16 graphs alone when
# the export has them (tensor cores, half the memory traffic; past their parity gate only).
PRECISIONS = {
    CPU: (Precision.FP32, Precision.INT8),
    CUDA: (Precision.FP32, Precision.FP16),
    TENSORRT: (Precision.FP32, Precision.FP16),
}


def available() -> list[str]:
    """The execution providers this onnxruntime offers."""
    return list(ort.get_available_providers())


def canonical(name: str) -> str | None:
    """The full name of an ONNX Runtime provider given by alias or name, else None."""
    if name.lower() in ALIASES:
        return ALIASES[name.lower()]
    known = {p.lower(): p for p in ort.get_all_providers()}
    return known.get(name.lower())


def short_name(provider: str) -> str:
    """``cpu`` for ``CPUExecutionProvider``; other providers lose their suffix, lower-cased."""
    return SHORT_NAMES.get(provider, provider.removesuffix("ExecutionProvider").lower())


def auto_order(have: Sequence[str], tensorrt_library: bool | None = None) -> list[str]:
    """TensorRT, CUDA, CPU as installed; TensorRT only where ``libnvinfer`` loads (without it
    the TensorRT provider hands every node to CUDA, one warning each, at fp32 and without CUDA
    graphs)."""
    order = [p for p in AUTO_ORDER if p in have]
    if TENSORRT in order:
        loads = tensorrt_loads() if tensorrt_library is None else tensorrt_library
        if not loads:
            order.remove(TENSORRT)
    return order or [CPU]


def installed_of(names: Sequence[str], have: Sequence[str], listing: str) -> list[str]:
    """``names`` (full provider names, in order) that this onnxruntime has; those it lacks are
    dropped with a warning, and none at all is a ``ProviderError`` saying what to install."""
    chosen = [n for n in dict.fromkeys(names) if n in have]
    missing = [n for n in dict.fromkeys(names) if n not in have]
    if not chosen:
        gpu = [n for n in missing if n in (CUDA, TENSORRT)]
        how = (
            "this is not the GPU build of onnxruntime: `pip uninstall onnxruntime` then "
            "`pip install onnxruntime-gpu` (CUDA 12/13 and cuDNN 9 libraries must be present)"
            if gpu
            else "install the onnxruntime build with that provider"
        )
        raise ProviderError(
            f"none of the providers asked for ({', '.join(names)}) is available in this "
            f"onnxruntime {ort.__version__}; available: {listing}. {how[0].upper()}"
            f"{how[1:]}, or pass 'auto'"
        )
    if missing:
        warnings.warn(
            f"execution providers {', '.join(missing)} are not available in this onnxruntime "
            f"and were skipped; using {', '.join(chosen)}",
            ProviderFallbackWarning,
            stacklevel=4,
        )
    return chosen


def check_active(
    requested: Sequence[str], active: Sequence[str], *, loader: Loader | None = None
) -> str:
    """The provider really running the graph; ``ProviderError`` when ONNX Runtime did not
    activate the first one asked for (it falls back to the CPU provider silently when a GPU
    provider's libraries fail to load), naming the libraries that do not load here."""
    running = active[0] if active else CPU
    if requested and requested[0] not in active:
        wanted = requested[0]
        if wanted not in ort.get_available_providers():
            raise ProviderError(
                f"asked for {wanted} but this onnxruntime {ort.__version__} has no such "
                f"provider and ran on {', '.join(active) or 'nothing'}: for CUDA and TensorRT "
                "`pip uninstall onnxruntime` then `pip install onnxruntime-gpu`; or pass "
                "providers='cpu'"
            )
        missing = missing_libraries(wanted) if loader is None else missing_libraries(wanted, loader)
        raise ProviderError(
            f"asked for {wanted} but onnxruntime {ort.__version__} activated only "
            f"{', '.join(active) or 'nothing'}: {what_to_install(wanted, missing)}; or pass "
            "providers='cpu'"
        )
    return running
