"""The TensorRT-free parts of ese.engines: shape ranges, engine keys, sidecars, staleness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ese.engines.errors import EnginePrecisionError, ShapeRangeError, StaleEngineError
from ese.engines.key import EngineKey, check_fresh, differences, read_sidecar, slug, write_sidecar
from ese.engines.shapes import ProfileShapes, ShapeRange
from ese.engines.trt_version import source_precision, strongly_typed
from ese.runtime.contract import Precision
from ese.runtime.tensorrt_provider import tensorrt_options

SHAPES = ProfileShapes(ShapeRange(1, 8, 32), ShapeRange(16, 128, 256))


def key(**changes: object) -> EngineKey:
    fields: dict[str, object] = {
        "gpu_name": "Orin (nvgpu)",
        "compute_capability": "8.7",
        "trt_version": "10.3.0",
        "precision": Precision.FP16,
        "depth": 4,
        "shapes": SHAPES,
        "graph_sha256": "a" * 64,
    }
    fields.update(changes)
    return EngineKey(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1:8:32", (1, 8, 32)), ("4", (4, 4, 4)), ("1:16", (1, 16, 16)), (" 2 : 2 : 9 ", (2, 2, 9))],
)
def test_shape_ranges_parse(text: str, expected: tuple[int, int, int]) -> None:
    r = ShapeRange.parse(text, "batch")
    assert (r.min, r.opt, r.max) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("8:1:32", "1 <= min <= opt <= max"),
        ("0:1:2", "1 <= min"),
        ("a:b:c", "whole numbers"),
        ("1:2:3:4", "4 parts"),
    ],
)
def test_bad_shape_ranges_say_what_to_give(text: str, message: str) -> None:
    with pytest.raises(ShapeRangeError, match=message):
        ShapeRange.parse(text, "seq")


def test_profile_checks_inputs_and_model_limit() -> None:
    SHAPES.check_input(32, 256)
    with pytest.raises(ShapeRangeError, match="batch 33 x sequence 20 is outside"):
        SHAPES.check_input(33, 20)
    with pytest.raises(ShapeRangeError, match="maximum sequence length 128"):
        SHAPES.check_limit(128)
    assert SHAPES.shapes() == ((1, 16), (8, 128), (32, 256))
    assert SHAPES.ort_shapes(["input_ids", "attention_mask"])["trt_profile_max_shapes"] == (
        "input_ids:32x256,attention_mask:32x256"
    )


def test_engine_paths_are_keyed_by_gpu_and_trt_version() -> None:
    k = key(gpu_name="NVIDIA H100 80GB HBM3", trt_version="10.13.0.35")
    assert slug("NVIDIA H100 80GB HBM3") == "nvidia-h100-80gb-hbm3"
    assert k.plan == "engines/nvidia-h100-80gb-hbm3-trt10.13.0.35/depth-04.fp16.plan"
    assert k.sidecar.endswith("depth-04.fp16.json")


def test_sidecar_round_trip(tmp_path: Path) -> None:
    k = key()
    path = write_sidecar(tmp_path, k, {"build_seconds": 12.5})
    assert json.loads(path.read_text())["build_seconds"] == 12.5
    assert read_sidecar(path) == k


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"gpu_name": "NVIDIA A100"}, "gpu name: built for Orin (nvgpu), here NVIDIA A100"),
        ({"trt_version": "10.7.0"}, "trt version: built for 10.3.0, here 10.7.0"),
        ({"compute_capability": "8.6"}, "compute capability"),
        ({"graph_sha256": "b" * 64}, "source graph sha256: built for aaaaaaaaaaaa..."),
    ],
)
def test_stale_engines_are_refused_with_the_reason(change: dict, words: str) -> None:
    with pytest.raises(StaleEngineError, match="rebuild on this machine") as info:
        check_fresh(key(), key(**change), "engines/x/depth-04.fp16.plan")
    assert words in str(info.value)
    check_fresh(key(), key(), "engines/x/depth-04.fp16.plan")


def test_shape_change_is_stale_only_when_asked() -> None:
    other = key(shapes=ProfileShapes(ShapeRange(1, 1, 8), ShapeRange(16, 64, 128)))
    assert differences(key(), other) == []
    assert "shapes" in differences(key(), other, shapes=True)[0]


def test_missing_or_foreign_sidecar_is_stale(tmp_path: Path) -> None:
    with pytest.raises(StaleEngineError, match="has no sidecar"):
        read_sidecar(tmp_path / "depth-04.fp16.json")
    (tmp_path / "x.json").write_text(json.dumps({"schema": "other"}))
    with pytest.raises(StaleEngineError, match="rebuild"):
        read_sidecar(tmp_path / "x.json")


def test_trt10_builds_fp16_from_fp32_with_flags_and_trt11_from_the_fp16_graph() -> None:
    assert not strongly_typed("10.3.0.30") and strongly_typed("11.0.0")
    assert source_precision("10.3.0", Precision.FP16) is Precision.FP32
    assert source_precision("11.1.0", Precision.FP16) is Precision.FP16
    assert source_precision("11.1.0", Precision.FP32) is Precision.FP32
    with pytest.raises(EnginePrecisionError, match="QuantizeLinear"):
        source_precision("10.3.0", Precision.INT8)


def test_ort_tensorrt_provider_options_cache_engines_inside_the_export(tmp_path: Path) -> None:
    options = tensorrt_options(tmp_path, "fp16", uses_token_type_ids=True)
    assert options["trt_fp16_enable"] == "True"
    assert options["trt_engine_cache_enable"] == "True"
    cache = Path(options["trt_engine_cache_path"])
    assert cache.is_dir() and cache.parent == tmp_path / "engines"
    assert options["trt_profile_opt_shapes"].count("x128") == 3


def test_ese_engines_without_tensorrt_names_the_install(
    tiny_export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("tensorrt is installed here: tests/test_engines_trt.py builds real engines")
    from ese.engines.cli import main

    assert main([str(tiny_export), "--batch", "8:1:2"]) == 2
    assert "1 <= min <= opt <= max" in capsys.readouterr().err
    assert main([str(tiny_export)]) == 2
    assert "pip install tensorrt" in capsys.readouterr().err
    from ese.engines.runner import engine_available

    reason = engine_available(tiny_export, 2, "fp16")
    assert reason is not None and "TensorRT is not installed" in reason
