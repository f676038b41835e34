"""The device parity check and the fp16 gate, on real graphs in real ONNX Runtime sessions.

The gate is provider-agnostic: here the CPU provider is the device under test. The stale
replay a CUDA graph can show (the previous call's vectors returned for new inputs) is made by
wrapping a real runner; the check that must catch it is the real one.
"""

from __future__ import annotations

import itertools
import json
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ese.format.contract import Precision
from ese.format.export_dir import open_export
from ese.format.profile import DeviceProfile, write_profile
from ese.format.profile_gate import ParityGate
from ese.runtime import Embedder
from ese.runtime.backends import providers as prov
from ese.runtime.backends.onnxruntime import providers as onnxruntime_providers
from ese.runtime.backends.onnxruntime.buckets import Buckets
from ese.runtime.backends.onnxruntime.session import GraphRunner, Threads
from ese.runtime.choice.fp16_gate import fp16_parity, with_fp32_quality
from ese.runtime.choice.parity_gate import MIN_COSINE, consecutive_min_cosine, probe_calls
from ese.runtime.device import this_device
from ese.runtime.encode import encode_texts
from ese.runtime.errors import BudgetError
from ese.runtime.tokens import TextTokenizer

THREADS = Threads(intra_op=1)
# Batches of 1 and 8 in buckets, as CUDA serves them (the CPU provider runs them unCaptured).
BUCKETS = Buckets((1, 8), (16, 32, 64))


class PreviousCallRunner:
    """A real runner that answers each call of a shape with the previous call's vectors: what
    a CUDA graph replayed without its new inputs returns."""

    def __init__(self, runner: GraphRunner) -> None:
        self.runner = runner
        self.width = runner.width
        self.last: dict[tuple[int, ...], np.ndarray] = {}

    def run(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        fresh = self.runner.run(ids, mask, types)
        stale = self.last.get(ids.shape, fresh)
        self.last[ids.shape] = fresh
        return stale


@pytest.fixture(scope="module")
def fp16_export(
    tiny_export: Path, few_pairs: object, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    from ese.exporter.variants.add import add_variants
    from ese.exporter.variants.record import Gates

    out = tmp_path_factory.mktemp("fp16") / "export"
    shutil.copytree(tiny_export, out)
    loose = Gates(int8_mean_cosine=0.5, stsb_max_drop=100.0, fp16_min_cosine=0.99)
    add_variants(out, ["fp16"], stsb=few_pairs, gates=loose)  # type: ignore[arg-type]
    return out


@pytest.fixture()
def export(fp16_export: Path, tmp_path: Path) -> Path:
    out = tmp_path / "export"
    shutil.copytree(fp16_export, out)
    return out


def _tokenizer(path: Path) -> TextTokenizer:
    export = open_export(path)
    return TextTokenizer(export.tokenizer_file, export.manifest.source.max_seq_length)


def test_probe_calls_are_batches_of_1_and_8_with_new_texts_each_call() -> None:
    calls = probe_calls()
    assert {len(c) for c in calls} == {1, 8}
    assert all(a != b for a, b in itertools.pairwise(calls))
    assert not set(calls[-1]) & set(calls[-2])


def test_the_parity_check_catches_a_replay_that_ignores_new_inputs(tiny_export: Path) -> None:
    graph = tiny_export / "graphs" / "depth-02.onnx"
    reference = GraphRunner(graph, [prov.CPU], THREADS)
    bucketed = GraphRunner(graph, [prov.CPU], THREADS, io_binding=True, buckets=BUCKETS)
    tokenizer = _tokenizer(tiny_export)
    width = int(reference.width or 0)

    honest = consecutive_min_cosine(bucketed, reference, tokenizer, width)
    assert honest >= MIN_COSINE
    runs = {shape: fixed.runs for shape, fixed in bucketed._fixed.items()}
    # One batch-1 bucket and one batch-8 bucket each served consecutive calls of new texts.
    assert runs[(1, 16)] >= 2 and [r for (b, _), r in runs.items() if b == 8] == [2], runs

    stale = PreviousCallRunner(GraphRunner(graph, [prov.CPU], THREADS, buckets=BUCKETS))
    caught = consecutive_min_cosine(stale, reference, tokenizer, width)  # type: ignore[arg-type]
    assert caught < MIN_COSINE, caught


def test_a_bucketed_runner_encodes_right_from_many_threads_at_once(tiny_export: Path) -> None:
    graph = tiny_export / "graphs" / "depth-02.onnx"
    runner = GraphRunner(graph, [prov.CPU], THREADS, io_binding=True, buckets=BUCKETS)
    tokenizer = _tokenizer(tiny_export)
    width = int(runner.width or 0)
    texts = [[f"thread {i} says {'word ' * (i % 5)}hello", f"and {i} more"] for i in range(8)]
    want = [
        encode_texts(t, tokenizer, runner, dims=width, batch_size=2, normalize=True) for t in texts
    ]
    got: dict[int, np.ndarray] = {}
    start = threading.Barrier(len(texts))

    def encode(i: int) -> None:
        start.wait()
        for _ in range(5):  # each thread refills the shared bucket buffers repeatedly
            got[i] = encode_texts(
                texts[i], tokenizer, runner, dims=width, batch_size=2, normalize=True
            )

    workers = [threading.Thread(target=encode, args=(i,)) for i in range(len(texts))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for i, vectors in enumerate(want):
        np.testing.assert_allclose(got[i], vectors, atol=1e-6)


def test_fp16_gate_is_measured_on_the_device_and_recorded_in_its_profile(export: Path) -> None:
    opened = open_export(export)
    graph = opened.manifest.graph(2, Precision.FP16)
    tokenizer = _tokenizer(export)
    first = fp16_parity(opened, graph, tokenizer, THREADS, [prov.CPU], measure=True)
    assert first.passed and first.min_cosine is not None, first.describe()
    assert "measured now, recorded in" in first.describe()
    did = this_device(prov.CPU, 1).device_id(Precision.FP16)
    (gate,) = json.loads((export / "profiles" / f"{did}.json").read_text())["gates"]
    assert gate["inference_precision"] == "fp16" and gate["precision"] == "fp16"
    assert gate["reference"] == "onnxruntime CPUExecutionProvider fp32"
    again = fp16_parity(opened, graph, tokenizer, THREADS, [prov.CPU], measure=False)
    assert again.min_cosine == first.min_cosine and "as recorded in" in again.describe()


def _record_gate(export: Path, min_cosine: float) -> None:
    opened = open_export(export)
    graph = opened.manifest.graph(2, Precision.FP16)
    device = this_device(prov.CPU, 1)
    did = device.device_id(Precision.FP16)
    gate = ParityGate(
        depth=2,
        precision=Precision.FP16,
        inference_precision="fp16",
        files_sha256=tuple(f.sha256 for f in graph.files()),
        backend=f"onnxruntime {__import__('onnxruntime').__version__} cpu",
        min_cosine=min_cosine,
        threshold=MIN_COSINE,
        probes=8,
        reference="onnxruntime CPUExecutionProvider fp32",
    )
    profile = DeviceProfile(
        device_id=did,
        device=device.to_dict(),
        entries=(),
        measured_by="test",
        created="2026-01-01T00:00:00+00:00",
        gates=(gate,),
    )
    write_profile(export, profile)


@pytest.fixture()
def cpu_as_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CPU provider stands in for CUDA: its fp16 is gated and preferred, as CUDA's is."""
    monkeypatch.setattr(onnxruntime_providers, "FP16_GATED", (prov.CPU,))
    original = prov.default_precisions

    def fp16_first(provider: str, present: object) -> tuple[Precision, ...]:
        return (Precision.FP16,) if provider == prov.CPU else original(provider, present)  # type: ignore[arg-type]

    monkeypatch.setattr(prov, "default_precisions", fp16_first)


@pytest.mark.usefixtures("cpu_as_gpu")
def test_fp16_below_its_gate_runs_fp32_and_says_why(export: Path) -> None:
    _record_gate(export, 0.99)
    embedder = Embedder(export, providers="cpu", depth=2, intra_op_threads=1)
    assert embedder.choice.precision is Precision.FP32, embedder.choice.reason
    assert "fp32, not fp16:" in embedder.choice.reason
    assert (
        "parity min cosine 0.99000" in embedder.choice.reason
        and "fails >= 0.999" in embedder.choice.reason
    )
    with pytest.raises(BudgetError, match=r"fp16 was asked for.*0\.99000.*fails"):
        Embedder(export, providers="cpu", precision="fp16", depth=2, intra_op_threads=1)


@pytest.mark.usefixtures("cpu_as_gpu")
def test_fp16_unmeasured_runs_fp32_and_past_its_gate_runs_fp16(export: Path) -> None:
    unmeasured = Embedder(export, providers="cpu", depth=2, intra_op_threads=1, measure=False)
    assert unmeasured.choice.precision is Precision.FP32
    assert "fp16 on cpu parity unmeasured" in unmeasured.choice.reason
    measured = Embedder(export, providers="cpu", depth=2, intra_op_threads=1)
    assert measured.choice.precision is Precision.FP16, measured.choice.reason
    assert "passes >= 0.999; measured now" in measured.choice.reason


def test_an_fp16_graph_carries_its_fp32_quality_grid(export: Path) -> None:
    manifest = open_export(export).manifest
    fp32 = replace(manifest.graph(2), quality={"stsb": {32: 0.8}})
    fp16 = manifest.graph(2, Precision.FP16)
    others = [g for g in manifest.graphs if g.key not in (fp32.key, fp16.key)]
    manifest = replace(manifest, graphs=(*others, fp32, fp16))
    (carried,) = [g for g in with_fp32_quality([fp16], manifest)]
    assert carried.quality == {"stsb": {32: 0.8}} and carried.precision is Precision.FP16
