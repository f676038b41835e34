"""ese-triton: the generated model repository, parsed as Triton's own ModelConfig protobuf."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from ese.console.errors import OutputDirError
from ese.format.errors import ProfileError, UserError
from ese.format.manifest import read_manifest
from ese.format.profile import DeviceProfile, ProfileEntry, write_profile
from ese.runtime import Budget, Precision
from ese.runtime.backends.tensorrt.engine_key import EngineKey
from ese.runtime.backends.tensorrt.errors import StaleEngineError
from ese.runtime.backends.tensorrt.shapes import ProfileShapes
from ese.serving.triton.batching import preferred_batch_sizes
from ese.serving.triton.model_configs import BatchingOptions, InstanceKind, Scheduling
from ese.serving.triton.pbtxt import Symbol, render
from ese.serving.triton.repository import RepositoryOptions, repository_from_export
from ese.serving.triton_cli import main as triton_main


def parse(path: Path) -> mc.ModelConfig:
    return text_format.Parse(path.read_text(encoding="utf-8"), mc.ModelConfig())


def entry(depth: int, batch: int, rate: float, seq: int = 128) -> ProfileEntry:
    return ProfileEntry(
        depth=depth,
        precision=Precision.FP32,
        batch_size=batch,
        seq_len=seq,
        latency_ms_p50=batch / rate * 1000,
        latency_ms_p90=batch / rate * 1100,
        latency_ms_p99=batch / rate * 1200,
        sentences_per_s=rate,
        tokens_per_s=rate * seq,
        peak_memory_mb=50.0 + depth,
        runs=10,
    )


def with_profile(export: Path, tmp_path: Path, entries: list[ProfileEntry]) -> Path:
    copy = tmp_path / "export"
    shutil.copytree(export, copy)
    profile = DeviceProfile(
        device_id="test-gpu-cuda-fp32",
        device={"provider": "CUDAExecutionProvider"},
        entries=tuple(entries),
        measured_by="test",
        created="now",
    )
    write_profile(copy, profile)
    return copy


def test_triton_repository_configs_parse_as_model_config(tiny_export: Path, tmp_path: Path):
    repo = repository_from_export(tiny_export, tmp_path / "repo")
    names = sorted(p.name for p in (tmp_path / "repo").iterdir())
    assert names == [".ese-output.json", "ese", "ese_depth_01_fp32", "ese_depth_02_fp32"]
    for depth in (1, 2):
        config = parse(tmp_path / "repo" / f"ese_depth_{depth:02d}_fp32" / "config.pbtxt")
        assert config.name == f"ese_depth_{depth:02d}_fp32"
        assert config.platform == "onnxruntime_onnx"
        assert config.max_batch_size == 32
        assert [i.name for i in config.input] == ["input_ids", "attention_mask", "token_type_ids"]
        for tensor in config.input:
            assert tensor.data_type == mc.TYPE_INT64
            assert list(tensor.dims) == [-1]
        (output,) = config.output
        assert (output.name, output.data_type, list(output.dims)) == (
            "sentence_embedding",
            mc.TYPE_FP32,
            [32],
        )
        assert config.HasField("dynamic_batching")
        assert config.dynamic_batching.max_queue_delay_microseconds == 1000
        assert list(config.dynamic_batching.preferred_batch_size) == []
        (group,) = config.instance_group
        assert (group.count, group.kind) == (1, mc.ModelInstanceGroup.KIND_AUTO)
        assert config.parameters["ese_depth"].string_value == str(depth)
        version = tmp_path / "repo" / config.name / "1"
        assert sorted(p.name for p in version.iterdir()) == ["model.onnx", "weights.bin"]

    front = parse(tmp_path / "repo" / "ese" / "config.pbtxt")
    assert front.backend == "python"
    assert front.max_batch_size == 32
    text, dims = front.input
    assert (text.name, text.data_type, list(text.dims)) == ("text", mc.TYPE_STRING, [1])
    assert (dims.name, dims.data_type, list(dims.dims), dims.optional) == (
        "dims",
        mc.TYPE_INT32,
        [1],
        True,
    )
    (embedding,) = front.output  # each request's own width: the default or its `dims`
    assert (embedding.name, embedding.data_type, list(embedding.dims)) == (
        "embedding",
        mc.TYPE_FP32,
        [-1],
    )
    assert front.parameters["dims"].string_value == str(repo.choice.dims)
    assert front.parameters["max_dims"].string_value == "32"  # the graph's width
    assert front.instance_group[0].kind == mc.ModelInstanceGroup.KIND_CPU
    chosen = f"ese_depth_{repo.choice.depth:02d}_fp32"  # the best measured probe quality
    assert front.parameters["graph_model"].string_value == chosen
    assert front.parameters["token_type_ids"].string_value == "true"
    assert sorted(p.name for p in (tmp_path / "repo" / "ese" / "1").iterdir()) == [
        "model.py",
        "token_arrays.py",
        "tokenizer.json",
    ]
    assert repo.models[0].name == "ese"


def test_triton_repository_graphs_run_from_their_version_folder(tiny_export: Path, tmp_path):
    """Each model.onnx finds its external data beside it, as Triton's onnxruntime backend does."""
    repository_from_export(tiny_export, tmp_path / "repo")
    shutil.move(tmp_path / "repo", tmp_path / "moved")  # nothing points back to the export
    feed = {
        "input_ids": np.array([[2, 10, 11, 3], [2, 12, 3, 0]], dtype=np.int64),
        "attention_mask": np.array([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=np.int64),
        "token_type_ids": np.zeros((2, 4), dtype=np.int64),
    }
    for depth in (1, 2):
        moved = tmp_path / "moved" / f"ese_depth_{depth:02d}_fp32" / "1" / "model.onnx"
        original = tiny_export / "graphs" / f"depth-{depth:02d}.onnx"
        (got,) = ort.InferenceSession(str(moved)).run(["sentence_embedding"], feed)
        (want,) = ort.InferenceSession(str(original)).run(["sentence_embedding"], feed)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("rates", "max_batch", "expected"),
    [
        ({1: 100, 8: 500, 32: 900}, 32, (8, 32)),  # throughput keeps growing
        ({1: 100, 8: 500, 32: 520}, 32, (8,)),  # flat past 8: waiting for 32 only costs
        ({1: 100, 8: 500, 32: 900}, 16, (8,)),  # above max_batch_size is dropped
        ({1: 100}, 32, ()),  # one size: nothing to compare
        ({}, 32, ()),  # no entries for this graph
    ],
)
def test_triton_preferred_batch_sizes_table(rates, max_batch, expected):
    entries = [entry(2, b, r) for b, r in rates.items()] + [entry(1, 4, 10_000)]
    got = preferred_batch_sizes(entries, 2, Precision.FP32, max_batch_size=max_batch, seq_len=128)
    assert got == expected


def test_triton_preferred_batch_sizes_use_the_nearest_sequence_length():
    entries = [entry(2, 1, 100, seq=32), entry(2, 8, 900, seq=32)]
    entries += [entry(2, 1, 100, seq=256), entry(2, 8, 105, seq=256)]
    assert preferred_batch_sizes(entries, 2, Precision.FP32, max_batch_size=32, seq_len=40) == (8,)
    assert preferred_batch_sizes(entries, 2, Precision.FP32, max_batch_size=32, seq_len=200) == ()


def test_triton_profile_sets_preferred_batch_sizes_and_budget_routing(tiny_export, tmp_path):
    entries = [entry(1, b, r) for b, r in {1: 400, 4: 1200, 16: 3000}.items()]
    entries += [entry(2, b, r) for b, r in {1: 200, 4: 700, 16: 720}.items()]
    export = with_profile(tiny_export, tmp_path, entries)
    # depth 2 takes 5 ms for one sentence (p90 5.5): a 4 ms bound leaves depth 1 (2.75 ms)
    budget = Budget(latency_ms=4.0, batch_size=1, seq_len=128, max_dims=16)
    options = RepositoryOptions(
        budget=budget,
        batching=BatchingOptions(max_batch_size=16, max_queue_delay_us=250, instances=2),
    )
    repo = repository_from_export(export, tmp_path / "repo", options)
    assert (repo.choice.depth, repo.choice.dims) == (1, 16)
    d1 = parse(tmp_path / "repo" / "ese_depth_01_fp32" / "config.pbtxt")
    d2 = parse(tmp_path / "repo" / "ese_depth_02_fp32" / "config.pbtxt")
    assert list(d1.dynamic_batching.preferred_batch_size) == [4, 16]
    assert list(d2.dynamic_batching.preferred_batch_size) == [4]
    assert d1.dynamic_batching.max_queue_delay_microseconds == 250
    assert d1.instance_group[0].count == 2
    front = parse(tmp_path / "repo" / "ese" / "config.pbtxt")
    assert front.parameters["graph_model"].string_value == "ese_depth_01_fp32"
    assert front.parameters["dims"].string_value == "16"
    assert front.parameters["max_dims"].string_value == "16"  # the budget bounds the width
    assert list(front.dynamic_batching.preferred_batch_size) == [4, 16]
    assert "test-gpu-cuda-fp32" in front.parameters["profile"].string_value


def test_triton_latency_budget_without_a_profile_is_refused(tiny_export, tmp_path):
    options = RepositoryOptions(budget=Budget(latency_ms=4.0))
    with pytest.raises(ProfileError, match="ese-bench profile"):
        repository_from_export(tiny_export, tmp_path / "repo", options)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


SERVER_TRT = "10.3.0.30"


def add_engine(export: Path, folder: str, depth: int, precision: str, sha: str) -> Path:
    key = EngineKey(
        gpu_name=folder,
        compute_capability="8.9",
        multiprocessors=58,
        total_memory_gib=22,
        trt_version=SERVER_TRT,  # tensorrt.__version__, as ese-engines records it
        precision=Precision(precision),
        depth=depth,
        shapes=ProfileShapes.from_dict({"batch": "1:8:16", "seq": "1:32:32"}),
        graph_sha256=sha,
    )
    plan = export / "engines" / folder / f"depth-{depth:02d}.{precision}.plan"
    plan.parent.mkdir(parents=True, exist_ok=True)
    plan.write_bytes(b"plan")
    plan.with_suffix(".json").write_text(json.dumps(key.to_dict()))  # as ese-engines does
    return plan


def test_triton_engines_become_tensorrt_plan_models(tiny_export, tmp_path):
    export = tmp_path / "export"
    shutil.copytree(tiny_export, export)
    manifest = read_manifest(export)
    sha = {g.depth: g.file.sha256 for g in manifest.graphs}
    add_engine(export, "nvidia-l4-trt10.3", 2, "fp32", sha[2])
    # a task no graph measured: the deepest graph (the engine's) is chosen by size
    options = RepositoryOptions(
        batching=BatchingOptions(kind=InstanceKind.CPU),
        budget=Budget(quality_task="unmeasured"),
        server_trt=SERVER_TRT,
    )
    repository_from_export(export, tmp_path / "repo", options)
    plan = parse(tmp_path / "repo" / "ese_depth_02_fp32" / "config.pbtxt")
    assert plan.platform == "tensorrt_plan"
    assert plan.default_model_filename == "model.plan"
    assert plan.instance_group[0].kind == mc.ModelInstanceGroup.KIND_GPU
    assert plan.max_batch_size == 16  # the engine's optimisation-profile maximum
    assert (tmp_path / "repo" / "ese_depth_02_fp32" / "1" / "model.plan").read_bytes() == b"plan"
    onnx = parse(tmp_path / "repo" / "ese_depth_01_fp32" / "config.pbtxt")
    assert onnx.platform == "onnxruntime_onnx"
    assert onnx.instance_group[0].kind == mc.ModelInstanceGroup.KIND_CPU
    assert onnx.max_batch_size == 32
    front = parse(tmp_path / "repo" / "ese" / "config.pbtxt")
    assert front.max_batch_size == 16  # routed to the engine: within its ranges
    assert front.parameters["max_length"].string_value == "32"

    add_engine(export, "nvidia-h100-trt10.3", 1, "fp16", sha[1])
    with pytest.raises(UserError, match="--engines"):
        repository_from_export(export, tmp_path / "repo2", RepositoryOptions(server_trt=SERVER_TRT))
    repository_from_export(export, tmp_path / "repo3", RepositoryOptions(engines="none"))
    assert parse(tmp_path / "repo3" / "ese_depth_02_fp32" / "config.pbtxt").platform == (
        "onnxruntime_onnx"
    )


def test_scheduling_within_an_engine_drops_the_larger_preferred_sizes():
    scheduling = Scheduling(BatchingOptions(max_batch_size=32, max_queue_delay_us=250), (4, 16, 32))
    assert scheduling.within(32) is scheduling and scheduling.within(64) is scheduling
    clipped = scheduling.within(16)
    assert clipped.batching == BatchingOptions(max_batch_size=16, max_queue_delay_us=250)
    assert clipped.preferred == (4, 16)


def test_triton_stale_or_unlabelled_engines_are_refused(tiny_export, tmp_path):
    export = tmp_path / "export"
    shutil.copytree(tiny_export, export)
    plan = add_engine(export, "nvidia-l4-trt10.3", 2, "fp32", "0" * 64)
    with pytest.raises(UserError, match="older model"):
        repository_from_export(export, tmp_path / "repo")
    plan.with_suffix(".json").unlink()
    with pytest.raises(StaleEngineError, match="sidecar"):
        repository_from_export(export, tmp_path / "repo")
    assert not (tmp_path / "repo").exists()


def test_triton_existing_output_needs_force(tiny_export, tmp_path):
    out = tmp_path / "repo"
    repository_from_export(tiny_export, out, RepositoryOptions(name="old"))
    with pytest.raises(OutputDirError, match="--force"):
        repository_from_export(tiny_export, out)
    repository_from_export(tiny_export, out, RepositoryOptions(force=True))
    assert not (out / "old").exists() and (out / "ese" / "config.pbtxt").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]  # no staging left behind


def test_triton_force_never_replaces_the_export_or_other_folders(tiny_export, tmp_path):
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    force = RepositoryOptions(force=True)
    with pytest.raises(OutputDirError, match="did not write"):
        repository_from_export(tiny_export, other, force)
    assert (other / "keep.txt").exists()
    for out in (tiny_export, tiny_export.parent):
        with pytest.raises(OutputDirError, match="export directory"):
            repository_from_export(tiny_export, out, force)
    assert (tiny_export / "manifest.json").is_file()


def test_triton_cli_writes_and_reports(tiny_export, tmp_path, capsys):
    code = triton_main([str(tiny_export), "--out", str(tmp_path / "repo"), "--max-dims", "8"])
    out = capsys.readouterr().out
    assert code == 0
    assert "ese routes to depth 2 (fp32), 8 dims" in out
    assert "tritonserver --model-repository" in out
    assert parse(tmp_path / "repo" / "ese" / "config.pbtxt").parameters["dims"].string_value == "8"
    code = triton_main([str(tiny_export), "--out", str(tmp_path / "repo"), "--name", "a b"])
    assert code == 2
    assert "model name" in capsys.readouterr().err


def test_triton_pbtxt_render_is_text_format():
    text = render(
        {
            "name": 'quote " and \\ back',
            "max_batch_size": 4,
            "input": [{"name": "x", "data_type": Symbol("TYPE_FP32"), "dims": [-1, 3]}],
            "dynamic_batching": {"preferred_batch_size": None},
            "optimization": {"cuda": {"graphs": True}},
        }
    )
    config = text_format.Parse(text, mc.ModelConfig())
    assert config.name == 'quote " and \\ back'
    assert list(config.input[0].dims) == [-1, 3]
    assert config.optimization.cuda.graphs is True
    assert json.loads(json.dumps(config.max_batch_size)) == 4
