"""The TensorRT-free parts of native TensorRT engines: shape ranges, engine keys, sidecars,
staleness (ese.runtime.backends.tensorrt) and ese-engines' refusals before TensorRT loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ese.format.contract import Precision
from ese.format.errors import BadInputError, UserError
from ese.runtime.backends.onnxruntime.tensorrt_provider import tensorrt_options
from ese.runtime.backends.tensorrt.engine_key import (
    EngineKey,
    check_fresh,
    differences,
    read_sidecar,
    slug,
    write_sidecar,
)
from ese.runtime.backends.tensorrt.errors import StaleEngineError
from ese.runtime.backends.tensorrt.imports import source_precision, strongly_typed
from ese.runtime.backends.tensorrt.shapes import ProfileShapes, ShapeRange

SHAPES = ProfileShapes(ShapeRange(1, 8, 32), ShapeRange(1, 128, 256))
SHA = "ab" * 32


def key(**changes: object) -> EngineKey:
    fields: dict[str, object] = {
        "gpu_name": "Orin (nvgpu)",
        "compute_capability": "8.7",
        "multiprocessors": 16,
        "total_memory_gib": 61,
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
    with pytest.raises(BadInputError, match=message):
        ShapeRange.parse(text, "seq")


def test_profile_checks_inputs_and_model_limit() -> None:
    SHAPES.check_input(32, 256)
    with pytest.raises(BadInputError, match="batch 33 x sequence 20 is outside"):
        SHAPES.check_input(33, 20)
    with pytest.raises(BadInputError, match="maximum sequence length 128"):
        SHAPES.check_limit(128)
    assert SHAPES.shapes() == ((1, 1), (8, 128), (32, 256))
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
    with pytest.raises(UserError, match="QuantizeLinear"):
        source_precision("10.3.0", Precision.INT8)


def test_ort_tensorrt_provider_options_cache_engines_inside_the_export(tmp_path: Path) -> None:
    options = tensorrt_options(tmp_path, "fp16", uses_token_type_ids=True, graph_sha256=SHA)
    assert options["trt_fp16_enable"] == "True"
    assert options["trt_engine_cache_enable"] == "True"
    cache = Path(options["trt_engine_cache_path"])
    assert cache.is_dir() and cache.parent.parent == tmp_path / "engines"
    assert options["trt_profile_opt_shapes"].count("x128") == 3


def test_ese_engines_without_tensorrt_names_the_install(
    tiny_export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("tensorrt is installed here: tests/engines/test_trt.py builds real engines")
    from ese.engines.cli import main

    assert main([str(tiny_export), "--batch", "8:1:2"]) == 2
    assert "1 <= min <= opt <= max" in capsys.readouterr().err
    assert main([str(tiny_export)]) == 2
    assert "pip install tensorrt" in capsys.readouterr().err
    from ese.format.export_dir import open_export
    from ese.runtime.backends.tensorrt.loader import engine_missing

    export = open_export(tiny_export)
    reason = engine_missing(export, export.manifest.graph(2, Precision.FP32))
    assert reason is not None and "TensorRT is not installed" in reason


# Profile minimums: the runtime and Triton send batches from 1 text, padded to their longest.


def test_default_profile_covers_one_text_of_one_token() -> None:
    from ese.engines.cli import _parser

    args = _parser().parse_args(["DIR"])
    shapes = ProfileShapes(ShapeRange.parse(args.batch), ShapeRange.parse(args.seq))
    shapes.check_callers()
    shapes.check_input(1, 1)


@pytest.mark.parametrize(
    ("batch", "seq", "words"),
    [
        ("1:8:32", "16:128:256", "sequence minimum 16"),
        ("4:8:32", "1:128:256", "batch minimum 4"),
        ("8", "64", "batch minimum 8 and sequence minimum 64"),
    ],
)
def test_profiles_with_minimums_above_one_are_refused(batch: str, seq: str, words: str) -> None:
    shapes = ProfileShapes(ShapeRange.parse(batch), ShapeRange.parse(seq))
    with pytest.raises(BadInputError, match=words) as info:
        shapes.check_callers()
    fixed = shapes.covering_callers()
    assert f"--batch {fixed.batch} --seq {fixed.seq}" in str(info.value)
    assert fixed.batch.min == fixed.seq.min == 1


def test_ese_engines_refuses_a_minimum_above_one_before_loading_tensorrt(
    tiny_export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ese.engines.cli import main

    assert main([str(tiny_export), "--seq", "16:128:256"]) == 2
    assert "use --batch 1:8:32 --seq 1:128:256" in capsys.readouterr().err


def test_engine_built_with_a_minimum_above_one_is_refused_by_the_runner() -> None:
    from ese.runtime.backends.tensorrt.loader import check_serves_callers

    old = key(shapes=ProfileShapes(ShapeRange(1, 8, 32), ShapeRange(16, 128, 256)))
    with pytest.raises(StaleEngineError, match=r"--seq 1:128:256 --force"):
        check_serves_callers(old, key())
    check_serves_callers(key(), key())


# Engine keys tell Jetson Orin modules apart.


def test_orin_modules_have_different_engine_keys() -> None:
    from ese.runtime.backends.cuda_device import gpu_info_from_driver

    agx = gpu_info_from_driver(b"Orin\0junk", 8, 7, 61_440 << 20, 16, 0)
    nx = gpu_info_from_driver(b"Orin\0", 8, 7, 15_600 << 20, 8, 0)
    assert (agx.name, agx.compute_capability) == (nx.name, nx.compute_capability) == ("Orin", "8.7")
    assert (agx.multiprocessors, agx.memory_gib, nx.memory_gib) == (16, 60, 15)
    built = key(multiprocessors=agx.multiprocessors, total_memory_gib=agx.memory_gib)
    here = key(multiprocessors=nx.multiprocessors, total_memory_gib=nx.memory_gib)
    with pytest.raises(StaleEngineError, match="multiprocessors: built for 16, here 8"):
        check_fresh(built, here, "engines/orin-trt10.3.0/depth-04.fp16.plan")


def test_version_1_sidecars_without_the_gpu_size_are_stale(tmp_path: Path) -> None:
    data = key().to_dict()
    del data["multiprocessors"], data["total_memory_gib"]
    (tmp_path / "old.json").write_text(json.dumps({**data, "schema_version": 1}))
    with pytest.raises(StaleEngineError, match="version 1"):
        read_sidecar(tmp_path / "old.json")


def test_one_gpu_slug_names_profiles_engines_and_the_ort_cache() -> None:
    from ese.runtime.backends.tensorrt.engine_key import engine_dir
    from ese.runtime.device import device_id
    from ese.runtime.machine import slug

    name = "NVIDIA Jetson Orin (TM) Processor Edition"
    assert engine_dir(name, "10.3.0") == f"engines/{slug(name)}-trt10.3.0"
    assert device_id("TensorrtExecutionProvider", name, 6, "fp16") == f"{slug(name)}-tensorrt-fp16"


# TensorRT versions.


def test_tensorrt_below_10_is_refused_naming_jetpack_6_1() -> None:
    from ese.format.errors import UserError
    from ese.runtime.backends.tensorrt.imports import check_supported

    with pytest.raises(UserError, match=r"TensorRT 8\.6\.2 .*JetPack >= 6\.1"):
        check_supported("8.6.2")
    check_supported("10.3.0.30")
    check_supported("11.0.0")


# ONNX Runtime's TensorRT engine cache is keyed by the graph's weights.


def test_ort_engine_cache_is_keyed_by_the_graph_sha256(tmp_path: Path) -> None:
    from ese.format.errors import BadInputError

    old = tensorrt_options(tmp_path, "fp16", uses_token_type_ids=False, graph_sha256="a" * 64)
    new = tensorrt_options(tmp_path, "fp16", uses_token_type_ids=False, graph_sha256="b" * 64)
    assert old["trt_engine_cache_path"] != new["trt_engine_cache_path"]
    assert Path(new["trt_engine_cache_path"]).name == "b" * 16
    # Kernel timings do not depend on the weights: one timing cache per GPU.
    assert old["trt_timing_cache_path"] == new["trt_timing_cache_path"]
    assert Path(old["trt_engine_cache_path"]).parent == Path(old["trt_timing_cache_path"])
    with pytest.raises(BadInputError, match="64 lower-case hex"):
        tensorrt_options(tmp_path, "fp16", uses_token_type_ids=False, graph_sha256="depth-04")
    with pytest.raises(BadInputError, match=r"sequence profile minimum 16"):
        tensorrt_options(
            tmp_path, "fp16", uses_token_type_ids=False, graph_sha256=SHA, seq=(16, 128, 256)
        )


# Triton: engines of another TensorRT major.minor, or with minimums above 1, are refused.


def engine_export_with(tmp_path: Path, tiny_export: Path, seq: str, trt: str) -> Path:
    import shutil

    from ese.format.export_dir import open_export

    export = Path(shutil.copytree(tiny_export, tmp_path / "export"))
    graph = open_export(export).manifest.graph(2, Precision.FP32)
    built = key(
        trt_version=trt,
        precision=Precision.FP32,
        depth=2,
        shapes=ProfileShapes(ShapeRange(1, 8, 16), ShapeRange.parse(seq)),
        graph_sha256=graph.file.sha256,
    )
    (export / built.plan).parent.mkdir(parents=True)
    (export / built.plan).write_bytes(b"plan")
    write_sidecar(export, built)
    return export


def test_triton_refuses_engines_of_another_tensorrt(tmp_path: Path, tiny_export: Path) -> None:
    from ese.format.errors import UserError
    from ese.format.export_dir import open_export
    from ese.serving.triton.engines import find_engines

    export = engine_export_with(tmp_path, tiny_export, "1:32:64", "10.3.0.30")
    manifest = open_export(export).manifest
    with pytest.raises(UserError, match=r"TensorRT 10\.3\.0\.30, the server has TensorRT 10\.4"):
        find_engines(export, None, manifest, server_trt="10.4.0")
    # The same major.minor is not enough: an engine runs only on the exact build.
    for other in ("10.3.1", "10.3.0.26"):
        with pytest.raises(UserError, match="exact TensorRT build"):
            find_engines(export, None, manifest, server_trt=other)
    with pytest.raises(UserError, match=r"at least major\.minor\.patch"):
        find_engines(export, None, manifest, server_trt="10.3")
    for same in ("10.3.0.30", "10.3.0"):
        (engine,) = find_engines(export, None, manifest, server_trt=same).values()
        assert (engine.trt_version, engine.max_seq) == ("10.3.0.30", 64)


def test_triton_without_the_server_tensorrt_version_is_an_error_not_a_skip(
    tmp_path: Path, tiny_export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ese.serving.triton_cli import main

    export = engine_export_with(tmp_path, tiny_export, "1:32:64", "10.3.0.30")
    out = tmp_path / "repo"
    assert main([str(export), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--server-trt VERSION" in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
    assert main([str(export), "--out", str(out), "--server-trt", "10.3.0.30"]) == 0
    assert main([str(export), "--out", str(tmp_path / "r2"), "--server-trt", "10.3.1"]) == 2


def test_triton_refuses_engines_with_a_sequence_minimum_above_one(
    tmp_path: Path, tiny_export: Path
) -> None:
    from ese.format.errors import UserError
    from ese.format.export_dir import open_export
    from ese.serving.triton.engines import find_engines

    export = engine_export_with(tmp_path, tiny_export, "16:32:64", "10.3.0")
    with pytest.raises(UserError, match="sequence minimum 16"):
        find_engines(export, None, open_export(export).manifest, server_trt="10.3.0")


def test_a_folder_named_tensorrt_is_not_taken_for_tensorrt(tmp_path: Path) -> None:
    """A test or project folder called ``tensorrt`` on the import path imports as a namespace
    package; the runtime must say so instead of failing on its missing ``__version__``."""
    from commands import run_python

    (tmp_path / "tensorrt").mkdir()
    program = (
        "import sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import tensorrt\n"
        "if hasattr(tensorrt, '__file__') and tensorrt.__file__: sys.exit(3)\n"
        "from ese.format.errors import UserError\n"
        "from ese.runtime.backends.tensorrt.imports import import_tensorrt\n"
        "try:\n"
        "    import_tensorrt()\n"
        "except UserError as exc:\n"
        "    print(exc)\n"
    )
    done = run_python("-c", program)
    if done.returncode == 3:
        pytest.skip("TensorRT is installed here: its package wins over the folder")
    assert done.returncode == 0, done.stderr
    assert f"imported from {tmp_path / 'tensorrt'} is not TensorRT's Python package" in done.stdout
