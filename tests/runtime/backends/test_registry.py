"""Adding a backend is its registry entry: selection picks it up, measures it from its
profile, gates it and opens its runner without any other change.

The backend added here is a real runner over a real ONNX Runtime session that reports a name
of its own; the latencies are written into the device profiles as ese-bench would (the
selection is a pure function of them), so nothing is timed.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from profiles import write_latency_profile

from ese.format.contract import Precision
from ese.format.export_dir import ExportDir
from ese.format.manifest import GraphEntry
from ese.runtime import Budget, Embedder
from ese.runtime.backends import providers as prov
from ese.runtime.backends import registry
from ese.runtime.backends.backend import Backend, Opener
from ese.runtime.backends.onnxruntime.session import GraphRunner, Threads
from ese.runtime.backends.runner import Runner
from ese.runtime.errors import ProviderError

ADDED = "AddedBackend"
BATCH, SEQ = 2, 8


class _AddedRunner(GraphRunner):
    """ONNX Runtime's CPU provider under another backend's name."""

    def check_provider(self) -> str:
        return ADDED


def _open_added(opened: list[Path]) -> Opener:
    def opener(
        export: ExportDir, graph: GraphEntry, providers: Sequence[str], threads: Threads
    ) -> Runner:
        opened.append(export.path(graph.file))
        return _AddedRunner(export.path(graph.file), [prov.CPU], threads)

    return opener


@pytest.fixture
def export(tiny_export: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_export, tmp_path / "export"))


def _profile(export: Path, provider: str, latency_ms: float) -> None:
    write_latency_profile(export, provider, latency_ms, batch_size=BATCH, seq_len=SEQ)


def _auto(export: Path) -> Embedder:
    """``auto`` on the CPU with a latency budget, from the profiles only (no measuring)."""
    return Embedder(
        export,
        budget=Budget(latency_ms=1e4, batch_size=BATCH, seq_len=SEQ),
        precision="fp32",
        depth=2,
        intra_op_threads=1,
        measure=False,
    )


def test_one_registry_line_adds_a_backend_that_selection_measures_and_runs(
    export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _profile(export, prov.CPU, latency_ms=100.0)
    _profile(export, ADDED, latency_ms=1.0)
    texts = ["a registry line", "and nothing else"]
    before = _auto(export)
    assert before.choice.provider == prov.CPU, before.choice.reason  # not registered: unknown
    expected = before.encode(texts)

    opened: list[Path] = []
    added = Backend(ADDED, _open_added(opened), joins_auto_with=(prov.CPU,))
    monkeypatch.setattr(registry, "BACKENDS", [*registry.BACKENDS, added])
    chosen = _auto(export)
    assert chosen.choice.provider == ADDED, chosen.choice.reason
    assert "backend addedbackend over cpu (depth 2 x" in chosen.choice.reason
    assert "100.00 ms)" in chosen.choice.reason
    graph = chosen.manifest.graph(2, Precision.FP32)
    assert opened == [chosen.export.path(graph.file)]  # its runner, opened once, runs it
    np.testing.assert_allclose(chosen.encode(texts), expected, atol=1e-6)


def test_an_added_backend_runs_only_the_graphs_it_declares_and_its_gate_decides(
    export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ese.runtime.choice.parity_gate import Parity

    _profile(export, prov.CPU, latency_ms=100.0)
    _profile(export, ADDED, latency_ms=1.0)
    gated: list[str] = []

    def failing_gate(export_dir, graph, tokenizer, threads):  # type: ignore[no-untyped-def]
        gated.append(graph.file.path)
        return Parity(min_cosine=0.5, probes=8, where="measured now", label="added")

    added = Backend(
        ADDED,
        _open_added([]),
        joins_auto_with=(prov.CPU,),
        graph_precisions=(Precision.FP32,),
        stand_in_gate=failing_gate,
        gate_refusal="{graph} {parity}: pass providers='cpu'",
    )
    monkeypatch.setattr(registry, "BACKENDS", [*registry.BACKENDS, added])
    chosen = _auto(export)
    assert gated, "the added backend won on speed, so its gate must have been asked"
    assert chosen.choice.provider == prov.CPU, chosen.choice.reason
    assert "added parity min cosine 0.50000" in chosen.choice.reason


def test_a_backend_is_offered_only_the_graphs_it_can_run_here(
    export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serves`` says why a graph cannot run on a backend here (native TensorRT: no engine
    built for it); selection leaves those graphs out, and refuses naming why when none is left."""

    def only_depth_1(export_dir: object, graph: GraphEntry) -> str | None:
        return None if graph.depth == 1 else f"no engine for depth {graph.depth} (build one)"

    opened: list[Path] = []
    added = Backend(ADDED, _open_added(opened), names=("added",), serves=only_depth_1)
    monkeypatch.setattr(registry, "BACKENDS", [*registry.BACKENDS, added])
    chosen = Embedder(export, providers="added", precision="fp32", intra_op_threads=1)
    assert (chosen.choice.depth, chosen.choice.provider) == (1, ADDED), chosen.choice.reason
    assert [p.name for p in opened] == ["depth-01.onnx"]

    with pytest.raises(ProviderError, match=r"added cannot run any graph.*no engine for depth 2"):
        Embedder(export, providers="added", precision="fp32", depth=2, intra_op_threads=1)


@pytest.mark.skipif(
    registry.named("tensorrt-engine").installed(),  # type: ignore[union-attr]
    reason="TensorRT is installed: the refusal is for machines without it",
)
def test_native_tensorrt_is_a_registry_entry_named_by_its_users(export: Path) -> None:
    """``providers='tensorrt-engine'`` selects the native TensorRT backend; without TensorRT
    it is refused naming what to install, never run on another backend."""
    assert prov.resolve("trt-engine", have=[prov.CPU, "TensorRT-engine"]) == ["TensorRT-engine"]
    with pytest.raises(ProviderError, match=r"tensorrt-engine provider.*`pip install tensorrt`"):
        Embedder(export, providers="tensorrt-engine", intra_op_threads=1)
    with pytest.raises(ProviderError, match="runs a graph by itself"):
        prov.resolve(["tensorrt-engine", "cuda"], have=[prov.CPU, prov.CUDA, "TensorRT-engine"])
    # auto on this CPU box leaves it out: it joins only a GPU provider's request
    assert Embedder(export, intra_op_threads=1).choice.provider == prov.CPU
