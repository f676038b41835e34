"""The one place that decides ONNX Runtime execution providers.

An explicit list wins, in its order (aliases ``cpu``, ``cuda``, ``tensorrt``/``trt`` or full
ONNX Runtime names); entries this onnxruntime lacks are dropped with a warning, and a list
with none available is an error. ``auto`` (or None) prefers TensorRT, then CUDA, then CPU, as
installed; TensorRT only where its library ``libnvinfer`` loads (every PyPI onnxruntime-gpu
lists the TensorRT provider, with or without TensorRT). After a session starts,
:func:`check_active` refuses a session where ONNX Runtime silently fell back to the CPU
provider, naming the library that did not load.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import onnxruntime as ort

from ese.format.contract import Precision
from ese.runtime.backends.onnxruntime.provider_libraries import (
    Loader,
    missing_libraries,
    tensorrt_loads,
    what_to_install,
)
from ese.runtime.backends.openvino.imports import INSTALL_LINE, openvino_available
from ese.runtime.errors import ProviderError, ProviderFallbackWarning

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
# OpenVINO on the CPU (not an ONNX Runtime provider; backends/openvino/runner.py runs it),
# at the graph's own precision or with bf16 inference precision (AMX / AVX-512 BF16 CPUs).
OPENVINO = "OpenVINO"
OPENVINO_BF16 = "OpenVINO-bf16"
OPENVINO_ALL = (OPENVINO, OPENVINO_BF16)
ON_CPU = (CPU, *OPENVINO_ALL)

ALIASES = {"cpu": CPU, "cuda": CUDA, "gpu": CUDA, "tensorrt": TENSORRT, "trt": TENSORRT}
ALIASES |= {"openvino": OPENVINO, "ov": OPENVINO, "openvino-bf16": OPENVINO_BF16}
SHORT_NAMES = {CPU: "cpu", CUDA: "cuda", TENSORRT: "tensorrt"}
SHORT_NAMES |= {OPENVINO: "openvino", OPENVINO_BF16: "openvino-bf16"}
AUTO_ORDER = (TENSORRT, CUDA, CPU)
# Providers whose fp16 runs only past its measured parity gate (runtime/choice/fp16_gate.py).
FP16_GATED = (CUDA, TENSORRT)

# Precisions worth considering on each provider when the caller does not restrict them:
# dynamic int8 runs on CPU kernels, fp16 graphs are for GPUs.
PRECISIONS = {
    CPU: (Precision.FP32, Precision.INT8),
    CUDA: (Precision.FP32, Precision.FP16),
    TENSORRT: (Precision.FP32, Precision.FP16),
    OPENVINO: (Precision.FP32, Precision.INT8_OPENVINO, Precision.INT8),
    OPENVINO_BF16: (Precision.FP32,),  # bf16 arithmetic on the fp32 graph
}

ProviderSpec = str | Sequence[str] | None


def short_name(provider: str) -> str:
    """``cpu`` for ``CPUExecutionProvider``; other providers lose their suffix, lower-cased."""
    return SHORT_NAMES.get(provider, provider.removesuffix("ExecutionProvider").lower())


def available() -> list[str]:
    """ONNX Runtime's providers, and OpenVINO's when it is installed (not imported here)."""
    have = list(ort.get_available_providers())
    return [*have, *OPENVINO_ALL] if openvino_available() else have


def resolve(
    spec: ProviderSpec = None,
    *,
    have: Sequence[str] | None = None,
    tensorrt_library: bool | None = None,
) -> list[str]:
    """The ONNX Runtime provider names to ask for, in preference order.

    ``have`` is the list this onnxruntime offers (default: ``get_available_providers()``) and
    ``tensorrt_library`` whether libnvinfer loads (default: tried now, only under ``auto``
    when TensorRT is listed); passing them keeps the function pure for tests.
    """
    have = list(available() if have is None else have)
    if spec is None or (isinstance(spec, str) and spec.lower() == "auto"):
        return auto_order(have, tensorrt_library)
    requested = [spec] if isinstance(spec, str) else _listed(spec, have)
    if not requested:
        raise ProviderError(
            f"an empty provider list was given; pass 'auto' or some of: {_listing(have)}"
        )
    names = [_canonical(p, have) for p in requested]
    if "auto" in names:
        raise ProviderError("'auto' cannot be mixed with named providers; pass one or the other")
    if any(n in OPENVINO_ALL for n in names):
        return _openvino_only(names, have)
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
            f"none of the providers asked for ({', '.join(requested)}) is available in this "
            f"onnxruntime {ort.__version__}; available: {_listing(have)}. {how[0].upper()}"
            f"{how[1:]}, or pass 'auto'"
        )
    if missing:
        warnings.warn(
            f"execution providers {', '.join(missing)} are not available in this onnxruntime "
            f"and were skipped; using {', '.join(chosen)}",
            ProviderFallbackWarning,
            stacklevel=3,
        )
    return chosen


def _listed(spec: object, have: Sequence[str]) -> list[str]:
    """A list of provider names as given, or ``ProviderError`` naming the accepted forms."""
    try:
        return list(spec)  # type: ignore[call-overload]  # each item checked by _canonical
    except TypeError:
        raise ProviderError(
            f"providers={spec!r:.40} is not a provider choice: pass 'auto', one name (e.g. "
            f"'cpu', 'cuda') or a list of names in order of preference; available: "
            f"{_listing(have)}"
        ) from None


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


def _openvino_only(names: Sequence[str], have: Sequence[str]) -> list[str]:
    """OpenVINO runs a graph alone (it is not an ONNX Runtime provider to fall back from)."""
    if len(set(names)) > 1:
        raise ProviderError(
            f"OpenVINO runs a graph by itself; it cannot be combined with {names}: pass "
            "providers='openvino' alone"
        )
    if names[0] not in have:
        raise ProviderError(
            f"the OpenVINO provider was asked for but openvino is not installed; install it "
            f"with `{INSTALL_LINE}`, or pass providers='cpu' (ONNX Runtime)"
        )
    return [names[0]]


def _canonical(name: object, have: Sequence[str]) -> str:
    if not isinstance(name, str):
        raise ProviderError(f"provider {name!r} is not a name; available: {_listing(have)}")
    if name.lower() == "auto":
        return "auto"
    if name.lower() in ALIASES:
        return ALIASES[name.lower()]
    known = {p.lower(): p for p in ort.get_all_providers()}
    if name.lower() in known:
        return known[name.lower()]
    raise ProviderError(
        f"unknown execution provider {name!r}; available here: {_listing(have)} "
        f"(aliases: {', '.join(sorted(ALIASES))}, or 'auto')"
    )


def _listing(have: Sequence[str]) -> str:
    return ", ".join(f"{p} ({short_name(p)})" if p in SHORT_NAMES else p for p in have)


def precisions_for(provider: str) -> tuple[Precision, ...]:
    """The precisions this provider runs well, for an unrestricted choice."""
    return PRECISIONS.get(provider, (Precision.FP32,))


def default_precisions(provider: str, present: Iterable[Precision]) -> tuple[Precision, ...]:
    """The precisions an unrestricted choice considers on ``provider``, of those ``present``.

    On CUDA the fp16 graphs alone when the export has them (tensor cores, half the memory
    traffic; they run only past their parity gate on this GPU, else fp32); elsewhere every
    precision the provider runs well; the export's own precisions when it has none of those.
    """
    have = set(present)
    if provider == CUDA and Precision.FP16 in have:
        return (Precision.FP16,)
    suited = tuple(p for p in precisions_for(provider) if p in have)
    return suited or tuple(sorted(have, key=lambda p: p.value))


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
