"""The CUDA path's parts on the CPU provider: IO binding, node placement, bucket padding,
fp16 by default on CUDA, profile fields and ids; the CUDA-only checks are marked ``gpu``.

Everything runs real exported graphs in real ONNX Runtime sessions. The one real fallback a
CPU-only onnxruntime can show: ask for ``AzureExecutionProvider`` first. It registers, has no
kernel for any node of our graphs, and ONNX Runtime runs every node on the CPU provider.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from ese.format.contract import Precision
from ese.format.profile import ProfileEntry
from ese.runtime import Embedder
from ese.runtime.backends.onnxruntime.buckets import Buckets, pad_to_bucket
from ese.runtime.backends.onnxruntime.placement import placement_from_events
from ese.runtime.backends.onnxruntime.session import GraphRunner, Threads
from ese.runtime.backends.providers import CPU, CUDA, default_precisions
from ese.runtime.device import device_id, this_device
from ese.runtime.errors import ProviderError, ProviderFallbackWarning

AZURE = "AzureExecutionProvider"
HAS_CUDA = CUDA in ort.get_available_providers()
needs_cuda = [
    pytest.mark.gpu,
    pytest.mark.skipif(not HAS_CUDA, reason="needs onnxruntime-gpu and a CUDA device"),
]


def _graph(export: Path, depth: int = 2) -> Path:
    return export / "graphs" / f"depth-{depth:02d}.onnx"


def _batch(rows: int, length: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token ids inside the tiny vocabulary, rows of different lengths (right padding)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, 100, size=(rows, length), dtype=np.int64)
    mask = np.ones_like(ids)
    for row in range(1, rows):
        mask[row, max(1, length - 2 * row) :] = 0
    ids[mask == 0] = 0
    return ids, mask, np.zeros_like(ids)


def test_io_binding_on_cpu_gives_the_plain_vectors(tiny_export: Path) -> None:
    plain = GraphRunner(_graph(tiny_export), [CPU], Threads(intra_op=1))
    bound = GraphRunner(_graph(tiny_export), [CPU], Threads(intra_op=1), io_binding=True)
    assert not plain.io_binding and bound.io_binding

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the IO-bound runner called session.run")

    bound.session.run = refuse  # type: ignore[method-assign]
    for rows, length in ((1, 5), (3, 9), (7, 20)):
        batch = _batch(rows, length, seed=rows)
        np.testing.assert_array_equal(bound.run(*batch), plain.run(*batch))


def test_padding_to_a_bucket_keeps_every_vector(tiny_export: Path) -> None:
    plain = GraphRunner(_graph(tiny_export), [CPU], Threads(intra_op=1))
    bucketed = GraphRunner(
        _graph(tiny_export), [CPU], Threads(intra_op=1), buckets=Buckets((1, 4), (8, 16))
    )
    assert bucketed.bucket_for(3, 7) == (4, 8) and bucketed.bucket_for(5, 7) is None
    assert not bucketed.uses_cuda_graph(3, 7), "no CUDA graph on the CPU provider"
    for rows, length, seed in ((3, 7, 1), (1, 16, 2), (3, 7, 3), (4, 12, 4), (6, 7, 5)):
        batch = _batch(rows, length, seed)
        got = bucketed.run(*batch)
        assert got.shape == (rows, plain.width)
        np.testing.assert_allclose(got, plain.run(*batch), rtol=0, atol=2e-5)
    # (3, 7) ran twice on the same fixed buffers with different tokens; (6, 7) fits no bucket.
    assert {s: r.runs for s, r in bucketed._fixed.items()} == {(4, 8): 2, (1, 16): 1, (4, 16): 1}


def test_pad_to_bucket_masks_new_positions_and_repeats_row_zero() -> None:
    ids = np.array([[101, 7, 102], [101, 102, 0]])
    mask = np.array([[1, 1, 1], [1, 1, 0]])
    p_ids, p_mask, p_types = pad_to_bucket((ids, mask, np.zeros_like(ids)), (4, 5), pad_id=0)
    assert p_ids.tolist() == [
        [101, 7, 102, 0, 0],
        [101, 102, 0, 0, 0],
        [101, 7, 102, 0, 0],
        [101, 7, 102, 0, 0],
    ]
    assert p_mask.tolist() == [[1, 1, 1, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 0, 0]]
    assert not p_types.any()
    with pytest.raises(ValueError, match="does not fit"):
        pad_to_bucket((ids, mask, mask), (1, 5))


@pytest.mark.parametrize(
    ("shape", "bucket"),
    [((1, 1), (1, 16)), ((1, 16), (1, 16)), ((2, 17), (2, 32)), ((8, 128), (8, 128))],
)
def test_smallest_default_bucket(shape: tuple[int, int], bucket: tuple[int, int]) -> None:
    assert Buckets().bucket_for(*shape) == bucket


@pytest.mark.parametrize("shape", [(9, 16), (1, 129), (128, 256)])
def test_large_shapes_have_no_bucket(shape: tuple[int, int]) -> None:
    assert Buckets().bucket_for(*shape) is None


def test_a_real_fallback_is_warned_with_the_node_names(tiny_export: Path) -> None:
    if AZURE not in ort.get_available_providers():
        pytest.skip("this onnxruntime has no AzureExecutionProvider to fall back from")
    with pytest.warns(ProviderFallbackWarning, match=r"did not run on AzureExecutionProvider"):
        runner = GraphRunner(_graph(tiny_export), [AZURE, CPU], Threads(intra_op=1))
    placement = runner.placement
    assert placement is not None and placement.providers == [CPU]
    assert "/encoder/embeddings/word_embeddings/Gather" in runner.fallback_nodes
    assert any("MatMul" in placement.op_types[n] for n in runner.fallback_nodes)
    # Shape computations (integer outputs) are not counted as a fallback.
    assert placement.cpu_shape and not set(placement.cpu_shape) & set(runner.fallback_nodes)
    assert not placement.allows_cuda_graph(AZURE)


def test_cpu_sessions_skip_the_placement_run_unless_asked(tiny_export: Path) -> None:
    assert GraphRunner(_graph(tiny_export), [CPU], Threads(intra_op=1)).placement is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checked = GraphRunner(_graph(tiny_export), [CPU], Threads(intra_op=1), check_placement=True)
    assert checked.placement is not None and checked.placement.providers == [CPU]
    assert checked.fallback_nodes == ()


def _event(node: str, provider: str, op: str, out_type: str) -> dict[str, object]:
    return {
        "cat": "Node",
        "name": f"{node}_kernel_time",
        "args": {"provider": provider, "op_name": op, "output_type_shape": [{out_type: [1, 8]}]},
    }


def test_placement_rules_follow_onnx_runtimes_cuda_graph_rule() -> None:
    shapes_only = placement_from_events(
        [
            _event("/Shape", CPU, "Shape", "int64"),
            _event("/MatMul", CUDA, "MatMul", "float16"),
            {"cat": "Session", "name": "model_run"},
        ]
    )
    assert shapes_only.fallback_nodes(CUDA) == () and shapes_only.allows_cuda_graph(CUDA)
    fallen = placement_from_events(
        [
            _event("/MatMul", CUDA, "MatMul", "float16"),
            _event("/Erf", CPU, "Erf", "float"),
            _event("/Memcpy", CUDA, "MemcpyToHost", "float"),
        ]
    )
    assert fallen.fallback_nodes(CUDA) == ("/Erf", "/Memcpy")
    assert not fallen.allows_cuda_graph(CUDA)


def test_cuda_on_a_cpu_only_onnxruntime_names_onnxruntime_gpu(tiny_export: Path) -> None:
    if HAS_CUDA:
        pytest.skip("this onnxruntime has the CUDA provider")
    with pytest.raises(ProviderError, match=r"pip install onnxruntime-gpu"):
        Embedder(tiny_export, providers="cuda")


@pytest.mark.parametrize(
    ("provider", "present", "expected"),
    [
        (CUDA, {Precision.FP32, Precision.FP16}, (Precision.FP16,)),
        (CUDA, {Precision.FP32, Precision.INT8}, (Precision.FP32,)),
        (CPU, {Precision.FP32, Precision.FP16, Precision.INT8}, (Precision.FP32, Precision.INT8)),
        (CPU, {Precision.FP16}, (Precision.FP16,)),
    ],
)
def test_fp16_is_the_default_on_cuda_only(
    provider: str, present: set[Precision], expected: tuple[Precision, ...]
) -> None:
    assert default_precisions(provider, present) == expected


def test_profile_entries_say_which_shapes_used_a_cuda_graph() -> None:
    entry = ProfileEntry(2, Precision.FP16, 1, 16, 0.2, 0.3, 0.4, 5000, 80000, 10, 50, True)
    assert ProfileEntry.from_dict(json.loads(json.dumps(entry.to_dict()))) == entry
    old = {k: v for k, v in entry.to_dict().items() if k != "cuda_graph"}
    assert ProfileEntry.from_dict(old).cuda_graph is False


def test_gpu_profile_ids_are_the_ids_the_runtime_reads() -> None:
    """ese-bench profile and the runtime both name a GPU profile with this_device(...)."""
    device = this_device(CUDA, 4)
    for precision in ("fp16", "fp32"):
        assert device.device_id(precision) == device_id(CUDA, device.hardware, 99, precision)
        assert device.device_id(precision).endswith(f"-cuda-{precision}")


@needs_cuda[0]
@needs_cuda[1]
def test_cuda_runs_bound_placed_and_captured(tiny_export: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ProviderFallbackWarning)
        runner = GraphRunner(_graph(tiny_export), [CUDA, CPU], Threads())
    cpu = GraphRunner(_graph(tiny_export), [CPU], Threads(intra_op=1))
    assert runner.io_binding and runner.active[0] == CUDA and runner.fallback_nodes == ()
    assert runner.capture.on, runner.capture.reason
    assert runner.uses_cuda_graph(1, 16) and not runner.uses_cuda_graph(128, 256)
    # New inputs every call, buckets revisited after other shapes: a stale replay fails here.
    shapes = ((1, 16), (1, 16), (1, 9), (3, 40), (64, 200), (1, 16), (8, 64), (8, 60), (3, 40))
    for call, (rows, length) in enumerate(shapes):
        batch = _batch(rows, length, seed=call)
        np.testing.assert_allclose(runner.run(*batch), cpu.run(*batch), atol=1e-3)


@needs_cuda[0]
@needs_cuda[1]
def test_cuda_graphs_pass_the_consecutive_parity_check(tiny_export: Path) -> None:
    from ese.format.export_dir import open_export
    from ese.runtime.choice.parity_gate import MIN_COSINE, consecutive_min_cosine
    from ese.runtime.tokens import TextTokenizer

    export = open_export(tiny_export)
    tokenizer = TextTokenizer(export.tokenizer_file, export.manifest.source.max_seq_length)
    runner = GraphRunner(_graph(tiny_export), [CUDA, CPU], Threads())
    cpu = GraphRunner(_graph(tiny_export), [CPU], Threads(intra_op=1))
    assert runner.capture.on, runner.capture.reason
    assert consecutive_min_cosine(runner, cpu, tokenizer, int(cpu.width or 0)) >= MIN_COSINE
    assert any(batch == 8 for batch, _ in runner._fixed), "the batch-8 bucket was replayed"


def test_bench_profile_takes_providers_and_writes_the_id_the_runtime_reads(
    tiny_export: Path, tmp_path: Path
) -> None:
    import shutil

    from ese.benchmarks.cli import main
    from ese.benchmarks.commands.profile import _ort_precisions
    from ese.format.export_dir import open_export

    export = tmp_path / "export"
    shutil.copytree(tiny_export, export)
    grid = ["--batch", "1", "--seq", "8", "--runs", "3", "--warmup", "0", "--threads", "1"]
    assert main(["profile", str(export), "--providers", "cpu", "--depths", "1", *grid]) == 0
    (path,) = (export / "profiles").glob("*.json")
    assert path.stem == this_device(CPU, 1).device_id("fp32")
    entries = json.loads(path.read_text())["entries"]
    assert [e["cuda_graph"] for e in entries] == [False]
    manifest = open_export(export).manifest
    assert _ort_precisions(None, CUDA, manifest) == ["fp32"]  # this export has no fp16 graphs
    assert _ort_precisions("fp16,fp32", CUDA, manifest) == ["fp16", "fp32"]
    assert _ort_precisions(None, CPU, manifest) == ["fp32"]


def test_gpu_targets_are_judged_from_both_profiles() -> None:
    from ese.benchmarks.latency.measurement import Measurement
    from ese.benchmarks.latency.stats import Percentiles
    from ese.studies.gpu_compare import targets

    def m(backend: str, depth: int, batch: int, seq: int, p50: float) -> Measurement:
        return Measurement(backend, "fp16", depth, batch, seq, Percentiles(p50, p50, p50, 9), 1, 1)

    ort_ms = [m("onnxruntime", 6, 1, 16, 1.0), m("onnxruntime", 6, 128, 256, 40.0)]
    ort_ms.append(m("onnxruntime", 2, 128, 256, 20.0))
    torch_ms = [m("torch", 6, 1, 16, 5.0), m("torch", 6, 128, 256, 39.0)]
    latency, throughput, depth_cost = targets(ort_ms, torch_ms)
    assert latency["ratio"] == pytest.approx(0.2) and latency["met"] is True
    assert throughput["ratio"] == pytest.approx(39 / 40) and throughput["met"] is False
    assert depth_cost["ratio"] == pytest.approx(0.5) and depth_cost["met"] is False
    assert targets([], torch_ms)[0]["met"] is None
