"""OpenVINO as a runtime backend: parity with ONNX Runtime, the compiled-model cache, the
choice between backends, and the install without it.

Runs real OpenVINO on this CPU (installed by the dev extra); skipped with the reason where
openvino is not importable. The not-installed case is tested in a subprocess where
``sys.modules["openvino"] = None``: that is how Python itself marks a module as absent (any
``import openvino`` then raises ImportError), so the runtime's real import path is exercised
without uninstalling anything from the shared virtualenv.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from commands import run_python
from tiny_models import make_tiny_model

from ese.format.contract import Precision
from ese.format.errors import BadInputError
from ese.format.profile import DeviceProfile, profile_path
from ese.runtime import Budget, Embedder
from ese.runtime.backends import providers as prov
from ese.runtime.backends.openvino.backend import OPENVINO, OPENVINO_BF16
from ese.runtime.backends.openvino.cache import compiled_cache_dir
from ese.runtime.backends.openvino.imports import INSTALL_LINE, openvino_available
from ese.runtime.choice.backend import backend_candidates, fastest_backend
from ese.runtime.choice.budget import Budget as BudgetType
from ese.runtime.choice.chosen import Candidate, Choice
from ese.runtime.device import device_id, this_device
from ese.runtime.errors import ProviderError
from ese.runtime.machine import has_bf16

needs_openvino = pytest.mark.skipif(
    not openvino_available(), reason="openvino is not installed (pip install '.[openvino]')"
)
needs_bf16 = pytest.mark.skipif(
    not has_bf16(), reason="this CPU has neither AMX nor AVX-512 BF16 (bf16 is refused there)"
)
SHA = "ab" * 32


def _cache_files(export: Path) -> dict[str, tuple[int, int]]:
    """Every file under engines/ with its size and modification time."""
    root = export / "engines"
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _stsb_sentences(data_dir: Path, n: int) -> list[str]:
    from ese.benchmarks.quality.datasets import read_stsb

    pairs = read_stsb(data_dir, "test")
    return [s for pair in zip(pairs.first, pairs.second, strict=True) for s in pair][:n]


# ---------------------------------------------------------------- the choice, as a table


def _choice(quality: float | None, latency: float | None, depth: int = 6) -> Choice:
    return Choice.of(
        Candidate(depth, 384, Precision.FP32, 384, quality=quality, latency_ms=latency),
        budget=BudgetType(),
        profile="",
        reason="r",
        considered=1,
        fitting=1,
    )


@pytest.mark.parametrize(
    ("options", "winner"),
    [
        # equal quality: the measured-faster backend wins (bf16 on an AMX CPU)
        ([("cpu", 80.0, 10.0), ("ov", 80.0, 9.0), ("bf16", 80.0, 3.0)], "bf16"),
        # OpenVINO measured slower (an AVX2-only CPU): ONNX Runtime stays
        ([("cpu", 80.0, 10.0), ("ov", 80.0, 12.0)], "cpu"),
        # higher quality beats speed
        ([("cpu", 81.0, 10.0), ("ov", 80.0, 2.0)], "cpu"),
        # an unmeasured latency proves nothing: the first (ONNX Runtime under auto) stays
        ([("cpu", 80.0, None), ("ov", 80.0, 1.0)], "cpu"),
    ],
)
def test_fastest_backend_table(options: list[tuple[str, float, float | None]], winner: str) -> None:
    built = [([name], _choice(q, ms)) for name, q, ms in options]
    assert fastest_backend(built)[0] == [winner]


def test_backend_candidates_table() -> None:
    cpu, ov, bf = [prov.CPU], [OPENVINO], [OPENVINO_BF16]
    assert backend_candidates(cpu, auto=True, bf16=True, installed=True) == [cpu, ov, bf]
    assert backend_candidates(cpu, auto=True, bf16=False, installed=True) == [cpu, ov]
    assert backend_candidates(cpu, auto=True, bf16=True, installed=False) == [cpu]
    assert backend_candidates(cpu, auto=False, bf16=True, installed=True) == [cpu]
    assert backend_candidates(ov, auto=False, bf16=True, installed=True) == [ov, bf]
    assert backend_candidates(ov, auto=False, bf16=False, installed=True) == [ov]
    assert backend_candidates(bf, auto=False, bf16=True, installed=True) == [bf]


def test_bf16_needs_amx_or_avx512_bf16_flags() -> None:
    assert not has_bf16(frozenset({"avx2", "avx512f", "avx512_vnni"}))
    assert has_bf16(frozenset({"avx512f", "avx512_bf16"}))
    assert has_bf16(frozenset({"amx_tile", "amx_bf16"}))


def test_openvino_profiles_are_named_like_cpu_profiles() -> None:
    assert device_id(OPENVINO, "Intel(R) Xeon(R) Platinum 8480+", 2) == (
        "intel-xeon-platinum-8480-2t-openvino"
    )
    assert device_id(OPENVINO_BF16, "AMD EPYC 9R14", 4) == "amd-epyc-9r14-4t-openvino-bf16"


def test_cache_dir_is_keyed_by_content_and_refuses_bad_digests(tmp_path: Path) -> None:
    a = compiled_cache_dir(tmp_path, "2026.4.1", SHA, "cd" * 32, "f32")
    b = compiled_cache_dir(tmp_path, "2026.4.1", "ef" * 32, "cd" * 32, "f32")
    c = compiled_cache_dir(tmp_path, "2026.4.1", SHA, "cd" * 32, "bf16")
    assert len({a, b, c}) == 3 and a.parent == b.parent
    assert a.parent.name.endswith("-openvino2026.4.1")
    with pytest.raises(BadInputError, match="64 lower-case hex"):
        compiled_cache_dir(tmp_path, "2026.4.1", "../x", "cd" * 32, "f32")


# ---------------------------------------------------------------- absent, and the boundary

ABSENT = """
import json, sys
sys.modules["openvino"] = None  # Python's own marker of an absent module
from ese.runtime import Embedder, Budget
from ese.runtime.errors import ProviderError
from ese.runtime.backends.openvino.imports import openvino_available
out = {"available": openvino_available()}
try:
    Embedder(sys.argv[1], providers="openvino")
    out["error"] = None
except ProviderError as exc:
    out["error"] = str(exc)
emb = Embedder(sys.argv[1], budget=Budget(latency_ms=1e4, batch_size=2, seq_len=8),
               measure_seconds=0.2)
out["auto"] = emb.choice.provider
out["shape"] = list(emb.encode(["a", "b c"]).shape)
print(json.dumps(out))
"""


def test_asking_for_openvino_without_it_names_the_extra(tiny_export: Path, tmp_path: Path) -> None:
    export = shutil.copytree(tiny_export, tmp_path / "export")
    done = run_python("-c", ABSENT, str(export))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["available"] is False
    assert out["error"] is not None and INSTALL_LINE in out["error"]
    assert out["auto"] == prov.CPU  # auto without openvino is ONNX Runtime, and it embeds
    assert out["shape"] == [2, 32]


def test_cli_names_the_extra_without_openvino(tiny_export: Path) -> None:
    program = (
        "import sys; sys.modules['openvino'] = None; from ese.runtime.cli.embed import main; "
        f"sys.exit(main([{str(tiny_export)!r}, '--providers', 'openvino']))"
    )
    done = run_python("-c", program, stdin="a text\n")
    assert done.returncode == 2, done.stderr
    assert INSTALL_LINE in done.stderr


def test_importing_the_runtime_never_imports_openvino() -> None:
    program = (
        "import importlib, pkgutil, sys, ese.runtime\n"
        "for m in pkgutil.walk_packages(ese.runtime.__path__, 'ese.runtime.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'openvino'))"
    )
    done = run_python("-c", program)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_openvino_cannot_be_mixed_with_onnxruntime_providers() -> None:
    with pytest.raises(ProviderError, match="by itself"):
        prov.resolve(["openvino", "cpu"], have=[prov.CPU, OPENVINO, OPENVINO_BF16])


# ---------------------------------------------------------------- real OpenVINO, tiny model


@needs_openvino
def test_compiled_model_cache_is_reused_then_invalidated_by_a_new_export(
    tiny_export: Path, tmp_path: Path
) -> None:
    from ese.exporter import export as run_export

    export = Path(shutil.copytree(tiny_export, tmp_path / "export"))
    texts = ["a dog runs in the park", "", "two people talk"]
    first = Embedder(export, providers="openvino", depth=2)
    assert first.choice.provider == OPENVINO
    assert first._open_runner().loaded_from_cache is False  # type: ignore[union-attr]
    files = _cache_files(export)
    assert any(name.endswith(".blob") for name in files), files
    vectors = first.encode(texts)

    second = Embedder(export, providers="openvino", depth=2)
    assert second._open_runner().loaded_from_cache is True  # type: ignore[union-attr]
    assert _cache_files(export) == files  # nothing compiled, nothing rewritten
    np.testing.assert_allclose(second.encode(texts), vectors, atol=1e-6)

    # A new export of other weights copied over the old one (`rsync -a` style): a fresh compile
    # in a new folder, and its vectors are the new graph's, not the cached blob's.
    other = tmp_path / "other"
    other_model = make_tiny_model(tmp_path / "other-model", "bert", layers=2, seed=1)
    run_export(other_model, [1, 2], other, projection="none")
    for path in (other / "graphs").iterdir():
        shutil.copy2(path, export / "graphs" / path.name)
    shutil.copy2(other / "manifest.json", export / "manifest.json")
    third = Embedder(export, providers="openvino", depth=2)
    assert third._open_runner().loaded_from_cache is False  # type: ignore[union-attr]
    assert set(_cache_files(export)) > set(files)
    reference = Embedder(export, providers="cpu", depth=2).encode(texts)
    np.testing.assert_allclose(third.encode(texts), reference, atol=1e-5)
    assert not np.allclose(reference, vectors, atol=1e-3)  # the export really changed


def _scale_largest_float_tensor(graph: Path) -> None:
    """Multiply the graph's largest external float tensor by 1.5 in its weights file, in place:
    new weights under an unchanged .onnx file, as when retrained weights are copied over."""
    import onnx

    model = onnx.load(str(graph), load_external_data=False)
    tensors = [
        t
        for t in model.graph.initializer
        if t.data_location == onnx.TensorProto.EXTERNAL and t.data_type == onnx.TensorProto.FLOAT
    ]
    largest = max(tensors, key=lambda t: int({e.key: e.value for e in t.external_data}["length"]))
    info = {e.key: e.value for e in largest.external_data}
    path = graph.parent / info["location"]
    data = bytearray(path.read_bytes())
    start, length = int(info.get("offset", 0)), int(info["length"])
    values = np.frombuffer(bytes(data[start : start + length]), dtype=np.float32) * 1.5
    data[start : start + length] = values.astype(np.float32).tobytes()
    path.write_bytes(bytes(data))


@needs_openvino
def test_new_weights_under_an_unchanged_graph_file_are_compiled_afresh(
    tiny_export: Path, tmp_path: Path
) -> None:
    """OpenVINO's own cache key hashes the .onnx file but not its external weights, so it
    would import the old blob here; the runner's folder is keyed by the weights' digest too."""
    from ese.runtime.backends.onnxruntime.session import GraphRunner, Threads
    from ese.runtime.backends.openvino.runner import OpenVINORunner
    from ese.runtime.choice.measure import synthetic_batch

    export = Path(shutil.copytree(tiny_export, tmp_path / "export"))
    graph = export / "graphs" / "depth-02.onnx"
    batch = synthetic_batch(3, 12, 100)
    first = OpenVINORunner(graph, threads=1)
    before = first.run(*batch)
    graph_bytes = graph.read_bytes()
    _scale_largest_float_tensor(graph)
    assert graph.read_bytes() == graph_bytes
    second = OpenVINORunner(graph, threads=1)
    assert second.loaded_from_cache is False and second.cache_dir != first.cache_dir
    want = GraphRunner(graph, [prov.CPU], Threads(intra_op=1)).run(*batch)
    np.testing.assert_allclose(second.run(*batch), want, rtol=1e-4, atol=1e-4)
    assert not np.allclose(before, want, atol=1e-3)  # the weights really changed


@needs_openvino
def test_openvino_profile_is_measured_and_cached_under_its_own_device_id(
    tiny_export: Path, tmp_path: Path
) -> None:
    export = Path(shutil.copytree(tiny_export, tmp_path / "export"))
    budget = Budget(latency_ms=1e4, batch_size=4, seq_len=16)
    emb = Embedder(export, budget=budget, providers="openvino", precision="fp32", measure_seconds=1)
    names = {p.name for p in (export / "profiles").iterdir()}
    assert any(n.endswith("-openvino.json") for n in names), names
    if has_bf16():
        assert any(n.endswith("-openvino-bf16.json") for n in names), names
    assert emb.choice.provider in (OPENVINO, OPENVINO_BF16)
    assert emb.choice.latency_ms is not None
    assert emb.encode(["one", "two words"]).shape == (2, emb.dims)
    # auto now competes ONNX Runtime (measured on the spot) with those OpenVINO profiles
    auto = Embedder(export, budget=budget, precision="fp32", measure_seconds=1)
    assert "backend " in auto.choice.reason and "openvino" in auto.choice.reason


@needs_openvino
def test_auto_never_compiles_openvino_without_a_profile(tiny_export: Path, tmp_path: Path) -> None:
    export = Path(shutil.copytree(tiny_export, tmp_path / "export"))
    budget = Budget(latency_ms=1e4, batch_size=2, seq_len=8)
    emb = Embedder(export, budget=budget, measure_seconds=0.5)
    assert emb.choice.provider == prov.CPU
    assert not (export / "engines").exists()  # no OpenVINO model was compiled to find out
    names = [p.name for p in (export / "profiles").iterdir()]
    assert not any("openvino" in n for n in names), names


# ---------------------------------------------------------------- real OpenVINO, bundled MiniLM


@pytest.mark.slow
@needs_openvino
def test_openvino_precisions_match_onnxruntime_fp32_on_minilm(
    minilm_export: Path, data_dir: Path, tmp_path: Path
) -> None:
    # a copy: the bf16 parity gate is written into the export's profiles
    minilm_export = Path(shutil.copytree(minilm_export, tmp_path / "minilm"))
    texts = _stsb_sentences(data_dir, 96)
    reference = Embedder(minilm_export, providers="cpu", depth=6, precision="fp32").encode(texts)
    fp32 = Embedder(minilm_export, providers="openvino", depth=6, precision="fp32")
    assert fp32.choice.provider == OPENVINO
    assert float(np.min(np.sum(fp32.encode(texts) * reference, axis=1))) >= 0.9999
    if not has_bf16():
        pytest.skip("bf16: this CPU has neither AMX nor AVX-512 BF16")
    bf16 = Embedder(minilm_export, providers="openvino-bf16", depth=6)
    assert bf16.choice.provider == OPENVINO_BF16
    assert "passes >= 0.999" in bf16.choice.reason  # the recorded parity gate
    assert float(np.min(np.sum(bf16.encode(texts) * reference, axis=1))) >= 0.999
    # the gate is recorded in this CPU's bf16 profile, for this graph's content
    device = this_device(OPENVINO_BF16, bf16.threads.intra_op)
    profile = DeviceProfile.from_dict(
        json.loads(profile_path(minilm_export, device.device_id()).read_text())
    )
    gate = profile.gate((6, Precision.FP32, "bf16"))
    graph = bf16.manifest.graph(6, Precision.FP32)
    assert gate is not None and gate.min_cosine >= 0.999
    assert gate.files_sha256 == tuple(f.sha256 for f in graph.files())


# ---------------------------------------------------------------- ese-bench compare rows


@needs_openvino
def test_compare_adds_backend_rows_on_the_long_document_workload(
    tiny_export: Path, tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ese.benchmarks.cli import main
    from ese.benchmarks.compare.peers import st_openvino_missing

    export = Path(shutil.copytree(tiny_export, tmp_path / "export"))
    systems = "st-torch,runtime,openvino-fp32,runtime-int8,openvino-int8-nncf,st-openvino"
    argv = ["compare", str(export), "--model", str(tiny_model_dir), "--depths", "2"]
    argv += ["--batch", "4", "--sentences", "8", "--rounds", "2", "--threads", "1"]
    argv += ["--systems", systems, "--workload", "scifact", "--no-memory"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "runtime-int8 skipped: the export has no int8 graph at depth 2" in captured.err
    assert "openvino-int8-nncf skipped: the export has no int8-openvino graph" in captured.err
    assert "SciFact corpus documents" in captured.out and "avx512_bf16" in captured.out
    assert "| 2 | 4 | openvino-fp32 |" in captured.out
    (cell,) = json.loads((export / "reports" / "compare.json").read_text())["cells"]
    timed = {"st-torch", "runtime", "openvino-fp32"}
    # sentence-transformers' own OpenVINO backend: a peer only where optimum-intel imports
    if st_openvino_missing() is None:
        assert "| 2 | 4 | st-openvino |" in captured.out
        timed.add("st-openvino")
    else:
        assert "st-openvino skipped: optimum-intel is not installed" in captured.err
    assert set(cell["seconds"]) == timed
    assert cell["speedup_over_st_torch"]["openvino-fp32"]["median"] > 0


@needs_openvino
def test_openvino_runs_our_gated_int8_graph_like_onnxruntime(
    tiny_export: Path, data_dir: Path, tmp_path: Path
) -> None:
    from ese.exporter.variants.add import add_variants
    from ese.exporter.variants.record import Gates
    from ese.exporter.variants.stsb import StsbPairs

    export = Path(shutil.copytree(tiny_export, tmp_path / "export"))
    from ese.benchmarks.quality.datasets import read_stsb

    stsb = read_stsb(data_dir, "test")
    pairs = StsbPairs(
        "stsb-test[:64]", stsb.first[:64], stsb.second[:64], np.array(stsb.scores[:64])
    )
    texts = [*pairs.first, *pairs.second]
    # A random tiny model has no STS-B quality to keep: the gates are opened, the graph is ours.
    add_variants(export, ["int8"], stsb=pairs, gates=Gates(int8_mean_cosine=0.5, stsb_max_drop=99))
    ort_int8 = Embedder(export, providers="cpu", depth=2, precision="int8")
    ov_int8 = Embedder(export, providers="openvino", depth=2, precision="int8")
    assert (ov_int8.choice.precision, ov_int8.choice.provider) == (Precision.INT8, OPENVINO)
    dims = min(ort_int8.dims, ov_int8.dims)
    same = np.sum(ov_int8.encode(texts, dims=dims) * ort_int8.encode(texts, dims=dims), axis=1)
    assert float(np.min(same)) >= 0.999, float(np.min(same))


@needs_openvino
def test_bench_profile_writes_the_openvino_profile_auto_then_weighs(
    tiny_export: Path, tmp_path: Path
) -> None:
    from ese.benchmarks.cli import main

    export = Path(shutil.copytree(tiny_export, tmp_path / "export"))
    argv = ["profile", str(export), "--providers", "openvino", "--batch", "2", "--seq", "8"]
    argv += ["--depths", "2", "--precision", "fp32", "--runs", "3", "--threads", "1", "--quiet"]
    assert main(argv) == 0
    (written,) = [p for p in (export / "profiles").iterdir() if "openvino" in p.name]
    assert written.name.endswith("-1t-openvino.json")
    budget = Budget(latency_ms=1e4, batch_size=2, seq_len=8)
    auto = Embedder(export, budget=budget, depth=2, precision="fp32", intra_op_threads=1)
    assert "over" in auto.choice.reason and "openvino" in auto.choice.reason, auto.choice.reason


@needs_openvino
def test_an_export_where_the_cache_cannot_be_written_still_runs(
    tiny_export: Path, tmp_path: Path
) -> None:
    export = Path(shutil.copytree(tiny_export, tmp_path / "export"))
    (export / "engines").write_text("not a folder")  # mkdir fails here, even for root
    with pytest.warns(UserWarning, match="cannot cache OpenVINO"):
        emb = Embedder(export, providers="openvino", depth=2)
    assert emb.encode(["a", "b"]).shape == (2, emb.dims)
    assert (export / "engines").read_text() == "not a folder"
