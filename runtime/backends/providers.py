"""The one place that reads a provider request (``providers=``, ``--providers``).

``auto`` (or None) is ONNX Runtime's order (TensorRT, CUDA, CPU as installed; the registry's
backends that join it compete in selection, ``runtime/choice/backend.py``). A name of a
registry backend (``registry.py``: ``openvino``, ...) selects that backend alone. Any other
list names ONNX Runtime execution providers in preference order
(``onnxruntime/providers.py``). The names, device kind and precisions of a provider are
asked here, of its backend's entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ese.format.contract import Precision
from ese.runtime.backends import registry
from ese.runtime.backends.onnxruntime import providers as onnxruntime
from ese.runtime.backends.onnxruntime.providers import CPU, CUDA, TENSORRT, check_active
from ese.runtime.errors import ProviderError

__all__ = [
    "CPU",
    "CUDA",
    "TENSORRT",
    "ProviderSpec",
    "available",
    "check_active",
    "default_precisions",
    "on_cpu",
    "resolve",
    "short_name",
]

ProviderSpec = str | Sequence[str] | None


def available() -> list[str]:
    """ONNX Runtime's providers, then the registry's installed backends (not imported here)."""
    return [*onnxruntime.available(), *(b.provider for b in registry.BACKENDS if b.installed())]


def short_name(provider: str) -> str:
    """The name a user passes for ``provider``: ``cpu``, ``cuda``, ``openvino``, ..."""
    return registry.backend_for(provider).short_name


def on_cpu(provider: str) -> bool:
    """Whether ``provider`` runs on the CPU (its device is named by CPU model and threads)."""
    return registry.backend_for(provider).on_cpu


def resolve(
    spec: ProviderSpec = None,
    *,
    have: Sequence[str] | None = None,
    tensorrt_library: bool | None = None,
) -> list[str]:
    """The provider names to ask for, in preference order.

    ``have`` is what this machine offers (default: :func:`available`) and
    ``tensorrt_library`` whether libnvinfer loads (default: tried now, only under ``auto``
    when TensorRT is listed); passing them keeps the function pure for tests.
    """
    have = list(available() if have is None else have)
    if spec is None or (isinstance(spec, str) and spec.lower() == "auto"):
        return onnxruntime.auto_order(have, tensorrt_library)
    requested = [spec] if isinstance(spec, str) else _listed(spec, have)
    if not requested:
        raise ProviderError(
            f"an empty provider list was given; pass 'auto' or some of: {_listing(have)}"
        )
    names = [_canonical(p, have) for p in requested]
    if "auto" in names:
        raise ProviderError("'auto' cannot be mixed with named providers; pass one or the other")
    alone = [b for b in map(registry.registered, names) if b is not None]
    if alone:
        return _alone(alone[0], names, have)
    return onnxruntime.installed_of(names, have, _listing(have))


def _alone(backend: registry.Backend, names: Sequence[str], have: Sequence[str]) -> list[str]:
    """A registry backend runs a graph by itself (it is not an ONNX Runtime provider to fall
    back from), and only where its package is installed."""
    if len(set(names)) > 1:
        raise ProviderError(
            f"{backend.short_name} runs a graph by itself; it cannot be combined with "
            f"{list(names)}: pass providers='{backend.short_name}' alone"
        )
    if backend.provider not in have:
        raise ProviderError(
            f"the {backend.short_name} provider was asked for but it is not installed; install "
            f"it with {backend.install_line}, or pass providers='cpu' (ONNX Runtime)"
        )
    return [backend.provider]


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


def _canonical(name: object, have: Sequence[str]) -> str:
    if not isinstance(name, str):
        raise ProviderError(f"provider {name!r} is not a name; available: {_listing(have)}")
    if name.lower() == "auto":
        return "auto"
    entry = registry.named(name)
    if entry is not None:
        return entry.provider
    found = onnxruntime.canonical(name)
    if found is not None:
        return found
    aliases = [*onnxruntime.ALIASES, *(n for b in registry.BACKENDS for n in b.names)]
    raise ProviderError(
        f"unknown execution provider {name!r}; available here: {_listing(have)} "
        f"(aliases: {', '.join(sorted(aliases))}, or 'auto')"
    )


def _listing(have: Sequence[str]) -> str:
    known = {*onnxruntime.SHORT_NAMES, *(b.provider for b in registry.BACKENDS)}
    return ", ".join(f"{p} ({short_name(p)})" if p in known else p for p in have)


def default_precisions(provider: str, present: Iterable[Precision]) -> tuple[Precision, ...]:
    """The precisions an unrestricted choice considers on ``provider``, of those ``present``:
    those its backend runs well (on CUDA the fp16 graphs alone when the export has them; they
    run only past their parity gate on this GPU, else fp32), else the export's own."""
    backend = registry.backend_for(provider)
    have = set(present)
    if backend.fp16_alone and Precision.FP16 in have:
        return (Precision.FP16,)
    suited = tuple(p for p in backend.precisions if p in have)
    return suited or tuple(sorted(have, key=lambda p: p.value))
