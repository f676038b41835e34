"""Engines for an export directory: one per depth, on this GPU, keyed and written atomically."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ese.console.errors import OutputDirError
from ese.engines.build import (
    DEFAULT_WORKSPACE_BYTES,
    BuildSettings,
    BuiltPlan,
    engine_from_onnx,
    write_plan,
    write_timing_cache,
)
from ese.format import Precision, open_export
from ese.format.errors import UserError
from ese.runtime.backends.cuda_device import query_gpu
from ese.runtime.backends.tensorrt.engine_key import (
    EngineKey,
    differences,
    read_sidecar,
    write_sidecar,
)
from ese.runtime.backends.tensorrt.errors import StaleEngineError
from ese.runtime.backends.tensorrt.imports import import_tensorrt, source_precision
from ese.runtime.backends.tensorrt.loader import wanted_key
from ese.runtime.backends.tensorrt.shapes import ProfileShapes

Progress = Callable[[str], None]
TIMING_CACHE = "timing.cache"


@dataclass(frozen=True)
class BuiltEngine:
    key: EngineKey
    plan: Path
    seconds: float
    reused: bool


def _fresh(root: Path, key: EngineKey) -> bool:
    plan, sidecar = root / key.plan, root / key.sidecar
    if not plan.is_file():
        return False
    try:
        return not differences(read_sidecar(sidecar), key, shapes=True)
    except StaleEngineError:
        return False


def write_built(root: Path, key: EngineKey, built: BuiltPlan, seconds: float, source: str) -> Path:
    """The plan, then its sidecar, then the timing cache: whatever fails later, the plan is kept.

    The old sidecar goes first: a plan without a fresh sidecar is refused, never trusted.
    """
    (root / key.sidecar).unlink(missing_ok=True)
    plan = root / key.plan
    write_plan(plan, built.plan)
    write_sidecar(
        root,
        key,
        {
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "plan_bytes": len(built.plan),
            "build_seconds": round(seconds, 1),
            "source_graph": source,
        },
    )
    write_timing_cache(root / key.directory / TIMING_CACHE, built.timing_cache)
    return plan


def engines_dir_inside(root: Path, directory: str) -> Path:
    """``root/engines/<gpu>-trt<ver>``, refused where a link would send engines outside root."""
    path = Path(root)
    for part in Path(directory).parts:
        path = path / part
        if path.is_symlink():
            raise OutputDirError(
                f"{path} is a symbolic link (to {os.readlink(path)}); ese-engines writes "
                f"engines only inside the export {root}: replace the link with a directory"
            )
    return path


def build_engines(
    export_dir: str | Path,
    precision: Precision | str,
    shapes: ProfileShapes,
    *,
    depths: Sequence[int] | None = None,
    force: bool = False,
    workspace_bytes: int | None = None,
    progress: Progress | None = None,
) -> list[BuiltEngine]:
    """Build (or keep, when fresh) one engine per depth of the export, on GPU 0."""
    say = progress or (lambda _message: None)
    precision = Precision(precision)
    shapes.check_callers()
    trt = import_tensorrt()
    export = open_export(export_dir)
    shapes.check_limit(export.manifest.source.max_seq_length)
    device = query_gpu()
    chosen = list(depths) if depths else list(export.manifest.depths)
    unknown = sorted(set(chosen) - set(export.manifest.depths))
    if unknown:
        raise UserError(
            f"depths {unknown} are not in the export (it has {list(export.manifest.depths)})"
        )
    keys = [wanted_key(export, d, precision, shapes, device, trt.__version__) for d in chosen]
    for key in keys:
        engines_dir_inside(export.root, key.directory)
    built: list[BuiltEngine] = []
    for key in keys:
        started = time.perf_counter()
        plan = export.root / key.plan
        if not force and _fresh(export.root, key):
            say(f"depth {key.depth}: {key.plan} is up to date")
            built.append(BuiltEngine(key, plan, 0.0, reused=True))
            continue
        source = export.manifest.graph(key.depth, source_precision(key.trt_version, precision))
        say(
            f"depth {key.depth}: building {precision.value} engine on {device.name} "
            f"(sm {device.compute_capability}, {device.multiprocessors} SMs, "
            f"{device.memory_gib} GiB, TensorRT {key.trt_version}) from {source.file.path}"
        )
        settings = BuildSettings(
            precision=precision,
            shapes=shapes,
            timing_cache=export.root / key.directory / TIMING_CACHE,
            workspace_bytes=workspace_bytes or DEFAULT_WORKSPACE_BYTES,
        )
        made = engine_from_onnx(trt, export.path(source.file), settings)
        seconds = time.perf_counter() - started
        write_built(export.root, key, made, seconds, source.file.path)
        built.append(BuiltEngine(key, plan, seconds, reused=False))
    return built
