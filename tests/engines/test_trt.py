"""Real TensorRT engines from the tiny export (selected by `make test-gpu`; skipped elsewhere)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.trt

trt = pytest.importorskip(
    "tensorrt", reason="TensorRT is not installed (JetPack or `pip install tensorrt` on a GPU box)"
)

from ese.engines.build_all import build_engines  # noqa: E402
from ese.format.contract import Precision  # noqa: E402
from ese.format.errors import InternalError  # noqa: E402
from ese.runtime.backends.onnxruntime.session import GraphRunner, Threads  # noqa: E402
from ese.runtime.backends.tensorrt.engine_key import read_sidecar  # noqa: E402
from ese.runtime.backends.tensorrt.errors import StaleEngineError  # noqa: E402
from ese.runtime.backends.tensorrt.runner import EngineRunner  # noqa: E402
from ese.runtime.backends.tensorrt.shapes import ProfileShapes, ShapeRange  # noqa: E402
from ese.runtime.tokens import TextTokenizer  # noqa: E402

SHAPES = ProfileShapes(ShapeRange(1, 2, 4), ShapeRange(1, 16, 32))
TEXTS = ["a man is playing a guitar", "hi", "the quick brown fox jumps over the lazy dog"]


@pytest.fixture(scope="module")
def engine_export(tiny_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trt") / "tiny"
    shutil.copytree(tiny_export, out)
    if int(trt.__version__.split(".")[0]) >= 11:
        from ese.exporter.variants.add import add_variants

        add_variants(out, ["fp16"])
    return out


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_engine_matches_onnx_runtime(engine_export: Path, precision: str) -> None:
    (built,) = build_engines(engine_export, precision, SHAPES, depths=[2])
    assert built.plan.is_file() and read_sidecar(built.plan.with_suffix(".json")) == built.key
    again = build_engines(engine_export, precision, SHAPES, depths=[2])
    assert again[0].reused
    tokenizer = TextTokenizer(engine_export / "tokenizer" / "tokenizer.json", 32)
    encodings, _ = tokenizer.encode(TEXTS)
    batch = tokenizer.pad(encodings)
    cpu = GraphRunner(
        engine_export / "graphs" / "depth-02.onnx", ["CPUExecutionProvider"], Threads()
    )
    want = cpu.run(batch.input_ids, batch.attention_mask, batch.token_type_ids)
    with EngineRunner(engine_export, 2, precision) as runner:
        got = runner.run(batch.input_ids, batch.attention_mask, batch.token_type_ids)
        assert len(runner.inference_times) == 1
    cos = np.sum(got * want, 1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
    assert cos.min() >= (0.99999 if precision == "fp32" else 0.999)


def test_stale_engine_is_refused(engine_export: Path) -> None:
    (built,) = build_engines(engine_export, "fp32", SHAPES, depths=[1])
    sidecar = built.plan.with_suffix(".json")
    data = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**data, "graph_sha256": "0" * 64}))
    with (
        pytest.raises(StaleEngineError, match=r"source graph sha256: built for 000000000000"),
        EngineRunner(engine_export, 1, Precision.FP32),
    ):
        pass


def test_one_short_text_runs_from_another_thread(engine_export: Path) -> None:
    """Batch 1 x 2 tokens (below the old --seq minimum), run on a thread that did not enter."""
    import threading

    build_engines(engine_export, "fp32", SHAPES, depths=[2])
    tokenizer = TextTokenizer(engine_export / "tokenizer" / "tokenizer.json", 32)
    encodings, _ = tokenizer.encode([""])  # [CLS] [SEP]
    batch = tokenizer.pad(encodings)
    assert batch.input_ids.shape == (1, 2)
    out: list[np.ndarray] = []
    with EngineRunner(engine_export, 2, "fp32") as runner:
        thread = threading.Thread(
            target=lambda: out.append(
                runner.run(batch.input_ids, batch.attention_mask, batch.token_type_ids)
            )
        )
        thread.start()
        thread.join()
    assert len(out) == 1 and out[0].shape[0] == 1 and np.isfinite(out[0]).all()


def test_runs_from_several_threads_at_once_give_each_its_own_vectors(engine_export: Path) -> None:
    import threading

    build_engines(engine_export, "fp32", SHAPES, depths=[2])
    tokenizer = TextTokenizer(engine_export / "tokenizer" / "tokenizer.json", 32)
    batches = [tokenizer.pad(tokenizer.encode([text])[0]) for text in TEXTS * 2]
    with EngineRunner(engine_export, 2, "fp32") as runner:
        want = [runner.run(b.input_ids, b.attention_mask, b.token_type_ids) for b in batches]
        got: dict[int, np.ndarray] = {}
        start = threading.Barrier(len(batches))

        def run(i: int) -> None:
            start.wait()
            b = batches[i]
            got[i] = runner.run(b.input_ids, b.attention_mask, b.token_type_ids)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(batches))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for i, vectors in enumerate(want):
        np.testing.assert_allclose(got[i], vectors, atol=1e-5)


def test_open_engine_is_a_runner_without_a_with_block(engine_export: Path) -> None:
    from ese.format.export_dir import open_export
    from ese.runtime.backends.tensorrt.loader import PROVIDER, engine_missing
    from ese.runtime.backends.tensorrt.runner import open_engine

    build_engines(engine_export, "fp32", SHAPES, depths=[2])
    export = open_export(engine_export)
    graph = export.manifest.graph(2, Precision.FP32)
    assert engine_missing(export, graph) is None
    tokenizer = TextTokenizer(engine_export / "tokenizer" / "tokenizer.json", 32)
    batch = tokenizer.pad(tokenizer.encode(TEXTS)[0])
    runner = open_engine(export, graph, [PROVIDER], Threads())
    try:
        assert runner.check_provider() == PROVIDER and runner.path == export.path(graph.file)
        got = runner.run(batch.input_ids, batch.attention_mask, batch.token_type_ids)
        assert got.shape == (len(TEXTS), runner.width) and runner.uses_token_type_ids
        assert "native TensorRT engine" in runner.running_note()
    finally:
        runner.close()  # type: ignore[attr-defined]
    with pytest.raises(InternalError, match="after close"):
        runner.run(batch.input_ids, batch.attention_mask, batch.token_type_ids)


def test_the_embedder_runs_a_native_engine_by_name_and_only_where_one_was_built(
    engine_export: Path,
) -> None:
    """providers='tensorrt-engine': the registry's entry offers only the graphs with a fresh
    plan here, opens the chosen one, and its vectors are ONNX Runtime's on the CPU."""
    from ese.runtime import Embedder
    from ese.runtime.backends.tensorrt.loader import PROVIDER
    from ese.runtime.errors import ProviderError

    build_engines(engine_export, "fp32", SHAPES, depths=[2])
    for plan in (engine_export / "engines").rglob("depth-01.fp32.plan"):
        plan.unlink()  # depth 1 has no plan on this GPU
    native = Embedder(engine_export, providers="tensorrt-engine", precision="fp32")
    assert (native.choice.depth, native.choice.provider) == (2, PROVIDER), native.choice.reason
    assert "native TensorRT engine" in native.choice.reason
    cpu = Embedder(engine_export, providers="cpu", precision="fp32", depth=2)
    got, want = native.encode(TEXTS), cpu.encode(TEXTS)
    assert np.sum(got * want, 1).min() >= 0.99999
    with pytest.raises(ProviderError, match="ese-engines"):
        Embedder(engine_export, providers="tensorrt-engine", precision="fp32", depth=1)
