"""EngineFromOnnx: one serialised TensorRT engine from one ONNX graph, with a timing cache.

TensorRT 10 (weak typing): fp16 kernels are enabled by ``BuilderFlag.FP16`` and the
normalisation, softmax and reduction layers are pinned to fp32 (``OBEY_PRECISION_CONSTRAINTS``),
which keeps BERT's LayerNorm from overflowing. TensorRT 11 (strong typing, the only mode it
has): the network takes its types from the graph, so an fp16 engine is built from the fp16
graph, whose LayerNorm and softmax are already fp32.

The timing cache only speeds builds up, so it never costs one: a cache TensorRT refuses (made
by another TensorRT or GPU: ``set_timing_cache`` returns False, and ``get_timing_cache`` would
then return None) is replaced by a fresh one with a warning, and the caller writes the plan
before the cache, whose failure is a warning too.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ese.engines.errors import TimingCacheWarning
from ese.format import Precision
from ese.format.errors import UserError
from ese.runtime.backends.tensorrt.imports import strongly_typed
from ese.runtime.backends.tensorrt.shapes import ProfileShapes

DEFAULT_WORKSPACE_BYTES = 1 << 30
# Layer types kept in fp32 when fp16 comes from builder flags (TensorRT 10).
_FP32_LAYER_TYPES = ("NORMALIZATION", "SOFTMAX", "REDUCE")


@dataclass(frozen=True)
class BuildSettings:
    precision: Precision
    shapes: ProfileShapes
    timing_cache: Path
    workspace_bytes: int = DEFAULT_WORKSPACE_BYTES


def _network(trt: ModuleType, builder: Any, strong: bool) -> Any:
    flags = 0
    creation = trt.NetworkDefinitionCreationFlag
    if strong and hasattr(creation, "STRONGLY_TYPED"):
        flags |= 1 << int(creation.STRONGLY_TYPED)
    return builder.create_network(flags)


def _parse(trt: ModuleType, network: Any, logger: Any, graph: Path) -> None:
    parser = trt.OnnxParser(network, logger)
    # parse_from_file resolves the external weights file relative to the graph.
    if not parser.parse_from_file(str(graph)):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise UserError(
            f"TensorRT {trt.__version__} could not parse {graph.name}:\n  " + "\n  ".join(errors)
        )


def _pin_fp32(trt: ModuleType, network: Any) -> int:
    """Pin LayerNorm, softmax and reductions to fp32; returns how many layers were pinned."""
    kinds = {getattr(trt.LayerType, name) for name in _FP32_LAYER_TYPES}
    pinned = 0
    for index in range(network.num_layers):
        layer = network.get_layer(index)
        floating = all(
            layer.get_output(i).dtype in (trt.float32, trt.float16)
            for i in range(layer.num_outputs)
        )
        if layer.type in kinds and floating:
            layer.precision = trt.float32
            for output in range(layer.num_outputs):
                layer.set_output_type(output, trt.float32)
            pinned += 1
    return pinned


def _profile(builder: Any, network: Any, shapes: ProfileShapes) -> Any:
    low, opt, high = shapes.shapes()
    profile = builder.create_optimization_profile()
    for index in range(network.num_inputs):
        profile.set_shape(network.get_input(index).name, low, opt, high)
    return profile


@dataclass(frozen=True)
class BuiltPlan:
    """A serialised engine, and the timing cache after its build (None when unavailable)."""

    plan: bytes
    timing_cache: bytes | None


def timing_cache_into(config: Any, cached: bytes, source: Path) -> bool:
    """Give ``config`` the cache in ``cached`` or, when TensorRT refuses it, a fresh one.

    Returns whether the config has a timing cache; every refusal is a ``TimingCacheWarning``.
    """
    if cached:
        try:
            if config.set_timing_cache(config.create_timing_cache(cached), ignore_mismatch=False):
                return True
            reason = "it was made by another TensorRT version or GPU"
        except (RuntimeError, TypeError, ValueError) as exc:
            reason = f"TensorRT could not read it ({exc})"
        warnings.warn(
            f"timing cache {source} not used: {reason}; building with a fresh one, which "
            "replaces it after the build (the first build is slower)",
            TimingCacheWarning,
            stacklevel=2,
        )
    if config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False):
        return True
    warnings.warn(
        "TensorRT refused a fresh timing cache; building without one",
        TimingCacheWarning,
        stacklevel=2,
    )
    return False


def serialized_timing_cache(config: Any) -> bytes | None:
    """The config's timing cache as bytes, None (with a warning) when it has none."""
    cache = config.get_timing_cache()
    if cache is None:
        warnings.warn(
            "TensorRT returned no timing cache after the build", TimingCacheWarning, stacklevel=2
        )
        return None
    try:
        return bytes(cache.serialize())
    except (RuntimeError, TypeError) as exc:
        warnings.warn(
            f"TensorRT could not serialise the timing cache: {exc}",
            TimingCacheWarning,
            stacklevel=2,
        )
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def engine_from_onnx(trt: ModuleType, graph: Path, settings: BuildSettings) -> BuiltPlan:
    """Build and serialise an engine for ``graph``, reading the timing cache file (not writing
    it: the caller writes the plan first, then ``write_timing_cache``)."""
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    strong = strongly_typed(trt.__version__)
    network = _network(trt, builder, strong)
    _parse(trt, network, logger, graph)
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, settings.workspace_bytes)
    if settings.precision is Precision.FP16 and not strong:
        config.set_flag(trt.BuilderFlag.FP16)
        config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
        _pin_fp32(trt, network)
    config.add_optimization_profile(_profile(builder, network, settings.shapes))
    cache_path = settings.timing_cache
    cached = cache_path.read_bytes() if cache_path.is_file() else b""
    has_cache = timing_cache_into(config, cached, cache_path)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise UserError(
            f"TensorRT {trt.__version__} failed to build an engine from {graph.name} for "
            f"batch {settings.shapes.batch}, sequence {settings.shapes.seq} (see its log above); "
            "a smaller --batch/--seq maximum or a larger --workspace-mb may help"
        )
    plan = bytes(serialized)
    return BuiltPlan(plan, serialized_timing_cache(config) if has_cache else None)


def write_plan(path: Path, data: bytes) -> None:
    """Write an engine file atomically (a half-written plan never has the final name)."""
    _write_atomic(path, data)


def write_timing_cache(path: Path, data: bytes | None) -> bool:
    """Write the timing cache atomically; a failure is a warning (the plan is already safe)."""
    if data is None:
        return False
    try:
        _write_atomic(path, data)
    except OSError as exc:
        warnings.warn(
            f"could not write the timing cache {path}: {exc}", TimingCacheWarning, stacklevel=2
        )
        return False
    return True
