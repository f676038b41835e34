"""Which engine plan runs a graph of an export here, and whether it is fresh.

From an export and a manifest graph (its depth and precision) to a checked plan path: the plan
``engines/<gpu>-trt<version>/depth-XX.<precision>.plan`` for this GPU and this TensorRT, whose
sidecar says it was built here from the export's graph and with profile minimums of 1 (the
runtime sends batches from 1 text, padded only to their longest). Anything else is refused
with the ``ese-engines`` line that builds the right one. TensorRT is asked only for its version:
callers may give the version (and the GPU) themselves, and then nothing here imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ese.format import ExportDir, GraphEntry, Precision
from ese.format.errors import EseError, ManifestError, UserError
from ese.runtime.backends.cuda_device import GpuInfo, query_gpu
from ese.runtime.backends.tensorrt.engine_key import EngineKey, check_fresh, read_sidecar
from ese.runtime.backends.tensorrt.errors import StaleEngineError
from ese.runtime.backends.tensorrt.imports import (
    import_tensorrt,
    source_precision,
    strongly_typed,
)
from ese.runtime.backends.tensorrt.shapes import ProfileShapes, ShapeRange

PROVIDER = "TensorRT-engine"

# Shapes only locate the plan; the engine's own ranges are read from its sidecar.
ANY_SHAPES = ProfileShapes(ShapeRange(1, 1, 1), ShapeRange(1, 1, 1))


@dataclass(frozen=True)
class CheckedPlan:
    """A plan that may run here: its path, the key its sidecar records, the graph it was built
    from."""

    plan: Path
    built: EngineKey
    source: GraphEntry


def wanted_key(
    export: ExportDir,
    depth: int,
    precision: Precision,
    shapes: ProfileShapes,
    device: GpuInfo,
    trt_version: str,
) -> EngineKey:
    """The key an engine for ``depth`` at ``precision`` must have on this GPU and TensorRT."""
    source = source_graph(export, depth, precision, trt_version)
    return EngineKey(
        gpu_name=device.name,
        compute_capability=device.compute_capability,
        multiprocessors=device.multiprocessors,
        total_memory_gib=device.memory_gib,
        trt_version=trt_version,
        precision=precision,
        depth=depth,
        shapes=shapes,
        graph_sha256=source.file.sha256,
        typing="strong" if strongly_typed(trt_version) else "weak",
    )


def source_graph(
    export: ExportDir, depth: int, precision: Precision, trt_version: str
) -> GraphEntry:
    """The manifest graph an engine of ``precision`` is built from on this TensorRT."""
    source = source_precision(trt_version, precision)
    try:
        return export.manifest.graph(depth, source)
    except ManifestError as exc:
        hint = (
            f"; TensorRT {trt_version} is strongly typed and builds {precision.value} engines "
            f"from the {source.value} graphs: add them with "
            f"`ese-variants {export.root} --precision {source.value}`"
            if source is not Precision.FP32
            else ""
        )
        raise UserError(f"{exc}{hint}") from None


def check_serves_callers(built: EngineKey, wanted: EngineKey) -> None:
    """Refuse an engine built elsewhere or from another graph, or whose profile minimums are
    above 1 (the runtime sends batches of any size, padded only to their longest text)."""
    check_fresh(built, wanted, wanted.plan)
    gap = built.shapes.callers_gap()
    if gap:
        raise StaleEngineError(
            f"engine {wanted.plan} was built with {gap.axes}, so it refuses short texts and "
            "small batches the runtime sends: rebuild it with `ese-engines DIR --precision "
            f"{wanted.precision.value} {gap.flags} --force`"
        )


def checked_plan(
    export: ExportDir,
    depth: int,
    precision: Precision | str,
    *,
    device: GpuInfo | None = None,
    trt_version: str | None = None,
) -> CheckedPlan:
    """The fresh plan for ``depth`` at ``precision`` on ``device`` (GPU 0) and ``trt_version``
    (the installed TensorRT's); a StaleEngineError naming ``ese-engines`` when there is none."""
    precision = Precision(precision)
    version = trt_version if trt_version is not None else import_tensorrt().__version__
    gpu = device if device is not None else query_gpu()
    wanted = wanted_key(export, depth, precision, ANY_SHAPES, gpu, version)
    plan = export.root / wanted.plan
    if not plan.is_file():
        raise StaleEngineError(
            f"no engine {wanted.plan} for this GPU ({gpu.name}) and TensorRT {version}: build "
            f"it here with `ese-engines {export.root} --precision {precision.value}`"
        )
    built = read_sidecar(export.root / wanted.sidecar)
    check_serves_callers(built, wanted)
    return CheckedPlan(plan, built, source_graph(export, depth, precision, version))


def engine_missing(
    export: ExportDir,
    graph: GraphEntry,
    *,
    device: GpuInfo | None = None,
    trt_version: str | None = None,
) -> str | None:
    """None when a fresh engine for ``graph`` (its depth and precision) can run here; else
    why not, in one line naming ``ese-engines`` (or what to install)."""
    try:
        checked_plan(export, graph.depth, graph.precision, device=device, trt_version=trt_version)
    except EseError as exc:
        return str(exc)
    return None
