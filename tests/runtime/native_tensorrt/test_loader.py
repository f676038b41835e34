"""The loader: from an export and a manifest graph to a checked plan, without TensorRT.

TensorRT's version and the GPU are given to the loader (what ``tensorrt.__version__`` and the
CUDA driver would say on an Orin); the plan lookup, the sidecar and every check are the real
code, on a real tiny export with plan and sidecar files written as ese-engines writes them.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from ese.format import ExportDir, GraphEntry, Precision
from ese.format.errors import InternalError
from ese.format.export_dir import open_export
from ese.runtime.backends.cuda_device import GpuInfo
from ese.runtime.backends.tensorrt.engine_key import EngineKey, write_sidecar
from ese.runtime.backends.tensorrt.errors import StaleEngineError
from ese.runtime.backends.tensorrt.loader import (
    PROVIDER,
    checked_plan,
    engine_missing,
    wanted_key,
)
from ese.runtime.backends.tensorrt.runner import EngineRunner
from ese.runtime.backends.tensorrt.shapes import ProfileShapes, ShapeRange

ORIN = GpuInfo("Orin", "8.7", 61 << 30, 16)
TRT = "10.3.0"
SHAPES = ProfileShapes(ShapeRange(1, 8, 16), ShapeRange(1, 32, 64))


@pytest.fixture
def export(tiny_export: Path, tmp_path: Path) -> ExportDir:
    return open_export(shutil.copytree(tiny_export, tmp_path / "export"))


def graph_of(export: ExportDir) -> GraphEntry:
    return export.manifest.graph(2, Precision.FP32)


def built_here(export: ExportDir, shapes: ProfileShapes = SHAPES, **changes: object) -> EngineKey:
    """A plan and its sidecar as ese-engines writes them on ORIN with TensorRT TRT."""
    key = wanted_key(export, 2, Precision.FP32, shapes, ORIN, TRT)
    key = replace(key, **changes)  # type: ignore[arg-type]
    (export.root / key.plan).parent.mkdir(parents=True, exist_ok=True)
    (export.root / key.plan).write_bytes(b"plan")
    write_sidecar(export.root, key)
    return key


def test_an_export_without_a_plan_names_ese_engines(export: ExportDir) -> None:
    reason = engine_missing(export, graph_of(export), device=ORIN, trt_version=TRT)
    assert reason is not None
    assert "no engine engines/orin-trt10.3.0/depth-02.fp32.plan" in reason
    assert f"ese-engines {export.root} --precision fp32" in reason
    assert len(reason.splitlines()) == 1


def test_a_fresh_plan_is_found_with_the_graph_it_was_built_from(export: ExportDir) -> None:
    key = built_here(export)
    assert engine_missing(export, graph_of(export), device=ORIN, trt_version=TRT) is None
    checked = checked_plan(export, 2, "fp32", device=ORIN, trt_version=TRT)
    assert checked.plan == export.root / key.plan
    assert checked.built == key and checked.source == graph_of(export)


def test_a_sidecar_of_another_graph_is_refused(export: ExportDir) -> None:
    built_here(export, graph_sha256="0" * 64)
    reason = engine_missing(export, graph_of(export), device=ORIN, trt_version=TRT)
    assert reason is not None and "source graph sha256: built for 000000000000" in reason
    assert "ese-engines" in reason
    with pytest.raises(StaleEngineError, match="is stale"):
        checked_plan(export, 2, Precision.FP32, device=ORIN, trt_version=TRT)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"trt_version": "10.7.0"}, "no engine engines/orin-trt10.3.0"),  # another folder
        ({"multiprocessors": 8}, "multiprocessors: built for 8, here 16"),
    ],
)
def test_a_plan_built_elsewhere_is_refused(
    export: ExportDir, change: dict[str, object], words: str
) -> None:
    built = built_here(export, **change)
    if "trt_version" in change:
        assert (export.root / built.plan).is_file()  # it exists, for TensorRT 10.7 only
    reason = engine_missing(export, graph_of(export), device=ORIN, trt_version=TRT)
    assert reason is not None and words in reason


def test_a_plan_without_its_sidecar_is_refused(export: ExportDir) -> None:
    key = built_here(export)
    (export.root / key.sidecar).unlink()
    reason = engine_missing(export, graph_of(export), device=ORIN, trt_version=TRT)
    assert reason is not None and "has no sidecar" in reason


def test_a_profile_minimum_above_one_is_refused(export: ExportDir) -> None:
    built_here(export, ProfileShapes(ShapeRange(1, 8, 16), ShapeRange(16, 32, 64)))
    reason = engine_missing(export, graph_of(export), device=ORIN, trt_version=TRT)
    assert reason is not None and "sequence minimum 16" in reason and "--force" in reason


def test_a_sidecar_edited_to_another_schema_is_refused(export: ExportDir) -> None:
    key = built_here(export)
    sidecar = export.root / key.sidecar
    sidecar.write_text(json.dumps({**json.loads(sidecar.read_text()), "schema_version": 1}))
    reason = engine_missing(export, graph_of(export), device=ORIN, trt_version=TRT)
    assert reason is not None and "version 1" in reason


def test_an_unopened_runner_speaks_the_runner_protocol_and_refuses_to_run(
    export: ExportDir,
) -> None:
    import numpy as np

    runner = EngineRunner(export.root, 2, "fp32")
    assert runner.check_provider() == PROVIDER == "TensorRT-engine"
    assert runner.active == [PROVIDER] and runner.device == "cpu"
    assert not runner.uses_cuda_graph(1, 8) and runner.bucket_for(1, 8) is None
    ids = np.ones((1, 4), dtype=np.int64)
    with pytest.raises(InternalError, match="before open or after close"):
        runner.run(ids, ids, ids)
    runner.close()
    runner.close()  # idempotent, also when never opened
